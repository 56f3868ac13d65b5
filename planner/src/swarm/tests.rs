//! Table tests of the swarm mapping: a compose spec in, the Swarm specs (or the errors naming keys) out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::deploy::{self, ServiceDeploy};
use super::map::{self, FileKind, ServiceInput};
use super::spec::{
    EndpointMode, FailureAction, PublishMode, RestartCondition, ServiceMode, TaskMount, UpdateOrder,
};
use crate::load::{load_yaml, Host, LoadOptions};
use crate::model::Project;

/// Loading without a machine: no variables, no files.
struct NoHost;

impl Host for NoHost {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, path: &Path) -> Result<String, String> {
        Err(format!("{} is not readable in tests", path.display()))
    }
    /// Only the project folder exists.
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        if path == Path::new("/tmp/shop") {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{} does not exist", path.display()))
        }
    }
}

fn load(yaml: &str) -> (Project, serde_json::Value) {
    try_load(yaml).expect("spec loads")
}

fn try_load(yaml: &str) -> Result<(Project, serde_json::Value), crate::SpecErrors> {
    let opts = LoadOptions {
        project_name: Some("shop".into()),
        project_dir: PathBuf::from("/tmp/shop"),
        ..LoadOptions::default()
    };
    let project = load_yaml(yaml, &opts, &NoHost)?;
    let raw: serde_json::Value = serde_yaml::from_str(yaml).expect("yaml");
    Ok((project, raw))
}

fn deploy_of(raw: &serde_json::Value, key: &str) -> ServiceDeploy {
    deploy::read(&raw["services"][key], &format!("services.{key}")).expect("deploy reads")
}

fn digests() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "db_password".to_string(),
            "0123456789abcdef0123".to_string(),
        ),
        ("site".to_string(), "fedcba98765432100000".to_string()),
    ])
}

pub(super) fn map_service(yaml: &str, key: &str) -> Result<map::MappedService, crate::SpecErrors> {
    let (project, raw) = load(yaml);
    let deploy = deploy_of(&raw, key);
    let digests = digests();
    map::service(&ServiceInput {
        project: &project,
        key,
        deploy: &deploy,
        digests: &digests,
        build: None,
    })
}

fn error_paths(yaml: &str, key: &str) -> Vec<String> {
    let errors = map_service(yaml, key).expect_err("mapping fails");
    errors.0.into_iter().map(|e| e.path).collect()
}

pub(super) const FULL: &str = r#"
services:
  web:
    image: mcp-docker-test/busybox:latest
    command: ["httpd", "-f", "-p", "80"]
    init: true
    environment:
      GREETING: hello
    labels:
      team: shop
    networks: [front]
    ports:
      - target: 80
        mode: host
    volumes:
      - data:/data
    secrets: [db_password]
    configs:
      - source: site
        target: /etc/site.conf
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: [tier=front]
      placement:
        constraints: ["node.role == worker"]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
      resources:
        limits: {cpus: "0.5", memory: 64m, pids: 100}
        reservations: {cpus: "0.1", memory: 16m}
      restart_policy: {condition: on-failure, delay: 1s, max_attempts: 3, window: 30s}
      update_config: {parallelism: 1, delay: 2s, failure_action: rollback, monitor: 5s, max_failure_ratio: 0.2, order: start-first}
      rollback_config: {parallelism: 2}
networks:
  front: {}
volumes:
  data: {}
secrets:
  db_password: {environment: DB_PASSWORD}
configs:
  site: {content: "listen 80"}
"#;

