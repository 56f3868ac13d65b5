//! The swarm target end to end through the MCP client, on the real 3-node swarm (`scripts/swarm.sh up`):
//! a 3-service spec (overlay network, a secret, `depends_on` on a healthy service, 3 replicas) spreads over
//! the nodes and answers across them by name; then a rolling update one task at a time, scaling 3 → 5 → 2,
//! a drained node, a service removed outside the tool, a secret rotation, a stale plan and destroy.
//! Skips with a printed reason when `MCP_DOCKER_SWARM_HOST` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::collections::BTreeSet;

use common::mcp::{McpSession, Reply};
use common::swarm::{StackGuard, Swarm};
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// `db` (healthy once its secret is mounted) ← `api` (3 replicas, answers its hostname) ← `web`.
fn spec(greeting: &str, replicas: u32, token_file: &str) -> String {
    let serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www";
    format!(
        r#"services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "{serve}"]
    init: true
    stop_grace_period: 1s
    networks: [back]
    secrets: [token]
    healthcheck:
      test: ["CMD", "test", "-s", "/run/secrets/token"]
      interval: 1s
      retries: 30
    deploy:
      endpoint_mode: dnsrr
  api:
    image: {IMAGE}
    command: ["sh", "-c", "{serve}"]
    init: true
    stop_grace_period: 1s
    environment:
      GREETING: "{greeting}"
    networks: [back]
    depends_on:
      db: {{condition: service_healthy}}
    deploy:
      replicas: {replicas}
      endpoint_mode: dnsrr
      update_config: {{parallelism: 1, delay: 0s}}
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{serve}"]
    init: true
    stop_grace_period: 1s
    networks: [back]
    ports:
      - {{target: 8080, published: 18080, mode: host}}
    dns_search: [lan]
    dns_opt: ["ndots:2"]
    group_add: ["1001"]
    depends_on: [api]
    deploy:
      endpoint_mode: dnsrr
networks:
  back: {{}}
secrets:
  token:
    file: {token_file}
"#
    )
}

async fn plan(session: &McpSession, project: &str, yaml: &str) -> (String, Reply) {
    let args = json!({"project": project, "compose_yaml": yaml, "target": "swarm"});
    let reply = session.ok("plan", args).await;
    let id = reply.str_field("plan_id").expect("a plan id");
    (id, reply)
}

async fn apply(session: &McpSession, project: &str, plan_id: &str) -> Reply {
    let reply = session
        .apply(project, plan_id)
        .await
        .expect("apply answers");
    assert!(
        !reply.is_error && reply.field("succeeded") == Some(Value::Bool(true)),
        "apply failed: {}",
        reply.all_text()
    );
    reply
}

async fn converge(session: &McpSession, project: &str, yaml: &str) -> String {
    let (id, reply) = plan(session, project, yaml).await;
    apply(session, project, &id).await;
    reply.str_field("rendering").unwrap_or_default()
}

