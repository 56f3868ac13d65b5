//! Status of a swarm project: per service its desired and running replicas, per task its node, state and
//! error, the swarm's nodes, and the drift `planner::swarm::drift` finds (scaled, updated or removed outside
//! the tool).

use planner::swarm::drift;
use planner::swarm::spec::ServiceMode;
use planner::swarm::Target;

use super::{project_to_compose_yaml, Engine, EngineError, ProjectStatus, ResourceStatus};
use crate::docker::swarm::{service_tasks, TaskView};
use crate::docker::swarm_project::{self, NodeView};
use crate::state::ProjectRecord;

/// Tasks listed per service: the current ones, then the latest that failed.
const MAX_TASKS_PER_SERVICE: usize = 20;
/// Nodes listed.
const MAX_NODES: usize = 50;

impl Engine {
    pub(super) async fn swarm_status(
        &self,
        record: ProjectRecord,
    ) -> Result<ProjectStatus, EngineError> {
        let client = self.swarm_manager().await?;
        let observed = swarm_project::observe(&client, &record.project).await;
        let observed = match observed {
            Ok(observed) => observed,
            Err(e) => return Err(self.swarm.note_error(e).await.into()),
        };
        let nodes = swarm_project::nodes(&client).await?;
        let applied = super::swarm::applied_services(Some(&record));
        let drifted = drift::assess(&applied, &observed.services);
        let mut resources = Vec::new();
        for (name, spec) in &applied {
            let key = spec.labels.get(planner::naming::LABEL_SERVICE).cloned();
            let tasks = if drifted.get(name) == Some(&drift::ServiceDrift::Removed) {
                Vec::new()
            } else {
                service_tasks(&client, name).await?
            };
            let current: Vec<&TaskView> = tasks
                .iter()
                .filter(|t| t.desired_state == "running")
                .collect();
            let running = current.iter().filter(|t| t.is_running()).count();
            let desired = match spec.mode {
                ServiceMode::Replicated { replicas } => replicas.to_string(),
                ServiceMode::Global => "global".to_string(),
            };
            resources.push(ResourceStatus {
                kind: "service".into(),
                name: name.clone(),
                service: key.clone(),
                state: format!("{running}/{desired} running"),
                health: None,
                drift: drifted.get(name).map(|d| d.describe(name)),
            });
            resources.extend(task_rows(name, key.as_deref(), &tasks, &nodes));
        }
        resources.extend(nodes.values().take(MAX_NODES).map(node_row));
        Ok(ProjectStatus {
            project: record.project.clone(),
            target: Target::Swarm,
            known: true,
            last_applied_yaml: Some(project_to_compose_yaml(&record.spec)?),
            last_applied_at: Some(record.applied_at.clone()),
            last_apply_failure: record.failure.clone(),
            resources,
            drift: drifted.iter().map(|(n, d)| d.describe(n)).collect(),
        })
    }
}

/// `node mcpsw-n2  ready, active`: where tasks can run.
fn node_row(node: &NodeView) -> ResourceStatus {
    ResourceStatus {
        kind: "node".into(),
        name: node.hostname.clone(),
        service: None,
        state: format!("{}, {}", node.state, node.availability),
        health: None,
        drift: None,
    }
}

/// `web.2  running on node-2` rows: the tasks meant to run, then the ones that failed, bounded.
fn task_rows(
    service: &str,
    key: Option<&str>,
    tasks: &[TaskView],
    nodes: &std::collections::BTreeMap<String, NodeView>,
) -> Vec<ResourceStatus> {
    let (current, past): (Vec<&TaskView>, Vec<&TaskView>) =
        tasks.iter().partition(|t| t.desired_state == "running");
    let failed = past.into_iter().filter(|t| !t.error.is_empty());
    current
        .into_iter()
        .chain(failed)
        .take(MAX_TASKS_PER_SERVICE)
        .map(|t| {
            let node = nodes.get(&t.node_id);
            let node_name = node.map_or(t.node_id.as_str(), |n| n.hostname.as_str());
            let mut state = format!("{} on {node_name}", t.state);
            if node.is_some_and(|n| n.availability == "drain") {
                state.push_str(" (node drained)");
            }
            if !t.error.is_empty() {
                state.push_str(&format!(": {}", t.error));
            }
            ResourceStatus {
                kind: "task".into(),
                name: format!("{service}.{}", t.slot.unwrap_or_default()),
                service: key.map(str::to_string),
                state,
                health: None,
                drift: None,
            }
        })
        .collect()
}
