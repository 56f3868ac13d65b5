//! Inspection and engine tools: exec, inspect, stats, disk usage, connection health.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListVolumesOptions, StatsOptions,
};
use futures_util::StreamExt;
use planner::naming;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::Parameters;
use super::compact::{human_bytes, is_secret_key, short_id, MASK};
use super::output::{Json, ToolError};
use super::server::DockerServer;
use super::tools_containers::{env_map, ContainerRef};
use crate::docker::ConnectionHealth;

/// Most bytes kept of each exec output stream.
const MAX_EXEC_BYTES: usize = 64 * 1024;

/// A command as an argv list, or one string run by `sh -c`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    Argv(Vec<String>),
    Shell(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecArgs {
    /// Container id or name (must be running).
    pub container: String,
    /// `["ls", "-l", "/"]`, or a string run with `sh -c`.
    pub command: Command,
    /// Working directory inside the container.
    #[serde(default)]
    pub workdir: Option<String>,
    /// User to run as (`uid[:gid]` or name).
    #[serde(default)]
    pub user: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds before giving up on the command (default 60).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecOutcome {
    /// The command's exit code; absent if it was still running at the timeout.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// True when output exceeded 64 KB per stream or the timeout hit.
    pub truncated: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerDetails {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `running`, `exited`, ...
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment; values of secret-looking keys are masked.
    pub env: BTreeMap<String, String>,
    /// Labels; values of secret-looking keys are masked.
    pub labels: BTreeMap<String, String>,
    /// `host_ip:host_port->port/proto`.
    pub ports: Vec<String>,
    /// `source:target[:ro]` with the mount type.
    pub mounts: Vec<String>,
    /// Network name to IP address.
    pub networks: BTreeMap<String, String>,
    pub restart_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub restart_count: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerStats {
    pub container: String,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UsageLine {
    pub total: i64,
    /// In use by at least one container.
    pub active: i64,
    /// Bytes; absent when the engine does not report it.
    pub size_bytes: Option<i64>,
    /// Bytes that a prune would free, when known.
    pub reclaimable_bytes: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DiskUsage {
    pub images: UsageLine,
    pub containers: UsageLine,
    pub volumes: UsageLine,
    pub build_cache: UsageLine,
}

#[tool_router(router = system_tools, vis = "pub(crate)")]
impl DockerServer {
    /// Run a command in a running container; returns stdout and stderr separately and the exit code.
    #[tool(annotations(
        title = "Exec in container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn exec_in_container(
        &self,
        Parameters(args): Parameters<ExecArgs>,
    ) -> Result<Json<ExecOutcome>, ToolError> {
        let cmd = match args.command {
            Command::Argv(argv) if argv.is_empty() => {
                return Err(ToolError::invalid(
                    "command",
                    "the list is empty",
                    "give the program and its arguments, e.g. [\"ls\", \"/\"]",
                ))
            }
            Command::Argv(argv) => argv,
            Command::Shell(text) if text.trim().is_empty() => {
                return Err(ToolError::invalid(
                    "command",
                    "the command is empty",
                    "give a shell command such as \"ls /\"",
                ))
            }
            Command::Shell(text) => vec!["sh".into(), "-c".into(), text],
        };
        let (id, name) = self.container_identity(&args.container).await?;
        let docker = self.docker().await?;
        let env: Vec<String> = args.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let options = CreateExecOptions {
            cmd: Some(cmd),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            working_dir: args.workdir.clone(),
            user: args.user.clone(),
            env: (!env.is_empty()).then_some(env),
            ..Default::default()
        };
        let exec = docker.create_exec(&id, options).await.map_err(|e| {
            self.docker_failure(
                e,
                &format!("exec in {name:?}"),
                "start the container first (start_container)",
            )
        })?;
        let started = docker.start_exec(&exec.id, None).await.map_err(|e| {
            self.docker_failure(
                e,
                &format!("exec in {name:?}"),
                "start the container first (start_container)",
            )
        })?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut truncated = false;
        if let StartExecResults::Attached { mut output, .. } = started {
            let timeout = Duration::from_secs(args.timeout_secs.unwrap_or(60).max(1));
            let collect = async {
                while let Some(item) = output.next().await {
                    match item {
                        Ok(LogOutput::StdErr { message }) => {
                            append_capped(&mut stderr, &message, &mut truncated)
                        }
                        Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                            append_capped(&mut stdout, &message, &mut truncated)
                        }
                        Ok(LogOutput::StdIn { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            };
            match tokio::time::timeout(timeout, collect).await {
                Ok(result) => {
                    result.map_err(|e| self.docker_failure(e, "reading exec output", "retry"))?
                }
                Err(_) => truncated = true,
            }
        }
        let inspect = docker.inspect_exec(&exec.id).await.ok();
        let exit_code = inspect
            .filter(|i| i.running != Some(true))
            .and_then(|i| i.exit_code);
        let outcome = ExecOutcome {
            exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            truncated,
        };
        let mut text = match outcome.exit_code {
            Some(code) => format!("exit code {code}\n"),
            None => "still running at the timeout\n".to_string(),
        };
        if !outcome.stdout.is_empty() {
            text.push_str(&format!("--- stdout\n{}\n", outcome.stdout.trim_end()));
        }
        if !outcome.stderr.is_empty() {
            text.push_str(&format!("--- stderr\n{}\n", outcome.stderr.trim_end()));
        }
        Ok(Json::new(outcome, text))
    }

    /// Inspect one container: state, image, command, env (secrets masked), labels, ports, mounts, networks.
    #[tool(annotations(
        title = "Inspect container",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn inspect_container(
        &self,
        Parameters(args): Parameters<ContainerRef>,
    ) -> Result<Json<ContainerDetails>, ToolError> {
        let details = self.container_details(&args.container).await?;
        let text = format!(
            "{} ({}) image {} is {}{}; ports [{}]; networks [{}]; {} env vars (secret-looking values masked)",
            details.name,
            details.id,
            details.image,
            details.state,
            details.exit_code.map(|c| format!(" (exit {c})")).unwrap_or_default(),
            details.ports.join(", "),
            details.networks.iter().map(|(n, ip)| format!("{n} {ip}")).collect::<Vec<_>>().join(", "),
            details.env.len(),
        );
        Ok(Json::new(details, text))
    }

    /// One sample of a running container's CPU, memory, network, block I/O and process count.
    #[tool(annotations(
        title = "Container stats",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn get_container_stats(
        &self,
        Parameters(args): Parameters<ContainerRef>,
    ) -> Result<Json<ContainerStats>, ToolError> {
        let stats = self.container_stats(&args.container).await?;
        let text = format!(
            "{}: CPU {:.1}%, memory {} / {} ({:.1}%), net rx {} tx {}, block read {} write {}, {} pids",
            stats.container,
            stats.cpu_percent,
            human_bytes(stats.memory_bytes as i64),
            human_bytes(stats.memory_limit_bytes as i64),
            stats.memory_percent,
            human_bytes(stats.network_rx_bytes as i64),
            human_bytes(stats.network_tx_bytes as i64),
            human_bytes(stats.block_read_bytes as i64),
            human_bytes(stats.block_write_bytes as i64),
            stats.pids
        );
        Ok(Json::new(stats, text))
    }

    /// Disk used by images, containers, volumes and the build cache.
    #[tool(annotations(
        title = "Docker disk usage",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn get_docker_disk_usage(&self) -> Result<Json<DiskUsage>, ToolError> {
        let usage = self.disk_usage().await?;
        let line = |name: &str, u: &UsageLine| {
            format!(
                "{name}: {} ({} active), {}{}",
                u.total,
                u.active,
                u.size_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "size unknown".into()),
                u.reclaimable_bytes
                    .map(|r| format!(", {} reclaimable", human_bytes(r)))
                    .unwrap_or_default()
            )
        };
        let text = [
            line("images", &usage.images),
            line("containers", &usage.containers),
            line("volumes", &usage.volumes),
            line("build cache", &usage.build_cache),
        ]
        .join("\n");
        Ok(Json::new(usage, text))
    }

    /// Whether the Docker engine answers: host, engine version, API version and round-trip latency.
    #[tool(annotations(
        title = "Connection health",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn get_connection_health(&self) -> Result<Json<ConnectionHealth>, ToolError> {
        let health = self.engine.docker().health().await?;
        let text = format!(
            "Docker {} (API {}, {}) at {} answered in {} ms",
            health.engine_version, health.api_version, health.os, health.host, health.latency_ms
        );
        Ok(Json::new(health, text))
    }
}

impl DockerServer {
    pub(crate) async fn container_details(
        &self,
        container: &str,
    ) -> Result<ContainerDetails, ToolError> {
        let info = self.inspect_existing(container).await?;
        let config = info.config.clone().unwrap_or_default();
        let state = info.state.clone().unwrap_or_default();
        let host = info.host_config.clone().unwrap_or_default();
        let labels: BTreeMap<String, String> = config
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                if is_secret_key(&k) {
                    (k, MASK.to_string())
                } else {
                    (k, v)
                }
            })
            .collect();
        let mut ports = Vec::new();
        if let Some(bindings) = info.network_settings.as_ref().and_then(|n| n.ports.clone()) {
            for (port, hosts) in bindings {
                match hosts {
                    Some(hosts) if !hosts.is_empty() => {
                        for h in hosts {
                            let text = format!(
                                "{}:{}->{port}",
                                h.host_ip.unwrap_or_default(),
                                h.host_port.unwrap_or_default()
                            );
                            if !ports.contains(&text) {
                                ports.push(text);
                            }
                        }
                    }
                    _ => ports.push(port),
                }
            }
        }
        ports.sort();
        let mounts = info
            .mounts
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let kind = m.typ.map(|t| t.to_string()).unwrap_or_default();
                let source = m.name.clone().or(m.source.clone()).unwrap_or_default();
                let ro = if m.rw == Some(false) { ":ro" } else { "" };
                format!("{kind} {source}:{}{ro}", m.destination.unwrap_or_default())
            })
            .collect();
        let networks = info
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, endpoint)| (name, endpoint.ip_address.unwrap_or_default()))
            .collect();
        let restart = host.restart_policy.as_ref().map(|r| {
            let name = r.name.map(|n| n.to_string()).unwrap_or_else(|| "no".into());
            match r.maximum_retry_count {
                Some(n) if n > 0 => format!("{name}:{n}"),
                _ => {
                    if name.is_empty() {
                        "no".into()
                    } else {
                        name
                    }
                }
            }
        });
        Ok(ContainerDetails {
            id: short_id(info.id.as_deref().unwrap_or_default()),
            name: info
                .name
                .clone()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.image.clone().unwrap_or_default(),
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code.filter(|_| state.running != Some(true)),
            health: state
                .health
                .as_ref()
                .and_then(|h| h.status)
                .map(|s| s.to_string()),
            started_at: state.started_at.clone().filter(|s| !s.starts_with("0001")),
            created: info
                .created
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            entrypoint: config.entrypoint.clone(),
            command: config.cmd.clone(),
            env: env_map(
                config.env.as_deref().unwrap_or_default(),
                config.labels.as_ref(),
            ),
            project: labels.get(naming::LABEL_PROJECT).cloned(),
            labels,
            ports,
            mounts,
            networks,
            restart_policy: restart.unwrap_or_else(|| "no".into()),
            restart_count: info.restart_count.unwrap_or(0),
        })
    }

    pub(crate) async fn container_stats(
        &self,
        container: &str,
    ) -> Result<ContainerStats, ToolError> {
        let (id, name) = self.container_identity(container).await?;
        let docker = self.docker().await?;
        let mut stream = docker.stats(
            &id,
            Some(StatsOptions {
                stream: false,
                one_shot: false,
            }),
        );
        let sample = match stream.next().await {
            Some(Ok(sample)) => sample,
            Some(Err(e)) => {
                return Err(self.docker_failure(
                    e,
                    &format!("stats of {name:?}"),
                    "start the container first",
                ))
            }
            None => {
                return Err(ToolError(format!(
                    "the engine sent no stats for {name} (fix: start the container first)"
                )))
            }
        };
        Ok(summarize_stats(&name, &sample))
    }

    async fn disk_usage(&self) -> Result<DiskUsage, ToolError> {
        let docker = self.docker().await?;
        // Engines before API 1.44 answer /system/df in a shape bollard 0.21 cannot map, so count from the lists.
        let images = docker
            .list_images(Some(ListImagesOptions {
                all: false,
                ..Default::default()
            }))
            .await
            .map_err(|e| self.docker_failure(e, "listing images", "retry"))?;
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                size: true,
                ..Default::default()
            }))
            .await
            .map_err(|e| self.docker_failure(e, "listing containers", "retry"))?;
        let volumes = docker
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .map_err(|e| self.docker_failure(e, "listing volumes", "retry"))?;
        let df = docker.df(None).await.ok();
        let used_images: std::collections::BTreeSet<String> = containers
            .iter()
            .filter_map(|c| c.image_id.clone())
            .collect();
        let image_size: i64 = images
            .iter()
            .map(|i| i.size - i.shared_size.max(0))
            .sum::<i64>()
            + images
                .iter()
                .map(|i| i.shared_size.max(0))
                .max()
                .unwrap_or(0);
        let unused_size: i64 = images
            .iter()
            .filter(|i| !used_images.contains(&i.id))
            .map(|i| i.size)
            .sum();
        let running = containers
            .iter()
            .filter(|c| c.state.map(|s| s.to_string()) == Some("running".into()))
            .count() as i64;
        let container_size: i64 = containers.iter().filter_map(|c| c.size_rw).sum();
        let stopped_size: i64 = containers
            .iter()
            .filter(|c| c.state.map(|s| s.to_string()) != Some("running".into()))
            .filter_map(|c| c.size_rw)
            .sum();
        let volume_list = volumes.volumes.unwrap_or_default();
        let volume_df = df.as_ref().and_then(|d| d.volume_usage.clone());
        let cache_df = df.as_ref().and_then(|d| d.build_cache_usage.clone());
        Ok(DiskUsage {
            images: UsageLine {
                total: images.len() as i64,
                active: images
                    .iter()
                    .filter(|i| used_images.contains(&i.id))
                    .count() as i64,
                size_bytes: Some(image_size),
                reclaimable_bytes: Some(unused_size),
            },
            containers: UsageLine {
                total: containers.len() as i64,
                active: running,
                size_bytes: Some(container_size),
                reclaimable_bytes: Some(stopped_size),
            },
            volumes: UsageLine {
                total: volume_list.len() as i64,
                active: volume_df.as_ref().and_then(|v| v.active_count).unwrap_or(0),
                size_bytes: volume_df.as_ref().and_then(|v| v.total_size),
                reclaimable_bytes: volume_df.as_ref().and_then(|v| v.reclaimable),
            },
            build_cache: UsageLine {
                total: cache_df.as_ref().and_then(|c| c.total_count).unwrap_or(0),
                active: cache_df.as_ref().and_then(|c| c.active_count).unwrap_or(0),
                size_bytes: cache_df.as_ref().and_then(|c| c.total_size),
                reclaimable_bytes: cache_df.as_ref().and_then(|c| c.reclaimable),
            },
        })
    }
}

