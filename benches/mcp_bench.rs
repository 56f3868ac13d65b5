//! MCP server benchmark: cold start until `initialize` is answered, `list_containers` latency and bytes for
//! 100 containers, and server RSS after one call. ckreiling's `mcp-server-docker` (PyPI 0.3.0) is measured
//! in the same run with the same client, and the three ratios the issue asks for are printed: start at most
//! 1/100 of its time, `list_containers` at most 1/20 of its bytes, RSS under 1/8 of its.
//!
//! ckreiling's server is found in MCP_BENCH_CKREILING, else in `target/ckreiling` (a venv), else on PATH. It
//! needs Python 3.12 or newer:
//! `python3.12 -m venv target/ckreiling && target/ckreiling/bin/pip install mcp-server-docker==0.3.0`.
//!
//! Run: `cargo bench --bench mcp_bench`. Creates 100 busybox containers carrying a unique label, lists
//! exactly those (both servers filter by the label), and removes them afterwards.

// A benchmark reports to the person running it; stdout is its output.
#![allow(clippy::print_stdout)]

use std::process::Stdio;
use std::time::Instant;

use futures_util::StreamExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::json;

const IMAGE: &str = "mcp-docker-test/busybox:latest";
const CONTAINERS: usize = 100;
const RUNS: usize = 5;

struct Figures {
    name: String,
    start_ms: f64,
    list_ms: f64,
    text_bytes: usize,
    total_bytes: usize,
    rss_kb: u64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn text_len(result: &CallToolResult) -> usize {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.len())
        .sum()
}

async fn measure(
    name: &str,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    list_args: serde_json::Value,
) -> anyhow::Result<Figures> {
    let command = || {
        let mut command = tokio::process::Command::new(program);
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        command
    };
    let mut starts = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (transport, _) = TokioChildProcess::builder(command())
            .stderr(Stdio::null())
            .spawn()?;
        let client = ().serve(transport).await?;
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        client.cancel().await?;
    }
    let (transport, _) = TokioChildProcess::builder(command())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = transport.id().unwrap_or(0);
    let client = ().serve(transport).await?;
    let call = || {
        let mut params = CallToolRequestParams::new("list_containers");
        if let serde_json::Value::Object(map) = list_args.clone() {
            params = params.with_arguments(map);
        }
        params
    };
    let first = client.call_tool(call()).await?;
    let rss = rss_kb(pid);
    let mut latencies = Vec::new();
    let mut last = first;
    for _ in 0..RUNS {
        let started = Instant::now();
        last = client.call_tool(call()).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    if last.is_error == Some(true) {
        anyhow::bail!("{name}: list_containers failed: {:?}", last.content);
    }
    let figures = Figures {
        name: name.to_string(),
        start_ms: median(starts),
        list_ms: median(latencies),
        text_bytes: text_len(&last),
        total_bytes: serde_json::to_string(&last)?.len(),
        rss_kb: rss,
    };
    client.cancel().await?;
    Ok(figures)
}

/// Runs the docker CLI and fails with its stderr when it fails.
async fn docker_cli(args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::process::Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await?;
    if !output.status.success() {
        anyhow::bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn create_containers(label: &str) -> anyhow::Result<()> {
    let names: Vec<String> = (0..CONTAINERS).map(|i| format!("{label}-{i:03}")).collect();
    let label_arg = format!("mcp-bench={label}");
    let results: Vec<anyhow::Result<String>> = futures_util::stream::iter(names)
        .map(|name| {
            let label_arg = label_arg.clone();
            async move {
                // No network: the default bridge is not usable on every engine, and a shared network can keep
                // stale endpoints after 100 parallel removals on Docker 20.10.
                docker_cli(&[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "--label",
                    &label_arg,
                    "--network",
                    "none",
                    IMAGE,
                    "sh",
                    "-c",
                    "trap exit TERM; while true; do sleep 5; done",
                ])
                .await
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().try_for_each(|r| r.map(drop))
}

async fn remove_containers(label: &str) {
    let filter = format!("label=mcp-bench={label}");
    let ids = docker_cli(&["ps", "-aq", "--filter", &filter])
        .await
        .unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    for chunk in ids.chunks(25) {
        let mut args = vec!["rm", "-f"];
        args.extend_from_slice(chunk);
        let _ = docker_cli(&args).await;
    }
}

/// How to install ckreiling's server where the bench finds it.
const CKREILING_INSTALL: &str = "python3.12 -m venv target/ckreiling && target/ckreiling/bin/pip install mcp-server-docker==0.3.0 (or set MCP_BENCH_CKREILING to its mcp-server-docker)";

fn find_ckreiling() -> Option<String> {
    if let Ok(path) = std::env::var("MCP_BENCH_CKREILING") {
        return Some(path);
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/ckreiling/bin/mcp-server-docker");
    if venv.exists() {
        return Some(venv.display().to_string());
    }
    std::env::var("PATH")
        .ok()?
        .split(':')
        .map(|dir| format!("{dir}/mcp-server-docker"))
        .find(|p| std::path::Path::new(p).exists())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let label = format!(
        "mcpbench{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let state = tempfile::tempdir()?;
    let created = create_containers(&label).await;
    let label_filter = format!("mcp-bench={label}");
    let ours = measure(
        "mcp-docker-server",
        env!("CARGO_BIN_EXE_mcp-docker-server"),
        &[],
        &[
            (
                "MCP_DOCKER_STATE_DIR",
                state.path().to_str().unwrap_or("/tmp"),
            ),
            ("RUST_LOG", "error"),
        ],
        json!({"all": true, "label": [label_filter], "limit": 1000}),
    )
    .await;
    let theirs = match find_ckreiling() {
        Some(program) => Some(
            measure(
                "ckreiling mcp-server-docker 0.3.0",
                &program,
                &[],
                &[],
                json!({"all": true, "filters": {"label": [label_filter]}}),
            )
            .await,
        ),
        None => None,
    };
    remove_containers(&label).await;
    created?;

    println!("list_containers over the {CONTAINERS} containers created for the bench (filtered by their label); medians of {RUNS} runs");
    println!("| server | cold start to initialize (ms) | list_containers (ms) | text bytes | response bytes | RSS after one call (KB) |");
    println!("|---|---|---|---|---|---|");
    let ours = ours?;
    let mut rows = vec![&ours];
    let theirs = match theirs {
        Some(Ok(figures)) => Some(figures),
        Some(Err(err)) => {
            println!("(ckreiling's server failed: {err})");
            None
        }
        None => {
            println!(
                "(ckreiling's mcp-server-docker not found; install it with: {CKREILING_INSTALL})"
            );
            None
        }
    };
    if let Some(theirs) = &theirs {
        rows.push(theirs);
    }
    for f in rows {
        println!(
            "| {} | {:.1} | {:.1} | {} | {} | {} |",
            f.name, f.start_ms, f.list_ms, f.text_bytes, f.total_bytes, f.rss_kb
        );
    }
    if let Some(theirs) = &theirs {
        println!(
            "ratios (ours/theirs): cold start {:.4} (goal <= 0.01), list_containers response bytes {:.4} (goal <= 0.05), RSS {:.3} (goal < 0.125)",
            ours.start_ms / theirs.start_ms,
            ours.total_bytes as f64 / theirs.total_bytes as f64,
            ours.rss_kb as f64 / theirs.rss_kb as f64
        );
    }
    Ok(())
}
