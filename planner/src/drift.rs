//! Drift: how the live resources of a project differ from its last apply.
//!
//! Pure: the engine passes in what it recorded at the last apply (the spec and the config hash of each
//! resource) and what it observes now, and gets back each resource's state and the drift lines that
//! status shows. Orphans, changed hashes, stopped or unhealthy containers, missing resources and
//! unmanaged look-alikes are all named here, once.

use std::collections::{BTreeMap, BTreeSet};

use crate::hash;
use crate::model::Project;
use crate::naming;
use crate::observed::{ContainerState, ObservedContainer, ObservedState};
use crate::plan::ResourceKind;

/// What the last apply recorded about a project.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// The last-applied spec.
    pub spec: &'a Project,
    /// The resources the apply made, with the config hash each had then.
    pub resources: &'a [RecordedResource],
}

/// One resource of the last apply and its config hash then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResource {
    pub kind: ResourceKind,
    pub name: String,
    pub config_hash: Option<String>,
}

/// The live state of one resource and its drift, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    pub kind: ResourceKind,
    pub name: String,
    /// The service of a container.
    pub service: Option<String>,
    /// Container state (`running`, `exited` ...), `present`, or `missing`.
    pub state: String,
    pub health: Option<String>,
    /// Why the resource differs from the last apply.
    pub drift: Option<String>,
}

/// Every resource's state, and the drift lines in the order status shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    pub resources: Vec<ResourceState>,
    pub drift: Vec<String>,
}

impl Assessment {
    fn add(&mut self, resource: ResourceState) {
        if let Some(note) = &resource.drift {
            self.drift.push(format!(
                "{} {}: {note}",
                resource.kind.as_str(),
                resource.name
            ));
        }
        self.resources.push(resource);
    }
}

const ORPHAN: &str = "orphan: not in the last-applied spec";
const MISSING: &str = "missing";

/// The live resources of a project with a recorded apply, and how they drifted from it.
pub fn assess_recorded(recorded: Recorded<'_>, observed: &ObservedState) -> Assessment {
    assess(Some(recorded), observed)
}

/// The live resources of a project without a recorded apply: nothing to drift from but their own state.
pub fn assess_unrecorded(observed: &ObservedState) -> Assessment {
    assess(None, observed)
}

fn assess(recorded: Option<Recorded<'_>>, observed: &ObservedState) -> Assessment {
    let mut out = Assessment::default();
    assess_containers(recorded, observed, &mut out);
    let spec = recorded.map(|r| r.spec);
    let networks = spec.map(expected_networks);
    assess_named(
        ResourceKind::Network,
        networks,
        network_names(observed),
        &mut out,
    );
    let volumes = spec.map(expected_volumes);
    assess_named(
        ResourceKind::Volume,
        volumes,
        volume_names(observed),
        &mut out,
    );
    for lookalike in &observed.unmanaged_lookalikes {
        out.drift.push(format!(
            "{lookalike}: unmanaged look-alike: it has one of our names but not our labels, so it is \
             left alone"
        ));
    }
    out
}

fn assess_containers(
    recorded: Option<Recorded<'_>>,
    observed: &ObservedState,
    out: &mut Assessment,
) {
    let expected = recorded.map(|r| expected_containers(r.spec));
    let recorded_hashes: BTreeMap<&str, &str> = recorded
        .map(|r| r.resources)
        .unwrap_or_default()
        .iter()
        .filter(|res| res.kind == ResourceKind::Container)
        .filter_map(|res| Some((res.name.as_str(), res.config_hash.as_deref()?)))
        .collect();
    for container in &observed.containers {
        let in_spec = expected.as_ref().map(|e| e.contains_key(&container.name));
        let note = container_drift(
            container,
            in_spec,
            recorded_hashes.get(container.name.as_str()).copied(),
        );
        out.add(ResourceState {
            kind: ResourceKind::Container,
            name: container.name.clone(),
            service: Some(container.service.clone()),
            state: state_name(container.state).into(),
            health: container.health.clone(),
            drift: note,
        });
    }
    let observed_names: BTreeSet<&str> = observed
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for (name, service) in expected.iter().flatten() {
        if !observed_names.contains(name.as_str()) {
            // The line says more than the resource's short `missing`.
            out.drift.push(format!(
                "container {name}: missing: it was removed outside this tool"
            ));
            out.resources.push(missing(
                ResourceKind::Container,
                name,
                Some(service.clone()),
            ));
        }
    }
}

