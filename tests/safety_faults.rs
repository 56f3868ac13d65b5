//! Fault tests against a real engine: the engine going away, the server killed mid-apply, two servers on
//! one state dir, a host port already taken, and stdout hygiene under trace logging.
//!
//! Tests that stop or crash things run against a private `dockerd` they start themselves; the port test
//! needs published ports and uses the default engine with unique names. The tests run one at a time
//! (`SERIAL`) because each starts daemons or long applies and the machine is small.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::engine::{project_containers, running_as_root, PrivateEngine, ProjectGuard};
use common::mcp::{McpServer, Reply, ServerSetup};
use common::raw::{structured, RawSession};
use common::{unique, TEST_IMAGE};

/// Held for a whole test; tokio's mutex is not poisoned when a test fails while holding it.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One long-running busybox service that stops promptly on SIGTERM.
fn sleeper(name: &str, extra: &str) -> String {
    format!("  {name}:\n    image: {TEST_IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n{extra}")
}

fn is_failed_apply(r: &Reply) -> bool {
    r.is_error || r.field("succeeded") == Some(Value::Bool(false))
}

fn has_changes(r: &Reply) -> Option<bool> {
    r.field("has_changes").and_then(|v| v.as_bool())
}

/// The private engine test (a) must stop. Without root (a developer's laptop) none can start, and the
/// test is skipped with a message; as root (CI) failing to start one fails the test.
fn private_engine() -> Option<PrivateEngine> {
    match PrivateEngine::start() {
        Ok(engine) => Some(engine),
        Err(why) if !running_as_root() => {
            eprintln!("SKIPPED: no private dockerd without root ({why})");
            None
        }
        Err(why) => panic!("this fault test needs a private dockerd: {why}"),
    }
}

/// The engine a test runs against: a private one when possible, else (without root) the default engine.
struct TestEngine {
    _private: Option<PrivateEngine>,
    host: Option<String>,
}

impl TestEngine {
    fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    fn setup<'a>(&'a self, state: &'a Path) -> ServerSetup<'a> {
        match self.host() {
            Some(host) => ServerSetup::new(state).docker_host(host),
            None => ServerSetup::new(state),
        }
    }
}

fn private_or_default_engine() -> TestEngine {
    match PrivateEngine::start() {
        Ok(engine) => TestEngine {
            host: Some(engine.host.clone()),
            _private: Some(engine),
        },
        Err(why) if !running_as_root() => {
            eprintln!("no private dockerd without root ({why}); using the default engine");
            TestEngine {
                _private: None,
                host: None,
            }
        }
        Err(why) => panic!("this fault test needs a private dockerd: {why}"),
    }
}

