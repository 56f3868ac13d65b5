//! `depends_on.<dependency>.restart: true` through the MCP client, against the real engine: replacing the
//! dependency plans a restart of the dependent with its reason, and the apply restarts it in place (its
//! StartedAt moves, its container id does not), as compose does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, ProjectGuard};
use common::mcp::{McpServer, ServerSetup};
use common::unique;

const IMAGE: &str = common::TEST_IMAGE;

/// `web` restarts when `cache` is replaced; `cache` carries `version` so a new value replaces it.
fn spec(version: &str) -> String {
    format!(
        r#"services:
  cache:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    environment:
      VERSION: "{version}"
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 30
  web:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    depends_on:
      cache:
        condition: service_healthy
        restart: true
"#
    )
}

/// The container's id and StartedAt, from `docker inspect`.
fn id_and_started(name: &str) -> (String, String) {
    let out = docker_cli(
        None,
        &["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", name],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (id, started) = text.split_once(' ').expect("id and StartedAt");
    (id.to_string(), started.to_string())
}

#[tokio::test]
async fn replacing_a_dependency_restarts_its_dependent_in_place() {
    let project = unique("mcprestart");
    let guard = ProjectGuard::new(&project);
    let tmp = tempfile::tempdir().unwrap();
    let server = McpServer::start(ServerSetup::new(tmp.path()).env("RUST_LOG", "warn")).await;

    let (plan_id, _) = server.plan_yaml(&project, &spec("1")).await;
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let web = format!("{project}-web-1");
    let (id_before, started_before) = id_and_started(&web);

    let (plan_id, reply) = server.plan_yaml(&project, &spec("2")).await;
    let text = reply.all_text();
    assert!(
        text.contains(&format!(
            "container {web} will be restarted: restart: its dependency cache is replaced"
        )),
        "{text}"
    );
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let (id_after, started_after) = id_and_started(&web);
    assert_eq!(id_after, id_before, "a restart keeps the container");
    assert_ne!(started_after, started_before, "the dependent was restarted");

    // Applied, the project is at rest: nothing restarts again.
    let (_, reply) = server.plan_yaml(&project, &spec("2")).await;
    assert!(
        reply.all_text().contains("No changes"),
        "{}",
        reply.all_text()
    );

    server.destroy(&project).await;
    drop(guard);
}
