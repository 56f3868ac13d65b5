//! Import: which resources a `docker compose` project left running this server adopts, and how an adopted
//! resource reads afterwards.
//!
//! Compose labels its resources with `com.docker.compose.project` but not with our ownership label, and its
//! config hash is computed differently from ours, so the diff cannot tell on its own that a compose container
//! already runs the spec. Import compares each one field by field (in the Docker layer) and records the
//! matching ones with the hash our spec gives them; a differing one is recorded with [`DIFFERS_HASH`], which
//! no spec hashes to, so the next plan replaces it. Observation later reports a recorded resource as ours
//! only while it still carries the compose project label and no ownership label of its own ([`may_adopt`]),
//! so a record can never make the server act on a resource of another project, and ids alone adopt nothing.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::naming;
use crate::observed::ObservedState;
use crate::plan::{Op, Plan, ResourceKind, Target};

/// The config hash recorded for an adopted resource that differs from the spec: it never equals a real hash.
pub const DIFFERS_HASH: &str = "import:differs-from-the-spec";

/// A resource import adopted: recorded as the project's own although it lacks our ownership label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Adopted {
    pub kind: ResourceKind,
    /// Engine id (a volume's name).
    pub id: String,
    pub name: String,
    /// Compose key: service, network or volume key.
    pub key: String,
    /// The hash observation reports for it: the spec's hash when it matched, else [`DIFFERS_HASH`].
    pub config_hash: String,
}

/// How a compose resource compares with what the spec would create under the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    Matches,
    /// The fields that differ, in words (environment and label values are never shown).
    Differs(Vec<String>),
    /// The spec creates nothing of that name (a service, network or volume it does not have).
    NotInSpec,
    /// It carries an ownership label already: the value names the owning project.
    Owned(String),
}

/// One resource of the compose project, as the Docker layer found and compared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: ResourceKind,
    pub id: String,
    pub name: String,
    pub key: String,
    pub fit: Fit,
}

/// What import records and says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub adopted: Vec<Adopted>,
    /// `container demo-web-1 (1234abcd5678)`, one per adopted resource that matches the spec.
    pub matching: Vec<String>,
    /// One per adopted resource that differs, with the fields; the next plan changes these.
    pub differing: Vec<String>,
    /// One per resource left alone, with the reason.
    pub left_alone: Vec<String>,
}

/// Adopts every found resource the spec creates under the same name; the rest are left alone.
pub fn decide(plan: &Plan, found: &[Found]) -> Decision {
    let mut decision = Decision::default();
    for item in found {
        let label = match item.kind {
            // A volume's id is its name.
            ResourceKind::Volume => format!("volume {}", item.name),
            kind => format!("{} {} ({})", kind.as_str(), item.name, short(&item.id)),
        };
        let planned = planned_hash(plan, item.kind, &item.name);
        let config_hash = match (&item.fit, planned) {
            (Fit::Owned(owner), _) => {
                decision
                    .left_alone
                    .push(format!("{label}: already managed as project {owner}"));
                continue;
            }
            (Fit::NotInSpec, _) | (_, None) => {
                decision
                    .left_alone
                    .push(format!("{label}: the spec does not create it"));
                continue;
            }
            (Fit::Matches, Some(hash)) => {
                decision.matching.push(label);
                hash
            }
            (Fit::Differs(fields), Some(_)) => {
                decision
                    .differing
                    .push(format!("{label}: {}", fields.join("; ")));
                DIFFERS_HASH.to_string()
            }
        };
        decision.adopted.push(Adopted {
            kind: item.kind,
            id: item.id.clone(),
            name: item.name.clone(),
            key: item.key.clone(),
            config_hash,
        });
    }
    decision
}

/// The config hash the plan gives the resource it creates under `name`.
fn planned_hash(plan: &Plan, kind: ResourceKind, name: &str) -> Option<String> {
    let action = plan
        .actions
        .iter()
        .find(|a| a.op == Op::Create && a.resource.kind == kind && a.resource.name == name)?;
    match action.target.as_ref()? {
        Target::Container(c) => Some(c.config_hash.clone()),
        Target::Network(n) => n.labels.get(naming::LABEL_CONFIG_HASH).cloned(),
        Target::Volume(v) => v.labels.get(naming::LABEL_CONFIG_HASH).cloned(),
        Target::Image(_) => None,
    }
}

