//! The policy at run time, attacked through rmcp's client as a prompt-injected LLM would (issue 11).
//!
//! The symlink swap: a container that binds a folder read-write plants a symlink to `/` below it, and a
//! second container that binds the planted path starts afterwards. Every such start, and every plan that
//! would set it up, must be refused with an error naming the rule and the container that writes, and the
//! server must keep answering.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use common::engine::docker_cli;
use common::mcp::{McpServer, ServerSetup};
use common::{unique, TEST_IMAGE};

/// The rule's name, which every refusal must carry.
const RULE: &str = "writable_bind_overlap";

/// A container spec that sleeps under an init (so stop is quick) with `volumes`.
fn sleeper(volumes: &[String]) -> Value {
    json!({
        "image": TEST_IMAGE,
        "init": true,
        "command": ["sleep", "300"],
        "volumes": volumes,
    })
}

fn bind(source: &Path, target: &str, mode: &str) -> String {
    format!("{}:{target}:{mode}", source.display())
}

async fn still_answers(server: &McpServer) {
    let reply = server
        .call_with_timeout("list_projects", json!({}), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(!reply.is_error, "{}", reply.all_text());
}

fn remove_containers(names: &[&str]) {
    for name in names {
        let _ = docker_cli(None, &["rm", "-f", "-v", name]);
    }
}

fn running(name: &str) -> bool {
    let out = docker_cli(None, &["inspect", "-f", "{{.State.Running}}", name]);
    String::from_utf8_lossy(&out.stdout).trim() == "true"
}

/// A writable folder under the temp workspace root, with `d` inside it.
fn shared_folder(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    let x = std::fs::canonicalize(tmp.path()).unwrap().join("x");
    std::fs::create_dir_all(x.join("d")).unwrap();
    x
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_symlink_cannot_redirect_a_primitive_containers_bind() {
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let x = shared_folder(&tmp);
    let (writer, victim) = (unique("swapa"), unique("swapb"));
    let server = McpServer::start(ServerSetup::new(&state)).await;

    server
        .ok(
            "run_container",
            json!({"name": writer, "spec": sleeper(&[bind(&x, "/x", "rw")])}),
        )
        .await;
    let created = server
        .call(
            "create_container",
            json!({"name": victim, "spec": sleeper(&[bind(&x.join("d"), "/host", "ro")])}),
        )
        .await
        .unwrap();
    assert!(!created.is_error, "{}", created.all_text());
    let swap = server
        .ok(
            "exec_in_container",
            json!({"container": writer, "command": "rm -rf /x/d && ln -s / /x/d && ls -ld /x/d"}),
        )
        .await;
    assert!(swap.all_text().contains("->"), "{}", swap.all_text());

    let start = server
        .call("start_container", json!({"container": victim}))
        .await
        .unwrap();
    let text = start.all_text();
    remove_containers(&[&writer, &victim]);
    assert!(
        start.is_error,
        "start of the redirected bind was accepted: {text}"
    );
    assert!(text.contains(RULE), "{text}");
    assert!(
        text.contains(&writer),
        "the error does not name the writer: {text}"
    );
    assert!(!running(&victim));
    still_answers(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plan_cannot_bind_inside_its_own_writable_bind() {
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let x = shared_folder(&tmp);
    let project = unique("swapplan");
    let server = McpServer::start(ServerSetup::new(&state)).await;
    let yaml = format!(
        "services:\n  a:\n    image: {TEST_IMAGE}\n    command: [sh, -c, \"rm -rf /x/d && ln -s / /x/d\"]\n    \
         volumes: [\"{}\"]\n  b:\n    image: {TEST_IMAGE}\n    init: true\n    command: [sleep, \"300\"]\n    \
         volumes: [\"{}\"]\n    depends_on:\n      a: {{condition: service_completed_successfully}}\n",
        bind(&x, "/x", "rw"),
        bind(&x.join("d"), "/host", "ro"),
    );
    let reply = server
        .call(
            "plan",
            json!({"project": project, "compose_yaml": yaml, "project_dir": tmp.path()}),
        )
        .await
        .unwrap();
    let text = reply.all_text();
    assert!(reply.is_error, "the plan was accepted: {text}");
    assert!(text.contains(RULE) && text.contains("service a"), "{text}");
    assert!(text.contains("services.b.volumes[0]"), "{text}");
    still_answers(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_cannot_bind_inside_another_containers_writable_bind() {
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let x = shared_folder(&tmp);
    let writer = unique("swapw");
    let project = unique("swapp");
    let server = McpServer::start(ServerSetup::new(&state)).await;
    server
        .ok(
            "create_container",
            json!({"name": writer, "spec": sleeper(&[bind(&x, "/x", "rw")])}),
        )
        .await;
    let yaml = format!(
        "services:\n  b:\n    image: {TEST_IMAGE}\n    volumes: [\"{}\"]\n",
        bind(&x.join("d"), "/host", "ro"),
    );
    let reply = server
        .call(
            "plan",
            json!({"project": project, "compose_yaml": yaml, "project_dir": tmp.path()}),
        )
        .await
        .unwrap();
    let text = reply.all_text();
    remove_containers(&[&writer]);
    assert!(reply.is_error, "the plan was accepted: {text}");
    assert!(text.contains(RULE) && text.contains(&writer), "{text}");
    still_answers(&server).await;
    server.stop().await;
}

/// Every tool's reply and every resource, concatenated, for searching.
async fn replies(server: &McpServer, calls: &[(&str, Value)]) -> String {
    let mut seen = String::new();
    for (tool, args) in calls {
        let reply = server.call(tool, args.clone()).await.unwrap();
        seen.push_str(&reply.all_text());
        seen.push('\n');
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_come_back_in_a_reply() {
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let file_secret = unique("filesecret");
    let env_secret = unique("envsecret");
    let project_secret = unique("projsecret");
    let secrets_file = tmp.path().join("operator.env");
    std::fs::write(&secrets_file, format!("db_password={file_secret}\n")).unwrap();
    std::fs::write(tmp.path().join("api.txt"), &project_secret).unwrap();
    let container = unique("redact");
    let project = unique("redactp");
    let server = McpServer::start(
        ServerSetup::new(&state)
            .env(
                "MCP_DOCKER_SECRETS_FILE",
                secrets_file.display().to_string(),
            )
            .env("MCP_DOCKER_SECRET_ENV", "SAFETY_RUNTIME_TOKEN")
            .env("SAFETY_RUNTIME_TOKEN", env_secret.clone()),
    )
    .await;

    server
        .ok(
            "run_container",
            json!({"name": container, "spec": {
                "image": TEST_IMAGE,
                "init": true,
                "environment": {"DB": file_secret, "TOK": env_secret},
                "command": ["sh", "-c", "echo db=$DB tok=$TOK; sleep 300"],
            }}),
        )
        .await;
    let yaml = format!(
        "services:\n  app:\n    image: {TEST_IMAGE}\n    init: true\n    command: [sleep, \"300\"]\n    \
         secrets: [api_key]\n    environment:\n      DB: {{secret: db_password}}\nsecrets:\n  api_key:\n    \
         file: ./api.txt\n"
    );
    let plan = server
        .ok(
            "plan",
            json!({"project": project, "compose_yaml": yaml, "project_dir": tmp.path()}),
        )
        .await;
    let plan_id = plan.str_field("plan_id").unwrap();
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let app = format!("{project}-app-1");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let seen = replies(
        &server,
        &[
            (
                "exec_in_container",
                json!({"container": container, "command": "env"}),
            ),
            ("fetch_container_logs", json!({"container": container})),
            ("inspect_container", json!({"container": container})),
            (
                "exec_in_container",
                json!({"container": app, "command": "env; cat /run/secrets/api_key"}),
            ),
            ("inspect_container", json!({"container": app})),
            ("project_status", json!({"project": project})),
            (
                "exec_in_container",
                json!({"container": container, "command": "no-such-command $DB"}),
            ),
        ],
    )
    .await;
    let _ = docker_cli(None, &["rm", "-f", &container]);
    server.destroy(&project).await;
    server.stop().await;
    common::engine::purge_project(None, &project);

    for (what, value) in [
        ("secrets-file value", &file_secret),
        ("secret server variable", &env_secret),
        ("project secret file", &project_secret),
    ] {
        assert!(
            !seen.contains(value.as_str()),
            "the {what} came back:\n{seen}"
        );
    }
    for marker in [
        "[secret db_password]",
        "[secret SAFETY_RUNTIME_TOKEN]",
        "[secret api_key]",
    ] {
        assert!(seen.contains(marker), "{marker} missing:\n{seen}");
    }
}

/// The server's peak resident memory, in KiB, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_of_logs_cost_bounded_memory_and_say_they_were_cut() {
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let name = unique("biglog");
    let server =
        McpServer::start(ServerSetup::new(&state).env("MCP_DOCKER_MAX_LOG_KB", "32")).await;
    server
        .ok(
            "run_container",
            json!({"name": name, "spec": {
                "image": TEST_IMAGE,
                "command": ["sh", "-c", "yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c 52428800"],
            }}),
        )
        .await;
    let waited = docker_cli(None, &["wait", &name]);
    assert!(waited.status.success());
    let before = peak_rss_kib(server.pid);
    let reply = server
        .call_with_timeout(
            "fetch_container_logs",
            json!({"container": name, "tail": 100000, "grep": "0123"}),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    let peak = peak_rss_kib(server.pid);
    remove_containers(&[&name]);
    assert!(!reply.is_error, "{}", reply.all_text());
    assert_eq!(reply.field("truncated"), Some(Value::Bool(true)));
    assert!(
        reply.text.contains("[cut: only the newest 32 KiB"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.len() < 64 * 1024,
        "{} bytes came back",
        reply.text.len()
    );
    assert!(
        peak < 200 * 1024,
        "peak RSS {peak} KiB (before the call: {before} KiB)"
    );
    still_answers(&server).await;
    server.stop().await;
}
