//! Import through MCP against the real engine: a project `docker-compose up -d` started is taken over without
//! being touched, the next plan is "No changes" with the container ids unchanged, a changed spec plans an
//! update, and destroy removes it cleanly. Import never adopts what the named compose project does not hold.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{
    compose_up_yaml, container_id, docker_cli, object_exists, project_containers, ProjectGuard,
};
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// `web` and `worker` on the default network, `web` with a named volume and a port on loopback.
fn spec(greeting: &str, port: u16) -> String {
    format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         environment:\n      GREETING: {greeting}\n    ports:\n      - \"127.0.0.1:{port}:80\"\n    \
         volumes:\n      - data:/data\n  worker:\n    image: {IMAGE}\n    init: true\n    \
         command: [\"sleep\", \"3600\"]\nvolumes:\n  data:\n"
    )
}

/// A free loopback port for the test's published port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ids(project: &str) -> Vec<String> {
    let mut names: Vec<String> = project_containers(None, project)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names.iter().map(|n| container_id(n)).collect()
}

#[tokio::test]
async fn a_compose_project_is_imported_unchanged_then_planned_updated_and_destroyed() {
    let project = unique("imp");
    let _guard = ProjectGuard::new(&project);
    let port = free_port();
    let yaml = spec("hi", port);
    let _dir = compose_up_yaml(&project, &yaml);
    let before = ids(&project);
    assert_eq!(before.len(), 2);

    let session = McpSession::start().await;
    let imported = session
        .structured_ok(
            "import_project",
            json!({"project": project, "compose_yaml": yaml}),
        )
        .await;
    let adopted = imported["adopted"].as_array().unwrap();
    assert_eq!(
        adopted.len(),
        4,
        "2 containers, network, volume: {imported}"
    );
    assert_eq!(imported["differing"], json!([]), "{imported}");
    assert_eq!(imported["has_changes"], false, "{imported}");
    assert_eq!(ids(&project), before, "import recreated something");
    let listed = session.structured_ok("list_projects", json!({})).await;
    let rows = listed["projects"].as_array().cloned().unwrap_or_default();
    let row = rows.iter().find(|p| p["name"] == project.as_str());
    let counts = row.map(|p| (&p["containers_running"], &p["containers_total"]));
    assert_eq!(
        counts,
        Some((&json!(2), &json!(2))),
        "list_projects counts the adopted containers: {listed}"
    );

    // The next plan is "No changes", and says what was adopted.
    let (_, planned) = session.plan_yaml(&project, &yaml).await;
    assert_eq!(
        planned.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        planned.all_text()
    );
    assert!(
        planned.all_text().contains("adopted by import"),
        "{}",
        planned.all_text()
    );
    let history = session
        .structured_ok("project_history", json!({"project": project}))
        .await;
    assert_eq!(history["entries"][0]["kind"], "import", "{history}");

    // A changed spec plans an update of web only.
    let (update, changed) = session.plan_yaml(&project, &spec("bye", port)).await;
    assert_eq!(
        changed.field("summary").unwrap()["change"],
        1,
        "{}",
        changed.all_text()
    );
    assert!(
        changed.all_text().contains("GREETING"),
        "{}",
        changed.all_text()
    );
    let applied = session.apply(&project, &update).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let after = ids(&project);
    assert_ne!(after, before);
    assert!(
        after.contains(&before[1]),
        "worker was recreated: {before:?} {after:?}"
    );

    session.destroy(&project).await;
    assert!(project_containers(None, &project).is_empty());
    assert!(!object_exists("network", &format!("{project}_default")));
    assert!(!object_exists("volume", &format!("{project}_data")));
}

