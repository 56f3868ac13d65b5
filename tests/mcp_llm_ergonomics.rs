//! LLM ergonomics through rmcp's client against the real engine: a YAML string sent as `spec` is pointed to
//! `compose_yaml`, a literal secret-looking value gets a `{secret: NAME}` hint, and a stale plan's refusal says
//! what moved and that a new plan is needed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::ProjectGuard;
use common::mcp::McpSession;
use common::{unique, TEST_IMAGE};
use serde_json::{json, Value};

#[tokio::test]
async fn plan_spec_has_a_schema_hint_and_a_yaml_string_is_redirected() {
    let session = McpSession::start().await;
    let tools = session.client().list_all_tools().await.unwrap();
    let plan = tools.iter().find(|t| t.name == "plan").expect("plan tool");
    let input = Value::Object((*plan.input_schema).clone());
    assert_eq!(
        input["properties"]["spec"]["type"],
        json!("object"),
        "{input}"
    );
    let message = session
        .tool_error(
            "plan",
            json!({"project": "yamlasspec", "spec": "services:\n  web:\n    image: busybox\n"}),
        )
        .await;
    assert!(
        message.contains("`spec`") && message.contains("compose_yaml"),
        "{message}"
    );
    drop(session);
}

#[tokio::test]
async fn a_literal_secret_value_gets_a_secret_reference_hint() {
    let session = McpSession::start().await;
    let project = unique("hint");
    let yaml = format!(
        "services:\n  db:\n    image: {TEST_IMAGE}\n    environment:\n      DB_PASSWORD: hunter2\n      MODE: prod\n"
    );
    let (_, reply) = session.plan_yaml(&project, &yaml).await;
    let warnings = reply.field("warnings").unwrap_or_default().to_string();
    assert!(
        warnings.contains("DB_PASSWORD") && warnings.contains("{secret: DB_PASSWORD}"),
        "{}",
        reply.all_text()
    );
    assert!(
        !warnings.contains("hunter2") && !warnings.contains("MODE"),
        "{warnings}"
    );
    assert!(
        reply.text.contains("warning: service `db`"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_stale_plan_refusal_says_what_moved_and_to_plan_again() {
    let project = unique("stale");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let yaml = format!(
        "services:\n  web:\n    image: {TEST_IMAGE}\n    init: true\n    command: [\"sleep\", \"300\"]\n"
    );
    let (first, _) = session.plan_yaml(&project, &yaml).await;
    session.converge(&project, &yaml).await;
    let message = session
        .tool_error("apply", json!({"project": project, "plan_id": first}))
        .await;
    assert!(message.contains("stale"), "{message}");
    assert!(
        message.contains(&format!("{project}-web-1")) && message.contains("now exists"),
        "{message}"
    );
    assert!(message.contains("call plan again"), "{message}");
    session.destroy(&project).await;
}
