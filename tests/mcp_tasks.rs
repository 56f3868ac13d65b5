//! Long tools as MCP tasks (the tasks extension), against the real engine through rmcp's client: a
//! task-mode apply reports progress in its status line and stops between steps when cancelled (the later
//! steps do not run, the task and the history say so, and a new plan finishes the job); pull and build
//! complete as tasks with their results.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::time::{Duration, Instant};

use common::engine::{docker_cli, project_containers, ProjectGuard};
use common::mcp::{result_text, McpServer, ServerSetup};
use common::unique;
use rmcp::model::{CallToolResult, DetailedTask, TaskPayload, TaskStatus};
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;
const REGISTRY: &str = "127.0.0.1:5000";

/// Four services in a chain, each waiting until the one before is healthy: about a second per link.
fn chain() -> String {
    let mut spec = String::from("services:\n");
    let mut before: Option<&str> = None;
    for name in ["a", "b", "c", "d"] {
        spec.push_str(&format!(
            "  {name}:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
             healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1s\n"
        ));
        if let Some(before) = before {
            spec.push_str(&format!(
                "    depends_on:\n      {before}:\n        condition: service_healthy\n"
            ));
        }
        before = Some(name);
    }
    spec
}

async fn tasks_server(state: &std::path::Path) -> McpServer {
    McpServer::start(ServerSetup::new(state).env("RUST_LOG", "warn").tasks()).await
}

/// The tool result a completed task carries.
fn completed(task: &DetailedTask) -> CallToolResult {
    match &task.payload {
        TaskPayload::Completed { result } => {
            serde_json::from_value(serde_json::Value::Object(result.clone())).unwrap()
        }
        other => panic!(
            "task did not complete: {other:?} ({:?})",
            task.task.status_message
        ),
    }
}

/// The whole steps a status line reports done (`1 of 5 steps done: ...` is 1), if it reports any.
fn steps_done(line: &str) -> Option<f64> {
    line.split_once(" of ")?.0.parse().ok()
}

/// Polls until the status line shows the first step finished; returns every status line seen.
async fn until_a_step_is_done(session: &McpServer, task_id: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let task = session.task(task_id).await;
        let line = task.task.status_message.clone().unwrap_or_default();
        if seen.last() != Some(&line) {
            seen.push(line.clone());
        }
        if steps_done(&line).is_some_and(|done| done >= 1.0) || task.status().is_terminal() {
            return seen;
        }
        assert!(Instant::now() < deadline, "no step finished: {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_task_mode_apply_reports_progress_and_stops_between_steps_when_cancelled() {
    let project = unique("task");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let session = tasks_server(dir.path()).await;
    let (plan_id, _) = session.plan_yaml(&project, &chain()).await;

    let task_id = session
        .start_task("apply", json!({"project": project, "plan_id": plan_id}))
        .await;
    let seen = until_a_step_is_done(&session, &task_id).await;
    session.cancel_task(&task_id).await;
    let ended = session.await_task(&task_id).await;

    assert_eq!(
        ended.status(),
        TaskStatus::Cancelled,
        "{ended:?} after {seen:?}"
    );
    assert!(
        seen.iter().any(|l| steps_done(l).is_some()),
        "no progress line: {seen:?}"
    );
    let status = ended.task.status_message.clone().unwrap_or_default();
    assert!(status.contains("cancelled"), "{status}");
    // The chain's last link waits for three others to be healthy: it cannot have run.
    let names: Vec<String> = project_containers(None, &project)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(!names.contains(&format!("{project}-d-1")), "{names:?}");
    assert!(names.len() < 4, "{names:?}");
    let history = session
        .ok("project_history", json!({"project": project}))
        .await;
    assert!(
        history.all_text().contains("cancelled"),
        "{}",
        history.all_text()
    );

    // A new plan finishes the job, as a task that completes with the apply's report.
    let (rest, _) = session.plan_yaml(&project, &chain()).await;
    let task_id = session
        .start_task("apply", json!({"project": project, "plan_id": rest}))
        .await;
    let result = completed(&session.await_task(&task_id).await);
    assert_ne!(result.is_error, Some(true), "{}", result_text(&result));
    let report = result.structured_content.unwrap();
    assert_eq!(report["succeeded"], json!(true), "{report}");
    assert_eq!(project_containers(None, &project).len(), 4);
    let (_, again) = session.plan_yaml(&project, &chain()).await;
    assert_eq!(
        again.field("has_changes"),
        Some(json!(false)),
        "{}",
        again.all_text()
    );
}

/// Removes the tagged images when the test ends.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = docker_cli(None, &["rmi", "-f", image]);
        }
    }
}

fn docker_ok(args: &[&str]) {
    let out = docker_cli(None, args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn pull_and_build_complete_as_tasks() {
    let marker = unique("");
    let pulled = format!("{REGISTRY}/mdt-task{marker}:1");
    let built = format!("mdt-task-built{marker}:1");
    let _images = Images(vec![pulled.clone(), built.clone()]);
    docker_ok(&["tag", IMAGE, &pulled]);
    docker_ok(&["push", &pulled]);
    docker_ok(&["rmi", &pulled]);

    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {IMAGE}\nLABEL task=yes\n"),
    )
    .unwrap();
    let session = tasks_server(&dir.path().join("state")).await;

    let task_id = session
        .start_task("pull_image", json!({"image": pulled}))
        .await;
    let result = completed(&session.await_task(&task_id).await);
    assert_ne!(result.is_error, Some(true), "{}", result_text(&result));
    assert!(
        result_text(&result).contains("Pulled"),
        "{}",
        result_text(&result)
    );
    docker_ok(&["image", "inspect", &pulled]);

    let args = json!({"context": context.to_str().unwrap(), "tag": built});
    let task_id = session.start_task("build_image", args).await;
    let result = completed(&session.await_task(&task_id).await);
    assert_ne!(result.is_error, Some(true), "{}", result_text(&result));
    docker_ok(&["image", "inspect", &built]);
}

/// The attack: a task's status line and result are another way out for a secret value (here the LLM puts
/// the value of an operator secret into an image reference so the engine's error echoes it); `tasks/get`
/// shows the marker instead.
#[tokio::test]
async fn a_task_never_shows_a_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    let secret = unique("mdtleak");
    let secrets_file = dir.path().join("secrets.env");
    std::fs::write(&secrets_file, format!("reg_token={secret}\n")).unwrap();
    let state = dir.path().join("state");
    let setup = ServerSetup::new(&state)
        .env("RUST_LOG", "warn")
        .env(
            "MCP_DOCKER_SECRETS_FILE",
            secrets_file.display().to_string(),
        )
        .tasks();
    let session = McpServer::start(setup).await;
    let image = format!("{REGISTRY}/{secret}:1");
    let task_id = session
        .start_task("pull_image", json!({"image": image}))
        .await;
    let ended = session.await_task(&task_id).await;
    let shown = serde_json::to_string(&ended).unwrap();
    assert!(!shown.contains(&secret), "{shown}");
    assert!(shown.contains("[secret reg_token]"), "{shown}");
}
