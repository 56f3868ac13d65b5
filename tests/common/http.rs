//! The real binary serving streamable HTTP (`--http`), found through the address it prints at start, and raw
//! requests to it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// What the server prints to stderr once it listens, followed by the URL.
pub const START_LINE: &str = "serving MCP over streamable HTTP at ";

/// An `initialize` request, the first any client sends.
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp_http_test","version":"1"}}}"#;

/// The server binary with a state directory of its own and no token from the test's environment.
pub fn server_command(args: &[&str], state: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(super::mcp::server_binary());
    command
        .args(args)
        .env("MCP_DOCKER_STATE_DIR", state)
        .env_remove("MCP_DOCKER_HTTP_TOKEN")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the server with `args`, asserts it exits at once (within 20s) with a failure, and returns its stderr.
pub async fn failed_start_stderr(args: &[&str]) -> String {
    let state = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        server_command(args, state.path()).output(),
    )
    .await
    .expect("the server should exit at once")
    .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A server listening on HTTP; killed when dropped.
pub struct HttpServer {
    pub child: tokio::process::Child,
    /// `http://ADDR/mcp`, from the start line.
    pub url: String,
    /// The whole start line as printed.
    pub start_line: String,
    _state: tempfile::TempDir,
}

impl HttpServer {
    /// Starts `mcp-docker-server ARGS` with extra environment and waits (at most 60s) for its start line.
    pub async fn start(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        let state = tempfile::tempdir().unwrap();
        let mut command = server_command(args, state.path());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let wait = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains(START_LINE) {
                    return line;
                }
            }
            panic!("the server ended without printing its start line")
        };
        let start_line = tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("no start line within 60s");
        // Keep reading stderr so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = start_line
            .split(START_LINE)
            .nth(1)
            .unwrap()
            .trim()
            .to_string();
        HttpServer {
            child,
            url,
            start_line,
            _state: state,
        }
    }

    /// POSTs `initialize` with these extra headers.
    pub async fn initialize(&self, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(INITIALIZE);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.unwrap()
    }
}
