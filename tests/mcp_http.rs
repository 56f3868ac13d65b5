//! The transports of the real binary: streamable HTTP (loopback by default, a bearer token beyond it, 401
//! without the token, 403 for a foreign browser Origin, the token from a file or the environment, host names,
//! the start line, session DELETE, graceful SIGTERM) and stdio (a parse error for a malformed line, no colour
//! codes in a stderr file).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::time::Duration;

use common::http::{failed_start_stderr, HttpServer, INITIALIZE, START_LINE};
use common::raw::RawSession;

#[tokio::test]
async fn refuses_a_public_address_without_a_token() {
    let stderr = failed_start_stderr(&["--http", "0.0.0.0:0"]).await;
    assert!(stderr.contains("bearer token"), "{stderr}");
}

#[tokio::test]
async fn requires_the_bearer_token_when_one_is_set() {
    let server =
        HttpServer::start(&["--http", "127.0.0.1:0", "--token", "s3cret-token"], &[]).await;
    assert_eq!(server.initialize(&[]).await.status(), 401);
    let wrong = [("authorization", "Bearer wrong")];
    assert_eq!(server.initialize(&wrong).await.status(), 401);
    let right = [("authorization", "Bearer s3cret-token")];
    let response = server.initialize(&right).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("mcp-docker-server"), "{body}");
}

#[tokio::test]
async fn takes_the_token_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-a-file-token\n").unwrap();
    let from_file = HttpServer::start(
        &[
            "--http",
            "127.0.0.1:0",
            "--token-file",
            file.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(from_file.initialize(&[]).await.status(), 401);
    let right = [("authorization", "Bearer from-a-file-token")];
    assert_eq!(from_file.initialize(&right).await.status(), 200);

    let from_env = HttpServer::start(
        &["--http", "127.0.0.1:0"],
        &[("MCP_DOCKER_HTTP_TOKEN", "from-the-env-token")],
    )
    .await;
    assert_eq!(from_env.initialize(&[]).await.status(), 401);
    let right = [("authorization", "Bearer from-the-env-token")];
    assert_eq!(from_env.initialize(&right).await.status(), 200);
}

#[tokio::test]
async fn a_missing_token_file_or_two_tokens_are_clear_errors() {
    let args = [
        "--http",
        "127.0.0.1:0",
        "--token-file",
        "/nonexistent/token",
    ];
    let stderr = failed_start_stderr(&args).await;
    assert!(stderr.contains("/nonexistent/token"), "{stderr}");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "a-token").unwrap();
    let path = file.path().to_str().unwrap();
    let two = [
        "--http",
        "127.0.0.1:0",
        "--token",
        "other",
        "--token-file",
        path,
    ];
    let stderr = failed_start_stderr(&two).await;
    assert!(stderr.contains("give one of them"), "{stderr}");
}

#[tokio::test]
async fn a_foreign_origin_is_forbidden_and_local_or_allowed_ones_are_served() {
    let server = HttpServer::start(
        &[
            "--http",
            "127.0.0.1:0",
            "--allowed-origin",
            "https://app.example.com:443",
        ],
        &[],
    )
    .await;
    for foreign in [
        "http://evil.example",
        "https://app.example.com:8443",
        "null",
    ] {
        let status = server.initialize(&[("origin", foreign)]).await.status();
        assert_eq!(status, 403, "Origin {foreign}");
    }
    for fine in [
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:9",
        "https://app.example.com",
    ] {
        let status = server.initialize(&[("origin", fine)]).await.status();
        assert_eq!(status, 200, "Origin {fine}");
    }
    assert_eq!(server.initialize(&[]).await.status(), 200, "no Origin");
}

#[tokio::test]
async fn a_host_name_resolves_and_the_start_line_names_the_address() {
    let server = HttpServer::start(&["--http", "localhost:0"], &[]).await;
    assert!(
        server.url.starts_with("http://127.0.0.1:") || server.url.starts_with("http://[::1]:"),
        "{}",
        server.start_line
    );
    assert!(server.url.ends_with("/mcp"), "{}", server.start_line);
    assert!(server.start_line.contains(START_LINE));
    assert_eq!(server.initialize(&[]).await.status(), 200);
}

#[tokio::test]
async fn deleting_a_session_answers_200_which_every_client_accepts() {
    let server = HttpServer::start(&["--http", "127.0.0.1:0"], &[]).await;
    let response = server.initialize(&[]).await;
    assert_eq!(response.status(), 200);
    let session = response
        .headers()
        .get("mcp-session-id")
        .expect("initialize gives a session id")
        .to_str()
        .unwrap()
        .to_string();
    let deleted = reqwest::Client::new()
        .delete(&server.url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    // rmcp's client (`delete_session`) takes any 2xx (405 meaning "not supported"); the Python SDK's client
    // takes only 200 or 204 and logs "Session termination failed: 202" otherwise.
    assert_eq!(deleted.status(), 200);
    // The session is gone: using it again is refused.
    let reused = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert!(!reused.status().is_success(), "{}", reused.status());
}

#[tokio::test]
async fn sessions_are_capped_and_a_closed_one_frees_its_place() {
    let args = ["--http", "127.0.0.1:0", "--max-http-sessions", "3"];
    let server = HttpServer::start(&args, &[]).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let response = server.initialize(&[]).await;
        assert_eq!(response.status(), 200);
        sessions.push(response.headers()["mcp-session-id"].clone());
    }
    let refused = server.initialize(&[]).await;
    assert_eq!(refused.status(), 503);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("too many MCP sessions"));
    let deleted = reqwest::Client::new()
        .delete(&server.url)
        .header("mcp-session-id", sessions.pop().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(server.initialize(&[]).await.status(), 200);
}

#[tokio::test]
async fn sigterm_stops_the_http_server_cleanly() {
    let mut server = HttpServer::start(&["--http", "127.0.0.1:0"], &[]).await;
    assert_eq!(server.initialize(&[]).await.status(), 200);
    let pid = server.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), server.child.wait())
        .await
        .expect("the server should stop within 20s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

fn initialize_params() -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(INITIALIZE).unwrap()["params"].clone()
}

#[tokio::test]
async fn a_malformed_line_on_stdio_gets_a_parse_error_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = RawSession::start(dir.path(), &dir.path().join("stderr.log")).await;
    session.send_line("{this is not json").await;
    let initialized = session.request("initialize", initialize_params()).await;
    assert_eq!(
        initialized["result"]["serverInfo"]["name"], "mcp-docker-server",
        "{initialized}"
    );
    let lines = session.finish().await;
    let parse_error: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");
    assert_eq!(parse_error["id"], serde_json::Value::Null, "{parse_error}");
}

#[tokio::test]
async fn logs_in_a_stderr_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut session = RawSession::start(dir.path(), &log).await;
    session.request("initialize", initialize_params()).await;
    session.finish().await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "RUST_LOG=trace should log something");
    assert!(!logged.contains('\u{1b}'), "ANSI codes in: {logged}");
}
