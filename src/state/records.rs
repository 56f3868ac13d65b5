//! The record types the store keeps, one per kind of fact about a project.

use planner::model::Project;
use planner::plan::{ExternalDigests, Plan, PlanOptions, ResourceKind};
use planner::report::StepEvent;
use planner::swarm::plan::SwarmPlan;
use planner::swarm::spec::ServiceSpec as SwarmServiceSpec;
use planner::swarm::Target;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the last successful apply left behind, so the next plan can explain changes and status can spot drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectRecord {
    pub project: String,
    /// The applied spec (normalized; holds secret references, never values).
    pub spec: Project,
    /// The YAML or JSON text the spec was loaded from.
    pub source: String,
    /// RFC 3339 time of the apply.
    pub applied_at: String,
    pub plan_id: String,
    /// False when the apply that wrote this record failed part-way.
    pub complete: bool,
    pub resources: Vec<ResourceRecord>,
    /// The steps that failed when the apply that wrote this record did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ApplyFailure>,
    /// Resources `import` adopted from the compose project of this name that still stand: observation
    /// reports them as the project's own although they lack its ownership label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<planner::adopt::Adopted>,
    /// Set when the project runs on a swarm (`Target::Swarm`): the services as applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub swarm: Option<SwarmApplied>,
}

impl ProjectRecord {
    /// Where the project runs.
    pub fn target(&self) -> Target {
        if self.swarm.is_some() {
            Target::Swarm
        } else {
            Target::Engine
        }
    }
}

/// What the last apply left on the swarm: each service's spec by Swarm name, which names an update's
/// changed fields and tells drift (scaled, updated or removed outside the tool) apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SwarmApplied {
    pub services: std::collections::BTreeMap<String, SwarmServiceSpec>,
}

/// Why the last apply did not complete: each failed step with the engine's error, for status to name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyFailure {
    /// RFC 3339 time the apply ended.
    pub at: String,
    pub plan_id: String,
    pub steps: Vec<FailedStep>,
}

impl ApplyFailure {
    /// `the last apply (plan p1) failed at T: create container demo-web-1: pull access denied`.
    pub fn describe(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| format!("{}: {}", s.step, s.error))
            .collect();
        let steps = if steps.is_empty() {
            "it was cancelled part-way".to_string()
        } else {
            steps.join("; ")
        };
        format!(
            "the last apply (plan {}) failed at {}: {steps}",
            self.plan_id, self.at
        )
    }
}

/// One failed step: `create container demo-web-1` and the engine's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailedStep {
    pub step: String,
    pub error: String,
}

/// One engine resource the apply created or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRecord {
    /// Serialized as `container`, `network`, `volume` or `image`, the strings earlier stores hold.
    pub kind: ResourceKind,
    pub name: String,
    /// Compose key: service, network or volume key.
    pub key: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub config_hash: Option<String>,
}

/// What finishing a plan does to the project's last-applied record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordChange {
    /// Leave it as it is (the plan was refused before anything ran).
    Keep,
    /// Store this record; the project's other pending plans become stale.
    Write(Box<ProjectRecord>),
    /// Forget the project (a full destroy succeeded).
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    Applied,
    Failed,
    Stale,
    Cancelled,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Applied => "applied",
            PlanStatus::Failed => "failed",
            PlanStatus::Stale => "stale",
            PlanStatus::Cancelled => "cancelled",
        }
    }
}

/// A plan as computed, kept until applied so apply executes exactly what the human reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoredPlan {
    pub id: String,
    pub project: String,
    /// The desired spec the plan was computed from (empty for a destroy plan).
    pub spec: Project,
    /// The text the spec was loaded from.
    pub source: String,
    pub rendering: String,
    pub fingerprint: String,
    /// RFC 3339.
    pub created_at: String,
    pub status: PlanStatus,
    pub options: PlanOptions,
    /// True for a plan made by `destroy`.
    pub destroy: bool,
    /// Digests of secret/config values and build contexts at plan time; apply refuses if they moved.
    pub digests: ExternalDigests,
    /// The engine plan (empty for a swarm plan).
    pub plan: Plan,
    /// Set for a plan onto a swarm (`Target::Swarm`); `fingerprint` is then the swarm's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub swarm: Option<SwarmPlan>,
}

impl StoredPlan {
    pub fn target(&self) -> Target {
        if self.swarm.is_some() {
            Target::Swarm
        } else {
            Target::Engine
        }
    }

    /// Whether applying changes anything, on either target.
    pub fn has_changes(&self) -> bool {
        match &self.swarm {
            Some(swarm) => swarm.has_changes(),
            None => self.plan.has_changes(),
        }
    }
}

/// One step event of an apply, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    pub plan_id: String,
    /// RFC 3339 with sub-second precision.
    pub at: String,
    pub event: StepEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Plan,
    Apply,
    Destroy,
    /// A compose project taken over by `import`: records written, nothing executed.
    Import,
}

impl HistoryKind {
    /// The word history listings show.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Plan => "plan",
            HistoryKind::Apply => "apply",
            HistoryKind::Destroy => "destroy",
            HistoryKind::Import => "import",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryEntry {
    pub at: String,
    pub kind: HistoryKind,
    pub plan_id: String,
    /// A one-line outcome: the plan summary or the apply result.
    pub summary: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resource_kinds_read_and_write_the_strings_earlier_stores_hold() {
        let json = r#"{"kind":"network","name":"demo_default","key":"default"}"#;
        let record: ResourceRecord = serde_json::from_str(json).unwrap();
        assert_eq!(record.kind, ResourceKind::Network);
        let written = serde_json::to_value(&record).unwrap();
        assert_eq!(written["kind"], "network");
    }
}