/// (a) The engine stops mid-session: calls fail with a clear error naming the host, the server keeps
/// answering, and once `dockerd` is back the same session works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_stops_mid_session_and_server_recovers() {
    let _serial = SERIAL.lock().await;
    let Some(mut engine) = private_engine() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let server = McpServer::start(ServerSetup::new(&state).docker_host(&engine.host)).await;
    let project = unique("sfa");
    let compose = format!("services:\n{}", sleeper("web", ""));

    server.ok("get_connection_health", json!({})).await;
    server.converge(&project, &compose).await;

    engine.stop();
    let socket = engine.socket_path();
    let mut findings = Vec::new();
    for (tool, args) in [
        ("get_connection_health", json!({})),
        ("list_containers", json!({"all": true})),
        ("plan", json!({"project": project, "compose_yaml": compose})),
        ("project_status", json!({"project": project})),
    ] {
        let started = Instant::now();
        let answer = server
            .call_with_timeout(tool, args, Duration::from_secs(60))
            .await;
        eprintln!(
            "{tool} with the engine down ({:?}): {answer:?}",
            started.elapsed()
        );
        match answer {
            Ok(r) if r.is_error && r.text.contains(&socket) => {}
            Ok(r) if r.is_error => findings.push(format!(
                "{tool} with the engine down: isError but the host {socket} is not named: {}",
                r.text
            )),
            Ok(r) if tool == "project_status" && r.all_text().contains(&socket) => {}
            Ok(r) => findings.push(format!(
                "{tool} with the engine down did not fail: {}",
                r.all_text()
            )),
            Err(e) => findings.push(format!(
                "{tool} with the engine down: protocol-level failure: {e}"
            )),
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "{tool} took {:?} with the engine down",
            started.elapsed()
        );
    }
    let tools = server.list_tool_names().await;
    assert!(
        tools.is_ok_and(|t| t.iter().any(|n| n == "plan")),
        "the server stopped answering tools/list with the engine down"
    );
    assert!(
        server.is_alive(),
        "the server exited when the engine stopped"
    );

    engine.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = server
            .call("get_connection_health", json!({}))
            .await
            .expect("get_connection_health answers");
        if !r.is_error {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not reconnect within 60s of dockerd returning: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let listed = server.ok("list_containers", json!({"all": true})).await;
    assert!(
        listed.all_text().contains(&format!("{project}-web-1")),
        "list_containers after recovery: {}",
        listed.all_text()
    );
    // dockerd stopped the container; the next plan starts it again and converges.
    server.converge(&project, &compose).await;
    let (id, again) = server.plan_yaml(&project, &compose).await;
    assert_eq!(
        has_changes(&again),
        Some(false),
        "plan after recovery is not `No changes` (plan {id}): {}",
        again.text
    );
    let running = project_containers(Some(&engine.host), &project);
    assert_eq!(
        running,
        vec![(format!("{project}-web-1"), "running".to_string())]
    );
    server.destroy(&project).await;
    server.stop().await;
    assert!(
        findings.is_empty(),
        "engine-down findings:\n{}",
        findings.join("\n")
    );
}

/// A db that turns healthy only after ~6s, and three services waiting for it: an apply of this stays in
/// progress long enough to be interrupted.
fn slow_project() -> String {
    let db = format!(
        "  db:\n    image: {TEST_IMAGE}\n    init: true\n    command: [\"sh\", \"-c\", \"sleep 6; touch /ready; exec sleep 3600\"]\n    \
         healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/ready\"]\n      interval: 1s\n      timeout: 2s\n      retries: 60\n"
    );
    let needs_db = "    depends_on:\n      db:\n        condition: service_healthy\n";
    format!(
        "services:\n{db}{}{}{}volumes:\n  data: {{}}\n",
        sleeper("web1", needs_db),
        sleeper("web2", needs_db),
        sleeper(
            "web3",
            &format!("{needs_db}    volumes: [\"data:/data\"]\n")
        ),
    )
}

/// Starts `apply` of `plan_id` from another task, returning its eventual answer.
fn apply_in_background(
    server: &McpServer,
    project: &str,
    plan_id: &str,
) -> tokio::task::JoinHandle<Result<rmcp::model::CallToolResult, rmcp::ServiceError>> {
    let peer = server.peer();
    let args = json!({"project": project, "plan_id": plan_id});
    tokio::spawn(async move {
        let params = rmcp::model::CallToolRequestParams::new("apply")
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        peer.call_tool(params).await
    })
}

