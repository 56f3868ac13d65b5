//! What an apply means afterwards: its status, its human message, and the record the next plan builds on.

use std::collections::BTreeSet;

use planner::adopt::Adopted;
use planner::model::{Project, ServiceSpec};
use planner::naming::LABEL_CONFIG_HASH;
use planner::observed::ObservedState;
use planner::plan::{Action, Op, Plan, ResourceKind, Target};
use planner::report::{ApplyReport, StepOutcome};

use crate::docker::execute;
use crate::state::store::now_rfc3339;
use crate::state::{
    ApplyFailure, FailedStep, PlanStatus, ProjectRecord, RecordChange, ResourceRecord, StoredPlan,
};

pub struct Assessment {
    pub status: PlanStatus,
    pub message: String,
}

/// `Plan: 2 to add, 1 to change, 0 to destroy.` or `No changes.`
pub fn summary_line(plan: &Plan) -> String {
    summary_text(plan.summary, plan.has_changes())
}

/// The summary line of a plan with `summary`, on either target.
pub fn summary_text(s: planner::plan::Summary, has_changes: bool) -> String {
    if !has_changes {
        return "No changes.".to_string();
    }
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
        let message = if !stored.has_changes() {
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

/// What the apply does to the project's record: a new one, or none at all after a full destroy.
///
/// The record tracks what each step did, not what the plan intended: after a failed apply, a service whose
/// steps did not all finish keeps its previous definition (or is left out when it had none), and the failed
/// steps are kept for status to name. The next plan then explains its changes against what is live.
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
    let applied_at = now_rfc3339();
    let adopted = previous
        .as_ref()
        .map(|p| p.adopted.clone())
        .unwrap_or_default();
    let (spec, failure) = if succeeded {
        (stored.spec.clone(), None)
    } else {
        let previous_spec = previous.as_ref().map(|p| &p.spec);
        let failure = ApplyFailure {
            at: applied_at.clone(),
            plan_id: stored.id.clone(),
            steps: report.failed.iter().map(failed_step).collect(),
        };
        (
            spec_as_applied(stored, report, previous_spec),
            Some(failure),
        )
    };
    let resources = resource_records(&stored.plan, report, observed);
    let record = ProjectRecord {
        project: stored.project.clone(),
        spec,
        source: stored.source.clone(),
        applied_at,
        plan_id: stored.id.clone(),
        complete: succeeded,
        adopted: still_adopted(adopted, &resources),
        resources,
        failure,
        swarm: None,
    };
    RecordChange::Write(Box::new(record))
}

/// The adopted resources the project still holds as they were adopted: a replaced container has a new id
/// and our labels, so it is no longer an adoption. A volume is never replaced, and one a plan keeps (destroy
/// without volumes, or dropped from the spec) stays adopted while it exists, so a later plan finds it again.
fn still_adopted(adopted: Vec<Adopted>, resources: &[ResourceRecord]) -> Vec<Adopted> {
    adopted
        .into_iter()
        .filter(|a| {
            a.kind == ResourceKind::Volume
                || resources
                    .iter()
                    .any(|r| r.kind == a.kind && r.id.as_deref() == Some(a.id.as_str()))
        })
        .collect()
}

pub fn failed_step(step: &StepOutcome) -> FailedStep {
    FailedStep {
        step: step_label(step),
        error: step.message.clone(),
    }
}

/// The spec the project runs after a partial apply: each service whose container steps all finished takes
/// its new definition; one with a failed, skipped or cancelled step keeps its previous one, or is left out
/// when it had none (with the networks and volumes it needs from before).
fn spec_as_applied(
    stored: &StoredPlan,
    report: &ApplyReport,
    previous: Option<&Project>,
) -> Project {
    let mut spec = stored.spec.clone();
    for service in unfinished_services(&stored.plan, report) {
        match previous.and_then(|p| p.services.get(&service).map(|old| (p, old))) {
            Some((previous, old)) => restore_service(&mut spec, previous, &service, old),
            None => {
                spec.services.remove(&service);
            }
        }
    }
    spec
}

/// Puts back a service's previous definition, with the networks and volumes it used that the new spec dropped.
fn restore_service(spec: &mut Project, previous: &Project, service: &str, old: &ServiceSpec) {
    for key in planner::hash::service_network_keys(previous, old) {
        if let Some(network) = previous.networks.get(key) {
            spec.networks
                .entry(key.to_string())
                .or_insert_with(|| network.clone());
        }
    }
    for key in planner::hash::service_volume_keys(previous, old) {
        if let Some(volume) = previous.volumes.get(key) {
            spec.volumes
                .entry(key.to_string())
                .or_insert_with(|| volume.clone());
        }
    }
    spec.services.insert(service.to_string(), old.clone());
}

/// Services with a container step that did not finish.
fn unfinished_services(plan: &Plan, report: &ApplyReport) -> BTreeSet<String> {
    plan.actions
        .iter()
        .filter(|a| a.resource.kind == ResourceKind::Container && a.op != Op::NoOp)
        .filter(|a| !report.done.iter().any(|d| d.action_id == a.id))
        .map(|a| a.resource.key.clone())
        .collect()
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
        // Images are not recorded; swarm objects are recorded by the swarm apply.
        ResourceKind::Image
        | ResourceKind::Service
        | ResourceKind::Secret
        | ResourceKind::Config => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adopted(kind: ResourceKind, id: &str) -> Adopted {
        Adopted {
            kind,
            id: id.into(),
            name: id.into(),
            key: "k".into(),
            config_hash: "h".into(),
        }
    }

    #[test]
    fn adoptions_last_while_the_record_holds_them_and_volumes_while_they_exist() {
        let kept = ResourceRecord {
            kind: ResourceKind::Container,
            name: "demo-web-1".into(),
            key: "web".into(),
            id: Some("c1".into()),
            config_hash: None,
        };
        let left = still_adopted(
            vec![
                adopted(ResourceKind::Container, "c1"),
                adopted(ResourceKind::Container, "replaced"),
                adopted(ResourceKind::Network, "n1"),
                adopted(ResourceKind::Volume, "demo_data"),
            ],
            &[kept],
        );
        let ids: Vec<&str> = left.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec!["c1", "demo_data"]);
    }
}