#[tokio::test]
async fn a_container_that_differs_is_adopted_as_is_and_planned_as_an_update() {
    let project = unique("imp");
    let _guard = ProjectGuard::new(&project);
    let port = free_port();
    let _dir = compose_up_yaml(&project, &spec("secret-ish-value", port));
    let before = ids(&project);

    let session = McpSession::start().await;
    let imported = session
        .structured_ok(
            "import_project",
            json!({"project": project, "compose_yaml": spec("other", port)}),
        )
        .await;
    let differing = imported["differing"].as_array().unwrap();
    assert_eq!(differing.len(), 1, "{imported}");
    let line = differing[0].as_str().unwrap();
    assert!(line.contains("environment: GREETING differs"), "{line}");
    assert!(
        !imported.to_string().contains("secret-ish-value"),
        "{imported}"
    );
    assert_eq!(imported["has_changes"], true, "{imported}");
    assert_eq!(ids(&project), before, "import recreated something");

    let (_, planned) = session.plan_yaml(&project, &spec("other", port)).await;
    let rendering = planned.str_field("rendering").unwrap();
    assert!(
        rendering.contains("adopted by import, it differs from the spec"),
        "{rendering}"
    );
    assert_eq!(
        planned.field("summary").unwrap()["change"],
        1,
        "{}",
        planned.all_text()
    );

    // Destroy keeping volumes: the adopted volume stays the project's, so the next apply reuses it.
    let destroy = session
        .structured_ok("destroy", json!({"project": project}))
        .await;
    let destroy_id = destroy["plan_id"].as_str().unwrap();
    let applied = session.apply(&project, destroy_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    assert!(object_exists("volume", &format!("{project}_data")));
    let reapplied = session.converge(&project, &spec("other", port)).await;
    assert!(
        !reapplied
            .all_text()
            .contains("without this project's labels"),
        "{}",
        reapplied.all_text()
    );
    session.destroy(&project).await;
    assert!(!object_exists("volume", &format!("{project}_data")));
}

#[tokio::test]
async fn import_adopts_nothing_the_named_compose_project_does_not_hold() {
    let project = unique("imp");
    let _guard = ProjectGuard::new(&project);
    // A container with the name compose would give, but made by hand: no compose project label.
    let name = format!("{project}-web-1");
    let out = common::engine::docker_cli(
        None,
        &[
            "run", "-d", "--init", "--name", &name, IMAGE, "sleep", "3600",
        ],
    );
    assert!(out.status.success());
    let session = McpSession::start().await;
    let yaml = spec("hi", free_port());
    let err = session
        .tool_error(
            "import_project",
            json!({"project": project, "compose_yaml": yaml}),
        )
        .await;
    assert!(err.contains("com.docker.compose.project"), "{err}");
    let err = session
        .tool_error("plan", json!({"project": project, "compose_yaml": yaml}))
        .await;
    assert!(err.contains(&name), "the look-alike stays refused: {err}");
    let _ = common::engine::docker_cli(None, &["rm", "-f", &name]);

    // A project this server manages already is not imported again.
    session.converge(&project, &spec("hi", free_port())).await;
    let err = session
        .tool_error(
            "import_project",
            json!({"project": project, "compose_yaml": yaml}),
        )
        .await;
    assert!(err.contains("already managed"), "{err}");
    session.destroy(&project).await;
}

/// A compose service with an anonymous volume (`volumes: [/scratch]`) is imported as matching: the engine's
/// 64-hex volume there is the spec's anonymous one.
#[tokio::test]
async fn an_anonymous_volume_is_imported_as_matching() {
    let project = unique("impanon");
    let _guard = ProjectGuard::new(&project);
    let yaml = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         volumes:\n      - /scratch\n"
    );
    let _dir = compose_up_yaml(&project, &yaml);
    let session = McpSession::start().await;
    session.import_unchanged(&project, &yaml).await;
    session.destroy(&project).await;
}

/// A guard (the unit tests in docker/src/adopt.rs hold the image-declared case, where this was a hole): a
/// container labelled as a compose project's, mounting a volume named like an anonymous one
/// (64 hex digits) but backed by a host directory through driver options, must not pass for the spec's
/// anonymous volume, or import would adopt a host mount the human never saw in a plan.
#[tokio::test]
async fn a_bind_backed_volume_named_like_an_anonymous_one_differs() {
    let project = unique("impbind");
    let _guard = ProjectGuard::new(&project);
    let host_dir = tempfile::tempdir().unwrap();
    let hex: String = project.bytes().map(|b| format!("{b:02x}")).collect();
    let volume = format!("{hex:0>64}");
    assert_eq!(volume.len(), 64, "{volume}");
    let device = format!("device={}", host_dir.path().display());
    let made = docker_cli(
        None,
        &[
            "volume",
            "create",
            "--opt",
            "type=none",
            "--opt",
            "o=bind",
            "--opt",
            &device,
            &volume,
        ],
    );
    assert!(made.status.success(), "{made:?}");
    let name = format!("{project}-web-1");
    let labels = [
        format!("com.docker.compose.project={project}"),
        "com.docker.compose.service=web".to_string(),
        "com.docker.compose.container-number=1".to_string(),
    ];
    let mount = format!("{volume}:/scratch");
    let mut args = vec!["run", "-d", "--init", "--name", &name, "-v", &mount];
    for label in &labels {
        args.extend(["--label", label]);
    }
    args.extend([IMAGE, "sleep", "3600"]);
    let started = docker_cli(None, &args);
    assert!(started.status.success(), "{started:?}");

    let yaml = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         volumes:\n      - /scratch\n"
    );
    let session = McpSession::start().await;
    let imported = session
        .call(
            "import_project",
            json!({"project": project, "compose_yaml": yaml}),
        )
        .await;
    let _ = docker_cli(None, &["rm", "-f", &name]);
    let _ = docker_cli(None, &["volume", "rm", &volume]);
    let text = match imported {
        Ok(reply) => reply.all_text(),
        Err(message) => message,
    };
    assert!(
        text.contains("mounts") && !text.contains("\"differing\":[]"),
        "the bind-backed volume passed for an anonymous one: {text}"
    );
}