async fn no_changes(session: &McpSession, project: &str, yaml: &str) {
    let (_, reply) = plan(session, project, yaml).await;
    assert_eq!(
        reply.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        reply.all_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_runs_on_the_swarm_from_plan_to_destroy() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("sw");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token.txt");
    std::fs::write(&token, "first-token-value").unwrap();
    let token = token.display().to_string();
    let session =
        McpSession::start_with_env(&[("MCP_DOCKER_SWARM_HOST", swarm.manager.as_str())]).await;
    let (api, web) = (format!("{project}_api"), format!("{project}_web"));

    let (id, planned) = plan(&session, &project, &spec("one", 3, &token)).await;
    let rendering = planned.str_field("rendering").unwrap_or_default();
    assert!(
        rendering.contains(&format!("+ service \"{api}\"  create")),
        "{rendering}"
    );
    let applied = session
        .tool_result_with_progress("apply", json!({"project": project, "plan_id": id}))
        .await;
    assert_eq!(applied.is_error, Some(false), "{applied:?}");
    let progress = session.progress_messages().join("\n");
    assert!(
        progress.contains(&format!("service {api}: waiting until it converges")),
        "progress per service: {progress}"
    );
    spread_and_reach_across_nodes(&swarm, &api, &web);
    let resolver = swarm.docker(&[
        "service",
        "inspect",
        &web,
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.DNSConfig}} {{json .Spec.TaskTemplate.ContainerSpec.Groups}}",
    ]);
    assert_eq!(
        resolver.trim(),
        r#"{"Search":["lan"],"Options":["ndots:2"]} ["1001"]"#,
        "dns_search, dns_opt and group_add reach the task"
    );
    let stack = swarm.docker(&["stack", "ps", &project, "--format", "{{.Name}}"]);
    assert!(
        stack.contains(&api),
        "docker stack ps lists the project: {stack}"
    );
    no_changes(&session, &project, &spec("one", 3, &token)).await;
    lists_its_tasks(&session, &project, 5).await;

    rolls_out_one_at_a_time(&session, &swarm, &project, &token).await;
    let back = session
        .ok("rollback", json!({"project": project, "plan_id": id}))
        .await;
    let rendering = back.str_field("rendering").unwrap_or_default();
    assert!(
        rendering.contains(&format!("~ service \"{api}\"  rolling update"))
            && rendering.contains("~ container.env"),
        "a rollback plans the first spec again: {rendering}"
    );
    scales(&session, &swarm, &project, &token).await;
    drain_keeps_the_plan(&session, &swarm, &project, &token).await;
    removed_outside_is_recreated(&session, &swarm, &project, &token).await;
    rotates_the_secret(&session, &swarm, &project, &token).await;
    refuses_a_stale_plan(&session, &swarm, &project, &token).await;
    destroys(&session, &swarm, &project).await;
}

/// `list_projects` counts a swarm project's running tasks against its services' desired replicas.
async fn lists_its_tasks(session: &McpSession, project: &str, replicas: u64) {
    let listed = session.structured_ok("list_projects", json!({})).await;
    let rows = listed["projects"].as_array().cloned().unwrap_or_default();
    let row = rows.iter().find(|p| p["name"] == project);
    let counts = row.map(|p| (&p["containers_running"], &p["containers_total"]));
    let want = (json!(replicas), json!(replicas));
    assert_eq!(counts, Some((&want.0, &want.1)), "{listed}");
}

/// The 3 api tasks run on 3 nodes, and web reaches by name an api task on another node than its own.
fn spread_and_reach_across_nodes(swarm: &Swarm, api: &str, web: &str) {
    let running = swarm.running(api);
    let nodes: BTreeSet<&str> = running.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(
        nodes.len(),
        3,
        "api tasks spread over the 3 nodes: {running:?}"
    );
    let web_task = swarm.running(web).pop().expect("web runs");
    let (socket, container) = swarm.task_container(&web_task);
    let elsewhere: BTreeSet<String> = running
        .iter()
        .filter(|t| t.node != web_task.node)
        .map(|t| swarm.task_container(t).1[..12].to_string())
        .collect();
    let out = common::engine::docker_cli(
        Some(&socket),
        &[
            "exec",
            &container,
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do wget -qO- http://api:8080/; done",
        ],
    );
    let answers = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        answers.lines().any(|host| elsewhere.contains(host.trim())),
        "web on {} reached api on another node by name: {answers:?} (others: {elsewhere:?})",
        web_task.node
    );
}

