//! A line-based JSON-RPC client over the server's raw stdio (no MCP library in between), keeping every stdout
//! line it saw, for tests of what exactly the server writes.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

pub struct RawSession {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    next_id: u64,
}

/// The structured content of a tool call response (or its text parsed as JSON).
pub fn structured(response: &Value) -> Value {
    let result = &response["result"];
    if result["structuredContent"].is_object() {
        return result["structuredContent"].clone();
    }
    result["content"][0]["text"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

impl RawSession {
    pub async fn start(state_dir: &Path, stderr_log: &Path) -> RawSession {
        let mut child = tokio::process::Command::new(super::mcp::server_binary())
            .env("MCP_DOCKER_STATE_DIR", state_dir)
            .env("RUST_LOG", "trace")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(stderr_log).unwrap()))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        RawSession {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            next_id: 1,
        }
    }

    async fn send(&mut self, message: Value) {
        self.send_line(&serde_json::to_string(&message).unwrap())
            .await;
    }

    /// Writes one line as it is, valid JSON-RPC or not.
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and waits (bounded) for the response with its id; other lines are kept.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no response to {method} (id {id}) within 180s"))
                .unwrap_or_else(|| panic!("stdout closed while waiting for {method}"));
            self.seen.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                    return v;
                }
            }
        }
    }

    /// A `tools/call` with a progress token, so progress notifications flow on stdout too.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let token = format!("progress-{}", self.next_id);
        self.request(
            "tools/call",
            json!({"name": name, "arguments": arguments, "_meta": {"progressToken": token}}),
        )
        .await
    }

    /// Closes stdin, waits (bounded) for the server to exit, and returns every stdout line.
    pub async fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let exited = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        if exited.is_err() {
            let _ = self.child.kill().await;
        }
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_secs(2), self.lines.recv()).await
        {
            self.seen.push(line);
        }
        assert!(
            exited.is_ok(),
            "the server did not exit within 20s of stdin closing"
        );
        self.seen
    }
}