/// Waits (bounded) until container `name` of `project` exists.
async fn wait_for_container(host: Option<&str>, project: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !project_containers(host, project)
        .iter()
        .any(|(n, _)| n == name)
    {
        assert!(Instant::now() < deadline, "the apply never created {name}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// (a) continued: the engine dies while an apply waits on a dependency. The apply ends with an error
/// instead of hanging, the server answers, and after `dockerd` returns the next plan and apply converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_dies_mid_apply_then_converges() {
    let _serial = SERIAL.lock().await;
    let Some(mut engine) = private_engine() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let project = unique("sfa");
    let compose = slow_project();
    let server = McpServer::start(ServerSetup::new(&state).docker_host(&engine.host)).await;
    let (plan_id, _) = server.plan_yaml(&project, &compose).await;
    let apply = apply_in_background(&server, &project, &plan_id);
    wait_for_container(Some(&engine.host), &project, &format!("{project}-db-1")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !apply.is_finished(),
        "the apply finished before the engine stopped"
    );
    engine.stop();

    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(150), apply).await;
    eprintln!(
        "apply with the engine gone ({:?}): {answer:?}",
        started.elapsed()
    );
    let result = match answer {
        Err(_) => panic!("the apply still had not ended 150s after the engine stopped"),
        Ok(joined) => joined
            .unwrap()
            .unwrap_or_else(|e| panic!("apply: protocol-level failure: {e}")),
    };
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    let succeeded = result
        .structured_content
        .as_ref()
        .and_then(|s| s.get("succeeded"))
        .cloned();
    assert!(
        result.is_error == Some(true) || succeeded == Some(Value::Bool(false)),
        "the apply claims success although the engine died: {text}"
    );
    let status = server.call("list_projects", json!({})).await;
    assert!(status.is_ok(), "the server stopped answering: {status:?}");
    let named_host = text.contains(&engine.socket_path());

    engine.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (id, _) = server.plan_yaml(&project, &compose).await;
        let r = server.apply(&project, &id).await.unwrap();
        if !is_failed_apply(&r) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence after the engine returned: {}",
            r.all_text()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut live = project_containers(Some(&engine.host), &project);
    live.sort();
    let expected: Vec<(String, String)> = ["db", "web1", "web2", "web3"]
        .iter()
        .map(|s| (format!("{project}-{s}-1"), "running".to_string()))
        .collect();
    assert_eq!(live, expected, "after the engine returned");
    let (_, again) = server.plan_yaml(&project, &compose).await;
    assert_eq!(has_changes(&again), Some(false), "{}", again.text);
    server.destroy(&project).await;
    server.stop().await;
    // Checked last so that a vague message does not hide whether the rest recovers.
    assert!(
        named_host,
        "the failed apply does not name the engine host {}: {text}",
        engine.socket_path()
    );
}

/// (b) `kill -9` of the server while an apply waits on a slow healthcheck: a new server on the same state
/// dir plans and converges, with no duplicate containers and the earlier plan still on record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_apply_then_new_server_converges() {
    let _serial = SERIAL.lock().await;
    let engine = private_or_default_engine();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let project = unique("sfb");
    let _guard = ProjectGuard {
        host: engine.host.clone(),
        project: project.clone(),
    };
    let compose = slow_project();

    let first = McpServer::start(engine.setup(&state)).await;
    let (first_plan, _) = first.plan_yaml(&project, &compose).await;
    let apply = apply_in_background(&first, &project, &first_plan);
    let db_name = format!("{project}-db-1");
    wait_for_container(engine.host(), &project, &db_name).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !apply.is_finished(),
        "the apply finished before the kill; the healthcheck is not slow enough"
    );
    first.kill9();
    let outcome = tokio::time::timeout(Duration::from_secs(30), apply).await;
    assert!(
        matches!(outcome, Ok(Ok(Err(_)))),
        "the killed server's apply should end with a transport error: {outcome:?}"
    );
    assert!(!first.is_alive(), "kill -9 did not end the server");
    eprintln!(
        "containers when the server was killed: {:?}",
        project_containers(engine.host(), &project)
    );

    let second = McpServer::start(engine.setup(&state)).await;
    let record = second
        .read_resource(&format!("docker://projects/{project}/plans/{first_plan}"))
        .await;
    assert!(
        record.as_ref().is_ok_and(|t| t.contains(&first_plan)),
        "the interrupted plan's record is lost: {record:?}"
    );
    second
        .ok("project_status", json!({"project": project}))
        .await;

    // Plan and apply; a lock the killed process held must not block for long.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (second_plan, applied) = loop {
        let (plan_id, _) = second.plan_yaml(&project, &compose).await;
        let r = second
            .apply(&project, &plan_id)
            .await
            .unwrap_or_else(|e| panic!("apply after the crash: {e}"));
        if !is_failed_apply(&r) {
            break (plan_id, r);
        }
        let text = r.all_text().to_lowercase();
        assert!(
            (text.contains("busy") || text.contains("lock") || text.contains("stale"))
                && Instant::now() < deadline,
            "apply after the crash failed: {}",
            r.all_text()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let containers = project_containers(engine.host(), &project);
    let mut names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    let expected: Vec<String> = ["db", "web1", "web2", "web3"]
        .iter()
        .map(|s| format!("{project}-{s}-1"))
        .collect();
    assert_eq!(
        names, expected,
        "duplicate or missing containers after convergence: {containers:?} ({})",
        applied.text
    );
    assert!(
        containers.iter().all(|(_, s)| s == "running"),
        "{containers:?}"
    );
    let (_, again) = second.plan_yaml(&project, &compose).await;
    assert_eq!(
        has_changes(&again),
        Some(false),
        "plan after convergence: {}",
        again.text
    );
    for plan_id in [&first_plan, &second_plan] {
        let record = second
            .read_resource(&format!("docker://projects/{project}/plans/{plan_id}"))
            .await;
        assert!(
            record.as_ref().is_ok_and(|t| t.contains(plan_id.as_str())),
            "plan {plan_id} record missing: {record:?}"
        );
    }
    let status = second
        .ok("project_status", json!({"project": project}))
        .await;
    assert_eq!(
        status.field("known"),
        Some(Value::Bool(true)),
        "{}",
        status.all_text()
    );
    // The state store itself still holds what the killed apply wrote: its journal and its history.
    let store = mcp_docker_server::state::Store::new(state.clone());
    let journal = store.journal(&project, &first_plan).unwrap();
    eprintln!(
        "journal of the interrupted apply: {}",
        serde_json::to_string(&journal).unwrap_or_default()
    );
    assert!(
        journal.iter().any(|e| serde_json::to_string(&e.event)
            .unwrap_or_default()
            .contains(&db_name)),
        "the interrupted apply's journal lost the db step: {journal:?}"
    );
    let history = store.history(&project).unwrap();
    assert!(
        history.iter().any(|h| h.plan_id == first_plan),
        "history lost the interrupted plan: {history:?}"
    );
    assert!(
        history.iter().any(|h| h.plan_id == second_plan),
        "history lacks the converging apply: {history:?}"
    );
    second.destroy(&project).await;
    second.stop().await;
}