/// An env change plans as a rolling update one at a time, and the new tasks started one after another.
async fn rolls_out_one_at_a_time(session: &McpSession, swarm: &Swarm, project: &str, token: &str) {
    let api = format!("{project}_api");
    let rendering = converge(session, project, &spec("two", 3, token)).await;
    assert!(
        rendering.contains(&format!("~ service \"{api}\"  rolling update, 1 at a time"))
            && rendering.contains("~ container.env"),
        "{rendering}"
    );
    let mut started: Vec<(i64, i64)> = swarm
        .running(&api)
        .iter()
        .map(|t| {
            let times = swarm.docker(&[
                "inspect",
                "--format",
                "{{.CreatedAt.UnixNano}} {{.Status.Timestamp.UnixNano}}",
                &t.id,
            ]);
            let (created, running) = times.trim().split_once(' ').unwrap();
            (created.parse().unwrap(), running.parse().unwrap())
        })
        .collect();
    started.sort();
    assert_eq!(started.len(), 3);
    for pair in started.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "each new task was created after the previous one ran: {started:?}"
        );
    }
    let shut_down = swarm
        .tasks(&api)
        .iter()
        .filter(|t| t.desired == "Shutdown")
        .count();
    assert_eq!(shut_down, 3, "the 3 old tasks are in the history");
}

async fn scales(session: &McpSession, swarm: &Swarm, project: &str, token: &str) {
    let api = format!("{project}_api");
    for (from, to) in [(3, 5), (5, 2)] {
        let rendering = converge(session, project, &spec("two", to, token)).await;
        let line = format!("~ service \"{api}\"  scale {from} -> {to}");
        assert!(rendering.contains(&line), "{rendering}");
        assert_eq!(swarm.running(&api).len(), to as usize);
    }
}

/// Draining a node moves its tasks; the plan stays "No changes" and status shows where they run now.
async fn drain_keeps_the_plan(session: &McpSession, swarm: &Swarm, project: &str, token: &str) {
    let api = format!("{project}_api");
    let node = swarm.running(&api)[0].node.clone();
    swarm.set_availability(&node, "drain");
    swarm.wait_for("the drained node's tasks moved", |s| {
        let running = s.running(&api);
        running.len() == 2 && running.iter().all(|t| t.node != node)
    });
    no_changes(session, project, &spec("two", 2, token)).await;
    let status = session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    swarm.set_availability(&node, "active");
    assert_eq!(status["target"], "swarm");
    let tasks: Vec<&Value> = status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "task" && r["service"] == "api")
        .collect();
    assert!(
        tasks
            .iter()
            .any(|t| t["state"].as_str().unwrap().starts_with("running on"))
            && tasks.iter().all(|t| !t["state"]
                .as_str()
                .unwrap()
                .contains(&format!("running on {node}"))),
        "status shows the api tasks moved off {node}: {tasks:?}"
    );
}

async fn removed_outside_is_recreated(
    session: &McpSession,
    swarm: &Swarm,
    project: &str,
    token: &str,
) {
    let web = format!("{project}_web");
    swarm.docker(&["service", "rm", &web]);
    let status = session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    let drift = status["drift"].to_string();
    assert!(
        drift.contains(&format!("service {web} was removed outside the tool")),
        "{drift}"
    );
    let rendering = converge(session, project, &spec("two", 2, token)).await;
    assert!(
        rendering.contains(&format!("+ service \"{web}\"  create")),
        "{rendering}"
    );
    assert_eq!(swarm.running(&web).len(), 1);
}

/// A new token value is a new secret; db moves to it and the old one goes. The value never shows.
async fn rotates_the_secret(session: &McpSession, swarm: &Swarm, project: &str, token: &str) {
    let before = swarm.docker(&["secret", "ls", "--format", "{{.Name}}"]);
    std::fs::write(token, "second-token-value").unwrap();
    let (id, reply) = plan(session, project, &spec("two", 2, token)).await;
    let text = reply.all_text();
    assert!(text.contains("~ secret \"token\"  rotate"), "{text}");
    assert!(
        !text.contains("token-value"),
        "the value never shows: {text}"
    );
    let applied = apply(session, project, &id).await;
    assert!(!applied.all_text().contains("token-value"));
    let after = swarm.docker(&["secret", "ls", "--format", "{{.Name}}"]);
    let ours = |list: &str| -> BTreeSet<String> {
        list.lines()
            .filter(|l| l.starts_with(&format!("{project}_token_")))
            .map(str::to_string)
            .collect()
    };
    let (old, new) = (ours(&before), ours(&after));
    assert_eq!((old.len(), new.len()), (1, 1), "{old:?} -> {new:?}");
    assert_ne!(old, new, "the secret was replaced");
}

