//! Approval the LLM cannot fake: before `apply` executes a plan, or a primitive tool removes or stops a
//! resource this server does not own, the server asks the human through the client's own elicitation UI.
//!
//! Only an accept that comes back from that elicitation lets the work run; no tool argument can stand in
//! for it (the tools' arguments deny unknown fields, and none of them means "approved"). A client on the
//! 2026-07-28 protocol is asked with a multi-round answer (`multi_round`): the call returns the question,
//! and the client's retry carries the answer. Older clients are asked with a classic `elicitation/create`
//! request while the call waits. The operator picks the mode; a client that cannot elicit is refused in
//! `elicit` mode and keeps today's flow in `auto` mode.

mod foreign;
mod multi_round;

use std::time::Duration;

use rmcp::model::{InputRequiredResult, InputResponses, ProtocolVersion};
use rmcp::service::{ElicitationError, RequestContext};
use rmcp::RoleServer;
use schemars::JsonSchema;
use serde::Deserialize;

use super::output::ToolError;
use super::server::DockerServer;
use crate::state::StoredPlan;

pub use foreign::{Act, Foreign};
pub use multi_round::PendingApprovals;

/// How long the human has to answer before the work is refused (a plan stays pending).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
/// Rendering lines shown in the question; a longer plan says how many more there are.
const RENDERING_LINES_SHOWN: usize = 60;
/// Characters of one rendering line shown in the question.
const LINE_CHARS_SHOWN: usize = 200;

/// The operator's choice of how `apply` and destructive primitives get the human's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ApprovalMode {
    /// Ask through the client's elicitation; refuse from a client that cannot elicit.
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

/// What a tool does after the approval step.
#[derive(Debug)]
pub enum Gate {
    /// Approved, or no question was needed: do the work.
    Proceed,
    /// Return this to the client: its retry carries the human's answer (2026-07-28 multi-round form).
    AskFirst(InputRequiredResult),
}

/// The multi-round state and answers a client's retry of a tool call echoes back; empty on a first call.
#[derive(Debug, Default)]
pub struct Round {
    pub state: Option<String>,
    pub responses: Option<InputResponses>,
}

/// What the human is asked, and what an accept approves.
#[derive(Debug, Clone)]
pub struct Question {
    /// What the answer approves (tool, target, fingerprint); a retry must answer this very question.
    pub binding: String,
    /// The text the human reads.
    pub message: String,
    /// `plan 1a2b` or `removing container web (3f2a9c1b2d3e)`: names the work in refusals.
    pub subject: String,
    /// What stays true when the answer is no (` and the plan is still pending`).
    pub unchanged: &'static str,
}

/// How this client can be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// 2026-07-28: the question goes back as the call's result, the answer comes with the retry.
    MultiRound,
    /// Before 2026-07-28: an `elicitation/create` request while the call waits.
    Classic,
    /// The client did not declare form elicitation.
    Unavailable,
}

/// What to do about one call, from the operator's mode and the client's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Proceed,
    Refuse,
    Ask(Channel),
}

fn decide(mode: ApprovalMode, channel: Channel) -> Decision {
    match (mode, channel) {
        (ApprovalMode::Off, _) | (ApprovalMode::Auto, Channel::Unavailable) => Decision::Proceed,
        (ApprovalMode::Elicit, Channel::Unavailable) => Decision::Refuse,
        (_, channel) => Decision::Ask(channel),
    }
}

/// The channel this request's client negotiated: its protocol version and declared capabilities.
fn channel(context: &RequestContext<RoleServer>) -> Channel {
    let form = context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    let multi_round = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    match (form, multi_round) {
        (false, _) => Channel::Unavailable,
        (true, true) => Channel::MultiRound,
        (true, false) => Channel::Classic,
    }
}

impl DockerServer {
    /// Asks the human `question` when the operator's mode requires it; `Proceed` means the work may run.
    pub(crate) async fn approve(
        &self,
        context: &RequestContext<RoleServer>,
        question: &Question,
        round: Round,
    ) -> Result<Gate, ToolError> {
        match decide(self.engine.config().approval, channel(context)) {
            Decision::Proceed => Ok(Gate::Proceed),
            Decision::Refuse => Err(cannot_elicit(question)),
            Decision::Ask(Channel::MultiRound) => {
                multi_round::ask(&self.shared().approvals, question, round)
            }
            Decision::Ask(_) => ask_classic(context, question).await.map(|()| Gate::Proceed),
        }
    }

    /// Asks the human to approve `plan`, as `approve` does.
    pub(crate) async fn approve_plan(
        &self,
        context: &RequestContext<RoleServer>,
        plan: &StoredPlan,
        round: Round,
    ) -> Result<Gate, ToolError> {
        self.approve(context, &plan_question(plan), round).await
    }
}

