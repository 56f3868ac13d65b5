//! What an apply reports: step events as they happen and the final report, as plain serializable data.
//!
//! These types sit between the executor (which emits them) and the state store (which journals them), so
//! they live here, in the crate both depend on, rather than in either of them.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::{Op, ResourceRef};

/// A step's life, reported as it happens so the engine can journal it and surfaces can show progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StepEvent {
    Started {
        action_id: usize,
        resource: ResourceRef,
        op: Op,
    },
    /// Free-form progress within a step (pull layers, build output, waiting for health).
    Progress { action_id: usize, message: String },
    Done {
        action_id: usize,
        resource: ResourceRef,
        op: Op,
        engine_id: Option<String>,
    },
    Failed {
        action_id: usize,
        resource: ResourceRef,
        op: Op,
        error: String,
    },
    Skipped {
        action_id: usize,
        resource: ResourceRef,
        op: Op,
        reason: String,
    },
}

/// Where step events go while an apply runs.
pub type EventSink = Arc<dyn Fn(StepEvent) + Send + Sync>;

/// How one step ended.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct StepOutcome {
    pub action_id: usize,
    pub resource: ResourceRef,
    pub op: Op,
    /// Docker's own message for failures, the reason for skips, a short note for successes.
    pub message: String,
    #[serde(default)]
    pub engine_id: Option<String>,
}

/// Every step of an apply, sorted by outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ApplyReport {
    pub done: Vec<StepOutcome>,
    pub failed: Vec<StepOutcome>,
    pub skipped: Vec<StepOutcome>,
    pub cancelled: bool,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.cancelled
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::plan::ResourceKind;

    #[test]
    fn step_events_keep_their_journal_shape() {
        let event = StepEvent::Done {
            action_id: 2,
            resource: ResourceRef {
                kind: ResourceKind::Container,
                name: "demo-web-1".into(),
                key: "web".into(),
                number: Some(1),
            },
            op: Op::Create,
            engine_id: Some("abc".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "done");
        assert_eq!(json["resource"]["kind"], "container");
        assert_eq!(serde_json::from_value::<StepEvent>(json).unwrap(), event);
    }

    #[test]
    fn a_report_with_skips_did_not_succeed() {
        let mut report = ApplyReport::default();
        assert!(report.succeeded());
        report.cancelled = true;
        assert!(!report.succeeded());
    }
}
