//! Approval the LLM cannot fake: before `apply` executes a plan, the server asks the human through the
//! client's own elicitation UI, showing the plan's summary, its rendering and its fingerprint.
//!
//! Only an accept that comes back from that elicitation lets the plan run; no tool argument can stand in
//! for it (the tools' arguments deny unknown fields, and none of them means "approved"). The operator picks
//! the mode; a client that cannot elicit is refused in `elicit` mode and keeps today's flow in `auto` mode.

use std::time::Duration;

use rmcp::service::{ElicitationError, ElicitationMode};
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Deserialize;

use super::output::ToolError;
use crate::state::StoredPlan;

/// How long the human has to answer before the apply is refused (the plan stays pending).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
/// Rendering lines shown in the question; a longer plan says how many more there are.
const RENDERING_LINES_SHOWN: usize = 60;
/// Characters of one rendering line shown in the question.
const LINE_CHARS_SHOWN: usize = 200;

/// The operator's choice of how `apply` gets the human's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ApprovalMode {
    /// Ask through the client's elicitation; refuse apply from a client that cannot elicit.
    Elicit,
    /// Ask through elicitation when the client supports it; otherwise trust the chat's approval.
    #[default]
    Auto,
    /// Never ask: the chat's approval is enough.
    Off,
}

/// The one field the human answers in the approval form.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlanApproval {
    /// Apply this plan now.
    pub approve: bool,
}
rmcp::elicit_safe!(PlanApproval);

/// Asks the human to approve `plan` when `mode` requires it; `Ok` means the plan may run.
pub async fn approve_plan(
    peer: &Peer<RoleServer>,
    mode: ApprovalMode,
    plan: &StoredPlan,
) -> Result<(), ToolError> {
    let can_elicit = peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Form);
    match (mode, can_elicit) {
        (ApprovalMode::Off, _) | (ApprovalMode::Auto, false) => Ok(()),
        (ApprovalMode::Elicit, false) => Err(cannot_elicit(&plan.id)),
        (_, true) => ask(peer, plan).await,
    }
}

async fn ask(peer: &Peer<RoleServer>, plan: &StoredPlan) -> Result<(), ToolError> {
    let answer = peer
        .elicit_with_timeout::<PlanApproval>(question(plan), Some(ANSWER_TIMEOUT))
        .await;
    match answer {
        Ok(Some(PlanApproval { approve: true })) => Ok(()),
        Ok(_) | Err(ElicitationError::UserDeclined) => Err(not_approved(plan, "declined")),
        Err(ElicitationError::UserCancelled) => Err(not_approved(plan, "cancelled")),
        Err(ElicitationError::CapabilityNotSupported) => Err(cannot_elicit(&plan.id)),
        Err(other) => Err(ToolError(format!(
            "asking the user to approve plan {} failed: {other}; nothing was changed and the plan is still \
             pending (fix: call apply again to ask once more)",
            plan.id
        ))),
    }
}

/// The text the human reads: what the plan does, its rendering, and the fingerprint it is bound to.
pub fn question(plan: &StoredPlan) -> String {
    let summary = plan.plan.summary;
    let mut text = format!(
        "Apply plan {} to project {}? {} to add, {} to change, {} to destroy.\n",
        plan.id, plan.project, summary.add, summary.change, summary.destroy
    );
    let lines: Vec<&str> = plan.rendering.lines().collect();
    for line in lines.iter().take(RENDERING_LINES_SHOWN) {
        text.extend(line.chars().take(LINE_CHARS_SHOWN));
        text.push('\n');
    }
    if lines.len() > RENDERING_LINES_SHOWN {
        text.push_str(&format!(
            "... {} more lines (see the plan's rendering)\n",
            lines.len() - RENDERING_LINES_SHOWN
        ));
    }
    text.push_str(&format!("Plan fingerprint: {}", plan.fingerprint));
    text
}

fn not_approved(plan: &StoredPlan, how: &str) -> ToolError {
    ToolError(format!(
        "the user {how} plan {}: nothing was changed and the plan is still pending (fix: ask the user what \
         to change, or call apply again when they want it applied)",
        plan.id
    ))
}

fn cannot_elicit(plan_id: &str) -> ToolError {
    ToolError(format!(
        "apply of plan {plan_id} needs the user's approval through the client, and this client does not \
         support elicitation; nothing was changed (fix: use a client with elicitation support, or ask the \
         operator to start the server with --approval auto or apply the plan from the CLI)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_is_bounded_and_names_the_fingerprint() {
        let mut plan = StoredPlan {
            id: "abc".into(),
            project: "p".into(),
            spec: planner::Project::default(),
            source: String::new(),
            rendering: "x\n".repeat(500),
            fingerprint: "fp123".into(),
            created_at: String::new(),
            status: crate::state::PlanStatus::Pending,
            options: Default::default(),
            destroy: false,
            digests: Default::default(),
            plan: planner::Plan {
                project: "p".into(),
                actions: vec![],
                waves: vec![],
                fingerprint: "fp123".into(),
                summary: planner::plan::Summary {
                    add: 1,
                    change: 0,
                    destroy: 0,
                },
                warnings: vec![],
                orphans: vec![],
            },
            swarm: None,
        };
        plan.rendering.push_str(&"y".repeat(10_000));
        let text = question(&plan);
        assert!(text.contains("Plan fingerprint: fp123"), "{text}");
        assert!(text.contains("1 to add"), "{text}");
        assert!(text.contains("more lines"), "{text}");
        assert!(text.len() < 2_000, "{}", text.len());
    }
}
