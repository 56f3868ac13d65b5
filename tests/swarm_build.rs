//! Building on a swarm through the MCP client, on the real 3-node swarm (`scripts/swarm.sh up`) and the
//! registry every node trusts (`MCP_DOCKER_SWARM_REGISTRY`): a service built from a small Dockerfile with 3
//! replicas is built on the manager, pushed, pinned by digest and runs on the 3 nodes, every task on the
//! same image; the same context plans No changes, an edited one rebuilds and rolls; destroy cleans up.
//! Without an operator registry, `build:` on the swarm target is a tool error naming the flag.
//! Skips with a printed reason when `MCP_DOCKER_SWARM_HOST` or `MCP_DOCKER_SWARM_REGISTRY` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::engine::docker_cli;
use common::mcp::{McpSession, Reply};
use common::swarm::{StackGuard, Swarm};
use common::unique;
use serde_json::{json, Value};

const SPEC: &str = r#"services:
  web:
    build: .
    init: true
    stop_grace_period: 1s
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      placement: {max_replicas_per_node: 1}
      update_config: {parallelism: 1, delay: 0s}
"#;

/// The build context: a Dockerfile on the test image that copies `greeting.txt` in.
fn write_context(dir: &Path, greeting: &str) {
    let dockerfile = format!(
        "FROM {}\nCOPY greeting.txt /greeting.txt\nCMD [\"sh\", \"-c\", \"cat /greeting.txt; exec sleep 3600\"]\n",
        common::TEST_IMAGE
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(dir.join("greeting.txt"), greeting).unwrap();
}

fn registry() -> Option<String> {
    let registry = std::env::var("MCP_DOCKER_SWARM_REGISTRY").ok();
    if registry.is_none() {
        eprintln!(
            "skipped: MCP_DOCKER_SWARM_REGISTRY is unset (scripts/swarm.sh up starts the registry; source \
             target/swarm/env)"
        );
    }
    registry
}

async fn plan(session: &McpSession, project: &str, dir: &Path) -> Reply {
    let args = json!({"project": project, "compose_yaml": SPEC, "target": "swarm",
        "project_dir": dir});
    session.ok("plan", args).await
}

async fn apply(session: &McpSession, project: &str, planned: &Reply) {
    let id = planned.str_field("plan_id").expect("a plan id");
    let reply = session.apply(project, &id).await.expect("apply answers");
    assert!(
        !reply.is_error && reply.field("succeeded") == Some(Value::Bool(true)),
        "apply failed: {}",
        reply.all_text()
    );
}

/// The image each running task's spec names, and the image id its container runs on its node.
fn task_images(swarm: &Swarm, service: &str) -> Vec<(String, String, String)> {
    let running = swarm.running(service);
    let images = running.iter().map(|task| {
        let format = "{{.Spec.ContainerSpec.Image}}";
        let spec_image = swarm.docker(&["inspect", "--format", format, &task.id]);
        let (socket, container) = swarm.task_container(task);
        let out = docker_cli(
            Some(&socket),
            &["inspect", "--format", "{{.Image}}", &container],
        );
        let image_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (task.node.clone(), spec_image.trim().to_string(), image_id)
    });
    images.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_built_service_runs_the_same_pinned_image_on_every_node() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let Some(registry) = registry() else {
        return;
    };
    let project = unique("swb");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    write_context(dir.path(), "hello from the build");
    let session = McpSession::start_with_env(&[
        ("MCP_DOCKER_SWARM_HOST", swarm.manager.as_str()),
        ("MCP_DOCKER_SWARM_REGISTRY", registry.as_str()),
    ])
    .await;
    let service = format!("{project}_web");
    let repository = format!("{registry}/{project}-web");
    let _images = ImageGuard {
        swarm: &swarm,
        repository: repository.clone(),
        service: service.clone(),
    };

    let planned = plan(&session, &project, dir.path()).await;
    let rendering = planned.str_field("rendering").unwrap_or_default();
    assert!(
        rendering.contains(&format!("+ image \"{repository}:"))
            && rendering.contains("build on the manager, push, pin by digest"),
        "{rendering}"
    );
    apply(&session, &project, &planned).await;
    let tasks = task_images(&swarm, &service);
    let nodes: BTreeSet<&str> = tasks.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(nodes.len(), 3, "one task per node: {tasks:?}");
    let specs: BTreeSet<&str> = tasks.iter().map(|t| t.1.as_str()).collect();
    let pinned = specs.iter().next().copied().unwrap_or_default();
    assert!(
        specs.len() == 1
            && pinned.starts_with(&format!("{repository}:"))
            && pinned.contains("@sha256:"),
        "every task names one image pinned by digest: {tasks:?}"
    );
    let ids: BTreeSet<&str> = tasks.iter().map(|t| t.2.as_str()).collect();
    assert!(
        ids.len() == 1 && !ids.contains(""),
        "every node runs the same image: {tasks:?}"
    );

    let again = plan(&session, &project, dir.path()).await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        again.all_text()
    );

    write_context(dir.path(), "hello from the second build");
    let edited = plan(&session, &project, dir.path()).await;
    let rendering = edited.str_field("rendering").unwrap_or_default();
    assert!(
        rendering.contains("build on the manager")
            && rendering.contains(&format!("~ service \"{service}\"  rolling update")),
        "{rendering}"
    );
    apply(&session, &project, &edited).await;
    let rolled = task_images(&swarm, &service);
    let specs: BTreeSet<&str> = rolled.iter().map(|t| t.1.as_str()).collect();
    assert!(
        specs.len() == 1 && !specs.contains(pinned),
        "the new build is pinned on every task: {rolled:?}"
    );

    destroys(&session, &swarm, &project).await;
}