async fn ask_classic(
    context: &RequestContext<RoleServer>,
    question: &Question,
) -> Result<(), ToolError> {
    let answer = context
        .peer
        .elicit_with_timeout::<PlanApproval>(question.message.clone(), Some(ANSWER_TIMEOUT))
        .await;
    match answer {
        Ok(Some(PlanApproval { approve: true })) => Ok(()),
        Ok(_) | Err(ElicitationError::UserDeclined) => Err(not_approved(question, "declined")),
        Err(ElicitationError::UserCancelled) => Err(not_approved(question, "cancelled")),
        Err(ElicitationError::CapabilityNotSupported) => Err(cannot_elicit(question)),
        Err(other) => Err(ToolError(format!(
            "asking the user to approve {} failed: {other}; nothing was changed{} (fix: call the tool again \
             to ask once more)",
            question.subject, question.unchanged
        ))),
    }
}

/// The question for `apply`: what the plan does, its rendering, and the fingerprint it is bound to.
pub fn plan_question(plan: &StoredPlan) -> Question {
    Question {
        binding: format!(
            "apply {} {} {}",
            plan.project, plan.id, plan.plan.fingerprint
        ),
        message: question(plan),
        subject: format!("plan {}", plan.id),
        unchanged: " and the plan is still pending",
    }
}

