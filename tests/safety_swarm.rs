//! Attacks on the swarm target as a prompt-injected client would send them, through the MCP client on the
//! real swarm: the operator's policy applies to a swarm spec exactly as on the engine target (host access,
//! host paths, reserved labels, bounds), and nothing in a spec can add a line to the plan the human reads.
//! Each refused plan leaves the swarm without any object of the project. Skips with a printed reason when
//! `MCP_DOCKER_SWARM_HOST` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::mcp::{McpServer, McpSession, ServerSetup};
use common::swarm::{StackGuard, Swarm};
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// A session whose operator named the test swarm (and its registry, when the swarm has one).
async fn swarm_session(swarm: &Swarm) -> McpSession {
    swarm_session_with(swarm, &[]).await
}

async fn swarm_session_with(swarm: &Swarm, extra: &[(&str, &str)]) -> McpSession {
    let registry = std::env::var("MCP_DOCKER_SWARM_REGISTRY").unwrap_or_default();
    let mut env = vec![("MCP_DOCKER_SWARM_HOST", swarm.manager.as_str())];
    env.extend_from_slice(extra);
    if !registry.is_empty() {
        env.push(("MCP_DOCKER_SWARM_REGISTRY", registry.as_str()));
    }
    McpSession::start_with_env(&env).await
}

fn plan_args(project: &str, yaml: &str) -> Value {
    json!({"project": project, "compose_yaml": yaml, "target": "swarm"})
}

/// The project's objects on the manager, by our ownership label.
fn owned_objects(swarm: &Swarm, project: &str) -> String {
    let label = format!("label=io.mcp-docker-server.project={project}");
    let kinds = ["service", "secret", "config", "network"];
    let listed = kinds.map(|kind| swarm.docker(&[kind, "ls", "-q", "--filter", &label]));
    listed.concat().trim().to_string()
}

/// Host access the operator did not allow, host paths outside the workspace, reserved labels (in `labels:`
/// and in `deploy.labels`, where `docker stack deploy` puts the service's own) and bounds: each is a tool
/// error naming its field, and the swarm holds nothing of the project.
#[tokio::test(flavor = "multi_thread")]
async fn a_swarm_spec_gets_the_engine_targets_refusals() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let session = swarm_session(&swarm).await;
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("token");
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let link = link.display().to_string();
    let secret = |file: &str| format!("    secrets: [tok]\nsecrets:\n  tok:\n    file: {file}\n");
    let cases: Vec<(String, &str)> = vec![
        ("    privileged: true\n".into(), "privileged"),
        ("    cap_add: [SYS_ADMIN]\n".into(), "cap_add"),
        ("    pid: host\n".into(), "pid"),
        ("    network_mode: host\n".into(), "network_mode"),
        ("    devices: [\"/dev/kmsg:/dev/kmsg\"]\n".into(), "devices"),
        ("    sysctls: {kernel.panic: \"1\"}\n".into(), "sysctls"),
        ("    volumes: [\"/:/host\"]\n".into(), "volumes[0]"),
        (
            "    volumes: [\"root:/host\"]\nvolumes:\n  root:\n    driver_opts: {type: none, o: bind, device: /}\n"
                .into(),
            "driver_opts",
        ),
        (
            "    labels: {io.mcp-docker-server.project: other}\n".into(),
            "labels.io.mcp-docker-server.project",
        ),
        (
            "    deploy:\n      labels: {io.mcp-docker-server.project: other}\n".into(),
            "deploy.labels.io.mcp-docker-server.project",
        ),
        (
            "    deploy:\n      labels: [com.docker.stack.namespace=other]\n".into(),
            "deploy.labels.com.docker.stack.namespace",
        ),
        (
            "    deploy:\n      replicas: 100000\n".into(),
            "replicas",
        ),
        (secret("/etc/hostname"), "secrets.tok"),
        (secret(&link), "secrets.tok"),
        ("    build: {context: /etc}\n".into(), "build"),
        (
            "    configs: [\"c\\n+ service \\\"evil\\\"  create\"]\nconfigs:\n  \"c\\n+ service \\\"evil\\\"  create\":\n    content: hi\n"
                .into(),
            "is not a valid name",
        ),
    ];
    for (extra, field) in cases {
        let project = unique("sws");
        let _guard = StackGuard {
            swarm: &swarm,
            project: project.clone(),
        };
        let yaml = format!("services:\n  web:\n    image: {IMAGE}\n{extra}");
        let said = session.tool_error("plan", plan_args(&project, &yaml)).await;
        assert!(said.contains(field), "{extra}: {said}");
        assert_eq!(owned_objects(&swarm, &project), "", "{extra}");
    }
}

