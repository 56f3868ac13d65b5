//! Attacks on session 14's code (approval for foreign resources, import, preflight, impact), through the
//! MCP client against the real engine. The client is the attacker: it may send any tool call, and may act
//! (through the docker CLI here, standing for a second tool call) while the human reads a question.
//! Each test names the attack and what must hold.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::engine::{containers_labelled, docker_cli, object_exists, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

/// Removes the named images, containers, volumes and networks when the test ends, however it ends.
#[derive(Default)]
struct Cleanup(Vec<(&'static str, String)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (kind, name) in self.0.iter().rev() {
            let _ = match *kind {
                "container" => docker_cli(None, &["rm", "-f", name]),
                "image" => docker_cli(None, &["rmi", "-f", name]),
                other => docker_cli(None, &[other, "rm", name]),
            };
        }
    }
}

/// Builds `tag` from the test image with `labels`, as anyone could publish an image to pull.
fn labelled_image(tag: &str, labels: &[(&str, &str)]) {
    let mut args = vec!["build".to_string(), "-q".into(), "-t".into(), tag.into()];
    for (key, value) in labels {
        args.push("--label".into());
        args.push(format!("{key}={value}"));
    }
    args.push("-".into());
    let mut child = Command::new("docker")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("FROM {IMAGE}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The attack: publish an image labelled with a project's ownership and compose labels, then run it with
/// run_container. A container inherits its image's labels, so it would pass for that project's `web`: plans
/// would count it as the project's own (a copied config hash makes it a no-op) and import would adopt it.
/// The server masks the reserved labels an image carries, so the container belongs to no project.
#[tokio::test]
async fn an_image_cannot_give_a_primitive_container_a_projects_labels() {
    let victim = unique("victim");
    let _guard = ProjectGuard::new(&victim);
    let tag = format!("{}:1", unique("uatk-owned-"));
    let mut cleanup = Cleanup::default();
    cleanup.0.push(("image", tag.clone()));
    labelled_image(
        &tag,
        &[
            ("io.mcp-docker-server.project", &victim),
            ("com.docker.compose.project", &victim),
            ("com.docker.compose.service", "web"),
            ("com.docker.compose.container-number", "1"),
            ("org.opencontainers.image.title", "kept"),
        ],
    );
    let session = McpSession::start().await;
    let name = unique("uatk-run-");
    cleanup.0.push(("container", name.clone()));
    session
        .ok(
            "run_container",
            json!({"name": name, "spec": {"image": tag, "command": ["sleep", "3600"], "init": true}}),
        )
        .await;
    assert!(
        containers_labelled("io.mcp-docker-server.project", &victim).is_empty(),
        "the container passes for a container of {victim}"
    );
    assert!(
        containers_labelled("com.docker.compose.project", &victim).is_empty(),
        "the container passes for a compose container of {victim}"
    );
    let labels = common::engine::inspect_object("container", &name).unwrap();
    assert_eq!(
        labels["Config"]["Labels"]["org.opencontainers.image.title"], "kept",
        "labels outside the reserved prefixes are the image's own"
    );
    let (_, plan) = session
        .plan_yaml(
            &victim,
            &format!("services:\n  web:\n    image: {IMAGE}\n    command: [sleep, '3600']\n"),
        )
        .await;
    assert!(
        plan.text.contains("2 to add, 0 to change, 0 to destroy") && !plan.text.contains(&name),
        "{}",
        plan.text
    );
}

/// The attack: create a volume or network (or build an image) carrying ownership or compose labels, so
/// plans or import take it for a project's. The spec rule (reserved prefixes) holds for these tools too.
#[tokio::test]
async fn tools_refuse_reserved_labels_as_specs_do() {
    let session = McpSession::start().await;
    let name = unique("uatk-lbl-");
    let mut cleanup = Cleanup::default();
    cleanup.0.push(("volume", name.clone()));
    cleanup.0.push(("network", name.clone()));
    for (tool, kind) in [("create_volume", "volume"), ("create_network", "network")] {
        for label in ["io.mcp-docker-server.project", "com.docker.compose.project"] {
            let err = session
                .tool_error(tool, json!({"name": name, "labels": {label: "victim"}}))
                .await;
            assert!(err.contains(&format!("`labels.{label}`")), "{tool}: {err}");
            assert!(!object_exists(kind, &name), "{tool} created {name}");
        }
    }
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), format!("FROM {IMAGE}\n")).unwrap();
    let err = session
        .tool_error(
            "build_image",
            json!({"context": context.path(), "tag": format!("{name}:1"),
                   "labels": {"com.docker.compose.config-hash": "x"}}),
        )
        .await;
    assert!(
        err.contains("`labels.com.docker.compose.config-hash`"),
        "{err}"
    );
    let err = session
        .tool_error(
            "run_container",
            json!({"spec": {"image": IMAGE, "labels": {"io.mcp-docker-server.project": "victim"}}}),
        )
        .await;
    assert!(err.contains("io.mcp-docker-server.project"), "{err}");
}
