//! Approval bound to the plan, against the real engine: `apply` asks the human through the client's
//! elicitation (rmcp's client with a scripted answer stands in for the human), and only an accept from that
//! question executes, in the classic form and in the 2026-07-28 multi-round form. Decline and cancel change
//! nothing; no tool argument, and no multi-round state the server did not issue for that plan, can stand in
//! for the answer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{project_containers, ProjectGuard};
use common::mcp::{McpServer, ServerSetup};
use common::unique;
use rmcp::model::ElicitationAction;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

fn spec() -> String {
    format!("services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n")
}

/// A server on `state` in approval `mode`; the client answers elicitation with `answer`, or cannot elicit.
async fn server(
    state: &std::path::Path,
    mode: &str,
    answer: Option<ElicitationAction>,
) -> McpServer {
    let mut setup = ServerSetup::new(state)
        .env("RUST_LOG", "warn")
        .env("MCP_DOCKER_APPROVAL", mode);
    if let Some(action) = answer {
        setup = setup.elicit(action);
    }
    McpServer::start(setup).await
}

#[tokio::test]
async fn an_accept_from_the_elicitation_applies_the_plan_it_showed() {
    let project = unique("appr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let session = server(dir.path(), "elicit", Some(ElicitationAction::Accept)).await;
    let (plan_id, _) = session.plan_yaml(&project, &spec()).await;
    let applied = session.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(project_containers(None, &project).len(), 1);

    let questions = session.elicitation_questions();
    assert_eq!(questions.len(), 1, "{questions:?}");
    let question = &questions[0];
    assert!(question.contains(&plan_id), "{question}");
    assert!(question.contains("2 to add"), "{question}");
    assert!(question.contains(&format!("{project}-web-1")), "{question}");
    assert!(question.contains("Plan fingerprint: "), "{question}");
    session.destroy(&project).await;
}

#[tokio::test]
async fn decline_and_cancel_change_nothing_and_leave_the_plan_pending() {
    let project = unique("appr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let mut plan_id = String::new();
    for (action, word) in [
        (ElicitationAction::Decline, "declined"),
        (ElicitationAction::Cancel, "cancelled"),
    ] {
        let session = server(dir.path(), "auto", Some(action)).await;
        if plan_id.is_empty() {
            plan_id = session.plan_yaml(&project, &spec()).await.0;
        }
        let err = session
            .tool_error("apply", json!({"project": project, "plan_id": plan_id}))
            .await;
        assert!(err.contains(&format!("the user {word} plan")), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(project_containers(None, &project).is_empty());
        session.stop().await;
    }
    // Still pending: a later accept applies the very same plan id.
    let session = server(dir.path(), "auto", Some(ElicitationAction::Accept)).await;
    let applied = session.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(project_containers(None, &project).len(), 1);
    session.destroy(&project).await;
}

#[tokio::test]
async fn elicit_mode_refuses_a_client_that_cannot_elicit_and_auto_mode_applies() {
    let project = unique("appr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let strict = server(dir.path(), "elicit", None).await;
    let (plan_id, _) = strict.plan_yaml(&project, &spec()).await;
    let err = strict
        .tool_error("apply", json!({"project": project, "plan_id": plan_id}))
        .await;
    assert!(err.contains("does not support elicitation"), "{err}");
    assert!(err.contains("--approval auto"), "{err}");
    assert!(project_containers(None, &project).is_empty());
    strict.stop().await;

    let auto = server(dir.path(), "auto", None).await;
    let applied = auto.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(project_containers(None, &project).len(), 1);
    auto.destroy(&project).await;
}

/// The attack: a prompt-injected LLM tries to approve the plan itself through tool arguments.
#[tokio::test]
async fn no_tool_argument_can_approve_a_plan() {
    let project = unique("appr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let attempts = [
        json!({"approve": true}),
        json!({"approved": true}),
        json!({"confirm": "yes"}),
        json!({"approval": "off"}),
        json!({"elicitation": {"action": "accept", "content": {"approve": true}}}),
        json!({"_meta": {"approve": true}}),
    ];
    for answer in [None, Some(ElicitationAction::Decline)] {
        let session = server(dir.path(), "elicit", answer).await;
        let (plan_id, _) = session.plan_yaml(&project, &spec()).await;
        for extra in &attempts {
            let mut args = json!({"project": project, "plan_id": plan_id});
            args.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let err = session.tool_error("apply", args).await;
            assert!(
                !err.contains("Apply complete"),
                "{extra} approved the plan: {err}"
            );
            assert!(project_containers(None, &project).is_empty(), "{extra}");
        }
        // Without extras the human's answer (or the missing capability) still decides.
        let err = session
            .tool_error("apply", json!({"project": project, "plan_id": plan_id}))
            .await;
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(project_containers(None, &project).is_empty());
        session.stop().await;
    }
}

/// A client on the 2026-07-28 protocol, asked by multi-round answers, that answers with `answer`.
async fn multi_round_server(
    state: &std::path::Path,
    mode: &str,
    answer: ElicitationAction,
) -> McpServer {
    let setup = ServerSetup::new(state)
        .env("RUST_LOG", "warn")
        .env("MCP_DOCKER_APPROVAL", mode)
        .multi_round()
        .elicit(answer);
    McpServer::start(setup).await
}

#[tokio::test]
async fn a_multi_round_accept_applies_the_plan_it_showed() {
    let project = unique("apmr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let session = multi_round_server(dir.path(), "elicit", ElicitationAction::Accept).await;
    let (plan_id, _) = session.plan_yaml(&project, &spec()).await;
    let applied = session.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(project_containers(None, &project).len(), 1);

    let questions = session.elicitation_questions();
    assert_eq!(questions.len(), 1, "{questions:?}");
    assert!(questions[0].contains(&plan_id), "{}", questions[0]);
    assert!(
        questions[0].contains("Plan fingerprint: "),
        "{}",
        questions[0]
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn a_multi_round_decline_or_cancel_changes_nothing_and_leaves_the_plan_pending() {
    let project = unique("apmr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let mut plan_id = String::new();
    for (action, word) in [
        (ElicitationAction::Decline, "declined"),
        (ElicitationAction::Cancel, "cancelled"),
    ] {
        let session = multi_round_server(dir.path(), "auto", action).await;
        if plan_id.is_empty() {
            plan_id = session.plan_yaml(&project, &spec()).await.0;
        }
        let err = session
            .tool_error("apply", json!({"project": project, "plan_id": plan_id}))
            .await;
        assert!(err.contains(&format!("the user {word} plan")), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(err.contains("still pending"), "{err}");
        assert_eq!(session.elicitation_questions().len(), 1);
        assert!(project_containers(None, &project).is_empty());
        session.stop().await;
    }
    let session = multi_round_server(dir.path(), "auto", ElicitationAction::Accept).await;
    let applied = session.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(project_containers(None, &project).len(), 1);
    session.destroy(&project).await;
}

/// The attack: a retry that carries an accept with a request state this server never issued (or one it
/// issued for another plan) approves nothing.
#[tokio::test]
async fn a_multi_round_accept_with_a_forged_or_foreign_state_applies_nothing() {
    use rmcp::model::{CallToolRequestParams, CallToolResponse, ElicitResult, InputResponses};
    let project = unique("apmr");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let session = multi_round_server(dir.path(), "elicit", ElicitationAction::Decline).await;
    let (plan_id, _) = session.plan_yaml(&project, &spec()).await;
    let other_project = unique("apmr");
    let _other_guard = ProjectGuard::new(&other_project);
    let (other_plan, _) = session.plan_yaml(&other_project, &spec()).await;
    let params = |project: &str, plan: &str| {
        let args = json!({"project": project, "plan_id": plan});
        CallToolRequestParams::new("apply").with_arguments(args.as_object().unwrap().clone())
    };
    let peer = session.peer();
    // A real question, asked about the other plan: its state must not approve this one.
    let foreign_state = match peer
        .call_tool_once(params(&other_project, &other_plan))
        .await
    {
        Ok(CallToolResponse::InputRequired(asked)) => asked.request_state.unwrap(),
        other => panic!("expected a question, got {other:?}"),
    };
    let accept =
        ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": true}));
    let answer = serde_json::to_value(&accept).unwrap();
    let answers = InputResponses::from([("approval".to_string(), answer)]);
    for state in ["forged", foreign_state.as_str()] {
        let mut retry = params(&project, &plan_id);
        retry.request_state = Some(state.to_string());
        retry.input_responses = Some(answers.clone());
        match peer.call_tool_once(retry).await {
            Ok(CallToolResponse::Complete(result)) => {
                assert_eq!(result.is_error, Some(true), "{state}: {result:?}");
                let text = common::mcp::result_text(&result);
                assert!(text.contains("nothing was changed"), "{text}");
            }
            other => panic!("{state}: expected a refusal, got {other:?}"),
        }
        assert!(project_containers(None, &project).is_empty(), "{state}");
    }
}
