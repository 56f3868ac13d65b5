//! Table tests of building on a swarm: with the operator's registry a service with `build:` plans a build,
//! push and pin under its content digest; the same digest plans no change; without a registry it is refused
//! naming the flag.

use std::collections::BTreeMap;

use super::{load, observed_after};
use crate::plan::ExternalDigests;
use crate::swarm::desired::{desired, DesiredSwarm};
use crate::swarm::plan::{plan, render};

const BUILT: &str = "services:\n  web:\n    build: .\n    deploy: {replicas: 3}\n";
const REGISTRY: &str = "10.213.77.254:5000";

fn built(context_digest: &str) -> DesiredSwarm {
    let (project, raw) = load(BUILT);
    let digests = ExternalDigests {
        builds: BTreeMap::from([("web".to_string(), context_digest.to_string())]),
        ..Default::default()
    };
    desired(&project, &raw, &digests, Some(REGISTRY)).expect("maps")
}

#[test]
fn a_build_plans_build_push_and_pin_under_the_content_digest() {
    let digest = "a".repeat(64);
    let wanted = built(&digest);
    let reference = format!("{REGISTRY}/shop-web:{digest}");
    assert_eq!(wanted.services[0].container.image, reference);
    let first = plan(&wanted, &Default::default(), &BTreeMap::new());
    assert_eq!(first.builds.len(), 1);
    let text = render(&first);
    assert!(
        text.starts_with(&format!(
            "+ image \"{reference}\"  build on the manager, push, pin by digest\n"
        )),
        "{text}"
    );
    assert!(text.contains("Plan: 3 to add"), "{text}");
}

#[test]
fn the_same_context_is_no_changes_and_a_new_one_rebuilds_and_rolls() {
    let old = built(&"a".repeat(64));
    let again = plan(&old, &observed_after(&old), &BTreeMap::new());
    assert!(!again.has_changes(), "{}", render(&again));
    assert!(again.builds.is_empty());
    let last: BTreeMap<_, _> = old
        .services
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let new = built(&"b".repeat(64));
    let changed = plan(&new, &observed_after(&old), &last);
    assert_eq!(changed.builds.len(), 1);
    let text = render(&changed);
    assert!(
        text.contains("~ service \"shop_web\"  rolling update, 1 at a time"),
        "{text}"
    );
    assert!(text.contains("~ container.image"), "{text}");
}

#[test]
fn without_a_registry_build_is_refused_naming_the_flag() {
    let (project, raw) = load(BUILT);
    let errors = desired(&project, &raw, &ExternalDigests::default(), None)
        .expect_err("no registry, no build");
    assert_eq!(errors.0[0].path, "services.web.build");
    assert!(errors.0[0].fix.contains("--swarm-registry"), "{errors}");
}

#[test]
fn the_specs_image_does_not_redirect_the_push() {
    let yaml = "services:\n  web:\n    build: .\n    image: attacker.example:5000/loot:latest\n";
    let (project, raw) = load(yaml);
    let digests = ExternalDigests {
        builds: BTreeMap::from([("web".to_string(), "c".repeat(64))]),
        ..Default::default()
    };
    let wanted = desired(&project, &raw, &digests, Some(REGISTRY)).expect("maps");
    let pushed = wanted.builds[0].reference();
    assert!(
        pushed.starts_with(&format!("{REGISTRY}/shop-web:")),
        "{pushed}"
    );
    assert_eq!(wanted.services[0].container.image, pushed);
}