/// The text the human reads: what the plan does and costs, its rendering, and the fingerprint it is bound to.
pub fn question(plan: &StoredPlan) -> String {
    let summary = plan.plan.summary;
    let mut text = format!(
        "Apply plan {} to project {}? {} to add, {} to change, {} to destroy.\n",
        plan.id, plan.project, summary.add, summary.change, summary.destroy
    );
    // What the steps cost comes first: the rendering below may be cut.
    let impact = planner::render::impact_lines(&plan.plan);
    for line in impact.iter().take(RENDERING_LINES_SHOWN) {
        text.push_str(&shown_line(&format!("! {line}")));
        text.push('\n');
    }
    if let Some(note) = impact_left_out(&impact[impact.len().min(RENDERING_LINES_SHOWN)..]) {
        text.push_str(&note);
    }
    let lines: Vec<&str> = plan.rendering.lines().collect();
    for line in lines.iter().take(RENDERING_LINES_SHOWN) {
        text.push_str(&shown_line(line));
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

/// What the impact lines not shown cost, by kind (`… 11 more impact lines (1 data loss, 10 downtime)`): many
/// lines of one kind must not push a line of another out of the human's sight unannounced.
fn impact_left_out(omitted: &[String]) -> Option<String> {
    if omitted.is_empty() {
        return None;
    }
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for line in omitted {
        let kind = line.split(':').next().unwrap_or_default();
        *kinds.entry(kind).or_default() += 1;
    }
    let counts: Vec<String> = kinds
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    Some(format!(
        "! … {} more impact lines ({}): see the plan\n",
        omitted.len(),
        counts.join(", ")
    ))
}

/// Longest end-of-line note of the rendering (`  # forces replacement, widens host access`) kept on a cut line.
const NOTE_CHARS_KEPT: usize = 60;

/// `line` cut to `LINE_CHARS_SHOWN` characters, saying that it was cut and keeping its end-of-line note: a
/// long line (a list of binds) must not lose the mark that it widens host access, nor look complete.
fn shown_line(line: &str) -> String {
    let length = line.chars().count();
    if length <= LINE_CHARS_SHOWN {
        return line.to_string();
    }
    let mut shown: String = line.chars().take(LINE_CHARS_SHOWN).collect();
    shown.push_str(&format!(
        " … [{} more characters: see the plan]",
        length - LINE_CHARS_SHOWN
    ));
    if let Some(at) = line.rfind("  # ") {
        let note = &line[at..];
        if note.chars().count() <= NOTE_CHARS_KEPT {
            shown.push_str(note);
        }
    }
    shown
}

/// The refusal after a decline (`how` = `declined`) or a cancel.
fn not_approved(question: &Question, how: &str) -> ToolError {
    ToolError(format!(
        "the user {how} {}: nothing was changed{} (fix: ask the user what to change, or call the tool \
         again when they want it done)",
        question.subject, question.unchanged
    ))
}

fn cannot_elicit(question: &Question) -> ToolError {
    ToolError(format!(
        "{} needs the user's approval through the client, and this client does not support elicitation; \
         nothing was changed (fix: use a client with elicitation support, or ask the operator to start the \
         server with --approval auto or to do this from the CLI)",
        question.subject
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attack: a long list of binds whose risky entry and "widens host access" mark lie past the cut.
    #[test]
    fn a_cut_line_says_so_and_keeps_its_note() {
        let binds = ["\"/srv/some/rather/long/directory/name:/mnt/x\""; 10].join(", ");
        let line = format!("      + volumes: [{binds}]  # widens host access");
        let shown = shown_line(&line);
        assert!(
            shown.ends_with("more characters: see the plan]  # widens host access"),
            "{shown}"
        );
        assert!(shown.chars().count() < LINE_CHARS_SHOWN + 2 * NOTE_CHARS_KEPT);
        assert_eq!(shown_line("  + network \"a\""), "  + network \"a\"");
    }

    #[test]
    fn the_mode_and_the_channel_decide_whether_to_ask() {
        use ApprovalMode::*;
        use Channel::*;
        let table = [
            (Off, MultiRound, Decision::Proceed),
            (Off, Classic, Decision::Proceed),
            (Off, Unavailable, Decision::Proceed),
            (Auto, MultiRound, Decision::Ask(MultiRound)),
            (Auto, Classic, Decision::Ask(Classic)),
            (Auto, Unavailable, Decision::Proceed),
            (Elicit, MultiRound, Decision::Ask(MultiRound)),
            (Elicit, Classic, Decision::Ask(Classic)),
            (Elicit, Unavailable, Decision::Refuse),
        ];
        for (mode, channel, expected) in table {
            assert_eq!(decide(mode, channel), expected, "{mode:?} {channel:?}");
        }
    }

    pub(super) fn stored_plan(rendering: String) -> StoredPlan {
        stored(rendering, vec![])
    }

    fn stored(rendering: String, actions: Vec<planner::plan::Action>) -> StoredPlan {
        StoredPlan {
            id: "abc".into(),
            project: "p".into(),
            spec: planner::Project::default(),
            source: String::new(),
            rendering,
            fingerprint: "fp123".into(),
            created_at: String::new(),
            status: crate::state::PlanStatus::Pending,
            options: Default::default(),
            destroy: false,
            digests: Default::default(),
            plan: planner::Plan {
                project: "p".into(),
                actions,
                waves: vec![],
                fingerprint: "fp123".into(),
                summary: planner::plan::Summary {
                    add: 1,
                    change: 0,
                    destroy: 0,
                },
                warnings: vec![],
                orphans: vec![],
                kept_volumes: vec![],
            },
            swarm: None,
        }
    }

    #[test]
    fn question_is_bounded_and_names_the_fingerprint() {
        let mut rendering = "x\n".repeat(500);
        rendering.push_str(&"y".repeat(10_000));
        let text = question(&stored_plan(rendering));
        assert!(text.contains("Plan fingerprint: fp123"), "{text}");
        assert!(text.contains("1 to add"), "{text}");
        assert!(text.contains("more lines"), "{text}");
        assert!(text.len() < 2_000, "{}", text.len());
    }

    #[test]
    fn question_names_the_impact_before_the_rendering() {
        let delete: planner::plan::Action = serde_json::from_value(serde_json::json!({
            "id": 0,
            "resource": {"kind": "container", "name": "p-web-1", "key": "web"},
            "op": "delete",
            "existing_id": "abc",
            "existing_running": true
        }))
        .unwrap_or_else(|e| panic!("action: {e}"));
        let text = question(&stored("rendering\n".into(), vec![delete]));
        let impact = text
            .find("! downtime: container \"p-web-1\" (running) is stopped and removed")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(impact < text.find("rendering").unwrap_or(0), "{text}");
    }

    /// The attack: enough downtime lines that the data-loss line falls past the question's cut.
    #[test]
    fn impact_lines_left_out_are_counted_by_kind() {
        let action = |id: usize, kind: &str, name: &str| -> planner::plan::Action {
            serde_json::from_value(serde_json::json!({
                "id": id,
                "resource": {"kind": kind, "name": name, "key": name},
                "op": "delete",
                "existing_id": format!("id{id}"),
                "existing_running": true
            }))
            .unwrap_or_else(|e| panic!("action: {e}"))
        };
        let mut actions: Vec<_> = (0..RENDERING_LINES_SHOWN + 5)
            .map(|n| action(n, "container", &format!("p-s{n}-1")))
            .collect();
        actions.push(action(999, "volume", "p_precious"));
        let text = question(&stored(String::new(), actions));
        assert!(
            text.contains("more impact lines (1 data loss, ")
                && text.contains("downtime): see the plan"),
            "{text}"
        );
    }

    #[test]
    fn the_plan_question_binds_project_id_and_fingerprint() {
        let question = plan_question(&stored_plan(String::new()));
        assert_eq!(question.binding, "apply p abc fp123");
        assert_eq!(question.subject, "plan abc");
    }
}
