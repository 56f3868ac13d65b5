//! What `list_projects` counts per project: containers carrying our label, the containers an import
//! adopted (they keep compose's labels, not ours), and for a project on the swarm target its services'
//! running tasks against their desired replicas (in the same two numbers, so the output schema stays).

use std::collections::{BTreeMap, BTreeSet};

use planner::plan::ResourceKind;
use planner::swarm::Target;

use super::{status, Engine, EngineError, ProjectSummary};
use crate::docker::{observe, swarm_project};
use crate::state::ProjectRecord;

/// Running and total counts by project name.
type Counts = BTreeMap<String, (usize, usize)>;

impl Engine {
    /// Projects recorded in the state store, and projects whose containers carry our label.
    pub async fn list_projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        let records = self.state(|s| s.projects()).await?;
        let mut live = self.live_containers(&records).await;
        live.extend(self.live_swarm(&records).await);
        Ok(status::merge_projects(&records, &live))
    }

    /// Containers on the engine target, ours and adopted; an engine that does not answer counts none.
    async fn live_containers(&self, records: &[ProjectRecord]) -> Counts {
        let host = self.docker.host_description();
        let counted = match self.docker.client().await {
            Ok(docker) => {
                let ours = status::live_projects(&docker, &host).await;
                let adopted = observe::live_adopted(&docker, &host, &adopted_ids(records)).await;
                ours.and_then(|ours| Ok(add(ours, adopted?)))
            }
            Err(e) => Err(e),
        };
        match counted {
            Ok(counts) => counts,
            Err(e) => {
                let e = self.docker.note_error(e).await;
                tracing::warn!(error = %e, "listing live projects failed; showing recorded projects only");
                Counts::new()
            }
        }
    }

    /// Running tasks and desired replicas of each project recorded on the swarm target.
    async fn live_swarm(&self, records: &[ProjectRecord]) -> Counts {
        let on_swarm: Vec<&str> = records
            .iter()
            .filter(|r| r.target() == Target::Swarm)
            .map(|r| r.project.as_str())
            .collect();
        if on_swarm.is_empty() {
            return Counts::new();
        }
        let client = match self.swarm_manager().await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "the swarm manager did not answer; swarm projects show 0/0");
                return Counts::new();
            }
        };
        let mut counts = Counts::new();
        for project in on_swarm {
            match swarm_project::replica_counts(&client, project).await {
                Ok(pair) => {
                    counts.insert(project.to_string(), pair);
                }
                Err(e) => {
                    tracing::warn!(error = %e, project, "counting a swarm project's tasks failed")
                }
            }
        }
        counts
    }
}

/// The container ids each import recorded, by project.
fn adopted_ids(records: &[ProjectRecord]) -> BTreeMap<String, BTreeSet<String>> {
    let mut ids = BTreeMap::new();
    for record in records {
        let containers: BTreeSet<String> = record
            .adopted
            .iter()
            .filter(|a| a.kind == ResourceKind::Container)
            .map(|a| a.id.clone())
            .collect();
        if !containers.is_empty() {
            ids.insert(record.project.clone(), containers);
        }
    }
    ids
}

fn add(mut ours: Counts, adopted: Counts) -> Counts {
    for (project, (running, total)) in adopted {
        let entry = ours.entry(project).or_default();
        entry.0 += running;
        entry.1 += total;
    }
    ours
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopted_counts_add_to_labelled_ones() {
        let ours = Counts::from([("a".to_string(), (1, 2))]);
        let adopted = Counts::from([("a".to_string(), (2, 3)), ("b".to_string(), (0, 1))]);
        let sum = add(ours, adopted);
        assert_eq!(sum.get("a"), Some(&(3, 5)));
        assert_eq!(sum.get("b"), Some(&(0, 1)));
    }
}
