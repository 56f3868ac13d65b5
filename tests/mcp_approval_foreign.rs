//! Destructive primitive tools ask the human before they act on a resource this server does not own (no
//! `io.mcp-docker-server.project` label), against the real engine: a decline leaves a foreign container
//! running, an accept removes it, a container a plan made is removed without a question, and in `elicit`
//! mode a client that cannot elicit gets a clear refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, project_containers, ProjectGuard};
use common::mcp::{McpServer, ServerSetup};
use common::unique;
use rmcp::model::ElicitationAction;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

/// Removes the named containers, volumes and networks when the test ends, however it ends.
struct Foreign(Vec<(&'static str, String)>);

impl Drop for Foreign {
    fn drop(&mut self) {
        for (kind, name) in &self.0 {
            let _ = match *kind {
                "container" => docker_cli(None, &["rm", "-f", name]),
                other => docker_cli(None, &[other, "rm", name]),
            };
        }
    }
}

/// A running container made with the docker CLI, so it lacks our labels.
fn foreign_container(name: &str) {
    let out = docker_cli(
        None,
        &[
            "run", "-d", "--init", "--name", name, IMAGE, "sleep", "3600",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn running(name: &str) -> bool {
    let out = docker_cli(None, &["inspect", "-f", "{{.State.Running}}", name]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "true"
}

fn exists(kind: &str, name: &str) -> bool {
    docker_cli(None, &[kind, "inspect", name]).status.success()
}

async fn server(
    state: &std::path::Path,
    mode: &str,
    answer: Option<ElicitationAction>,
    multi_round: bool,
) -> McpServer {
    let mut setup = ServerSetup::new(state)
        .env("RUST_LOG", "warn")
        .env("MCP_DOCKER_APPROVAL", mode);
    if let Some(action) = answer {
        setup = setup.elicit(action);
    }
    if multi_round {
        setup = setup.multi_round();
    }
    McpServer::start(setup).await
}

#[tokio::test]
async fn a_decline_leaves_a_foreign_container_running_and_an_accept_removes_it() {
    let name = unique("foreign-");
    let _cleanup = Foreign(vec![("container", name.clone())]);
    foreign_container(&name);
    let dir = tempfile::tempdir().unwrap();
    for multi_round in [false, true] {
        let decline = server(
            dir.path(),
            "auto",
            Some(ElicitationAction::Decline),
            multi_round,
        )
        .await;
        for (tool, args) in [
            ("stop_container", json!({"container": name})),
            (
                "remove_container",
                json!({"container": name, "force": true}),
            ),
        ] {
            let err = decline.tool_error(tool, args).await;
            assert!(err.contains("the user declined"), "{tool}: {err}");
            assert!(err.contains("does not manage"), "{tool}: {err}");
            assert!(err.contains("nothing was changed"), "{tool}: {err}");
            assert!(running(&name), "{tool} acted after a decline");
        }
        let questions = decline.elicitation_questions();
        assert_eq!(questions.len(), 2, "{questions:?}");
        assert!(
            questions[0].starts_with(&format!("Stop container {name} (id ")),
            "{}",
            questions[0]
        );
        assert!(questions[1].contains(IMAGE), "{}", questions[1]);
        assert!(questions[1].contains("does not manage"), "{}", questions[1]);
        decline.stop().await;
    }

    let accept = server(dir.path(), "auto", Some(ElicitationAction::Accept), true).await;
    accept
        .ok(
            "remove_container",
            json!({"container": name, "force": true}),
        )
        .await;
    assert!(
        !exists("container", &name),
        "the accepted removal did not happen"
    );
    assert_eq!(accept.elicitation_questions().len(), 1);
    accept.stop().await;
}

#[tokio::test]
async fn foreign_volumes_networks_and_images_ask_too() {
    let volume = unique("foreign-vol-");
    let network = unique("foreign-net-");
    let tag = format!("{}:latest", unique("foreign-img-"));
    let _cleanup = Foreign(vec![
        ("volume", volume.clone()),
        ("network", network.clone()),
        ("image", tag.clone()),
    ]);
    for args in [
        vec!["volume", "create", &volume],
        vec!["network", "create", &network],
        vec!["tag", IMAGE, &tag],
    ] {
        let out = docker_cli(None, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let decline = server(
        dir.path(),
        "elicit",
        Some(ElicitationAction::Decline),
        false,
    )
    .await;
    for (tool, args, kind, name) in [
        ("remove_volume", json!({"name": volume}), "volume", &volume),
        (
            "remove_network",
            json!({"name": network}),
            "network",
            &network,
        ),
        ("remove_image", json!({"image": tag}), "image", &tag),
    ] {
        let err = decline.tool_error(tool, args).await;
        assert!(err.contains("the user declined"), "{tool}: {err}");
        assert!(exists(kind, name), "{tool} acted after a decline");
    }
    decline.stop().await;

    // `elicit` mode and a client that cannot elicit: a clear refusal, nothing removed.
    let strict = server(dir.path(), "elicit", None, false).await;
    let err = strict
        .tool_error("remove_volume", json!({"name": volume}))
        .await;
    assert!(err.contains("does not support elicitation"), "{err}");
    assert!(exists("volume", &volume));
    strict.stop().await;

    // `auto` mode and a client that cannot elicit: today's flow.
    let auto = server(dir.path(), "auto", None, false).await;
    auto.ok("remove_volume", json!({"name": volume})).await;
    auto.ok("remove_network", json!({"name": network})).await;
    auto.ok("remove_image", json!({"image": tag})).await;
    assert!(!exists("volume", &volume) && !exists("network", &network) && !exists("image", &tag));
    auto.stop().await;
}

#[tokio::test]
async fn a_container_this_server_made_is_removed_without_a_question() {
    let project = unique("owned");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let session = server(
        dir.path(),
        "elicit",
        Some(ElicitationAction::Decline),
        false,
    )
    .await;
    let spec = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
    );
    let (plan_id, _) = session.plan_yaml(&project, &spec).await;
    // The plan's own approval is declined by this client, so apply it from a client in `off` mode.
    let applier = server(dir.path(), "off", None, false).await;
    let applied = applier.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    applier.stop().await;
    let name = format!("{project}-web-1");
    session
        .ok("stop_container", json!({"container": name}))
        .await;
    session
        .ok(
            "remove_container",
            json!({"container": name, "force": true}),
        )
        .await;
    assert!(project_containers(None, &project).is_empty());
    assert!(
        session.elicitation_questions().is_empty(),
        "{:?}",
        session.elicitation_questions()
    );
    session.stop().await;
}

/// The attack: a prompt-injected client runs a command inside a container this server does not manage
/// (a database someone else runs, say) to read or change what is not ours. The human is asked first, sees the
/// whole command, and a decline runs nothing.
#[tokio::test]
async fn exec_in_a_foreign_container_asks_first_and_shows_the_command() {
    let name = unique("foreign-exec-");
    let _cleanup = Foreign(vec![("container", name.clone())]);
    foreign_container(&name);
    let dir = tempfile::tempdir().unwrap();
    let exec = json!({"container": name, "command": "touch /pwned"});
    let pwned = || {
        docker_cli(None, &["exec", &name, "test", "-e", "/pwned"])
            .status
            .success()
    };

    let decline = server(dir.path(), "auto", Some(ElicitationAction::Decline), false).await;
    let err = decline.tool_error("exec_in_container", exec.clone()).await;
    assert!(err.contains("the user declined"), "{err}");
    assert!(!pwned(), "the command ran after a decline");
    let questions = decline.elicitation_questions();
    assert_eq!(questions.len(), 1, "{questions:?}");
    assert!(
        questions[0].starts_with(&format!("Run a command in container {name} (id ")),
        "{}",
        questions[0]
    );
    assert!(questions[0].contains("touch /pwned"), "{}", questions[0]);
    decline.stop().await;

    let accept = server(dir.path(), "auto", Some(ElicitationAction::Accept), false).await;
    accept.ok("exec_in_container", exec).await;
    assert!(pwned(), "the accepted command did not run");
    accept.stop().await;
}