/// (c) Two servers on one state dir at once: both serve, and a project applied through one is resumed
/// (status, export, prompt) through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_state_dir() {
    let _serial = SERIAL.lock().await;
    let engine = private_or_default_engine();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let project = unique("sfc");
    let _guard = ProjectGuard {
        host: engine.host.clone(),
        project: project.clone(),
    };
    let compose = format!(
        "services:\n{}",
        sleeper(
            "web",
            "    environment:\n      GREETING: shared-state-check\n"
        )
    );
    let a = McpServer::start(engine.setup(&state)).await;
    let b = McpServer::start(engine.setup(&state)).await;
    a.ok("list_projects", json!({})).await;
    b.ok("list_projects", json!({})).await;

    a.converge(&project, &compose).await;

    let status = b.ok("project_status", json!({"project": project})).await;
    assert_eq!(
        status.field("known"),
        Some(Value::Bool(true)),
        "B does not know A's project: {}",
        status.all_text()
    );
    assert!(
        status.all_text().contains(&format!("{project}-web-1")),
        "{}",
        status.all_text()
    );
    let exported = b.ok("export_project", json!({"project": project})).await;
    assert!(
        exported.all_text().contains("shared-state-check"),
        "B's export lacks the spec: {}",
        exported.all_text()
    );
    let prompt = b
        .prompt_text(
            "docker_compose",
            json!({"name": project, "containers": "keep it"}),
        )
        .await
        .unwrap();
    assert!(
        prompt.contains("shared-state-check"),
        "B's prompt does not carry the last-applied spec: {prompt}"
    );
    let listed = b.ok("list_projects", json!({})).await;
    assert!(
        listed.all_text().contains(&project),
        "{}",
        listed.all_text()
    );

    // Both plan at the same moment; neither may fail on the shared store.
    let (ra, rb) = tokio::join!(
        a.call("plan", json!({"project": project, "compose_yaml": compose})),
        b.call("plan", json!({"project": project, "compose_yaml": compose})),
    );
    for (who, r) in [("A", ra), ("B", rb)] {
        let r = r.unwrap_or_else(|e| panic!("{who}'s concurrent plan: {e}"));
        assert!(!r.is_error, "{who}'s concurrent plan failed: {}", r.text);
        assert_eq!(has_changes(&r), Some(false), "{who}: {}", r.text);
    }

    // B destroys what A applied; A sees it.
    b.destroy(&project).await;
    assert!(project_containers(engine.host(), &project).is_empty());
    // A destroyed project may be reported as unknown, or as known with nothing running.
    let status = a
        .call("project_status", json!({"project": project}))
        .await
        .expect("A answers project_status");
    if status.is_error {
        assert!(
            status.text.contains("unknown"),
            "A's project_status after B's destroy: {}",
            status.text
        );
    } else {
        assert!(
            !status.all_text().contains("\"running\""),
            "A still sees running resources: {}",
            status.all_text()
        );
    }
    a.stop().await;
    b.stop().await;
}

