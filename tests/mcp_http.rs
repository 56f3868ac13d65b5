//! The streamable HTTP transport of the real binary: loopback by default, a bearer token beyond it, 401
//! without the token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

use std::process::Stdio;
use std::time::Duration;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp_http_test","version":"1"}}}"#;

fn server(args: &[&str], state: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-docker-server"));
    command
        .args(args)
        .env("MCP_DOCKER_STATE_DIR", state)
        .env_remove("MCP_DOCKER_HTTP_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn refuses_a_public_address_without_a_token() {
    let state = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        server(&["--http", "0.0.0.0:0"], state.path()).output(),
    )
    .await
    .expect("the server should exit at once")
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bearer token"), "{stderr}");
}

#[tokio::test]
async fn requires_the_bearer_token_when_one_is_set() {
    let state = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _child = server(&["--http", &addr, "--token", "s3cret-token"], state.path())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://{addr}/mcp");
    let client = reqwest::Client::new();
    let post = |token: Option<&str>| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(INITIALIZE);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(post(Some("wrong")).await.unwrap().status(), 401);
    let response = post(Some("s3cret-token")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("mcp-docker-server"), "{body}");
}
