//! Soak benchmark of the streamable HTTP mode: memory per round, latency percentiles and throughput.
//!
//! Starts the release server with `--http 127.0.0.1:PORT` and a state directory of its own, applies a
//! one-service project once, then drives SOAK_SESSIONS concurrent MCP sessions (default 40), each making
//! SOAK_CALLS mixed calls (default 50: list_containers, list_projects, a no-op plan, project_status) per
//! round, for SOAK_ROUNDS rounds (default 4) with SOAK_IDLE_SECS idle between them (default 3). After each
//! round it prints the server's RSS (VmRSS); at the end the latency p50/p99 and calls per second.
//! SOAK_TOOLS=list_containers restricts the mix (a comma-separated list), SOAK_SERVER runs another binary.
//!
//! Run: `cargo bench --bench soak`. The project is destroyed afterwards.

// A benchmark reports to the person running it; stdout is its output.
#![allow(clippy::print_stdout)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

const COMPOSE: &str = "services:\n  app:\n    image: mcp-docker-test/busybox:latest\n    init: true\n    command: [\"sleep\", \"3600\"]\n";

type Client = RunningService<RoleClient, ()>;

struct Settings {
    sessions: usize,
    calls: usize,
    rounds: usize,
    idle: Duration,
    tools: Vec<String>,
    server: String,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let tools = std::env::var("SOAK_TOOLS")
            .unwrap_or_else(|_| "list_containers,list_projects,plan,project_status".into());
        Settings {
            sessions: number("SOAK_SESSIONS", 40),
            calls: number("SOAK_CALLS", 50),
            rounds: number("SOAK_ROUNDS", 4),
            idle: Duration::from_secs(number("SOAK_IDLE_SECS", 3) as u64),
            tools: tools.split(',').map(str::trim).map(String::from).collect(),
            server: std::env::var("SOAK_SERVER")
                .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-docker-server").to_string()),
        }
    }
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arguments(tool: &str, project: &str) -> Value {
    match tool {
        "plan" => json!({"project": project, "compose_yaml": COMPOSE}),
        "project_status" => json!({"project": project}),
        _ => json!({}),
    }
}

async fn call(client: &Client, tool: &str, args: Value) -> Result<Value, String> {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    let result = client
        .call_tool(params)
        .await
        .map_err(|e| format!("{tool}: {e}"))?;
    if result.is_error == Some(true) {
        return Err(format!("{tool}: tool error {:?}", result.content));
    }
    Ok(result.structured_content.unwrap_or(Value::Null))
}

async fn connect(url: &str) -> Client {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_string()))
        .await
        .unwrap_or_else(|e| panic!("cannot open an MCP session at {url}: {e}"))
}

/// One session's round: `calls` calls cycling through the tools; returns each call's latency.
async fn session_round(
    client: Arc<Client>,
    tools: Arc<Vec<String>>,
    project: Arc<str>,
    calls: usize,
    offset: usize,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(calls);
    let mut errors = 0;
    for n in 0..calls {
        let tool = &tools[(n + offset) % tools.len()];
        let started = Instant::now();
        match call(&client, tool, arguments(tool, &project)).await {
            Ok(_) => latencies.push(started.elapsed()),
            Err(e) => {
                errors += 1;
                eprintln!("{e}");
            }
        }
    }
    (latencies, errors)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn wait_for_port(addr: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not listen on {addr}");
}

#[tokio::main]
async fn main() {
    let settings = Settings::from_env();
    let state = tempfile::tempdir().expect("a temporary state directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = tokio::process::Command::new(&settings.server)
        .args(["--http", &addr])
        .env("MCP_DOCKER_STATE_DIR", state.path())
        .env("RUST_LOG", "warn")
        .env_remove("MCP_DOCKER_HTTP_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let pid = child.id().expect("the server's pid");
    wait_for_port(&addr).await;
    let url = format!("http://{addr}/mcp");
    let project: Arc<str> = format!("soak{}", std::process::id()).into();
    println!(
        "soak: {} sessions x {} calls x {} rounds, {}s idle, tools {}",
        settings.sessions,
        settings.calls,
        settings.rounds,
        settings.idle.as_secs(),
        settings.tools.join(",")
    );
    println!("idle start: RSS {:.1} MB", rss_mb(pid));

    let admin = connect(&url).await;
    let planned = call(&admin, "plan", arguments("plan", &project))
        .await
        .expect("the setup plan");
    let plan_id = planned["plan_id"].as_str().unwrap_or_default().to_string();
    call(
        &admin,
        "apply",
        json!({"project": &*project, "plan_id": plan_id}),
    )
    .await
    .expect("the setup apply");

    let mut clients = Vec::new();
    for _ in 0..settings.sessions {
        clients.push(Arc::new(connect(&url).await));
    }
    let tools = Arc::new(settings.tools.clone());
    let mut all = Vec::new();
    let mut errors = 0;
    let started = Instant::now();
    let mut busy = Duration::ZERO;
    let mut round_rss = Vec::with_capacity(settings.rounds);
    for round in 1..=settings.rounds {
        let round_started = Instant::now();
        let runs: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, client)| {
                tokio::spawn(session_round(
                    client.clone(),
                    tools.clone(),
                    project.clone(),
                    settings.calls,
                    i,
                ))
            })
            .collect();
        for run in runs {
            let (latencies, failed) = run.await.expect("a session task");
            all.extend(latencies);
            errors += failed;
        }
        busy += round_started.elapsed();
        round_rss.push(rss_mb(pid));
        println!(
            "round {round}: RSS {:.1} MB ({:.1}s)",
            round_rss[round - 1],
            round_started.elapsed().as_secs_f64()
        );
        if round < settings.rounds {
            tokio::time::sleep(settings.idle).await;
        }
    }
    let total = started.elapsed();
    all.sort();
    println!(
        "calls {} errors {errors}; latency p50 {:.1} ms p99 {:.1} ms; {:.0} calls/s while busy ({:.1}s total)",
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.len() as f64 / busy.as_secs_f64().max(0.001),
        total.as_secs_f64()
    );
    if let (Some(first), Some(last)) = (round_rss.first(), round_rss.last()) {
        println!(
            "last round / first round: {:.2} (acceptance: at most 1.10, and at most 96 MB)",
            last / first.max(0.001)
        );
    }
    tokio::time::sleep(settings.idle).await;
    println!("idle after: RSS {:.1} MB", rss_mb(pid));

    for client in clients {
        if let Ok(client) = Arc::try_unwrap(client) {
            let _ = client.cancel().await;
        }
    }
    let destroy = call(
        &admin,
        "destroy",
        json!({"project": &*project, "volumes": true}),
    )
    .await;
    if let Ok(planned) = destroy {
        let id = planned["plan_id"].as_str().unwrap_or_default().to_string();
        let _ = call(
            &admin,
            "apply",
            json!({"project": &*project, "plan_id": id}),
        )
        .await;
    }
    let _ = admin.cancel().await;
    drop(child);
}
