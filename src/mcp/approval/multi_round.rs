//! The 2026-07-28 multi-round form of the approval question: the first call returns the question as an
//! `InputRequiredResult`, and the client's retry of the same call carries the human's answer.
//!
//! The client echoes `requestState` back, so it is untrusted: it is only an opaque, single-use handle to a
//! question kept here, in the server. A retry is approved only when its handle names a question this
//! process asked within the answer timeout, that question is the one the retry would act on (same tool,
//! same target, same plan fingerprint), and the answer to it is an accept with `approve: true`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult,
};

use super::{not_approved, Gate, PlanApproval, Question, Round, ANSWER_TIMEOUT};
use crate::mcp::output::ToolError;

/// The key of the one input request an approval question sends.
const ANSWER_KEY: &str = "approval";
/// Most questions waiting for an answer at once; the oldest is forgotten beyond it.
const MAX_PENDING: usize = 64;

/// Questions asked and not answered yet, by the handle their `requestState` carries.
#[derive(Default)]
pub struct PendingApprovals {
    questions: Mutex<HashMap<String, Pending>>,
}

struct Pending {
    binding: String,
    asked_at: Instant,
}

impl PendingApprovals {
    /// Remembers a question that approves `binding`; returns its unguessable handle.
    fn issue(&self, binding: &str) -> String {
        let handle = uuid::Uuid::new_v4().simple().to_string();
        let mut questions = self.questions.lock().unwrap_or_else(|p| p.into_inner());
        questions.retain(|_, q| q.asked_at.elapsed() < ANSWER_TIMEOUT);
        if questions.len() >= MAX_PENDING {
            let oldest = questions
                .iter()
                .min_by_key(|(_, q)| q.asked_at)
                .map(|(handle, _)| handle.clone());
            if let Some(oldest) = oldest {
                questions.remove(&oldest);
            }
        }
        questions.insert(
            handle.clone(),
            Pending {
                binding: binding.to_string(),
                asked_at: Instant::now(),
            },
        );
        handle
    }

    /// The binding of the question behind `handle`, once: a handle cannot answer twice.
    fn redeem(&self, handle: &str) -> Option<String> {
        let mut questions = self.questions.lock().unwrap_or_else(|p| p.into_inner());
        questions
            .remove(handle)
            .filter(|q| q.asked_at.elapsed() < ANSWER_TIMEOUT)
            .map(|q| q.binding)
    }
}

/// A first call gets the question; a retry gets its answer checked against the question it claims to answer.
pub(super) fn ask(
    pending: &PendingApprovals,
    question: &Question,
    round: Round,
) -> Result<Gate, ToolError> {
    let Some(handle) = round.state else {
        let handle = pending.issue(&question.binding);
        let requests = InputRequests::from([(ANSWER_KEY.to_string(), form(question)?)]);
        return Ok(Gate::AskFirst(InputRequiredResult::new(
            Some(requests),
            Some(handle),
        )));
    };
    if pending.redeem(&handle).as_deref() != Some(question.binding.as_str()) {
        return Err(unknown_answer(question));
    }
    let answer = round
        .responses
        .and_then(|mut responses| responses.remove(ANSWER_KEY))
        .and_then(|value| serde_json::from_value::<ElicitResult>(value).ok())
        .ok_or_else(|| unknown_answer(question))?;
    judge(question, answer)
}

/// Only an accept whose form says `approve: true` approves.
fn judge(question: &Question, answer: ElicitResult) -> Result<Gate, ToolError> {
    match answer.action {
        ElicitationAction::Accept => {
            let approved = answer
                .content
                .and_then(|content| serde_json::from_value::<PlanApproval>(content).ok())
                .is_some_and(|form| form.approve);
            if approved {
                Ok(Gate::Proceed)
            } else {
                Err(not_approved(question, "declined"))
            }
        }
        ElicitationAction::Cancel => Err(not_approved(question, "cancelled")),
        _ => Err(not_approved(question, "declined")),
    }
}