#[test]
fn a_full_service_maps_every_deploy_key() {
    let mapped = map_service(FULL, "web").expect("maps");
    let spec = mapped.spec;
    assert_eq!(spec.name, "shop_web");
    assert_eq!(spec.labels["com.docker.stack.namespace"], "shop");
    assert_eq!(spec.labels["io.mcp-docker-server.project"], "shop");
    assert_eq!(spec.labels["tier"], "front");
    assert_eq!(spec.container.labels["team"], "shop");
    assert_eq!(spec.container.labels["com.docker.stack.namespace"], "shop");
    assert_eq!(spec.mode, ServiceMode::Replicated { replicas: 3 });
    assert_eq!(spec.endpoint.mode, EndpointMode::Dnsrr);
    assert_eq!(spec.endpoint.ports[0].mode, PublishMode::Host);
    assert_eq!(spec.endpoint.ports[0].published, None);
    assert_eq!(spec.placement.constraints, ["node.role == worker"]);
    assert_eq!(spec.placement.spread, ["node.labels.zone"]);
    assert_eq!(spec.placement.max_replicas_per_node, Some(2));
    assert_eq!(spec.resources.limit_nano_cpus, Some(500_000_000));
    assert_eq!(spec.resources.limit_memory_bytes, Some(64 << 20));
    assert_eq!(spec.resources.limit_pids, Some(100));
    assert_eq!(spec.resources.reserve_nano_cpus, Some(100_000_000));
    assert_eq!(spec.restart.condition, RestartCondition::OnFailure);
    assert_eq!(spec.restart.max_attempts, Some(3));
    assert_eq!(spec.restart.window_ns, Some(30_000_000_000));
    let update = spec.update.expect("update_config");
    assert_eq!(update.failure_action, Some(FailureAction::Rollback));
    assert_eq!(update.order, Some(UpdateOrder::StartFirst));
    assert_eq!(update.monitor_ns, Some(5_000_000_000));
    assert_eq!(spec.rollback.map(|r| r.parallelism), Some(2));
    assert_eq!(
        spec.container.args.as_deref(),
        Some(&["httpd".to_string(), "-f".into(), "-p".into(), "80".into()][..])
    );
    assert_eq!(spec.container.env, ["GREETING=hello"]);
    assert_eq!(spec.container.init, Some(true));
    assert!(spec.container.healthcheck.is_some());
    assert_eq!(spec.networks[0].name, "shop_front");
    assert_eq!(spec.networks[0].aliases, ["web"]);
    assert_eq!(
        spec.container.secrets[0].name,
        "shop_db_password_0123456789ab"
    );
    assert_eq!(spec.container.secrets[0].target, "/run/secrets/db_password");
    assert_eq!(spec.container.configs[0].name, "shop_site_fedcba987654");
    assert_eq!(spec.container.configs[0].target, "/etc/site.conf");
    assert!(matches!(
        &spec.container.mounts[0],
        TaskMount::Volume { source: Some(name), .. } if name == "shop_data"
    ));
    assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
}

#[test]
fn defaults_are_the_engines() {
    let yaml = "services:\n  web:\n    image: busybox\n    ports: [\"8080:80\"]\n";
    let spec = map_service(yaml, "web").expect("maps").spec;
    assert_eq!(spec.mode, ServiceMode::Replicated { replicas: 1 });
    assert_eq!(spec.endpoint.mode, EndpointMode::Vip);
    assert_eq!(spec.endpoint.ports[0].mode, PublishMode::Ingress);
    assert_eq!(spec.restart.condition, RestartCondition::Any);
    assert!(spec.update.is_none());
}

#[test]
fn top_level_restart_maps_like_stack_deploy() {
    let cases = [
        ("no", RestartCondition::None, None),
        ("always", RestartCondition::Any, None),
        ("unless-stopped", RestartCondition::Any, None),
        ("on-failure:4", RestartCondition::OnFailure, Some(4)),
    ];
    for (restart, condition, attempts) in cases {
        let yaml = format!("services:\n  web:\n    image: busybox\n    restart: \"{restart}\"\n");
        let spec = map_service(&yaml, "web").expect("maps").spec;
        assert_eq!(spec.restart.condition, condition, "{restart}");
        assert_eq!(spec.restart.max_attempts, attempts, "{restart}");
    }
}

