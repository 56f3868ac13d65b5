//! History and rollback: the project's recorded plans and applies, and a plan back to an earlier apply's spec.
//!
//! A rollback is an ordinary stored plan computed from the spec an earlier apply left, so the human reviews
//! its rendering and approves it like any other; nothing here executes anything.

use planner::plan::PlanOptions;
use planner::SpecErrors;

use super::{validate_project_name, Engine, EngineError, PlanOutcome, PlanPurpose};
use crate::state::{HistoryEntry, PlanStatus, StoredPlan};

/// Most history entries one call returns (the newest ones).
pub const HISTORY_LIMIT_MAX: usize = 500;

/// Why a plan cannot be rolled back to.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("plan {plan_id:?} of project {project:?} is {status}, not applied (fix: pick the plan id of an `apply` entry that completed, from project_history)")]
    NotApplied {
        project: String,
        plan_id: String,
        status: &'static str,
    },
    #[error("plan {plan_id:?} of project {project:?} is a destroy plan (fix: to remove the project, use destroy; to roll back, pick an earlier apply from project_history)")]
    DestroyPlan { project: String, plan_id: String },
}

impl Engine {
    /// The newest `limit` history entries of a project (at most [`HISTORY_LIMIT_MAX`]), oldest first.
    pub async fn recent_history(
        &self,
        project: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, EngineError> {
        let mut entries = self.history(project).await?;
        let keep = limit.clamp(1, HISTORY_LIMIT_MAX);
        let skip = entries.len().saturating_sub(keep);
        entries.drain(..skip);
        Ok(entries)
    }

    /// Stores a plan that returns the project to the spec that plan `plan_id` applied, removing what was
    /// added since (volumes are kept). It is pending like any plan: `apply` executes it after review.
    pub async fn rollback_plan(
        &self,
        project: &str,
        plan_id: &str,
    ) -> Result<PlanOutcome, EngineError> {
        validate_project_name(project)?;
        let earlier = self.fetch_plan(project, plan_id).await?;
        check_rollback_target(&earlier)?;
        if earlier.target() == planner::swarm::Target::Swarm {
            return self.rollback_plan_swarm(earlier).await;
        }
        let mut desired = earlier.spec;
        desired.name = project.to_string();
        // The spec passed policy when it was planned; the operator may have tightened it since.
        let refused = planner::policy::project::check_stored(&desired, &self.config.policy());
        if !refused.is_empty() {
            return Err(SpecErrors(refused).into());
        }
        let digests = self.digests(&desired).await?;
        let options = PlanOptions {
            remove_orphans: true,
            remove_volumes: false,
        };
        let planned = self
            .plan_against(
                desired,
                earlier.source,
                digests,
                options,
                PlanPurpose::Converge,
            )
            .await?;
        Ok(planned.outcome)
    }
}

/// Only a completed apply of a spec can be returned to.
fn check_rollback_target(plan: &StoredPlan) -> Result<(), RollbackError> {
    if plan.destroy {
        return Err(RollbackError::DestroyPlan {
            project: plan.project.clone(),
            plan_id: plan.id.clone(),
        });
    }
    if plan.status != PlanStatus::Applied {
        return Err(RollbackError::NotApplied {
            project: plan.project.clone(),
            plan_id: plan.id.clone(),
            status: plan.status.as_str(),
        });
    }
    Ok(())
}
