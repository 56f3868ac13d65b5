//! History and rollback through MCP against the real engine: `project_history` lists what happened, and
//! `rollback` plans the return to an earlier apply's spec as an ordinary plan that `apply` executes; status
//! explains drift from the engine's events since the last apply.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{project_containers, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// A spec with `web` (its GREETING set to `greeting`) and, when `with_worker`, a second service.
fn spec(greeting: &str, with_worker: bool) -> String {
    let mut yaml = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         environment:\n      GREETING: {greeting}\n"
    );
    if with_worker {
        yaml.push_str(&format!(
            "  worker:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
        ));
    }
    yaml
}

fn summary(reply: &Value) -> (u64, u64, u64) {
    let s = &reply["summary"];
    (
        s["add"].as_u64().unwrap(),
        s["change"].as_u64().unwrap(),
        s["destroy"].as_u64().unwrap(),
    )
}

fn container_names(project: &str) -> Vec<String> {
    let mut names: Vec<String> = project_containers(None, project)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn rollback_to_the_first_of_three_applies_plans_exactly_the_difference() {
    let project = unique("hist");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;

    let (first, _) = session.plan_yaml(&project, &spec("one", false)).await;
    session.apply(&project, &first).await.unwrap();
    session.converge(&project, &spec("one", true)).await;
    session.converge(&project, &spec("three", true)).await;
    assert_eq!(container_names(&project).len(), 2);

    let history = session
        .structured_ok("project_history", json!({"project": project}))
        .await;
    let entries = history["entries"].as_array().unwrap();
    let applies: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "apply").collect();
    assert_eq!(applies.len(), 3, "{history}");
    assert_eq!(applies[0]["plan_id"], first.as_str());
    assert!(
        applies[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Apply complete!"),
        "{history}"
    );

    // Back to the first spec: web's environment changes back and the worker added since goes.
    let rollback = session
        .structured_ok("rollback", json!({"project": project, "plan_id": first}))
        .await;
    assert_eq!(summary(&rollback), (0, 1, 1), "{rollback}");
    let rendering = rollback["rendering"].as_str().unwrap();
    assert!(rendering.contains("worker"), "{rendering}");
    assert!(rendering.contains("GREETING"), "{rendering}");

    // Nothing ran yet: rollback only plans.
    assert_eq!(container_names(&project).len(), 2);
    let rollback_id = rollback["plan_id"].as_str().unwrap();
    let applied = session.apply(&project, rollback_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert_eq!(container_names(&project), vec![format!("{project}-web-1")]);

    let (_, again) = session.plan_yaml(&project, &spec("one", false)).await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        again.all_text()
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn rollback_refuses_a_plan_that_was_never_applied() {
    let project = unique("hist");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let (pending, _) = session.plan_yaml(&project, &spec("one", false)).await;
    let err = session
        .tool_error("rollback", json!({"project": project, "plan_id": pending}))
        .await;
    assert!(err.contains("is pending, not applied"), "{err}");
    assert!(err.contains("project_history"), "{err}");

    let err = session
        .tool_error(
            "rollback",
            json!({"project": project, "plan_id": "000000000000"}),
        )
        .await;
    assert!(err.contains("not found"), "{err}");
    assert!(container_names(&project).is_empty());
}

#[tokio::test]
async fn history_is_bounded_by_limit_and_refuses_unknown_arguments() {
    let project = unique("hist");
    let session = McpSession::start().await;
    for greeting in ["a", "b", "c"] {
        session.plan_yaml(&project, &spec(greeting, false)).await;
    }
    let history = session
        .structured_ok("project_history", json!({"project": project, "limit": 2}))
        .await;
    assert_eq!(history["entries"].as_array().unwrap().len(), 2, "{history}");
    let err = session
        .tool_error(
            "project_history",
            json!({"project": project, "approve": true}),
        )
        .await;
    assert!(err.contains("approve"), "{err}");
}

#[tokio::test]
async fn a_failing_update_with_revert_keeps_the_previous_containers_and_both_steps_in_history() {
    let project = unique("hist");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    session.converge(&project, &spec("one", false)).await;
    let web = format!("{project}-web-1");
    let web_id = common::cli::inspect(&web)["Id"]
        .as_str()
        .unwrap()
        .to_string();

    // The update adds a worker (which succeeds) and moves web to an image no registry has (which fails).
    let broken =
        spec("one", true).replacen(IMAGE, "127.0.0.1:5000/mcp-docker-test/missing:never", 1);
    let (update, _) = session.plan_yaml(&project, &broken).await;
    let err = session
        .tool_error(
            "apply",
            json!({"project": project, "plan_id": update, "revert_on_failure": true}),
        )
        .await;
    assert!(err.contains("did not complete"), "{err}");
    assert!(err.contains("Reverted to the previous spec"), "{err}");

    let running = common::cli::inspect(&web);
    assert_eq!(running["Id"].as_str().unwrap(), web_id, "web was replaced");
    assert_eq!(running["State"]["Running"], true);
    assert_eq!(
        container_names(&project),
        vec![web.clone()],
        "worker stayed"
    );

    let history = session
        .structured_ok("project_history", json!({"project": project}))
        .await;
    let applies: Vec<&Value> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "apply")
        .collect();
    assert_eq!(applies.len(), 3, "{history}");
    assert_eq!(applies[1]["plan_id"], update.as_str(), "{history}");
    assert!(
        applies[2]["summary"]
            .as_str()
            .unwrap()
            .contains("Apply complete!"),
        "{history}"
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn status_explains_drift_from_the_engine_events_since_the_last_apply() {
    let project = unique("hist");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    session.converge(&project, &spec("one", true)).await;
    let (web, worker) = (format!("{project}-web-1"), format!("{project}-worker-1"));
    common::cli::docker(&["stop", "-t", "1", &web]);
    common::cli::docker(&["rm", "-f", &worker]);

    let status = session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    let drift: Vec<String> = serde_json::from_value(status["drift"].clone()).unwrap();
    let said = |needle: &str| drift.iter().any(|line| line.contains(needle));
    assert!(
        said(&format!("container {web} stopped by `docker stop` at ")),
        "{drift:?}"
    );
    assert!(
        said(&format!("container {worker} removed (`docker rm`) at ")),
        "{drift:?}"
    );
    assert!(!said("exited on its own"), "{drift:?}");

    // The plan that repairs it says the same, as warnings beside the rendering.
    let (_, plan) = session.plan_yaml(&project, &spec("one", true)).await;
    let warnings = plan.field("warnings").unwrap().to_string();
    assert!(
        warnings.contains(&format!("drift: container {web} stopped by `docker stop`")),
        "{warnings}"
    );
    session.destroy(&project).await;
}