#[test]
fn keys_without_swarm_meaning_are_errors_naming_them() {
    let cases = [
        ("container_name: x", "services.web.container_name"),
        ("network_mode: none", "services.web.network_mode"),
        ("build: .", "services.web.build"),
        ("volumes: [\"/srv/data:/data\"]", "services.web.volumes[0]"),
        (
            "environment: {TOKEN: {secret: API_TOKEN}}",
            "services.web.environment.TOKEN",
        ),
        ("ports: [\"127.0.0.1:8080:80\"]", "services.web.ports[0]"),
        ("mac_address: 02:42:ac:11:00:02", "services.web.mac_address"),
        (
            "deploy: {mode: global, replicas: 2}",
            "services.web.deploy.replicas",
        ),
        (
            "deploy: {labels: {io.mcp-docker-server.project: other}}",
            "services.web.deploy.labels.io.mcp-docker-server.project",
        ),
        (
            "deploy: {labels: [com.docker.stack.namespace=other]}",
            "services.web.deploy.labels.com.docker.stack.namespace",
        ),
        (
            "deploy: {labels: {com.docker.compose.project: other}}",
            "services.web.deploy.labels.com.docker.compose.project",
        ),
        (
            "deploy: {endpoint_mode: dnsrr}\n    ports: [\"8080:80\"]",
            "services.web.ports[0]",
        ),
    ];
    for (extra, path) in cases {
        let yaml = format!("services:\n  web:\n    image: busybox\n    {extra}\n");
        let (project, raw) = try_load(&yaml).unwrap_or_else(|e| panic!("{extra}: {e}"));
        let deploy = deploy_of(&raw, "web");
        let digests = digests();
        let input = ServiceInput {
            project: &project,
            key: "web",
            deploy: &deploy,
            digests: &digests,
            build: None,
        };
        let errors = map::service(&input).expect_err(extra);
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&path), "{extra}: {paths:?}");
    }
}

#[test]
fn keys_stack_deploy_ignores_are_warnings() {
    let yaml = "services:\n  web:\n    image: busybox\n    expose: [\"80\"]\n";
    let mapped = map_service(yaml, "web").expect("maps");
    assert_eq!(mapped.warnings.len(), 1);
    assert!(mapped.warnings[0].starts_with("services.web.expose: ignored on a swarm"));
    let yaml =
        "services:\n  web:\n    image: busybox\n    domainname: d.lan\n    cgroup: private\n    \
                mem_limit: 64m\n    memswap_limit: 128m\n";
    let mapped = map_service(yaml, "web").expect("maps");
    for key in ["domainname", "cgroup", "memswap_limit"] {
        let prefix = format!("services.web.{key}: ignored on a swarm");
        assert!(
            mapped.warnings.iter().any(|w| w.starts_with(&prefix)),
            "{key}: {:?}",
            mapped.warnings
        );
    }
}

#[test]
fn resolver_settings_and_groups_reach_the_task() {
    let yaml =
        "services:\n  web:\n    image: busybox\n    dns: [10.0.0.2]\n    dns_search: [lan]\n    \
                dns_opt: [\"ndots:2\"]\n    group_add: [audio]\n";
    let mapped = map_service(yaml, "web").expect("maps");
    let container = &mapped.spec.container;
    assert_eq!(container.dns_search, ["lan"]);
    assert_eq!(container.dns_options, ["ndots:2"]);
    assert_eq!(container.groups, ["audio"]);
}

#[test]
fn bad_deploy_values_name_their_path() {
    let cases = [
        ("{mode: replicated-job}", "services.web.deploy.mode"),
        ("{mode: sideways}", "services.web.deploy.mode"),
        ("{endpoint_mode: ipvs}", "services.web.deploy.endpoint_mode"),
        (
            "{update_config: {failure_action: explode}}",
            "services.web.deploy.update_config.failure_action",
        ),
        (
            "{update_config: {max_failure_ratio: 3}}",
            "services.web.deploy.update_config.max_failure_ratio",
        ),
        (
            "{rollback_config: {delay: soon}}",
            "services.web.deploy.rollback_config.delay",
        ),
        (
            "{placement: {max_replicas_per_node: -1}}",
            "services.web.deploy.placement.max_replicas_per_node",
        ),
    ];
    for (deploy_yaml, path) in cases {
        let raw: serde_json::Value =
            serde_yaml::from_str(&format!("deploy: {deploy_yaml}")).expect("yaml");
        let errors = deploy::read(&raw, "services.web").expect_err(deploy_yaml);
        assert_eq!(errors.0[0].path, path, "{deploy_yaml}");
        assert!(!errors.0[0].fix.is_empty(), "{deploy_yaml}");
    }
}

#[test]
fn too_many_placement_constraints_are_refused() {
    let many: Vec<String> = (0..=deploy::MAX_PLACEMENT_ITEMS)
        .map(|i| format!("node.labels.n{i}==1"))
        .collect();
    let raw = serde_json::json!({"deploy": {"placement": {"constraints": many}}});
    let errors = deploy::read(&raw, "services.web").expect_err("too many");
    assert_eq!(
        errors.0[0].path,
        "services.web.deploy.placement.constraints"
    );
}

