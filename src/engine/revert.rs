//! Automatic revert: when an apply fails, plan and apply the return to the spec the previous apply left.
//!
//! An apply that may revert also gates each replaced container on its own healthcheck: a replacement that
//! turns unhealthy, exits, or is not healthy within its start period and retries fails its step, so the
//! revert brings the previous container config back.
//!
//! The revert is an ordinary rollback plan (see `history`), stored and journalled like any other, so the
//! history shows the failed apply and the revert as two steps.

use tokio_util::sync::CancellationToken;

use super::{ApplyOutcome, Engine, EngineError, EventSink, PlanOutcome};
use crate::docker::execute::HealthGate;

/// An apply and, when it failed and a previous complete apply existed, the revert that followed.
#[derive(Debug, Clone)]
pub struct AppliedWithRevert {
    pub applied: ApplyOutcome,
    pub revert: Option<Revert>,
}

/// The plan back to the previous spec and what applying it did.
#[derive(Debug, Clone)]
pub struct Revert {
    pub plan: PlanOutcome,
    pub applied: ApplyOutcome,
}

impl Engine {
    /// Applies plan `plan_id` with replaced containers gated on their healthchecks; if it fails (not when
    /// cancelled), returns the project to the spec of the previous complete apply. Without such an apply there is nothing to return to and no revert runs.
    pub async fn apply_or_revert(
        &self,
        project: &str,
        plan_id: &str,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<AppliedWithRevert, EngineError> {
        let name = project.to_string();
        let previous = self.state(move |s| s.last_applied(&name)).await?;
        let gate = HealthGate::ReplacedMustBeHealthy;
        let applied = self
            .apply_gated(project, plan_id, events.clone(), cancel.clone(), gate)
            .await?;
        let revert_to = previous.filter(|record| record.complete && record.plan_id != plan_id);
        let Some(record) = revert_to.filter(|_| !applied.succeeded && !applied.report.cancelled)
        else {
            return Ok(AppliedWithRevert {
                applied,
                revert: None,
            });
        };
        tracing::warn!(project, plan_id, to = %record.plan_id, "apply failed; reverting to the previous spec");
        let plan = self.rollback_plan(project, &record.plan_id).await?;
        let reverted = self.apply(project, &plan.plan_id, events, cancel).await?;
        Ok(AppliedWithRevert {
            applied,
            revert: Some(Revert {
                plan,
                applied: reverted,
            }),
        })
    }
}
