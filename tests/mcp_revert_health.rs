//! Revert on an unhealthy replacement, through MCP against the real engine: with `revert_on_failure`, an
//! update whose replaced container fails its healthcheck fails that step, and the server plans and applies
//! the return to the previous spec, so the previous container config runs again and the history holds both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::ProjectGuard;
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// `web` with a healthcheck running `probe` (`true` passes, `false` fails) every second.
fn spec(probe: &str) -> String {
    format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         environment:\n      PROBE: {probe}\n    healthcheck:\n      test: [\"CMD\", \"{probe}\"]\n      \
         interval: 1s\n      timeout: 1s\n      retries: 2\n      start_period: 1s\n"
    )
}

fn health_test_of(container: &str) -> Value {
    common::cli::inspect(container)["Config"]["Healthcheck"]["Test"].clone()
}

#[tokio::test]
async fn an_update_whose_replacement_turns_unhealthy_is_reverted_to_the_previous_config() {
    let project = unique("revh");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    session.converge(&project, &spec("true")).await;
    let web = format!("{project}-web-1");
    assert_eq!(health_test_of(&web), json!(["CMD", "true"]));

    let (update, _) = session.plan_yaml(&project, &spec("false")).await;
    let err = session
        .tool_error(
            "apply",
            json!({"project": project, "plan_id": update, "revert_on_failure": true}),
        )
        .await;
    assert!(err.contains("did not complete"), "{err}");
    assert!(err.contains("healthy"), "{err}");
    assert!(err.contains("Reverted to the previous spec"), "{err}");

    // The previous config runs again, healthy.
    let running = common::cli::inspect(&web);
    assert_eq!(
        running["Config"]["Healthcheck"]["Test"],
        json!(["CMD", "true"])
    );
    assert_eq!(running["State"]["Running"], true);
    let env = running["Config"]["Env"].as_array().unwrap();
    assert!(env.contains(&json!("PROBE=true")), "{env:?}");

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
        applies[1]["summary"].as_str().unwrap().contains("healthy"),
        "{history}"
    );
    assert!(
        applies[2]["summary"]
            .as_str()
            .unwrap()
            .contains("Apply complete!"),
        "{history}"
    );

    // The project now matches the first spec again.
    let (_, again) = session.plan_yaml(&project, &spec("true")).await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        again.all_text()
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn without_revert_an_unhealthy_replacement_is_not_waited_for() {
    let project = unique("revh");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    session.converge(&project, &spec("true")).await;
    let (update, _) = session.plan_yaml(&project, &spec("false")).await;
    let applied = session.apply(&project, &update).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let web = format!("{project}-web-1");
    assert_eq!(health_test_of(&web), json!(["CMD", "false"]));
    session.destroy(&project).await;
}
