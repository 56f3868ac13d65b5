//! The swarm operations against the real 3-node swarm that `scripts/swarm.sh up` starts: roles, and one
//! mapped service with an overlay network, a secret and a config, spread over the nodes, updated in place at
//! the version it was read at, refused at a stale one, and removed. Skips when no swarm is up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use docker_layer::swarm::{self, SwarmRole, TaskView};
use docker_layer::swarm_wait::{wait_converged, Convergence};
use docker_layer::{DockerClient, DockerConnector};
use planner::swarm::diff;
use planner::swarm::map::{self, FileKind, ServiceInput};
use planner::swarm::spec::EndpointMode;
use tokio_util::sync::CancellationToken;

/// The socket of swarm node `n` (1 is the manager), from the script's env or its fixed place under target/.
fn node_host(n: u8) -> Option<String> {
    if let Ok(host) = std::env::var(format!("MCP_DOCKER_SWARM_NODE{n}")) {
        return Some(host);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let socket = root.join(format!("target/swarm/n{n}/docker.sock"));
    socket
        .exists()
        .then(|| format!("unix://{}", socket.display()))
}

async fn node(n: u8) -> Option<DockerClient> {
    let connector = DockerConnector::from_env(Some(node_host(n)?));
    connector.client().await.ok()
}

async fn wait_running(client: &DockerClient, service: &str, count: usize) -> Vec<TaskView> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = swarm::service_tasks(client, service).await.expect("tasks");
        let running: Vec<TaskView> = tasks
            .iter()
            .filter(|t| t.desired_state == "running" && t.is_running())
            .cloned()
            .collect();
        if running.len() == count {
            return running;
        }
        assert!(
            Instant::now() < deadline,
            "{service} did not converge: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn roles_are_told_apart_and_the_main_engine_is_not_in_a_swarm() {
    let Some(manager) = node(1).await else {
        eprintln!("no swarm: run scripts/swarm.sh up");
        return;
    };
    let worker = node(2).await.expect("node 2");
    let main = docker_support::client().await;
    assert_eq!(
        swarm::swarm_role(&manager).await.unwrap(),
        SwarmRole::Manager
    );
    assert_eq!(swarm::swarm_role(&worker).await.unwrap(), SwarmRole::Worker);
    assert_eq!(
        swarm::swarm_role(&main).await.unwrap(),
        SwarmRole::NotInSwarm
    );
}

const SPEC: &str = r#"
services:
  web:
    image: mcp-docker-test/busybox:latest
    command: ["httpd", "-f", "-p", "80"]
    init: true
    stop_grace_period: 1s
    environment: {GREETING: one}
    networks: [front]
    secrets: [token]
    configs: [{source: site, target: /etc/site.conf}]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config: {parallelism: 1, delay: 0s}
networks:
  front: {}
secrets:
  token: {environment: TOKEN}
configs:
  site: {content: "listen 80"}
"#;

struct NoHost;

impl planner::load::Host for NoHost {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, path: &std::path::Path) -> Result<String, String> {
        Err(format!("{} is not readable here", path.display()))
    }
    fn canonicalize(&self, path: &std::path::Path) -> Result<PathBuf, String> {
        Err(format!("{} does not exist", path.display()))
    }
}