/// (d) A published host port already taken: apply fails clearly naming it, and what completed is
/// recorded; once the port is free the next plan and apply converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_in_use_fails_clearly_then_converges() {
    let _serial = SERIAL.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let project = unique("sfd");
    let _guard = ProjectGuard::new(&project);
    // A free port at plan time, taken between plan and apply: a port held when planning is refused by the
    // plan's preflight (tests/mcp_impact.rs), so only a port taken afterwards fails the apply itself.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let web = format!(
        "  web:\n    image: {TEST_IMAGE}\n    init: true\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www\"]\n    \
         ports: [\"127.0.0.1:{port}:80\"]\n    depends_on: [backend]\n"
    );
    let compose = format!("services:\n{}{web}", sleeper("backend", ""));
    let server = McpServer::start(ServerSetup::new(&state)).await;

    let (plan_id, _) = server.plan_yaml(&project, &compose).await;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let failed = server
        .apply(&project, &plan_id)
        .await
        .expect("apply answers");
    assert!(
        is_failed_apply(&failed),
        "apply succeeded although port {port} is taken: {}",
        failed.all_text()
    );
    let text = failed.all_text();
    eprintln!("apply with port {port} taken: {text}");
    let lower = text.to_lowercase();
    assert!(
        text.contains(&port.to_string())
            && (lower.contains("in use") || lower.contains("allocated") || lower.contains("bind")),
        "the apply error does not name the taken port {port}: {text}"
    );
    let status = server
        .ok("project_status", json!({"project": project}))
        .await;
    let backend = format!("{project}-backend-1");
    assert!(
        status.all_text().contains(&backend),
        "the completed step (backend) is not recorded: {}",
        status.all_text()
    );
    let live = project_containers(None, &project);
    assert!(
        live.contains(&(backend.clone(), "running".into())),
        "backend should have been created and started: {live:?}"
    );

    drop(listener);
    let (retry_id, retry_plan) = server.plan_yaml(&project, &compose).await;
    assert_eq!(has_changes(&retry_plan), Some(true), "{}", retry_plan.text);
    let applied = server
        .apply(&project, &retry_id)
        .await
        .expect("apply answers");
    assert!(
        !is_failed_apply(&applied),
        "apply after freeing port {port} failed: {}",
        applied.all_text()
    );
    let mut live = project_containers(None, &project);
    live.sort();
    assert_eq!(
        live,
        vec![
            (backend, "running".into()),
            (format!("{project}-web-1"), "running".into())
        ]
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing answers on 127.0.0.1:{port} after the apply"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, again) = server.plan_yaml(&project, &compose).await;
    assert_eq!(has_changes(&again), Some(false), "{}", again.text);
    server.destroy(&project).await;
    server.stop().await;
}

