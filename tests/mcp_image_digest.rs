//! `pull_image` by digest through the MCP client against the real engine and the local registry: both
//! `name@sha256:…` and `name:tag@sha256:…` pull the pinned image (the tool once split a digest reference into
//! a repository with an empty tag and asked the engine for `name@sha256:…:`).

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use std::process::Command;

use common::mcp::{McpServer, ServerSetup};
use serde_json::json;

const REGISTRY: &str = "127.0.0.1:5000";

/// Runs the docker CLI; returns stdout, or the failure as text.
fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Removes every local reference to the test repository when the test ends, however it ends.
struct RepositoryGuard(String);

impl Drop for RepositoryGuard {
    fn drop(&mut self) {
        let listed = docker(&[
            "images",
            "--digests",
            "--format",
            "{{.Repository}}@{{.Digest}} {{.Repository}}:{{.Tag}}",
            &self.0,
        ]);
        for reference in listed.unwrap_or_default().split_whitespace() {
            if !reference.ends_with("<none>") {
                let _ = docker(&["rmi", reference]);
            }
        }
    }
}

/// Pushes the test image to the local registry under a fresh repository; returns the repository and the
/// pushed digest, with the local tag removed so the pull has to fetch the manifest.
fn pushed_test_image() -> (RepositoryGuard, String) {
    let repository = format!("{REGISTRY}/hplan-digest/{}", common::unique("img"));
    let guard = RepositoryGuard(repository.clone());
    let tagged = format!("{repository}:v1");
    docker(&["tag", common::TEST_IMAGE, &tagged]).unwrap();
    docker(&["push", "-q", &tagged]).unwrap();
    let pinned = docker(&["inspect", "--format", "{{index .RepoDigests 0}}", &tagged]).unwrap();
    let digest = pinned.split_once('@').unwrap().1.to_string();
    docker(&["rmi", &tagged]).unwrap();
    (guard, digest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_image_pulls_by_digest_with_or_without_a_tag() {
    assert!(
        std::net::TcpStream::connect(REGISTRY).is_ok(),
        "the local registry must answer on {REGISTRY}"
    );
    let (guard, digest) = pushed_test_image();
    let repository = guard.0.clone();
    let pinned = format!("{repository}@{digest}");
    let state = tempfile::tempdir().unwrap();
    let server = McpServer::start(ServerSetup::new(state.path())).await;
    for reference in [pinned.clone(), format!("{repository}:v1@{digest}")] {
        let reply = server
            .call("pull_image", json!({"image": reference}))
            .await
            .unwrap();
        assert!(!reply.is_error, "pull of {reference}: {}", reply.all_text());
        assert_eq!(
            reply.str_field("image").as_deref(),
            Some(pinned.as_str()),
            "{}",
            reply.all_text()
        );
        docker(&["inspect", &pinned])
            .unwrap_or_else(|e| panic!("{pinned} not present after the pull: {e}"));
        docker(&["rmi", &pinned]).unwrap();
    }
    server.stop().await;
}