/// Whether a resource with these labels may be adopted into `project`: compose made it for that project
/// (not as a one-off `run` container), and no ownership label claims it.
pub fn may_adopt(labels: &BTreeMap<String, String>, project: &str) -> bool {
    labels.get(naming::LABEL_PROJECT).map(String::as_str) == Some(project)
        && !labels.contains_key(naming::LABEL_MANAGED_BY)
        && labels.get(naming::LABEL_ONEOFF).map(String::as_str) != Some("True")
}

/// The labels an adopted resource is observed with: its own, plus the ownership label and the recorded hash,
/// so the diff, drift and status treat it like a resource this server made.
pub fn claimed_labels(
    labels: &BTreeMap<String, String>,
    project: &str,
    adopted: &Adopted,
) -> BTreeMap<String, String> {
    let mut claimed = labels.clone();
    claimed.insert(naming::LABEL_MANAGED_BY.into(), project.into());
    claimed.insert(
        naming::LABEL_CONFIG_HASH.into(),
        adopted.config_hash.clone(),
    );
    claimed
}

/// Adds the adopted resources observation found to `observed`, and drops their names from the look-alikes
/// (they lack our label, which is what made them look-alikes).
pub fn merge(observed: &mut ObservedState, found: ObservedState) {
    let adopted_names: BTreeSet<String> = found
        .containers
        .iter()
        .map(|c| c.name.clone())
        .chain(found.networks.iter().map(|n| n.name.clone()))
        .chain(found.volumes.iter().map(|v| v.name.clone()))
        .collect();
    observed
        .unmanaged_lookalikes
        .retain(|name| !adopted_names.contains(name));
    for container in found.containers {
        if !observed.containers.iter().any(|c| c.id == container.id) {
            observed.containers.push(container);
        }
    }
    for network in found.networks {
        if !observed.networks.iter().any(|n| n.id == network.id) {
            observed.networks.push(network);
        }
    }
    for volume in found.volumes {
        if !observed.volumes.iter().any(|v| v.name == volume.name) {
            observed.volumes.push(volume);
        }
    }
    observed
        .containers
        .sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
}

/// One line per adopted resource that is live, for the plan's warnings: what lacks our label and why the
/// plan acts on it anyway.
pub fn notes(observed: &ObservedState, adopted: &[Adopted]) -> Vec<String> {
    let live = |a: &Adopted| match a.kind {
        ResourceKind::Container => observed.containers.iter().any(|c| c.id == a.id),
        ResourceKind::Network => observed.networks.iter().any(|n| n.id == a.id),
        ResourceKind::Volume => observed.volumes.iter().any(|v| v.name == a.id),
        // Import adopts containers, networks and volumes only (an engine-target project).
        ResourceKind::Image
        | ResourceKind::Service
        | ResourceKind::Secret
        | ResourceKind::Config => false,
    };
    adopted
        .iter()
        .filter(|a| live(a))
        .map(|a| {
            format!(
                "{} \"{}\" was adopted by import from the compose project of this name; it carries no {} label",
                a.kind.as_str(),
                a.name,
                naming::LABEL_MANAGED_BY
            )
        })
        .collect()
}