/// The `elicitation/create` request the client shows the human.
fn form(question: &Question) -> Result<InputRequest, ToolError> {
    let schema = ElicitationSchema::from_type::<PlanApproval>()
        .map_err(|e| ToolError(format!("the approval form cannot be built: {e}")))?;
    Ok(InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: question.message.clone(),
            requested_schema: schema,
        },
    )))
}

fn unknown_answer(question: &Question) -> ToolError {
    ToolError(format!(
        "the answer sent for {} does not belong to a question this server asked about it (or it expired, or \
         was already used); nothing was changed{} (fix: call the tool again without an answer to be asked \
         anew)",
        question.subject, question.unchanged
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rmcp::model::InputResponses;

    fn question(binding: &str) -> Question {
        Question {
            binding: binding.into(),
            message: "Apply?".into(),
            subject: "plan abc".into(),
            unchanged: " and the plan is still pending",
        }
    }

    fn first_round(pending: &PendingApprovals, q: &Question) -> String {
        match ask(pending, q, Round::default()) {
            Ok(Gate::AskFirst(result)) => {
                assert!(result.input_requests.unwrap().contains_key(ANSWER_KEY));
                result.request_state.unwrap()
            }
            other => panic!("expected a question, got {other:?}"),
        }
    }

    fn answered(state: &str, answer: ElicitResult) -> Round {
        Round {
            state: Some(state.into()),
            responses: Some(InputResponses::from([(
                ANSWER_KEY.to_string(),
                serde_json::to_value(answer).unwrap(),
            )])),
        }
    }

    fn accept() -> ElicitResult {
        ElicitResult::new(ElicitationAction::Accept)
            .with_content(serde_json::json!({"approve": true}))
    }

    #[test]
    fn an_accept_to_the_question_asked_approves_once() {
        let pending = PendingApprovals::default();
        let q = question("apply p abc fp");
        let state = first_round(&pending, &q);
        assert!(matches!(
            ask(&pending, &q, answered(&state, accept())),
            Ok(Gate::Proceed)
        ));
        let replay = ask(&pending, &q, answered(&state, accept())).unwrap_err();
        assert!(replay.0.contains("does not belong"), "{replay}");
    }

    #[test]
    fn decline_cancel_and_a_false_form_refuse() {
        let pending = PendingApprovals::default();
        let q = question("apply p abc fp");
        let answers = [
            (ElicitResult::new(ElicitationAction::Decline), "declined"),
            (ElicitResult::new(ElicitationAction::Cancel), "cancelled"),
            (
                ElicitResult::new(ElicitationAction::Accept)
                    .with_content(serde_json::json!({"approve": false})),
                "declined",
            ),
            (ElicitResult::new(ElicitationAction::Accept), "declined"),
        ];
        for (answer, word) in answers {
            let state = first_round(&pending, &q);
            let err = ask(&pending, &q, answered(&state, answer)).unwrap_err();
            assert!(
                err.0.contains(&format!("the user {word} plan abc")),
                "{err}"
            );
            assert!(err.0.contains("still pending"), "{err}");
        }
    }

    /// The attack: an accept with a forged handle, or a handle asked about another plan, approves nothing.
    #[test]
    fn a_forged_or_foreign_handle_approves_nothing() {
        let pending = PendingApprovals::default();
        let asked = question("apply p other fp");
        let state = first_round(&pending, &asked);
        let target = question("apply p abc fp");
        for handle in ["forged", state.as_str(), ""] {
            let err = ask(&pending, &target, answered(handle, accept())).unwrap_err();
            assert!(err.0.contains("nothing was changed"), "{err}");
        }
        let no_answer = Round {
            state: Some(first_round(&pending, &target)),
            responses: None,
        };
        assert!(ask(&pending, &target, no_answer).is_err());
    }

    #[test]
    fn pending_questions_are_bounded() {
        let pending = PendingApprovals::default();
        let q = question("b");
        let first = first_round(&pending, &q);
        for _ in 0..MAX_PENDING {
            first_round(&pending, &q);
        }
        assert_eq!(pending.questions.lock().unwrap().len(), MAX_PENDING);
        assert!(pending.redeem(&first).is_none(), "the oldest is forgotten");
    }
}