/// A `deploy.labels` key is a field path of a rolling update's lines: a line break and a terminal escape in
/// it stay escaped on that line instead of adding a forged `+ service` line to the plan the human approves.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_label_key_cannot_forge_lines_of_the_swarm_plan() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swf");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let session = swarm_session(&swarm).await;
    let spec = |labels: &str| {
        format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    init: true\n    \
             stop_grace_period: 1s\n    deploy:\n      labels: {labels}\n"
        )
    };
    let first = session
        .ok("plan", plan_args(&project, &spec("{tier: a}")))
        .await;
    let id = first.str_field("plan_id").expect("a plan id");
    let applied = session.apply(&project, &id).await.expect("apply answers");
    assert!(!applied.is_error, "{}", applied.all_text());
    let forged = r#"{tier: a, "x\n+ service \"evil\"  create\n\u001b[2K": "1"}"#;
    let reply = session.ok("plan", plan_args(&project, &spec(forged))).await;
    let rendering = reply.str_field("rendering").unwrap_or_default();
    assert!(rendering.contains("rolling update"), "{rendering}");
    let forged_line = |l: &str| l.trim_start().starts_with("+ service \"evil\"");
    assert!(!rendering.lines().any(forged_line), "{rendering}");
    assert!(!rendering.contains('\u{1b}'), "{rendering}");
    let text = reply.all_text();
    assert!(!text.lines().any(forged_line), "{text}");
    session.destroy(&project).await;
}

/// What a created service may do to the hosts is in the plan the human approves, marked as on the engine
/// target: an operator-allowed capability and a port published on the nodes' addresses were folded into a
/// bare `+ service "..."  create`.
#[tokio::test(flavor = "multi_thread")]
async fn a_swarm_create_shows_and_marks_its_host_access() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swa");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let session = swarm_session_with(&swarm, &[("MCP_DOCKER_ALLOW_OPTIONS", "cap_add")]).await;
    let yaml = format!(
        "services:\n  web:\n    image: {IMAGE}\n    cap_add: [NET_ADMIN]\n    ports: [\"18377:80\"]\n"
    );
    let reply = session.ok("plan", plan_args(&project, &yaml)).await;
    let rendering = reply.str_field("rendering").unwrap_or_default();
    for line in [
        format!("    image: {IMAGE}"),
        "    cap_add: [\"NET_ADMIN\"]  # widens host access".to_string(),
        "    ports: [\"18377:80/tcp ingress\"] on the nodes' addresses  # widens host access"
            .to_string(),
    ] {
        assert!(rendering.lines().any(|l| l == line), "{line}: {rendering}");
    }
    assert_eq!(owned_objects(&swarm, &project), "");
}

/// A stored swarm plan is checked against the operator's policy of today at apply, as an engine plan is: a
/// plan made while `cap_add` was allowed, applied after the operator took the option away, would otherwise
/// create the service with the capability.
#[tokio::test(flavor = "multi_thread")]
async fn a_stored_swarm_plan_meets_todays_policy_at_apply() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swp");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let setup = || ServerSetup::new(&state).env("MCP_DOCKER_SWARM_HOST", swarm.manager.as_str());
    let allowing = McpServer::start(setup().env("MCP_DOCKER_ALLOW_OPTIONS", "cap_add")).await;
    let yaml = format!("services:\n  web:\n    image: {IMAGE}\n    cap_add: [NET_ADMIN]\n");
    let planned = allowing.ok("plan", plan_args(&project, &yaml)).await;
    let id = planned.str_field("plan_id").expect("a plan id");
    allowing.stop().await;
    let strict = McpServer::start(setup()).await;
    let said = strict
        .tool_error("apply", json!({"project": project, "plan_id": id}))
        .await;
    assert!(said.contains("services.web.cap_add"), "{said}");
    assert_eq!(owned_objects(&swarm, &project), "");
}

/// A service the project does not own (made outside the tool, under the name the project's service would
/// take) is never updated or removed: the plan creates ours, the manager refuses the name, and destroy
/// plans only what carries our ownership label.
#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_service_under_our_name_is_neither_updated_nor_destroyed() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swo");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let name = format!("{project}_web");
    let namespace = format!("com.docker.stack.namespace={project}");
    swarm.docker(&[
        "service",
        "create",
        "-d",
        "--name",
        &name,
        "--label",
        &namespace,
        "--label",
        "owner=someone",
        IMAGE,
        "sleep",
        "3600",
    ]);
    let foreign_spec =
        || swarm.docker(&["service", "inspect", "--format", "{{json .Spec}}", &name]);
    let before = foreign_spec();
    let session = swarm_session(&swarm).await;
    let yaml = format!("services:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"60\"]\n");
    let planned = session.ok("plan", plan_args(&project, &yaml)).await;
    let rendering = planned.str_field("rendering").unwrap_or_default();
    assert!(
        rendering.contains(&format!("+ service \"{name}\"  create")),
        "{rendering}"
    );
    let id = planned.str_field("plan_id").expect("a plan id");
    let applied = session.apply(&project, &id).await;
    let applied = applied.map(|r| r.all_text()).unwrap_or_else(|e| e);
    assert!(!applied.contains("Apply complete!"), "{applied}");
    assert_eq!(foreign_spec(), before, "{applied}");
    let destroy = session.call("destroy", json!({"project": project})).await;
    let said = destroy.map(|r| r.all_text()).unwrap_or_else(|e| e);
    assert!(!said.contains(&format!("- service \"{name}\"")), "{said}");
    assert_eq!(foreign_spec(), before);
}
