//! What an apply means afterwards: its status, its human message, and the record the next plan builds on.

use planner::naming::LABEL_CONFIG_HASH;
use planner::observed::ObservedState;
use planner::plan::{Action, Op, Plan, ResourceKind, Target};
use planner::report::{ApplyReport, StepOutcome};

use crate::docker::execute;
use crate::state::store::now_rfc3339;
use crate::state::{PlanStatus, ProjectRecord, RecordChange, ResourceRecord, StoredPlan};

pub struct Assessment {
    pub status: PlanStatus,
    pub message: String,
}

/// `Plan: 2 to add, 1 to change, 0 to destroy.` or `No changes.`
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes.".to_string();
    }
    let s = plan.summary;
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

fn step_label(step: &StepOutcome) -> String {
    execute::step_label(&step.resource, step.op)
}

pub fn assess(stored: &StoredPlan, report: &ApplyReport) -> Assessment {
    let plan = &stored.plan;
    if report.succeeded() {
        let message = if !plan.has_changes() {
            format!(
                "No changes. Project {} matches the desired state.",
                stored.project
            )
        } else if stored.destroy {
            format!(
                "Destroy complete! Resources: {} destroyed.{}",
                plan.summary.destroy,
                if stored.options.remove_volumes {
                    ""
                } else {
                    " Volumes were kept (destroy with volumes to remove them)."
                }
            )
        } else {
            let s = plan.summary;
            format!(
                "Apply complete! Resources: {} added, {} changed, {} destroyed.",
                s.add, s.change, s.destroy
            )
        };
        return Assessment {
            status: PlanStatus::Applied,
            message,
        };
    }
    let done = report.done.len();
    let skipped = report.skipped.len();
    if report.cancelled && report.failed.is_empty() {
        return Assessment {
            status: PlanStatus::Cancelled,
            message: format!(
                "Apply cancelled: {done} step(s) done, {skipped} skipped. Run plan again to see what remains."
            ),
        };
    }
    let failures: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{}: {}", step_label(f), f.message))
        .collect();
    Assessment {
        status: PlanStatus::Failed,
        message: format!(
            "Apply failed: {}. {done} step(s) done, {} failed, {skipped} skipped because they depend on a failed step{}. \
             Fix the cause, then run plan again: it starts from what was done.",
            failures.join("; "),
            report.failed.len(),
            if report.cancelled { " or the apply was cancelled" } else { "" },
        ),
    }
}

/// What the apply does to the project's record: a new one, the previous one marked incomplete, or none at all
/// after a full destroy.
///
/// A successful apply records its spec. A failed one keeps the previous spec (marked incomplete) so the next
/// plan explains changes against what was last fully applied; the live state is re-observed anyway.
pub fn new_record(
    stored: &StoredPlan,
    report: &ApplyReport,
    observed: &ObservedState,
    previous: Option<ProjectRecord>,
    assessment: &Assessment,
) -> RecordChange {
    let succeeded = assessment.status == PlanStatus::Applied;
    if succeeded && stored.destroy && stored.options.remove_volumes {
        return RecordChange::Remove;
    }
    if !succeeded {
        if let Some(previous) = previous {
            return RecordChange::Write(Box::new(ProjectRecord {
                complete: false,
                ..previous
            }));
        }
    }
    let record = ProjectRecord {
        project: stored.project.clone(),
        spec: stored.spec.clone(),
        source: stored.source.clone(),
        applied_at: now_rfc3339(),
        plan_id: stored.id.clone(),
        complete: succeeded,
        resources: resource_records(&stored.plan, report, observed),
    };
    RecordChange::Write(Box::new(record))
}

/// The resources the project holds after the apply: new ones from their targets, kept ones as observed.
fn resource_records(
    plan: &Plan,
    report: &ApplyReport,
    observed: &ObservedState,
) -> Vec<ResourceRecord> {
    let mut records = Vec::new();
    for action in &plan.actions {
        if action.resource.kind == ResourceKind::Image {
            continue;
        }
        let done = report.done.iter().find(|d| d.action_id == action.id);
        let record = match (action.op, done) {
            (Op::Delete, Some(_)) => None,
            (Op::NoOp | Op::Delete, _) | (_, None) => observed_record(action, observed),
            (_, Some(step)) => Some(target_record(
                action,
                step.engine_id.clone().or(action.existing_id.clone()),
            )),
        };
        records.extend(record);
    }
    records
}

fn target_record(action: &Action, id: Option<String>) -> ResourceRecord {
    let config_hash = match &action.target {
        Some(Target::Container(c)) => Some(c.config_hash.clone()),
        Some(Target::Network(n)) => n.labels.get(LABEL_CONFIG_HASH).cloned(),
        Some(Target::Volume(v)) => v.labels.get(LABEL_CONFIG_HASH).cloned(),
        _ => None,
    };
    ResourceRecord {
        kind: action.resource.kind,
        name: action.resource.name.clone(),
        key: action.resource.key.clone(),
        id,
        config_hash,
    }
}

fn observed_record(action: &Action, observed: &ObservedState) -> Option<ResourceRecord> {
    let r = &action.resource;
    let kind = r.kind;
    match r.kind {
        ResourceKind::Container => observed
            .containers
            .iter()
            .find(|c| c.name == r.name)
            .map(|c| ResourceRecord {
                kind,
                name: c.name.clone(),
                key: c.service.clone(),
                id: Some(c.id.clone()),
                config_hash: c.config_hash.clone(),
            }),
        ResourceKind::Network => observed
            .networks
            .iter()
            .find(|n| n.name == r.name)
            .map(|n| ResourceRecord {
                kind,
                name: n.name.clone(),
                key: n.key.clone(),
                id: Some(n.id.clone()),
                config_hash: n.config_hash.clone(),
            }),
        ResourceKind::Volume => {
            observed
                .volumes
                .iter()
                .find(|v| v.name == r.name)
                .map(|v| ResourceRecord {
                    kind,
                    name: v.name.clone(),
                    key: v.key.clone(),
                    id: Some(v.name.clone()),
                    config_hash: v.config_hash.clone(),
                })
        }
        ResourceKind::Image => None,
    }
}