#[test]
fn networks_become_attachable_overlays_and_other_drivers_are_errors() {
    let yaml =
        "services:\n  web: {image: busybox}\nnetworks:\n  front: {}\n  local: {driver: bridge}\n";
    let (project, _) = load(yaml);
    let front = map::network(&project, "front").expect("overlay");
    assert_eq!(
        (front.name.as_str(), front.driver.as_str(), front.attachable),
        ("shop_front", "overlay", true)
    );
    assert_eq!(front.labels["com.docker.stack.namespace"], "shop");
    let err = map::network(&project, "local").expect_err("bridge");
    assert_eq!(err.path, "networks.local.driver");
}

#[test]
fn a_rotated_secret_gets_a_new_name() {
    let old =
        map::file_object("shop", FileKind::Secret, "db_password", "aaaaaaaaaaaaaaaa").expect("old");
    let new =
        map::file_object("shop", FileKind::Secret, "db_password", "bbbbbbbbbbbbbbbb").expect("new");
    assert_ne!(old.name, new.name);
    assert_eq!(new.name, "shop_db_password_bbbbbbbbbbbb");
    let long_key = "k".repeat(60);
    let err = map::file_object("shop", FileKind::Config, &long_key, "cc").expect_err("too long");
    assert_eq!(err.path, format!("configs.{long_key}"));
}

#[test]
fn a_missing_digest_is_an_error_not_a_panic() {
    let (project, raw) = load(FULL);
    let deploy = deploy_of(&raw, "web");
    let none = BTreeMap::new();
    let input = ServiceInput {
        project: &project,
        key: "web",
        deploy: &deploy,
        digests: &none,
        build: None,
    };
    let paths: Vec<String> = map::service(&input)
        .expect_err("no digests")
        .0
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        ["services.web.secrets[0]", "services.web.configs[0]"]
    );
}

#[test]
fn error_paths_helper_reports_container_name() {
    let yaml = "services:\n  web:\n    image: busybox\n    container_name: fixed\n";
    assert_eq!(error_paths(yaml, "web"), ["services.web.container_name"]);
}

mod diff_tests {
    //! The swarm diff: rolling update, scaling, drift by removal, and "No changes".

    use std::collections::BTreeMap;

    use super::{map_service, FULL};
    use crate::swarm::diff::{self, ObservedService, ServiceChange, LABEL_SPEC_HASH};
    use crate::swarm::spec::{ServiceMode, ServiceSpec};

    fn web() -> ServiceSpec {
        map_service(FULL, "web").expect("maps").spec
    }

    fn observed(spec: &ServiceSpec, replicas: u64) -> ObservedService {
        ObservedService {
            name: spec.name.clone(),
            version: 42,
            spec_hash: spec.labels.get(LABEL_SPEC_HASH).cloned(),
            replicas: Some(replicas),
        }
    }

    #[test]
    fn the_same_spec_is_no_changes() {
        let spec = web();
        let plans = diff::plan(
            std::slice::from_ref(&spec),
            &[observed(&spec, 3)],
            &BTreeMap::new(),
        );
        assert!(plans.is_empty(), "{plans:?}");
        assert_eq!(diff::render(&plans), "No changes.");
    }

