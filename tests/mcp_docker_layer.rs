//! The MCP tools through the one Docker layer, tested through rmcp's client against the real engine:
//! `build_image` sends registry credentials the way a plan's build does, and the logs tool takes Go
//! durations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::engine::docker_cli;
use common::mcp::{McpServer, ServerSetup};
use common::{unique, TEST_IMAGE};
use serde_json::json;

/// The test registry (no auth).
const REGISTRY: &str = "127.0.0.1:5000";

/// Runs the docker CLI and fails the test with its stderr when it fails.
fn docker_ok(args: &[&str]) -> String {
    let out = docker_cli(None, args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the listed image tags when dropped.
struct ImageGuard(Vec<String>);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        for tag in &self.0 {
            let _ = docker_cli(None, &["rmi", "-f", tag]);
        }
    }
}

/// Removes one container when dropped.
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = docker_cli(None, &["rm", "-f", &self.0]);
    }
}

/// A Docker config whose credential helper for the test registry records every registry it is asked about,
/// and the PATH that finds the helper. The no-auth registry ignores the credentials; the record proves the
/// server asked for them.
fn recording_credential_helper(dir: &std::path::Path) -> (String, String, std::path::PathBuf) {
    let config_dir = dir.join("docker-config");
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        json!({"credHelpers": {REGISTRY: "mdtrecord"}}).to_string(),
    )
    .unwrap();
    let record = dir.join("asked.txt");
    let helper = bin_dir.join("docker-credential-mdtrecord");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread registry\necho \"$1 $registry\" >> '{}'\necho '{{\"Username\":\"mdt\",\"Secret\":\"mdt\"}}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (config_dir.display().to_string(), path, record)
}

#[tokio::test]
async fn build_image_sends_registry_credentials_like_a_plan_build() {
    let marker = unique("");
    // The base image exists only in the registry: the build must pull it through the engine.
    let base = format!("{REGISTRY}/mdt-base{marker}:1");
    let built = format!("mdt-built{marker}:1");
    let _images = ImageGuard(vec![base.clone(), built.clone()]);
    docker_ok(&["tag", TEST_IMAGE, &base]);
    docker_ok(&["push", &base]);
    docker_ok(&["rmi", &base]);

    let dir = tempfile::tempdir().unwrap();
    let (config, path, record) = recording_credential_helper(dir.path());
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), format!("FROM {base}\n")).unwrap();
    let state = dir.path().join("state");
    let server = McpServer::start(
        ServerSetup::new(&state)
            .env("DOCKER_CONFIG", config)
            .env("PATH", path),
    )
    .await;

    let reply = server
        .ok(
            "build_image",
            json!({"context": context.to_str().unwrap(), "tag": built}),
        )
        .await;
    assert!(reply.text.contains(&built), "{}", reply.all_text());
    docker_ok(&["image", "inspect", &built]);
    let asked = std::fs::read_to_string(&record).unwrap_or_default();
    assert!(
        asked.contains(&format!("get {REGISTRY}")),
        "build_image did not ask the credential helper for the registry: {asked:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn logs_since_and_until_take_go_durations() {
    let name = unique("mdt-logs-");
    let _guard = ContainerGuard(name.clone());
    docker_ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        &name,
        TEST_IMAGE,
        "sh",
        "-c",
        "echo hello-logs; sleep 600",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let server = McpServer::start(ServerSetup::new(&dir.path().join("state"))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let recent = server
        .ok(
            "fetch_container_logs",
            json!({"container": name, "since": "1m30s"}),
        )
        .await;
    assert!(recent.text.contains("hello-logs"), "{}", recent.all_text());

    // `until` 1h30m ago: the container did not exist yet, so nothing matches.
    let old = server
        .ok(
            "fetch_container_logs",
            json!({"container": name, "until": "1h30m"}),
        )
        .await;
    assert!(!old.text.contains("hello-logs"), "{}", old.all_text());

    let bad = server
        .call(
            "fetch_container_logs",
            json!({"container": name, "since": "1m30x"}),
        )
        .await
        .unwrap();
    assert!(bad.is_error, "{}", bad.all_text());
    assert!(bad.text.contains("since"), "{}", bad.text);
    server.stop().await;
}
