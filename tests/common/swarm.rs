//! The 3-node test swarm that `scripts/swarm.sh up` starts, through the docker CLI: where it is (from
//! `target/swarm/env`), the tasks of a service and their nodes, and a guard that removes a stack.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::engine::docker_cli;

/// The swarm's manager and each node's socket by hostname (`mcpsw-n1` ...).
pub struct Swarm {
    pub manager: String,
    pub nodes: BTreeMap<String, String>,
}

/// One task of a service, as `docker service ps` lists it.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub node: String,
    pub desired: String,
    pub current: String,
}

impl Swarm {
    /// The swarm, or `None` with the reason printed when `MCP_DOCKER_SWARM_HOST` is unset.
    pub fn from_env() -> Option<Swarm> {
        let Ok(manager) = std::env::var("MCP_DOCKER_SWARM_HOST") else {
            eprintln!(
                "skipped: MCP_DOCKER_SWARM_HOST is unset (start the swarm with scripts/swarm.sh up and \
                 source target/swarm/env)"
            );
            return None;
        };
        let mut nodes = BTreeMap::new();
        for n in 1..=3 {
            if let Ok(socket) = std::env::var(format!("MCP_DOCKER_SWARM_NODE{n}")) {
                nodes.insert(format!("mcpsw-n{n}"), socket);
            }
        }
        Some(Swarm { manager, nodes })
    }

    /// Runs the docker CLI on the manager; panics with its stderr when it fails.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = docker_cli(Some(&self.manager), args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every task of `service`, old ones included.
    pub fn tasks(&self, service: &str) -> Vec<Task> {
        let format = "{{.ID}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}";
        let listed = self.docker(&["service", "ps", "--no-trunc", "--format", format, service]);
        listed
            .lines()
            .filter_map(|line| {
                let mut parts = line.split('|');
                Some(Task {
                    id: parts.next()?.to_string(),
                    node: parts.next()?.to_string(),
                    desired: parts.next()?.to_string(),
                    current: parts.next()?.to_string(),
                })
            })
            .collect()
    }

    /// The tasks of `service` that run and are meant to.
    pub fn running(&self, service: &str) -> Vec<Task> {
        let tasks = self.tasks(service).into_iter();
        tasks
            .filter(|t| t.desired == "Running" && t.current.starts_with("Running"))
            .collect()
    }

    /// Waits until `service` runs exactly `count` tasks matching `pick`.
    pub fn wait_for(&self, what: &str, check: impl Fn(&Swarm) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The container of a task, on its node: `(node socket, container id)`.
    pub fn task_container(&self, task: &Task) -> (String, String) {
        let socket = self.nodes.get(&task.node).cloned().expect("a known node");
        let format = "{{.Status.ContainerStatus.ContainerID}}";
        let id = self.docker(&["inspect", "--format", format, &task.id]);
        (socket, id.trim().to_string())
    }

    /// Sets a node's availability (`drain`, `active`).
    pub fn set_availability(&self, node: &str, availability: &str) {
        self.docker(&["node", "update", "--availability", availability, node]);
    }
}

/// Removes stack `project` (services, networks, secrets, configs) from the swarm when dropped, and makes
/// every node active again, so a failing test leaves the swarm as it found it.
pub struct StackGuard<'a> {
    pub swarm: &'a Swarm,
    pub project: String,
}

impl Drop for StackGuard<'_> {
    fn drop(&mut self) {
        let manager = Some(self.swarm.manager.as_str());
        for node in self.swarm.nodes.keys() {
            let _ = docker_cli(
                manager,
                &["node", "update", "--availability", "active", node],
            );
        }
        let _ = docker_cli(manager, &["stack", "rm", &self.project]);
        let label = format!("label=io.mcp-docker-server.project={}", self.project);
        for kind in ["service", "secret", "config"] {
            let out = docker_cli(manager, &[kind, "ls", "-q", "--filter", &label]);
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = docker_cli(manager, &[kind, "rm", id]);
            }
        }
    }
}
