//! Preflight through the MCP client, against the real engine: a container name the plan would create that a
//! container this project does not manage already holds is refused at plan time, with the holder named, and
//! nothing is created.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, project_containers, ProjectGuard};
use common::mcp::{McpServer, ServerSetup};
use common::unique;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

/// Removes the unlabelled container the test made (the project guard only purges labelled ones).
struct Foreign(String);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = docker_cli(None, &["rm", "-f", &self.0]);
    }
}

#[tokio::test]
async fn a_name_taken_by_a_foreign_container_is_refused_at_plan_time() {
    let project = unique("mcpname");
    let guard = ProjectGuard::new(&project);
    let taken = format!("{project}-web-1");
    let out = docker_cli(None, &["create", "--name", &taken, IMAGE, "true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let foreign = Foreign(taken.clone());
    let tmp = tempfile::tempdir().unwrap();
    let server = McpServer::start(ServerSetup::new(tmp.path()).env("RUST_LOG", "warn")).await;

    let spec = format!("services:\n  web:\n    image: {IMAGE}\n    command: [\"true\"]\n");
    let error = server
        .tool_error("plan", json!({"project": project, "compose_yaml": spec}))
        .await;
    assert!(error.contains("services.web"), "{error}");
    assert!(
        error.contains(&format!("container name `{taken}` is already taken")),
        "{error}"
    );
    assert!(project_containers(None, &project).is_empty());

    drop(foreign);
    drop(guard);
}
