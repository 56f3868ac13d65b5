//! Drift of a swarm project: how the services the manager reports differ from the last apply: removed,
//! updated (spec hash moved) or scaled outside the tool. Where tasks run is not drift: a drained node's tasks
//! move and the plan stays "No changes".

use std::collections::BTreeMap;

use super::diff::{spec_hash, ObservedService};
use super::spec::{ServiceMode, ServiceSpec};

/// How one applied service drifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceDrift {
    /// Gone from the manager; the next plan recreates it.
    Removed,
    /// Its spec changed outside the tool; the next plan updates it back.
    Updated,
    /// Its replica count changed outside the tool.
    Scaled { applied: u64, found: u64 },
}

impl ServiceDrift {
    /// The status line for service `name`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            ServiceDrift::Removed => format!(
                "service {name} was removed outside the tool (the next plan creates it again)"
            ),
            ServiceDrift::Updated => format!(
                "service {name} was updated outside the tool (the next plan rolls it back to the spec)"
            ),
            ServiceDrift::Scaled { applied, found } => format!(
                "service {name} was scaled outside the tool: {found} replicas, {applied} applied (the next plan scales it back)"
            ),
        }
    }
}

/// Each applied service that drifted, by Swarm name.
pub fn assess(
    applied: &BTreeMap<String, ServiceSpec>,
    observed: &[ObservedService],
) -> BTreeMap<String, ServiceDrift> {
    let seen: BTreeMap<&str, &ObservedService> =
        observed.iter().map(|o| (o.name.as_str(), o)).collect();
    applied
        .iter()
        .filter_map(|(name, spec)| {
            let drift = match seen.get(name.as_str()) {
                None => ServiceDrift::Removed,
                Some(o) => one(spec, o)?,
            };
            Some((name.clone(), drift))
        })
        .collect()
}

fn one(spec: &ServiceSpec, observed: &ObservedService) -> Option<ServiceDrift> {
    if observed.spec_hash.as_deref() != Some(spec_hash(spec).as_str()) {
        return Some(ServiceDrift::Updated);
    }
    match (spec.mode, observed.replicas) {
        (ServiceMode::Replicated { replicas }, Some(found)) if replicas != found => {
            Some(ServiceDrift::Scaled {
                applied: replicas,
                found,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::swarm::tests::{map_service, FULL};

    fn observed(spec: &ServiceSpec, replicas: u64, hash: Option<String>) -> ObservedService {
        ObservedService {
            name: spec.name.clone(),
            version: 7,
            spec_hash: hash,
            replicas: Some(replicas),
        }
    }

    #[test]
    fn removed_updated_scaled_and_unchanged_services() {
        let spec = map_service(FULL, "web").unwrap().spec;
        let applied = BTreeMap::from([(spec.name.clone(), spec.clone())]);
        let hash = Some(spec_hash(&spec));
        let cases: [(&[ObservedService], Option<ServiceDrift>); 4] = [
            (&[], Some(ServiceDrift::Removed)),
            (&[observed(&spec, 3, hash.clone())], None),
            (
                &[observed(&spec, 5, hash.clone())],
                Some(ServiceDrift::Scaled {
                    applied: 3,
                    found: 5,
                }),
            ),
            (
                &[observed(&spec, 3, Some("other".into()))],
                Some(ServiceDrift::Updated),
            ),
        ];
        for (seen, expected) in cases {
            let found = assess(&applied, seen);
            assert_eq!(found.get(&spec.name).cloned(), expected, "{seen:?}");
        }
    }

    #[test]
    fn drift_lines_say_what_the_next_plan_does() {
        let line = ServiceDrift::Scaled {
            applied: 3,
            found: 5,
        }
        .describe("shop_web");
        assert_eq!(
            line,
            "service shop_web was scaled outside the tool: 5 replicas, 3 applied (the next plan scales it back)"
        );
        assert!(ServiceDrift::Removed
            .describe("x")
            .contains("creates it again"));
    }
}
