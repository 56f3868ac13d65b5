//! Inspection and engine tools: exec, inspect, stats, disk usage, connection health.

use std::collections::BTreeMap;
use std::time::Duration;

use planner::naming;
use rmcp::handler::server::tool::{schema_for_output, InputResponses as Answers, RequestState};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::approval::{Act, Foreign, Gate, Round};
use super::args::Parameters;
use super::bounds;
use super::compact::{human_bytes, is_secret_key, short_id, MASK};
use super::output::{Json, Reply, ToolError};
use super::server::DockerServer;
use super::tools_containers::{env_map, ContainerRef};
use crate::docker::system::{self, ContainerStats, DiskUsage, ExecOutcome, UsageLine};
use crate::docker::ConnectionHealth;

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
    /// Container id or name.
    pub container: String,
    /// argv list, or a string for `sh -c`.
    pub command: Command,
    /// Working directory.
    #[serde(default)]
    pub workdir: Option<String>,
    /// `uid[:gid]` or name.
    #[serde(default)]
    pub user: Option<String>,
    /// Extra variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Default 60.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
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

#[tool_router(router = system_tools, vis = "pub(crate)")]
impl DockerServer {
    /// Run a command in a running container: stdout, stderr, exit code.
    #[tool(output_schema = schema_for_output::<ExecOutcome>(), annotations(
        title = "Exec in container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn exec_in_container(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ExecArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ExecOutcome>, ToolError> {
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
        let timeout = bounds::at_most(
            "timeout_secs",
            args.timeout_secs.unwrap_or(60),
            bounds::MAX_EXEC_TIMEOUT_SECS,
        )?;
        let info = self.inspect_existing(&args.container).await?;
        // A command in a container this server does not manage reads or changes what is not ours: asked.
        let target = Foreign {
            act: Act::Exec,
            kind: "container",
            name: &info.name,
            id: &info.id,
            image: Some(&info.image),
            labels: &info.labels,
            command: Some(&cmd),
        };
        let round = Round { state, responses };
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        let id = info.id;
        let docker = self.docker().await?;
        let request = system::ExecRequest {
            argv: cmd,
            workdir: args.workdir.clone(),
            user: args.user.clone(),
            env: args.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            timeout: Duration::from_secs(timeout.max(1)),
        };
        let outcome = system::exec(&docker, &id, request)
            .await
            .map_err(|e| self.docker_failure(e, "start the container first (start_container)"))?;
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
        Ok(Json::new(outcome, text).into())
    }

    /// Inspect a container (env secrets masked).
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

    /// One sample of a running container's CPU, memory, network, block I/O, pids.
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

    /// Whether the engine answers: host, versions, latency.
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
        let labels: BTreeMap<String, String> = info
            .labels
            .iter()
            .map(|(k, v)| {
                let value = if is_secret_key(k) {
                    MASK.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), value)
            })
            .collect();
        Ok(ContainerDetails {
            id: short_id(&info.id),
            name: info.name,
            image: info.image,
            state: info.state,
            exit_code: info.exit_code,
            health: info.health,
            started_at: info.started_at,
            created: info.created,
            entrypoint: info.entrypoint,
            command: info.command,
            env: env_map(&info.env, Some(&info.labels)),
            project: labels.get(naming::LABEL_PROJECT).cloned(),
            labels,
            ports: info.ports,
            mounts: info.mounts,
            networks: info.networks,
            restart_policy: info.restart_policy,
            restart_count: info.restart_count,
        })
    }

    pub(crate) async fn container_stats(
        &self,
        container: &str,
    ) -> Result<ContainerStats, ToolError> {
        let (id, name) = self.container_identity(container).await?;
        let docker = self.docker().await?;
        system::stats(&docker, &id, &name)
            .await
            .map_err(|e| self.docker_failure(e, "start the container first"))
    }

    async fn disk_usage(&self) -> Result<DiskUsage, ToolError> {
        let docker = self.docker().await?;
        system::disk_usage(&docker)
            .await
            .map_err(|e| self.docker_failure(e, "retry"))
    }
}