    #[test]
    fn an_env_change_is_a_rolling_update_naming_the_field() {
        let old = web();
        let yaml = FULL.replace("GREETING: hello", "GREETING: bye");
        let new = map_service(&yaml, "web").expect("maps").spec;
        let last = BTreeMap::from([(old.name.clone(), old.clone())]);
        let plans = diff::plan(&[new], &[observed(&old, 3)], &last);
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].seen_version, Some(42));
        assert_eq!(
            plans[0].change,
            ServiceChange::RollingUpdate {
                fields: vec!["container.env".into()],
                parallelism: 1
            }
        );
        assert_eq!(
            diff::render(&plans),
            "~ service \"shop_web\"  rolling update, 1 at a time\n    ~ container.env\n"
        );
        assert!(
            !diff::render(&plans).contains("bye"),
            "values are not rendered"
        );
    }

    #[test]
    fn replicas_alone_are_scaling() {
        let spec = web();
        let mut five = spec.clone();
        five.mode = ServiceMode::Replicated { replicas: 5 };
        assert_eq!(
            five.labels[LABEL_SPEC_HASH],
            diff::spec_hash(&five),
            "replicas are outside the hash"
        );
        let plans = diff::plan(&[five], &[observed(&spec, 3)], &BTreeMap::new());
        assert_eq!(plans[0].change, ServiceChange::Scale { from: 3, to: 5 });
        assert_eq!(
            diff::render(&plans),
            "~ service \"shop_web\"  scale 3 -> 5\n"
        );
    }

    #[test]
    fn scaled_outside_the_tool_plans_back_and_removed_outside_is_recreated() {
        let spec = web();
        let plans = diff::plan(
            std::slice::from_ref(&spec),
            &[observed(&spec, 7)],
            &BTreeMap::new(),
        );
        assert_eq!(plans[0].change, ServiceChange::Scale { from: 7, to: 3 });
        let plans = diff::plan(std::slice::from_ref(&spec), &[], &BTreeMap::new());
        assert_eq!(plans[0].change, ServiceChange::Create);
    }

    #[test]
    fn an_edited_label_or_unknown_service_is_an_update_or_removal() {
        let spec = web();
        let mut tampered = observed(&spec, 3);
        tampered.spec_hash = None;
        let plans = diff::plan(std::slice::from_ref(&spec), &[tampered], &BTreeMap::new());
        assert!(
            matches!(&plans[0].change, ServiceChange::RollingUpdate { fields, .. } if fields == &["spec"])
        );
        let mut stray = observed(&spec, 1);
        stray.name = "shop_old".into();
        let plans = diff::plan(&[], &[stray], &BTreeMap::new());
        assert_eq!(diff::render(&plans), "- service \"shop_old\"  remove\n");
    }
}

/// The whole project as the swarm plan sees it, with digests for `db_password` and `site`.
fn desired_of(yaml: &str, password_digest: &str) -> super::desired::DesiredSwarm {
    let (project, raw) = load(yaml);
    let digests = crate::plan::ExternalDigests {
        secrets: BTreeMap::from([("db_password".to_string(), password_digest.to_string())]),
        configs: BTreeMap::from([("site".to_string(), "fedcba98765432100000".to_string())]),
        ..Default::default()
    };
    super::desired::desired(&project, &raw, &digests, None).expect("maps")
}

const STACK: &str = r#"
services:
  db:
    image: busybox
    secrets: [db_password]
  api:
    image: busybox
    depends_on: {db: {condition: service_healthy}}
    deploy: {replicas: 3}
  web:
    image: busybox
    depends_on: [api]
    configs: [site]
secrets:
  db_password: {environment: DB_PASSWORD}
configs:
  site: {content: "listen 80"}
"#;

/// What the manager would report after applying `desired`.
fn observed_after(desired: &super::desired::DesiredSwarm) -> super::plan::ObservedSwarm {
    super::plan::ObservedSwarm {
        services: desired
            .services
            .iter()
            .map(|s| super::diff::ObservedService {
                name: s.name.clone(),
                version: 10,
                spec_hash: Some(super::diff::spec_hash(s)),
                replicas: match s.mode {
                    ServiceMode::Replicated { replicas } => Some(replicas),
                    ServiceMode::Global => None,
                },
            })
            .collect(),
        networks: desired.networks.iter().map(|n| n.name.clone()).collect(),
        secrets: desired.secrets.iter().map(|s| s.name.clone()).collect(),
        configs: desired.configs.iter().map(|c| c.name.clone()).collect(),
    }
}

#[test]
fn services_start_in_depends_on_waves() {
    let desired = desired_of(STACK, "0123456789abcdef0123");
    assert_eq!(
        desired.waves,
        [
            vec!["shop_db".to_string()],
            vec!["shop_api".into()],
            vec!["shop_web".into()]
        ]
    );
    assert_eq!(desired.networks[0].name, "shop_default");
    assert_eq!(desired.services[0].networks[0].name, "shop_default");
}

#[test]
fn an_empty_swarm_plans_every_object_and_an_applied_one_no_changes() {
    let desired = desired_of(STACK, "0123456789abcdef0123");
    let none = BTreeMap::new();
    let plan = super::plan::plan(&desired, &Default::default(), &none);
    let text = super::plan::render(&plan);
    let expected = "\
+ network \"shop_default\"  create overlay
+ secret \"db_password\"  create shop_db_password_0123456789ab
+ config \"site\"  create shop_site_fedcba987654
+ service \"shop_db\"  create
    image: busybox
+ service \"shop_api\"  create
    image: busybox
+ service \"shop_web\"  create
    image: busybox

Plan: 6 to add, 0 to change, 0 to destroy.
";
    assert_eq!(text, expected);
    let again = super::plan::plan(&desired, &observed_after(&desired), &none);
    assert!(!again.has_changes());
    assert_eq!(
        super::plan::render(&again),
        "No changes. The swarm matches the spec."
    );
}