/// Removes the images of `repository` from every node (the manager built them, the others pulled them)
/// once the service's task containers are gone; the registry keeps its copy (content addressed, small).
struct ImageGuard<'a> {
    swarm: &'a Swarm,
    repository: String,
    service: String,
}

impl Drop for ImageGuard<'_> {
    fn drop(&mut self) {
        let task_label = format!("label=com.docker.swarm.service.name={}", self.service);
        for socket in self.swarm.nodes.values() {
            let host = Some(socket.as_str());
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                let out = docker_cli(host, &["ps", "-aq", "--filter", &task_label]);
                if out.stdout.iter().all(u8::is_ascii_whitespace) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            let listed = docker_cli(
                host,
                &["image", "ls", "--format", "{{.Repository}} {{.ID}}"],
            );
            let ids: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
                .lines()
                .filter_map(|line| line.split_once(' '))
                .filter(|(repository, _)| *repository == self.repository)
                .map(|(_, id)| id.to_string())
                .collect();
            for id in ids {
                let _ = docker_cli(host, &["image", "rm", "-f", &id]);
            }
        }
    }
}

async fn destroys(session: &McpSession, swarm: &Swarm, project: &str) {
    let reply = session
        .ok("destroy", json!({"project": project, "volumes": false}))
        .await;
    apply(session, project, &reply).await;
    let label = format!("label=io.mcp-docker-server.project={project}");
    let left = swarm.docker(&["service", "ls", "-q", "--filter", &label]);
    assert!(
        left.trim().is_empty(),
        "services left after destroy: {left}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_operator_registry_build_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    write_context(dir.path(), "never built");
    let session = McpSession::start_with_env(&[("MCP_DOCKER_SWARM_REGISTRY", "")]).await;
    let project = unique("swb");
    let args = json!({"project": project, "compose_yaml": SPEC, "target": "swarm",
        "project_dir": dir.path()});
    let error = session.tool_error("plan", args).await;
    assert!(
        error.contains("services.web.build") && error.contains("--swarm-registry"),
        "{error}"
    );
}

/// The registry is the operator's choice: a client naming one is refused, and nothing is planned.
#[tokio::test]
async fn a_client_cannot_name_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    write_context(dir.path(), "never built");
    let session = McpSession::start_with_env(&[("MCP_DOCKER_SWARM_REGISTRY", "")]).await;
    let args = json!({"project": unique("swb"), "compose_yaml": SPEC, "target": "swarm",
        "project_dir": dir.path(), "swarm_registry": "attacker.example:5000"});
    let said = match session.call("plan", args).await {
        Ok(reply) => {
            assert!(reply.is_error, "{}", reply.all_text());
            reply.all_text()
        }
        Err(protocol_error) => protocol_error,
    };
    assert!(said.contains("swarm_registry"), "{said}");
}
