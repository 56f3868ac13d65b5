//! What moved when `apply` refuses a stale plan, told so the LLM can explain it and plan again.
//!
//! The engine refuses a plan whose observed world changed since planning, with only "plan is stale". The
//! LLM then needs to tell the user why, so this compares the stored plan's actions with the project's live
//! status: a resource the plan creates that now exists, one it expects that is now gone, and the drift the
//! status reports.

use planner::plan::{Action, Op, Plan, ResourceKind};

use crate::docker::execute::step_label;
use crate::engine::{ProjectStatus, ResourceStatus};

/// Most lines of detail; a project where everything moved needs a new plan, not a long list.
const MAX_DETAILS: usize = 10;

/// The refusal's text: what moved (when it can be named) and that a new plan is needed.
pub fn refusal(plan_id: &str, is_destroy: bool, moved: &[String]) -> String {
    let again = if is_destroy { "destroy" } else { "plan" };
    let what = if moved.is_empty() {
        " (its containers' ids or states, a secret value or a build context changed)".to_string()
    } else {
        format!(": {}", moved.join("; "))
    };
    format!(
        "plan {plan_id} is stale: the project changed since it was planned{what}. A new plan is needed: call \
         {again} again, show the new rendering to the user, and apply the new plan id after they approve."
    )
}

/// One line per resource whose live state contradicts the plan, then the status's drift lines.
pub fn what_moved(plan: &Plan, status: &ProjectStatus) -> Vec<String> {
    let mut moved: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|action| contradiction(action, live(status, action)))
        .collect();
    moved.extend(status.drift.iter().cloned());
    moved.dedup();
    moved.truncate(MAX_DETAILS);
    moved
}

fn live<'a>(status: &'a ProjectStatus, action: &Action) -> Option<&'a ResourceStatus> {
    status
        .resources
        .iter()
        .find(|r| r.name == action.resource.name && r.kind == kind_word(action.resource.kind))
}

fn kind_word(kind: ResourceKind) -> &'static str {
    kind.as_str()
}

/// `create container demo-web-1: it now exists (running)`, or `None` when the live state fits the plan.
fn contradiction(action: &Action, live: Option<&ResourceStatus>) -> Option<String> {
    let label = step_label(&action.resource, action.op);
    let present = live.filter(|r| r.state != "missing");
    match (action.op, present) {
        (Op::Create, Some(r)) => Some(format!("{label}: it now exists ({})", r.state)),
        (Op::Pull | Op::Build | Op::Create, _) => None,
        (_, None) if action.resource.kind != ResourceKind::Image => {
            Some(format!("{label}: it is now gone"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::plan::ResourceRef;

    fn action(op: Op, name: &str) -> Action {
        let mut action: Action = serde_json::from_value(serde_json::json!({
            "id": 0,
            "resource": {"kind": "container", "name": name, "key": "web"},
            "op": "create"
        }))
        .unwrap_or_else(|e| panic!("action: {e}"));
        action.op = op;
        action.resource = ResourceRef {
            kind: ResourceKind::Container,
            name: name.into(),
            key: "web".into(),
            number: Some(1),
        };
        action
    }

    fn status(resources: Vec<(&str, &str)>, drift: Vec<&str>) -> ProjectStatus {
        ProjectStatus {
            project: "demo".into(),
            target: planner::swarm::Target::Engine,
            known: true,
            last_applied_yaml: None,
            last_applied_at: None,
            last_apply_failure: None,
            resources: resources
                .into_iter()
                .map(|(name, state)| ResourceStatus {
                    kind: "container".into(),
                    name: name.into(),
                    service: Some("web".into()),
                    state: state.into(),
                    health: None,
                    drift: None,
                })
                .collect(),
            drift: drift.into_iter().map(str::to_string).collect(),
        }
    }

    #[test]
    fn names_a_created_resource_that_appeared_and_an_expected_one_that_went() {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "project": "demo", "actions": [], "waves": [], "fingerprint": "",
            "summary": {"add": 0, "change": 0, "destroy": 0}
        }))
        .unwrap_or_else(|e| panic!("plan: {e}"));
        plan.actions = vec![
            action(Op::Create, "demo-web-1"),
            action(Op::Start, "demo-db-1"),
        ];
        let live = status(
            vec![("demo-web-1", "running")],
            vec!["container demo-db-1 is missing"],
        );
        let moved = what_moved(&plan, &live);
        assert_eq!(moved.len(), 3, "{moved:#?}");
        assert!(moved[0].contains("demo-web-1") && moved[0].contains("now exists (running)"));
        assert!(moved[1].contains("demo-db-1") && moved[1].contains("now gone"));
        let text = refusal("p1", false, &moved);
        assert!(
            text.contains("stale") && text.contains("call plan again"),
            "{text}"
        );
    }

    #[test]
    fn without_details_it_still_says_a_new_plan_is_needed() {
        let text = refusal("p1", true, &[]);
        assert!(
            text.contains("call destroy again") && text.contains("secret"),
            "{text}"
        );
    }
}
