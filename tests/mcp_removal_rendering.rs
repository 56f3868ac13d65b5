//! Issue 12 through the MCP client, against the real engine: a create rendering shows environment values and
//! marks secret references; a service removed from the spec is deleted by the next plan and apply; a
//! container that carries the project's labels but was never applied is listed as an orphan, and such a plan
//! never reads "No changes".

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, project_containers, ProjectGuard};
use common::mcp::{McpServer, ServerSetup};
use common::unique;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

/// Two services; `worker` reads a secret reference, `web` a plain value and a secret-looking one.
fn two_services() -> String {
    format!(
        r#"services:
  web:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels:
      team: shop
    environment:
      GREETING: hello-plan
      API_TOKEN: tok-never-shown
  worker:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    environment:
      DB_URL: {{secret: db_url}}
"#
    )
}

/// The same project with `worker` removed.
fn web_only() -> String {
    let text = two_services();
    text[..text.find("  worker:").unwrap()].to_string()
}

/// Starts a server whose operator secrets file holds `db_url`; the temp dir lives as long as the server.
async fn server_with_secret() -> (McpServer, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let secrets = tmp.path().join("secrets.env");
    std::fs::write(&secrets, "db_url=postgres://secret-value-never-shown\n").unwrap();
    let server = McpServer::start(
        ServerSetup::new(&state)
            .env("MCP_DOCKER_SECRETS_FILE", secrets.display().to_string())
            .env("RUST_LOG", "warn"),
    )
    .await;
    (server, tmp)
}

#[tokio::test]
async fn create_shows_values_removed_service_is_deleted_and_orphans_are_listed() {
    let project = unique("mcprm");
    let guard = ProjectGuard::new(&project);
    let (server, _tmp) = server_with_secret().await;

    // The create shows every value a reviewer needs, masked where it must be.
    let (plan_id, reply) = server.plan_yaml(&project, &two_services()).await;
    let text = reply.all_text();
    for shown in [
        "+ environment.GREETING: \"hello-plan\"",
        "+ environment.API_TOKEN: (sensitive)",
        "+ environment.DB_URL: (secret db_url)",
        "+ labels.team: \"shop\"",
    ] {
        assert!(text.contains(shown), "`{shown}` missing from:\n{text}");
    }
    for hidden in ["tok-never-shown", "secret-value-never-shown"] {
        assert!(!text.contains(hidden), "{hidden} leaked:\n{text}");
    }
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());

    // Removing `worker` from the spec plans its deletion, and the apply removes it.
    let (plan_id, reply) = server.plan_yaml(&project, &web_only()).await;
    let text = reply.all_text();
    let worker = format!("{project}-worker-1");
    assert!(
        text.contains(&format!(
            "container {worker} will be destroyed: removed from the spec"
        )),
        "{text}"
    );
    assert!(!text.contains("No changes"), "{text}");
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let left: Vec<String> = project_containers(None, &project)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(left, vec![format!("{project}-web-1")], "{left:?}");

    // A container with the project's labels that no apply made is an orphan: listed, never "No changes".
    let stray = format!("{project}-stray-1");
    let out = docker_cli(
        None,
        &[
            "create",
            "--name",
            &stray,
            "--label",
            &format!("io.mcp-docker-server.project={project}"),
            "--label",
            &format!("com.docker.compose.project={project}"),
            "--label",
            "com.docker.compose.service=stray",
            "--label",
            "com.docker.compose.container-number=1",
            IMAGE,
            "true",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = server
        .ok(
            "plan",
            json!({"project": project, "compose_yaml": web_only()}),
        )
        .await;
    let text = reply.all_text();
    assert!(!text.contains("No changes"), "{text}");
    assert!(text.contains("Orphans"), "{text}");
    assert!(text.contains(&format!("container \"{stray}\"")), "{text}");
    assert!(text.contains("remove_orphans: true"), "{text}");

    server.destroy(&project).await;
    drop(guard);
}