#[tokio::test]
async fn a_mapped_service_spreads_updates_in_place_and_refuses_a_stale_version() {
    let Some(manager) = node(1).await else {
        eprintln!("no swarm: run scripts/swarm.sh up");
        return;
    };
    let project_name = docker_support::unique("sw");
    let opts = planner::load::LoadOptions {
        project_name: Some(project_name.clone()),
        project_dir: PathBuf::from("/nonexistent"),
        ..Default::default()
    };
    let project = planner::load::load_yaml(SPEC, &opts, &NoHost).expect("loads");
    let raw = serde_json::json!({"deploy": {
        "replicas": 3, "endpoint_mode": "dnsrr", "update_config": {"parallelism": 1, "delay": "0s"}
    }});
    let deploy = planner::swarm::deploy::read(&raw, "services.web").unwrap();
    assert_eq!(deploy.endpoint_mode, EndpointMode::Dnsrr);
    let digests = BTreeMap::from([
        ("token".to_string(), "a1".repeat(16)),
        ("site".to_string(), "b2".repeat(16)),
    ]);
    let input = ServiceInput {
        project: &project,
        key: "web",
        deploy: &deploy,
        digests: &digests,
        build: None,
    };
    let mut spec = map::service(&input).expect("maps").spec;

    let network = map::network(&project, "front").unwrap();
    let secret =
        map::file_object(&project_name, FileKind::Secret, "token", &digests["token"]).unwrap();
    let config =
        map::file_object(&project_name, FileKind::Config, "site", &digests["site"]).unwrap();
    swarm::create_network(&manager, &network)
        .await
        .expect("overlay");
    let secret_id = swarm::create_secret(&manager, &secret, b"s3cret")
        .await
        .expect("secret");
    let config_id = swarm::create_config(&manager, &config, b"listen 80")
        .await
        .expect("config");
    let ids = BTreeMap::from([
        (secret.name.clone(), secret_id),
        (config.name.clone(), config_id),
    ]);

    let outcome = async {
        swarm::create_service(&manager, &spec, &ids)
            .await
            .expect("create");
        let running = wait_running(&manager, &spec.name, 3).await;
        let nodes: std::collections::BTreeSet<&str> =
            running.iter().map(|t| t.node_id.as_str()).collect();
        assert_eq!(nodes.len(), 3, "tasks spread over the 3 nodes: {running:?}");

        let observed = swarm::project_services(&manager, &project_name)
            .await
            .unwrap();
        let no_last = BTreeMap::new();
        let plans = diff::plan(std::slice::from_ref(&spec), &observed, &no_last);
        assert_eq!(
            diff::render(&plans),
            "No changes.",
            "observed back as applied"
        );

        let seen = swarm::service_handle(&manager, &spec.name)
            .await
            .unwrap()
            .expect("exists");
        let old = spec.clone();
        spec.container.env = vec!["GREETING=two".into()];
        spec.labels
            .insert(diff::LABEL_SPEC_HASH.into(), diff::spec_hash(&spec));
        let last = BTreeMap::from([(old.name.clone(), old)]);
        let plans = diff::plan(std::slice::from_ref(&spec), &observed, &last);
        let expected = format!(
            "~ service \"{}\"  rolling update, 1 at a time\n    ~ container.env\n",
            spec.name
        );
        assert_eq!(diff::render(&plans), expected);
        assert_eq!(plans[0].seen_version, Some(seen.version));
        swarm::update_service(&manager, &spec, &ids, &seen)
            .await
            .expect("update in place");
        let stale = swarm::update_service(&manager, &spec, &ids, &seen).await;
        assert!(stale.is_err(), "an update at a stale version is refused");
        let after = swarm::service_handle(&manager, &spec.name)
            .await
            .unwrap()
            .expect("exists");
        assert_eq!(after.id, seen.id, "updated in place, not replaced");
        let cancel = CancellationToken::new();
        let ended = wait_converged(&manager, &spec.name, Duration::from_secs(90), &cancel).await;
        assert_eq!(ended.expect("waits"), Convergence::Converged);
        let tasks = swarm::service_tasks(&manager, &spec.name).await.unwrap();
        let shut_down = tasks
            .iter()
            .filter(|t| t.desired_state == "shutdown")
            .count();
        assert_eq!(
            shut_down, 3,
            "each old task replaced by a new one: {tasks:?}"
        );
    };
    outcome.await;

    swarm::remove_service(&manager, &spec.name)
        .await
        .expect("remove service");
    tokio::time::sleep(Duration::from_secs(2)).await;
    swarm::remove_secret(&manager, &secret.name)
        .await
        .expect("remove secret");
    swarm::remove_config(&manager, &config.name)
        .await
        .expect("remove config");
    swarm::remove_network(&manager, &network.name)
        .await
        .expect("remove network");
}