#[test]
fn a_new_secret_value_is_a_rotation_that_updates_its_consumer_and_names_no_value() {
    let old = desired_of(STACK, "0123456789abcdef0123");
    let new = desired_of(STACK, "aaaaaaaaaaaabbbbbbbb");
    let last: BTreeMap<_, _> = old
        .services
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let plan = super::plan::plan(&new, &observed_after(&old), &last);
    let text = super::plan::render(&plan);
    assert!(text.contains(
        "~ secret \"db_password\"  rotate: new content (value not shown), shop_db_password_0123456789ab -> shop_db_password_aaaaaaaaaaaa, consumers updated, old removed"
    ), "{text}");
    assert!(
        text.contains(
            "~ service \"shop_db\"  rolling update, 1 at a time\n    ~ container.secrets\n"
        ),
        "{text}"
    );
    assert!(!text.contains("- secret"), "{text}");
    assert_eq!(plan.remove_secrets, ["shop_db_password_0123456789ab"]);
    assert_eq!(plan.summary().change, 1);
}

#[test]
fn destroy_removes_every_object_the_manager_holds() {
    let desired = desired_of(STACK, "0123456789abcdef0123");
    let plan = super::plan::destroy(&observed_after(&desired));
    let text = super::plan::render(&plan);
    assert!(text.contains("- service \"shop_api\"  remove"), "{text}");
    assert!(
        text.contains("- secret \"shop_db_password_0123456789ab\"  remove"),
        "{text}"
    );
    assert!(
        text.contains("- config \"shop_site_fedcba987654\"  remove"),
        "{text}"
    );
    assert!(
        text.contains("- network \"shop_default\"  remove"),
        "{text}"
    );
    assert_eq!(plan.summary().destroy, 6);
}

#[test]
fn a_volume_driver_the_nodes_would_not_use_is_an_error_naming_it() {
    let yaml = "services:\n  db:\n    image: busybox\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {driver: nfs}\n";
    let (project, raw) = load(yaml);
    let errors = super::desired::desired(&project, &raw, &Default::default(), None)
        .expect_err("an nfs driver is refused");
    assert_eq!(errors.0[0].path, "volumes.data.driver");
}

mod build;

/// A deploy label key (a field path of the rolling update) or a warning with a line break or a terminal
/// escape cannot add a line to the swarm plan the human approves: the rendering escapes them as the
/// engine target's does.
#[test]
fn a_label_key_cannot_forge_lines_of_the_swarm_plan() {
    let with_labels = |labels: &str| {
        STACK.replace(
            "    configs: [site]\n",
            &format!("    configs: [site]\n    deploy: {{labels: {labels}}}\n"),
        )
    };
    let old = desired_of(&with_labels("{tier: a}"), "0123456789abcdef0123");
    let forged = r#"{tier: a, "x\n+ service \"shop_evil\"  create\n\u001b[2K": "1"}"#;
    let new = desired_of(&with_labels(forged), "0123456789abcdef0123");
    let last: BTreeMap<_, _> = old
        .services
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let plan = super::plan::plan(&new, &observed_after(&old), &last);
    let text = super::plan::render(&plan);
    assert!(
        text.contains("~ service \"shop_web\"  rolling update"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("+ service \"shop_evil\"")),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
}

/// A secret's or config's key is a line of the swarm plan and part of its object's name: a line break in it
/// is refused at load, as a network's or volume's key is.
#[test]
fn a_file_object_key_is_a_name() {
    for section in ["secrets", "configs"] {
        let yaml = format!(
            "services:\n  web:\n    image: busybox\n{section}:\n  \"k\\n+ service \\\"evil\\\"  create\":\n    content: hi\n"
        );
        let errors = try_load(&yaml).expect_err(section);
        let named = |e: &crate::SpecError| {
            e.path.starts_with(&format!("{section}.k")) && e.message.contains("is not a valid name")
        };
        assert!(errors.0.iter().any(named), "{errors:?}");
    }
}