/// Why one observed container differs from the last apply; `in_spec` is `None` without a record.
fn container_drift(
    container: &ObservedContainer,
    in_spec: Option<bool>,
    recorded_hash: Option<&str>,
) -> Option<String> {
    if in_spec == Some(false) {
        return Some(ORPHAN.into());
    }
    if recorded_hash.is_some_and(|hash| Some(hash) != container.config_hash.as_deref()) {
        return Some(
            "changed: its config hash differs from the one recorded at the last apply".into(),
        );
    }
    if !container.state.is_running() {
        return Some(format!(
            "stopped: the container is {}",
            state_name(container.state)
        ));
    }
    (container.health.as_deref() == Some("unhealthy")).then(|| "unhealthy".to_string())
}

/// Networks and volumes: orphans among the observed, and the expected ones that are missing.
fn assess_named(
    kind: ResourceKind,
    expected: Option<BTreeSet<String>>,
    observed: Vec<&str>,
    out: &mut Assessment,
) {
    for name in &observed {
        let orphan = expected.as_ref().is_some_and(|e| !e.contains(*name));
        out.add(ResourceState {
            kind,
            name: name.to_string(),
            service: None,
            state: "present".into(),
            health: None,
            drift: orphan.then(|| orphan_note(kind)),
        });
    }
    for name in expected.iter().flatten() {
        if !observed.contains(&name.as_str()) {
            out.add(missing(kind, name, None));
        }
    }
}

fn orphan_note(kind: ResourceKind) -> String {
    match kind {
        ResourceKind::Volume => {
            format!("{ORPHAN} (volumes are kept until removed explicitly)")
        }
        _ => ORPHAN.to_string(),
    }
}

fn missing(kind: ResourceKind, name: &str, service: Option<String>) -> ResourceState {
    ResourceState {
        kind,
        name: name.into(),
        service,
        state: "missing".into(),
        health: None,
        drift: Some(MISSING.into()),
    }
}

fn network_names(observed: &ObservedState) -> Vec<&str> {
    observed.networks.iter().map(|n| n.name.as_str()).collect()
}

fn volume_names(observed: &ObservedState) -> Vec<&str> {
    observed.volumes.iter().map(|v| v.name.as_str()).collect()
}

/// Engine names of the networks the spec creates (external ones are not ours to miss).
fn expected_networks(project: &Project) -> BTreeSet<String> {
    project
        .networks
        .iter()
        .filter(|(_, n)| !n.external)
        .map(|(key, _)| hash::network_engine_name(project, key))
        .collect()
}

/// Engine names of the volumes the spec creates (external ones are not ours to miss).
fn expected_volumes(project: &Project) -> BTreeSet<String> {
    project
        .volumes
        .iter()
        .filter(|(_, v)| !v.external)
        .map(|(key, _)| hash::volume_engine_name(project, key))
        .collect()
}

/// Container name -> service, for every replica the spec asks for.
fn expected_containers(project: &Project) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (service_name, service) in &project.services {
        match (&service.container_name, service.replicas) {
            (Some(explicit), 1) => {
                out.insert(explicit.clone(), service_name.clone());
            }
            _ => {
                for n in 1..=service.replicas {
                    out.insert(
                        naming::container_name(&project.name, service_name, n),
                        service_name.clone(),
                    );
                }
            }
        }
    }
    out
}

