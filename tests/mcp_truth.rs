//! Issue 12 end to end, through rmcp's client against the real engine: the truth after a failed apply, and a
//! resumed project that plans "No changes" from its own export and from the prompt's last-applied spec.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, project_containers, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

fn compose(services: &[(&str, &str)]) -> String {
    let mut yaml = String::from("services:\n");
    for (name, image) in services {
        yaml.push_str(&format!(
            "  {name}:\n    image: {image}\n    init: true\n    command: [\"sleep\", \"600\"]\n"
        ));
    }
    yaml
}

/// Every `text` string in the prompt's messages, as JSON from `prompt_text`.
fn prompt_texts(messages: &str) -> String {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("text", Value::String(text)) => out.push(text.clone()),
                        _ => walk(inner, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::from_str(messages).unwrap(), &mut out);
    out.join("\n")
}

/// The text between the first ```yaml fence after `marker` and its closing fence.
fn fenced_yaml_after(text: &str, marker: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text}"));
    let rest = &text[from..];
    let start = rest.find("```yaml\n").expect("a yaml fence") + "```yaml\n".len();
    let end = rest[start..].find("\n```").expect("a closing fence");
    rest[start..start + end].to_string()
}

#[tokio::test]
async fn a_failed_pull_leaves_a_structured_report_a_truthful_status_and_a_plan_against_live() {
    let project = unique("truthpull");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    // The registry answers, the repository does not exist: the pull fails fast and certainly.
    let missing = format!("127.0.0.1:5000/{}:absent", unique("nosuchimage"));
    let spec = compose(&[("ok", IMAGE), ("bad", &missing)]);

    let (plan_id, _) = session.plan_yaml(&project, &spec).await;
    let applied = session.apply(&project, &plan_id).await.unwrap();
    assert!(
        applied.is_error,
        "a failed apply is a tool error: {}",
        applied.all_text()
    );
    let report = applied
        .structured
        .as_ref()
        .and_then(|s| s.get("report"))
        .unwrap_or_else(|| panic!("no structured report: {}", applied.all_text()));
    let failed = report["failed"].as_array().unwrap();
    assert!(!failed.is_empty(), "{report}");
    assert!(failed.iter().any(|f| f["resource"]["name"]
        .as_str()
        .is_some_and(|n| n.contains("nosuchimage"))));
    assert_eq!(applied.field("succeeded"), Some(Value::Bool(false)));

    let status = session
        .ok("project_status", json!({"project": project}))
        .await;
    let text = status.all_text();
    assert!(text.contains("failed"), "status names the failure: {text}");
    assert!(
        text.contains("nosuchimage"),
        "status names the failed step: {text}"
    );
    assert!(!text.contains("removed outside"), "{text}");
    let failure = status.field("last_apply_failure").expect("a failure field");
    assert_eq!(failure["plan_id"], Value::String(plan_id.clone()));

    // The next plan starts from what is live: `ok` runs and is kept, `bad` is still to create.
    let (_, next) = session.plan_yaml(&project, &spec).await;
    let rendering = next.str_field("rendering").unwrap();
    assert!(
        rendering.contains(&format!("{project}-bad-1")),
        "{rendering}"
    );
    assert!(
        !rendering.contains(&format!("{project}-ok-1")),
        "the running container is not re-planned: {rendering}"
    );
    // What the record holds exports only what was done.
    let exported = session
        .ok("export_project", json!({"project": project}))
        .await;
    let yaml = exported.str_field("compose_yaml").unwrap();
    assert!(yaml.contains("ok:"), "{yaml}");
    assert!(!yaml.contains("nosuchimage"), "{yaml}");

    session.destroy(&project).await;
}

#[tokio::test]
async fn a_resumed_project_with_dollar_dollar_plans_no_changes() {
    let project = unique("truthresume");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let spec = format!(
        "services:\n  hello:\n    image: {IMAGE}\n    init: true\n    environment:\n      GREETING: hi\n    command: sh -c 'echo \"$$GREETING\"; sleep 600'\n"
    );
    session.converge(&project, &spec).await;

    let exported = session
        .ok("export_project", json!({"project": project}))
        .await;
    let yaml = exported.str_field("compose_yaml").unwrap();
    assert!(
        yaml.contains("$$GREETING"),
        "the export escapes `$`: {yaml}"
    );
    let (_, replanned) = session.plan_yaml(&project, &yaml).await;
    assert_eq!(
        replanned.field("has_changes"),
        Some(Value::Bool(false)),
        "export -> plan: {}",
        replanned.all_text()
    );

    let prompt = session
        .prompt_text(
            "docker_compose",
            json!({"name": project, "containers": "the same hello container"}),
        )
        .await
        .unwrap();
    let from_prompt = fenced_yaml_after(&prompt_texts(&prompt), "Last-applied spec:");
    let (_, replanned) = session.plan_yaml(&project, &from_prompt).await;
    assert_eq!(
        replanned.field("has_changes"),
        Some(Value::Bool(false)),
        "prompt -> plan: {}",
        replanned.all_text()
    );
    assert!(replanned
        .str_field("rendering")
        .unwrap()
        .contains("No changes"));

    session.destroy(&project).await;
}

/// Removes a container made with the docker CLI when dropped.
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = docker_cli(None, &["rm", "-f", &self.0]);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_host_port_another_container_publishes_is_refused_at_plan_time() {
    let project = unique("truthport");
    let _guard = ProjectGuard::new(&project);
    let holder = unique("truthholder");
    let _holder_guard = ContainerGuard(holder.clone());
    let port = free_port();
    let published = format!("127.0.0.1:{port}:80");
    let run = docker_cli(
        None,
        &[
            "run", "-d", "--init", "--name", &holder, "-p", &published, IMAGE, "sleep", "600",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let session = McpSession::start().await;
    let spec = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"600\"]\n    ports: [\"{published}\"]\n"
    );
    let error = session
        .tool_error("plan", json!({"project": project, "compose_yaml": spec}))
        .await;
    assert!(
        error.contains(&format!("`{holder}`")),
        "the holder is named: {error}"
    );
    assert!(
        error.contains("services.web.ports[0]"),
        "the field is named: {error}"
    );
    assert!(
        project_containers(None, &project).is_empty(),
        "nothing was created"
    );
}