async fn refuses_a_stale_plan(session: &McpSession, swarm: &Swarm, project: &str, token: &str) {
    let (id, _) = plan(session, project, &spec("three", 2, token)).await;
    swarm.docker(&["service", "scale", "--detach", &format!("{project}_api=3")]);
    let reply = session.apply(project, &id).await.expect("apply answers");
    assert!(reply.is_error, "{}", reply.all_text());
    assert!(
        reply.all_text().contains("is stale"),
        "{}",
        reply.all_text()
    );
}

async fn destroys(session: &McpSession, swarm: &Swarm, project: &str) {
    let reply = session
        .ok("destroy", json!({"project": project, "volumes": false}))
        .await;
    let id = reply.str_field("plan_id").expect("a destroy plan");
    apply(session, project, &id).await;
    let label = format!("label=io.mcp-docker-server.project={project}");
    for kind in ["service", "secret"] {
        let left = swarm.docker(&[kind, "ls", "-q", "--filter", &label]);
        assert!(left.trim().is_empty(), "{kind}s left after destroy: {left}");
    }
    // The manager's local copy of a removed overlay network goes once its last task has stopped.
    swarm.wait_for("the project's network is gone", |s| {
        s.docker(&["network", "ls", "-q", "--filter", &label])
            .trim()
            .is_empty()
    });
}

/// A service whose update fails: `failure_action: rollback` rolls it back, and apply reports what the engine
/// did with the tasks' errors.
fn failing_spec(command: &str) -> String {
    format!(
        r#"services:
  job:
    image: {IMAGE}
    command: ["sh", "-c", "{command}"]
    init: true
    stop_grace_period: 1s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      restart_policy: {{condition: on-failure, delay: 1s}}
      update_config: {{parallelism: 1, delay: 0s, failure_action: rollback, monitor: 3s}}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_update_is_rolled_back_and_reported_with_the_task_errors() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swf");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let session =
        McpSession::start_with_env(&[("MCP_DOCKER_SWARM_HOST", swarm.manager.as_str())]).await;
    converge(&session, &project, &failing_spec("exec sleep 600")).await;
    let (id, _) = plan(&session, &project, &failing_spec("exit 3")).await;
    let reply = session.apply(&project, &id).await.expect("apply answers");
    let text = reply.all_text();
    assert_eq!(reply.field("succeeded"), Some(Value::Bool(false)), "{text}");
    assert!(text.contains("rolled it back"), "{text}");
    assert!(text.contains("non-zero exit"), "the tasks' errors: {text}");
    let status = session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    assert!(
        status["last_apply_failure"]
            .to_string()
            .contains("rolled it back"),
        "{status}"
    );
    session.destroy(&project).await;
}

/// The swarm is the operator's choice: a client naming another host is refused, and nothing is planned.
#[tokio::test]
async fn a_client_cannot_choose_the_swarm_host() {
    let session = McpSession::start().await;
    let args = json!({
        "project": unique("swh"),
        "compose_yaml": format!("services:\n  web:\n    image: {IMAGE}\n"),
        "target": "swarm",
        "swarm_host": "tcp://attacker.example:2375",
    });
    let said = match session.call("plan", args).await {
        Ok(reply) => {
            assert!(reply.is_error, "{}", reply.all_text());
            reply.all_text()
        }
        Err(protocol_error) => protocol_error,
    };
    assert!(said.contains("swarm_host"), "{said}");
}