/// (e) With `RUST_LOG=trace`, every line the server writes to stdout during a full session is a JSON-RPC
/// message; logs go to stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_carries_only_json_rpc_under_trace_logging() {
    let _serial = SERIAL.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let project = unique("sfe");
    let _guard = ProjectGuard::new(&project);
    let stderr_path = tmp.path().join("stderr.log");
    let mut session = RawSession::start(&tmp.path().join("state"), &stderr_path).await;

    let init = session
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "stdout-hygiene", "version": "1"}}),
        )
        .await;
    assert!(init.get("result").is_some(), "initialize: {init}");
    session.notify("notifications/initialized", json!({})).await;
    let tools = session.request("tools/list", json!({})).await;
    assert!(
        tools["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "tools/list: {tools}"
    );
    session.request("prompts/list", json!({})).await;
    session.request("resources/list", json!({})).await;
    session.request("resources/templates/list", json!({})).await;

    let compose = format!("services:\n{}", sleeper("web", ""));
    let plan = session
        .call_tool("plan", json!({"project": project, "compose_yaml": compose}))
        .await;
    let plan_id = structured(&plan)["plan_id"]
        .as_str()
        .unwrap_or_else(|| panic!("plan: {plan}"))
        .to_string();
    let applied = session
        .call_tool("apply", json!({"project": project, "plan_id": plan_id}))
        .await;
    assert_eq!(
        structured(&applied)["succeeded"],
        json!(true),
        "apply: {applied}"
    );
    session
        .call_tool("project_status", json!({"project": project}))
        .await;
    session
        .call_tool("list_containers", json!({"project": project}))
        .await;
    let destroy = session
        .call_tool("destroy", json!({"project": project, "volumes": true}))
        .await;
    let destroy_id = structured(&destroy)["plan_id"]
        .as_str()
        .unwrap_or_else(|| panic!("destroy: {destroy}"))
        .to_string();
    let destroyed = session
        .call_tool("apply", json!({"project": project, "plan_id": destroy_id}))
        .await;
    assert_eq!(
        structured(&destroyed)["succeeded"],
        json!(true),
        "destroy apply: {destroyed}"
    );
    // A bad call too: its error must also travel as JSON-RPC.
    session
        .call_tool(
            "plan",
            json!({"project": project, "compose_yaml": "services: [oops"}),
        )
        .await;

    let lines = session.finish().await;
    assert!(lines.len() >= 10, "too few stdout lines: {lines:?}");
    let notifications = lines
        .iter()
        .filter(|l| l.contains("\"notifications/"))
        .count();
    eprintln!(
        "{} stdout lines, {notifications} of them notifications",
        lines.len()
    );
    let bad: Vec<&String> = lines
        .iter()
        .filter(|line| {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                return true;
            };
            v.get("jsonrpc") != Some(&json!("2.0"))
                || (v.get("id").is_none() && v.get("method").is_none())
        })
        .collect();
    assert!(
        bad.is_empty(),
        "stdout lines that are not JSON-RPC messages: {bad:#?}"
    );
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(
        stderr.to_lowercase().contains("trace")
            || stderr.to_lowercase().contains("debug")
            || stderr.lines().count() > 5,
        "RUST_LOG=trace produced no logs on stderr, so this test proved little: {stderr}"
    );
}