/// The first 12 characters of an engine id, as `docker ps` shows it.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::observed::{ContainerState, ObservedContainer};
    use crate::plan::{Action, ContainerTarget, ResourceRef};

    fn create(name: &str, hash: &str) -> Action {
        Action {
            id: 0,
            resource: ResourceRef {
                kind: ResourceKind::Container,
                name: name.into(),
                key: "web".into(),
                number: Some(1),
            },
            op: Op::Create,
            changes: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            target: Some(Target::Container(ContainerTarget {
                service: "web".into(),
                number: 1,
                name: name.into(),
                spec: Default::default(),
                labels: BTreeMap::new(),
                config_hash: hash.into(),
                network_names: BTreeMap::new(),
                volume_names: BTreeMap::new(),
                wait_for: Vec::new(),
            })),
            existing_id: None,
            existing_running: false,
        }
    }

    fn found(name: &str, fit: Fit) -> Found {
        Found {
            kind: ResourceKind::Container,
            id: format!("{name}-id-0123456789"),
            name: name.into(),
            key: "web".into(),
            fit,
        }
    }

    #[test]
    fn matching_resources_take_the_spec_hash_and_differing_ones_a_hash_no_spec_has() {
        let plan = Plan {
            project: "demo".into(),
            actions: vec![create("demo-web-1", "h1"), create("demo-web-2", "h1")],
            waves: Vec::new(),
            fingerprint: String::new(),
            summary: Default::default(),
            warnings: Vec::new(),
            orphans: Vec::new(),
            kept_volumes: Vec::new(),
        };
        let decision = decide(
            &plan,
            &[
                found("demo-web-1", Fit::Matches),
                found("demo-web-2", Fit::Differs(vec!["command differs".into()])),
                found("demo-web-3", Fit::Matches),
                found("demo-old-1", Fit::NotInSpec),
                found("demo-other-1", Fit::Owned("other".into())),
            ],
        );
        let hashes: Vec<(&str, &str)> = decision
            .adopted
            .iter()
            .map(|a| (a.name.as_str(), a.config_hash.as_str()))
            .collect();
        assert_eq!(
            hashes,
            vec![("demo-web-1", "h1"), ("demo-web-2", DIFFERS_HASH)]
        );
        assert_eq!(
            decision.matching,
            vec!["container demo-web-1 (demo-web-1-i)"]
        );
        assert!(decision.differing[0].ends_with("command differs"));
        assert_eq!(decision.left_alone.len(), 3, "{:?}", decision.left_alone);
        assert!(decision.left_alone[2].contains("already managed as project other"));
    }

    #[test]
    fn only_compose_resources_of_the_named_project_without_an_owner_may_be_adopted() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let table = [
            (labels(&[(naming::LABEL_PROJECT, "demo")]), true),
            (labels(&[(naming::LABEL_PROJECT, "other")]), false),
            (labels(&[]), false),
            (
                labels(&[
                    (naming::LABEL_PROJECT, "demo"),
                    (naming::LABEL_MANAGED_BY, "demo"),
                ]),
                false,
            ),
            (
                labels(&[
                    (naming::LABEL_PROJECT, "demo"),
                    (naming::LABEL_MANAGED_BY, "other"),
                ]),
                false,
            ),
            (
                labels(&[
                    (naming::LABEL_PROJECT, "demo"),
                    (naming::LABEL_ONEOFF, "True"),
                ]),
                false,
            ),
        ];
        for (labels, expected) in table {
            assert_eq!(may_adopt(&labels, "demo"), expected, "{labels:?}");
        }
    }

    #[test]
    fn merged_adoptions_are_ours_and_no_longer_look_alikes() {
        let container = ObservedContainer {
            id: "c1".into(),
            name: "demo-web-1".into(),
            service: "web".into(),
            number: 1,
            config_hash: Some("h1".into()),
            state: ContainerState::Running,
            health: None,
            image: "busybox".into(),
            restart: Default::default(),
            resources: Default::default(),
            labels: BTreeMap::new(),
        };
        let mut observed = ObservedState {
            unmanaged_lookalikes: vec!["demo-web-1".into(), "demo-db-1".into()],
            ..ObservedState::default()
        };
        let found = ObservedState {
            containers: vec![container.clone()],
            ..ObservedState::default()
        };
        merge(&mut observed, found.clone());
        merge(&mut observed, found);
        assert_eq!(observed.containers, vec![container]);
        assert_eq!(observed.unmanaged_lookalikes, vec!["demo-db-1".to_string()]);
        let adopted = Adopted {
            kind: ResourceKind::Container,
            id: "c1".into(),
            name: "demo-web-1".into(),
            key: "web".into(),
            config_hash: "h1".into(),
        };
        let gone = Adopted {
            id: "c2".into(),
            ..adopted.clone()
        };
        let notes = notes(&observed, &[adopted, gone]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("adopted by import"), "{notes:?}");
    }
}