fn append_capped(buffer: &mut Vec<u8>, bytes: &[u8], truncated: &mut bool) {
    let room = MAX_EXEC_BYTES.saturating_sub(buffer.len());
    if bytes.len() > room {
        *truncated = true;
    }
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Percentages computed the way `docker stats` computes them.
fn summarize_stats(name: &str, s: &ContainerStatsResponse) -> ContainerStats {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let cpus = cpu
        .online_cpus
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as f64)
        })
        .unwrap_or(1.0);
    let cpu_percent = if system_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.clone().unwrap_or_default();
    let cache = memory
        .stats
        .as_ref()
        .and_then(|m| {
            m.get("inactive_file")
                .or_else(|| m.get("total_inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    let memory_bytes = memory.usage.unwrap_or(0).saturating_sub(cache);
    let memory_limit_bytes = memory.limit.unwrap_or(0);
    let memory_percent = if memory_limit_bytes > 0 {
        memory_bytes as f64 / memory_limit_bytes as f64 * 100.0
    } else {
        0.0
    };
    let (rx, tx) = s
        .networks
        .as_ref()
        .map(|n| {
            n.values().fold((0, 0), |(rx, tx), v| {
                (rx + v.rx_bytes.unwrap_or(0), tx + v.tx_bytes.unwrap_or(0))
            })
        })
        .unwrap_or((0, 0));
    let (read, write) = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.clone())
        .unwrap_or_default()
        .iter()
        .fold((0, 0), |(r, w), e| {
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => (r + e.value.unwrap_or(0), w),
                Some("write") => (r, w + e.value.unwrap_or(0)),
                _ => (r, w),
            }
        });
    ContainerStats {
        container: name.to_string(),
        cpu_percent: (cpu_percent * 10.0).round() / 10.0,
        memory_bytes,
        memory_limit_bytes,
        memory_percent: (memory_percent * 10.0).round() / 10.0,
        network_rx_bytes: rx,
        network_tx_bytes: tx,
        block_read_bytes: read,
        block_write_bytes: write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}