/// The word Docker uses for a container state.
pub fn state_name(state: ContainerState) -> &'static str {
    match state {
        ContainerState::Created => "created",
        ContainerState::Running => "running",
        ContainerState::Paused => "paused",
        ContainerState::Restarting => "restarting",
        ContainerState::Removing => "removing",
        ContainerState::Exited => "exited",
        ContainerState::Dead => "dead",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;
    use crate::model::{NetworkSpec, ServiceSpec, VolumeSpec};
    use crate::observed::{ObservedNetwork, ObservedVolume};

    fn container(name: &str, hash: &str, state: ContainerState) -> ObservedContainer {
        ObservedContainer {
            id: format!("id-{name}"),
            name: name.into(),
            service: name.split('-').nth(1).unwrap_or_default().into(),
            number: 1,
            config_hash: Some(hash.into()),
            state,
            health: None,
            image: "busybox".into(),
            restart: Default::default(),
            resources: Default::default(),
            labels: Default::default(),
        }
    }

    /// `demo` with services web, db and cache, network `back` and volume `data`.
    fn spec() -> Project {
        let mut spec = Project {
            name: "demo".into(),
            ..Project::default()
        };
        for s in ["web", "db", "cache"] {
            let service = ServiceSpec {
                image: "busybox".into(),
                replicas: 1,
                ..ServiceSpec::default()
            };
            spec.services.insert(s.into(), service);
        }
        spec.networks.insert("back".into(), NetworkSpec::default());
        spec.volumes.insert("data".into(), VolumeSpec::default());
        spec
    }

    fn recorded_hashes() -> Vec<RecordedResource> {
        ["web", "db", "cache"]
            .iter()
            .map(|s| RecordedResource {
                kind: ResourceKind::Container,
                name: format!("demo-{s}-1"),
                config_hash: Some("h1".into()),
            })
            .collect()
    }

    fn network(name: &str) -> ObservedNetwork {
        ObservedNetwork {
            id: format!("id-{name}"),
            name: name.into(),
            key: String::new(),
            config_hash: None,
            labels: Default::default(),
        }
    }

    fn volume(name: &str) -> ObservedVolume {
        ObservedVolume {
            name: name.into(),
            key: String::new(),
            config_hash: None,
            labels: Default::default(),
        }
    }

    /// Everything matching the spec: three running containers with the recorded hash, network and volume.
    fn matching() -> ObservedState {
        ObservedState {
            project: "demo".into(),
            containers: ["web", "db", "cache"]
                .iter()
                .map(|s| container(&format!("demo-{s}-1"), "h1", ContainerState::Running))
                .collect(),
            networks: vec![network("demo_back")],
            volumes: vec![volume("demo_data")],
            ..ObservedState::default()
        }
    }

    fn drift_of(observed: &ObservedState) -> Vec<String> {
        let spec = spec();
        let hashes = recorded_hashes();
        let recorded = Recorded {
            spec: &spec,
            resources: &hashes,
        };
        assess_recorded(recorded, observed).drift
    }

    #[test]
    fn each_kind_of_drift_gets_its_line() {
        type Change = fn(&mut ObservedState);
        let table: [(&str, Change, &str); 9] = [
            (
                "changed hash",
                |o| o.containers[0].config_hash = Some("h2".into()),
                "container demo-web-1: changed",
            ),
            (
                "no hash",
                |o| o.containers[0].config_hash = None,
                "container demo-web-1: changed",
            ),
            (
                "stopped",
                |o| o.containers[1].state = ContainerState::Exited,
                "container demo-db-1: stopped: the container is exited",
            ),
            (
                "unhealthy",
                |o| o.containers[1].health = Some("unhealthy".into()),
                "container demo-db-1: unhealthy",
            ),
            (
                "orphan container",
                |o| {
                    o.containers
                        .push(container("demo-old-1", "h1", ContainerState::Running))
                },
                "container demo-old-1: orphan",
            ),
            (
                "missing container",
                |o| {
                    o.containers.remove(2);
                },
                "container demo-cache-1: missing: it was removed outside this tool",
            ),
            (
                "missing network",
                |o| o.networks.clear(),
                "network demo_back: missing",
            ),
            (
                "orphan volume",
                |o| o.volumes.push(volume("demo_old")),
                "volume demo_old: orphan: not in the last-applied spec (volumes are kept",
            ),
            (
                "look-alike",
                |o| o.unmanaged_lookalikes.push("container demo-x-1".into()),
                "container demo-x-1: unmanaged look-alike",
            ),
        ];
        for (case, change, line) in table {
            let mut observed = matching();
            change(&mut observed);
            let drift = drift_of(&observed);
            assert_eq!(drift.len(), 1, "{case}: {drift:?}");
            assert!(drift[0].starts_with(line), "{case}: {drift:?}");
        }
    }

    #[test]
    fn matching_project_has_no_drift() {
        assert!(drift_of(&matching()).is_empty());
    }

    #[test]
    fn missing_resources_are_listed_with_their_state() {
        let mut observed = matching();
        observed.containers.remove(2);
        observed.volumes.clear();
        let spec = spec();
        let hashes = recorded_hashes();
        let recorded = Recorded {
            spec: &spec,
            resources: &hashes,
        };
        let missing: Vec<(ResourceKind, String)> = assess_recorded(recorded, &observed)
            .resources
            .into_iter()
            .filter(|r| r.state == "missing")
            .map(|r| (r.kind, r.name))
            .collect();
        assert_eq!(
            missing,
            [
                (ResourceKind::Container, "demo-cache-1".to_string()),
                (ResourceKind::Volume, "demo_data".to_string())
            ]
        );
    }

    #[test]
    fn without_a_record_only_the_live_state_counts() {
        let mut observed = matching();
        observed.containers[0].config_hash = Some("other".into());
        observed.containers[1].state = ContainerState::Exited;
        let assessment = assess_unrecorded(&observed);
        assert_eq!(
            assessment.drift,
            ["container demo-db-1: stopped: the container is exited"]
        );
        assert_eq!(assessment.resources.len(), 5);
    }
}
