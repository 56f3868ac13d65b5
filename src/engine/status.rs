//! Resuming a project by name: its live resources and how they drifted from the last apply.

use std::collections::{BTreeMap, BTreeSet};

use planner::model::Project;
use planner::naming::{self, LABEL_MANAGED_BY};
use planner::observed::{ContainerState, ObservedState};

use super::{ProjectSummary, ResourceStatus};
use crate::docker::DockerError;
use crate::state::ProjectRecord;

/// Live state per resource and the drift lines, from the record (if any) and what the engine holds.
pub fn assess(
    record: Option<&ProjectRecord>,
    observed: &ObservedState,
) -> (Vec<ResourceStatus>, Vec<String>) {
    let spec = record.map(|r| &r.spec);
    let recorded_hash: BTreeMap<(&str, &str), Option<&str>> = record
        .map(|r| {
            r.resources
                .iter()
                .map(|res| {
                    (
                        (res.kind.as_str(), res.name.as_str()),
                        res.config_hash.as_deref(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut resources = Vec::new();
    let mut drift = Vec::new();

    let expected = spec.map(expected_containers).unwrap_or_default();
    for c in &observed.containers {
        let in_spec = expected.contains_key(&c.name);
        let note = if spec.is_some() && !in_spec {
            Some("orphan: not in the last-applied spec".to_string())
        } else if matches!(recorded_hash.get(&("container", c.name.as_str())), Some(Some(h)) if Some(*h) != c.config_hash.as_deref())
        {
            Some(
                "changed: its config hash differs from the one recorded at the last apply"
                    .to_string(),
            )
        } else if !c.state.is_running() {
            Some(format!("stopped: the container is {}", state_name(c.state)))
        } else if c.health.as_deref() == Some("unhealthy") {
            Some("unhealthy".to_string())
        } else {
            None
        };
        if let Some(n) = &note {
            drift.push(format!("container {}: {n}", c.name));
        }
        resources.push(ResourceStatus {
            kind: "container".into(),
            name: c.name.clone(),
            service: Some(c.service.clone()),
            state: state_name(c.state).into(),
            health: c.health.clone(),
            drift: note,
        });
    }
    let observed_names: BTreeSet<&str> = observed
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for (name, service) in &expected {
        if !observed_names.contains(name.as_str()) {
            drift.push(format!(
                "container {name}: missing: it was removed outside this tool"
            ));
            resources.push(missing("container", name, Some(service.clone())));
        }
    }

    let expected_networks: BTreeMap<String, String> = spec
        .map(|p| {
            p.networks
                .iter()
                .filter(|(_, n)| !n.external)
                .map(|(key, n)| {
                    (
                        n.name
                            .clone()
                            .unwrap_or_else(|| naming::scoped_name(&p.name, key)),
                        key.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for n in &observed.networks {
        let note = (spec.is_some() && !expected_networks.contains_key(&n.name))
            .then(|| "orphan: not in the last-applied spec".to_string());
        if let Some(text) = &note {
            drift.push(format!("network {}: {text}", n.name));
        }
        resources.push(ResourceStatus {
            kind: "network".into(),
            name: n.name.clone(),
            service: None,
            state: "present".into(),
            health: None,
            drift: note,
        });
    }
    for name in expected_networks.keys() {
        if !observed.networks.iter().any(|n| &n.name == name) {
            drift.push(format!("network {name}: missing"));
            resources.push(missing("network", name, None));
        }
    }

    let expected_volumes: BTreeSet<String> = spec
        .map(|p| {
            p.volumes
                .iter()
                .filter(|(_, v)| !v.external)
                .map(|(key, v)| {
                    v.name
                        .clone()
                        .unwrap_or_else(|| naming::scoped_name(&p.name, key))
                })
                .collect()
        })
        .unwrap_or_default();
    for v in &observed.volumes {
        let note = (spec.is_some() && !expected_volumes.contains(&v.name)).then(|| {
            "orphan: not in the last-applied spec (volumes are kept until removed explicitly)"
                .to_string()
        });
        if let Some(text) = &note {
            drift.push(format!("volume {}: {text}", v.name));
        }
        resources.push(ResourceStatus {
            kind: "volume".into(),
            name: v.name.clone(),
            service: None,
            state: "present".into(),
            health: None,
            drift: note,
        });
    }
    for name in &expected_volumes {
        if !observed.volumes.iter().any(|v| &v.name == name) {
            drift.push(format!("volume {name}: missing"));
            resources.push(missing("volume", name, None));
        }
    }

    for lookalike in &observed.unmanaged_lookalikes {
        drift.push(format!("{lookalike}: unmanaged look-alike: it has one of our names but not our labels, so it is left alone"));
    }
    (resources, drift)
}

fn missing(kind: &str, name: &str, service: Option<String>) -> ResourceStatus {
    ResourceStatus {
        kind: kind.into(),
        name: name.into(),
        service,
        state: "missing".into(),
        health: None,
        drift: Some("missing".into()),
    }
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

/// Running and total container counts per project label value, over every container carrying our label.
pub async fn live_projects(
    docker: &bollard::Docker,
    host: &str,
) -> Result<BTreeMap<String, (usize, usize)>, DockerError> {
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(std::collections::HashMap::from([(
            "label".to_string(),
            vec![LABEL_MANAGED_BY.to_string()],
        )])),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| DockerError::from_bollard(e, host, "listing project containers"))?;
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in containers {
        let Some(project) = c.labels.as_ref().and_then(|l| l.get(LABEL_MANAGED_BY)) else {
            continue;
        };
        let entry = out.entry(project.clone()).or_default();
        entry.1 += 1;
        if c.state.map(|s| s.to_string() == "running").unwrap_or(false) {
            entry.0 += 1;
        }
    }
    Ok(out)
}

pub fn merge_projects(
    records: &[ProjectRecord],
    live: &BTreeMap<String, (usize, usize)>,
) -> Vec<ProjectSummary> {
    let mut out: BTreeMap<String, ProjectSummary> = BTreeMap::new();
    for r in records {
        out.insert(
            r.project.clone(),
            ProjectSummary {
                name: r.project.clone(),
                recorded: true,
                containers_running: 0,
                containers_total: 0,
                last_applied_at: Some(r.applied_at.clone()),
            },
        );
    }
    for (name, (running, total)) in live {
        let entry = out.entry(name.clone()).or_insert_with(|| ProjectSummary {
            name: name.clone(),
            recorded: false,
            containers_running: 0,
            containers_total: 0,
            last_applied_at: None,
        });
        entry.containers_running = *running;
        entry.containers_total = *total;
    }
    out.into_values().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use planner::model::ServiceSpec;
    use planner::observed::ObservedContainer;

    use crate::state::ResourceRecord;

    fn container(
        name: &str,
        service: &str,
        hash: &str,
        state: ContainerState,
    ) -> ObservedContainer {
        ObservedContainer {
            id: format!("id-{name}"),
            name: name.into(),
            service: service.into(),
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

    fn record() -> ProjectRecord {
        let mut spec = Project {
            name: "demo".into(),
            ..Project::default()
        };
        for s in ["web", "db", "cache"] {
            spec.services.insert(
                s.into(),
                ServiceSpec {
                    image: "busybox".into(),
                    replicas: 1,
                    ..ServiceSpec::default()
                },
            );
        }
        let resources = ["web", "db", "cache"]
            .iter()
            .map(|s| ResourceRecord {
                kind: planner::plan::ResourceKind::Container,
                name: format!("demo-{s}-1"),
                key: s.to_string(),
                id: None,
                config_hash: Some("h1".into()),
            })
            .collect();
        ProjectRecord {
            project: "demo".into(),
            spec,
            source: String::new(),
            applied_at: "now".into(),
            plan_id: "p".into(),
            complete: true,
            resources,
        }
    }

    #[test]
    fn drift_names_missing_stopped_changed_orphans_and_lookalikes() {
        let observed = ObservedState {
            project: "demo".into(),
            containers: vec![
                container("demo-web-1", "web", "h2", ContainerState::Running),
                container("demo-db-1", "db", "h1", ContainerState::Exited),
                container("demo-old-1", "old", "h1", ContainerState::Running),
            ],
            unmanaged_lookalikes: vec!["container demo-x-1".into()],
            ..ObservedState::default()
        };
        let (resources, drift) = assess(Some(&record()), &observed);
        let joined = drift.join("\n");
        assert!(joined.contains("demo-web-1: changed"), "{joined}");
        assert!(joined.contains("demo-db-1: stopped"), "{joined}");
        assert!(joined.contains("demo-old-1: orphan"), "{joined}");
        assert!(joined.contains("demo-cache-1: missing"), "{joined}");
        assert!(joined.contains("unmanaged look-alike"), "{joined}");
        assert_eq!(resources.iter().filter(|r| r.state == "missing").count(), 1);
    }

    #[test]
    fn matching_project_has_no_drift() {
        let observed = ObservedState {
            project: "demo".into(),
            containers: ["web", "db", "cache"]
                .iter()
                .map(|s| container(&format!("demo-{s}-1"), s, "h1", ContainerState::Running))
                .collect(),
            ..ObservedState::default()
        };
        let (resources, drift) = assess(Some(&record()), &observed);
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(resources.len(), 3);
    }
}
