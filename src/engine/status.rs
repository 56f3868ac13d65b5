//! Resuming a project by name: its live resources and how they drifted from the last apply (the drift
//! decision is `planner::drift`; this adapts the stored record to it), and the list of projects.

use std::collections::BTreeMap;

use planner::drift::{self, Recorded, RecordedResource};
use planner::observed::ObservedState;

use super::{ProjectSummary, ResourceStatus};
use crate::docker::{DockerClient, DockerError};
use crate::state::ProjectRecord;

/// Live state per resource and the drift lines, from the record (if any) and what the engine holds; the
/// decision is `planner::drift`'s, this adapts the stored record to its inputs and its results to status.
pub fn assess(
    record: Option<&ProjectRecord>,
    observed: &ObservedState,
) -> (Vec<ResourceStatus>, Vec<String>) {
    let assessment = match record {
        Some(record) => {
            let resources = recorded_resources(record);
            let recorded = Recorded {
                spec: &record.spec,
                resources: &resources,
            };
            drift::assess_recorded(recorded, observed)
        }
        None => drift::assess_unrecorded(observed),
    };
    let resources = assessment.resources.into_iter().map(status_of).collect();
    (resources, assessment.drift)
}

/// The record's resources with their recorded config hashes, as the planner's drift assessment takes them.
fn recorded_resources(record: &ProjectRecord) -> Vec<RecordedResource> {
    record
        .resources
        .iter()
        .map(|res| RecordedResource {
            kind: res.kind,
            name: res.name.clone(),
            config_hash: res.config_hash.clone(),
        })
        .collect()
}

fn status_of(state: drift::ResourceState) -> ResourceStatus {
    ResourceStatus {
        kind: state.kind.as_str().into(),
        name: state.name,
        service: state.service,
        state: state.state,
        health: state.health,
        drift: state.drift,
    }
}

/// Running and total container counts per project label value, over every container carrying our label.
pub async fn live_projects(
    docker: &DockerClient,
    host: &str,
) -> Result<BTreeMap<String, (usize, usize)>, DockerError> {
    crate::docker::observe::live_projects(docker, host).await
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
    use planner::model::{Project, ServiceSpec};
    use planner::observed::{ContainerState, ObservedContainer};

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
            failure: None,
            adopted: Vec::new(),
            swarm: None,
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
