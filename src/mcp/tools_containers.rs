//! Container tools: list, create/run/recreate from a compose service spec, start, stop, remove, logs.

use std::collections::{BTreeMap, HashMap};

use bollard::container::LogOutput;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, LogsOptions, RemoveContainerOptions,
    RenameContainerOptions, StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use planner::naming;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::Parameters;
use super::compact::{format_ports, short_id, Table};
use super::container_spec::create_body;
use super::output::{Json, ToolError};
use super::server::DockerServer;
use super::time_args::parse_time;

/// Most bytes of log text one call returns.
const MAX_LOG_BYTES: usize = 64 * 1024;

/// The argument that carries a container's compose service spec.
const SPEC_ARGUMENT: &str = "spec";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListContainersArgs {
    /// Include stopped containers (default true).
    #[serde(default)]
    pub all: Option<bool>,
    /// Only containers of this compose/plan project.
    #[serde(default)]
    pub project: Option<String>,
    /// Label filters, `key` or `key=value`; all must match.
    #[serde(default)]
    pub label: Vec<String>,
    /// Substring of the container name.
    #[serde(default)]
    pub name: Option<String>,
    /// One of created, restarting, running, removing, paused, exited, dead.
    #[serde(default)]
    pub status: Option<String>,
    /// Most rows to return (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContainerArgs {
    /// Container name (letters, digits, `_`, `.`, `-`); Docker picks one when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The container, written exactly like one service under `services:` in a compose file (image, command,
    /// environment, ports, volumes, networks, restart, healthcheck, labels, init, ...). The same validation and
    /// safety policy as `plan` apply.
    pub spec: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecreateContainerArgs {
    /// Id or name of the container to replace.
    pub container: String,
    /// The new compose service spec for it (same form as `create_container`).
    pub spec: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRef {
    /// Container id (or unique prefix) or name.
    pub container: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopContainerArgs {
    /// Container id or name.
    pub container: String,
    /// Seconds to wait for a clean exit before killing (default: the container's own stop timeout).
    #[serde(default)]
    pub timeout_secs: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveContainerArgs {
    /// Container id or name.
    pub container: String,
    /// Remove even when running (kills it).
    #[serde(default)]
    pub force: bool,
    /// Also remove its anonymous volumes.
    #[serde(default)]
    pub volumes: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// Container id or name.
    pub container: String,
    /// Last N lines (default 100).
    #[serde(default)]
    pub tail: Option<u32>,
    /// Only lines after this time: RFC 3339 (`2024-05-01T10:00:00Z`), unix seconds, or a relative age (`10m`, `2h`).
    #[serde(default)]
    pub since: Option<String>,
    /// Only lines before this time (same forms as `since`).
    #[serde(default)]
    pub until: Option<String>,
    /// Keep only lines containing this text.
    #[serde(default)]
    pub grep: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerAction {
    /// Short container id.
    pub id: String,
    pub name: String,
    /// State after the action (`created`, `running`, `exited`, `removed`).
    pub state: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Logs {
    pub container: String,
    pub lines: Vec<LogLine>,
    /// True when output was cut at 64 KB.
    pub truncated: bool,
}

/// Removes a container even while it runs: cleanup of one this server just made, or the old one of a swap.
async fn force_remove(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
}

impl DockerServer {
    /// Docker's canonical name (without the leading `/`) and full id of a container reference.
    pub(crate) async fn container_identity(
        &self,
        container: &str,
    ) -> Result<(String, String), ToolError> {
        let info = self.inspect_existing(container).await?;
        let id = info.id.unwrap_or_default();
        let name = info
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        Ok((id, name))
    }

    /// The engine's inspection of `container`, or an error telling how to find the existing ones.
    pub(crate) async fn inspect_existing(
        &self,
        container: &str,
    ) -> Result<ContainerInspectResponse, ToolError> {
        let docker = self.docker().await?;
        docker
            .inspect_container(container, None)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("container {container:?}"),
                    "list_containers shows the existing containers",
                )
            })
    }

    /// What an action left: the container's id, name and current state.
    async fn action_result(&self, id: &str, name: String) -> ContainerAction {
        ContainerAction {
            id: short_id(id),
            name,
            state: self.state_of(id).await,
        }
    }

    async fn state_of(&self, container: &str) -> String {
        match self.docker().await {
            Ok(docker) => docker
                .inspect_container(container, None)
                .await
                .ok()
                .and_then(|i| i.state)
                .and_then(|s| s.status)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".into()),
            Err(_) => "unknown".into(),
        }
    }

    async fn create_from_spec(
        &self,
        name: Option<&str>,
        spec: &serde_json::Value,
    ) -> Result<(String, String), ToolError> {
        if let Some(name) = name {
            validate_container_name(name)?;
        }
        // The service is named after the argument, so every problem is reported at the path the caller gave
        // (`spec.privileged`), never at a container name (recreate uses a temporary one).
        let service = self.engine.load_service(SPEC_ARGUMENT, spec)?;
        let body = create_body(&service)?;
        // `container_name` in the spec names the container when the `name` argument does not.
        let name = match (name, service.container_name.as_deref()) {
            (Some(name), _) => Some(name),
            (None, Some(spec_name)) => {
                validate_container_name(spec_name)?;
                Some(spec_name)
            }
            (None, None) => None,
        };
        let docker = self.docker().await?;
        let options = CreateContainerOptions {
            name: name.map(str::to_string),
            platform: service.platform.clone().unwrap_or_default(),
        };
        let created = docker
            .create_container(Some(options), body.body)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    "creating the container",
                    "pull or build the image first (pull_image, build_image), or pick another name",
                )
            })?;
        for (network, aliases) in &body.extra_networks {
            let request = bollard::models::NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(bollard::models::EndpointSettings {
                    aliases: (!aliases.is_empty()).then(|| aliases.clone()),
                    ..Default::default()
                }),
            };
            if let Err(e) = docker.connect_network(network, request).await {
                let _ = force_remove(&docker, &created.id).await;
                return Err(self.docker_failure(
                    e,
                    &format!("connecting to network {network:?}"),
                    "create the network first with create_network",
                ));
            }
        }
        let info = docker.inspect_container(&created.id, None).await.ok();
        let actual = info
            .and_then(|i| i.name)
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| name.unwrap_or_default().to_string());
        Ok((created.id, actual))
    }

    async fn start(&self, id: &str) -> Result<(), ToolError> {
        let docker = self.docker().await?;
        docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("starting container {id:?}"),
                    "check the name with list_containers",
                )
            })
    }
}

#[tool_router(router = container_tools, vis = "pub(crate)")]
impl DockerServer {
    /// List containers compactly: short id, name, image, state, status, ports, project.
    #[tool(annotations(
        title = "List containers",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_containers(
        &self,
        Parameters(args): Parameters<ListContainersArgs>,
    ) -> Result<Json<Table>, ToolError> {
        let docker = self.docker().await?;
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        let mut labels = args.label.clone();
        if let Some(project) = &args.project {
            labels.push(format!("{}={project}", naming::LABEL_PROJECT));
        }
        if !labels.is_empty() {
            filters.insert("label".into(), labels);
        }
        if let Some(name) = &args.name {
            filters.insert("name".into(), vec![name.clone()]);
        }
        if let Some(status) = &args.status {
            const STATES: [&str; 7] = [
                "created",
                "restarting",
                "running",
                "removing",
                "paused",
                "exited",
                "dead",
            ];
            if !STATES.contains(&status.as_str()) {
                return Err(ToolError::invalid(
                    "status",
                    format!("{status:?} is not a container state"),
                    format!("use one of {}", STATES.join(", ")),
                ));
            }
            filters.insert("status".into(), vec![status.clone()]);
        }
        let options = ListContainersOptions {
            all: args.all.unwrap_or(true),
            filters: Some(filters),
            ..Default::default()
        };
        let mut containers = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.docker_failure(e, "listing containers", "check the filters"))?;
        containers.sort_by_key(|c| first_name(&c.names));
        let total = containers.len();
        let limit = args.limit.unwrap_or(100).max(1);
        let rows = containers
            .iter()
            .take(limit)
            .map(|c| {
                vec![
                    short_id(c.id.as_deref().unwrap_or_default()),
                    first_name(&c.names),
                    c.image.clone().unwrap_or_default(),
                    c.state.map(|s| s.to_string()).unwrap_or_default(),
                    c.status.clone().unwrap_or_default(),
                    format_ports(c.ports.as_deref().unwrap_or_default()),
                    c.labels
                        .as_ref()
                        .and_then(|l| l.get(naming::LABEL_PROJECT))
                        .cloned()
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let table = Table::new(
            &["id", "name", "image", "state", "status", "ports", "project"],
            rows,
            total,
        );
        let text = table.render("containers");
        Ok(Json::new(table, text))
    }

    /// Create (not start) a container from a compose service spec; same validation and policy as `plan`.
    #[tool(annotations(
        title = "Create container",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn create_container(
        &self,
        Parameters(args): Parameters<CreateContainerArgs>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (id, name) = self
            .create_from_spec(args.name.as_deref(), &args.spec)
            .await?;
        let action = ContainerAction {
            id: short_id(&id),
            name,
            state: "created".into(),
        };
        let text = format!(
            "Created container {} ({}); start it with start_container.",
            action.name, action.id
        );
        Ok(Json::new(action, text))
    }

    /// Create and start a container from a compose service spec; same validation and policy as `plan`.
    #[tool(annotations(
        title = "Run container",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn run_container(
        &self,
        Parameters(args): Parameters<CreateContainerArgs>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (id, name) = self
            .create_from_spec(args.name.as_deref(), &args.spec)
            .await?;
        if let Err(err) = self.start(&id).await {
            if let Ok(docker) = self.docker().await {
                let _ = force_remove(&docker, &id).await;
            }
            return Err(ToolError(format!(
                "{err} (the created container was removed again)"
            )));
        }
        let action = self.action_result(&id, name).await;
        let text = format!(
            "Started container {} ({}), now {}.",
            action.name, action.id, action.state
        );
        Ok(Json::new(action, text))
    }

    /// Replace a container with one made from a new spec, keeping its name. The new container is created
    /// before the old one is touched, so a spec that fails to create leaves the old container as it was.
    #[tool(annotations(
        title = "Recreate container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn recreate_container(
        &self,
        Parameters(args): Parameters<RecreateContainerArgs>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (old_id, name) = self.container_identity(&args.container).await?;
        let docker = self.docker().await?;
        let was_running = docker
            .inspect_container(&old_id, None)
            .await
            .ok()
            .and_then(|i| i.state)
            .and_then(|s| s.running)
            .unwrap_or(false);
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let temp_name = format!("{name}-new-{}", &suffix[..8]);
        let (new_id, _) = self
            .create_from_spec(Some(&temp_name), &args.spec)
            .await
            .map_err(|e| ToolError(format!("{e} (the old container {name} was left untouched)")))?;
        let old_parked = format!("{name}-old-{}", &suffix[..8]);
        let swap = async {
            if was_running {
                docker
                    .stop_container(&old_id, None::<StopContainerOptions>)
                    .await
                    .map_err(|e| self.docker_failure(e, "stopping the old container", "retry"))?;
            }
            docker
                .rename_container(
                    &old_id,
                    RenameContainerOptions {
                        name: old_parked.clone(),
                    },
                )
                .await
                .map_err(|e| self.docker_failure(e, "renaming the old container", "retry"))?;
            docker
                .rename_container(&new_id, RenameContainerOptions { name: name.clone() })
                .await
                .map_err(|e| self.docker_failure(e, "renaming the new container", "retry"))?;
            self.start(&new_id).await
        };
        if let Err(err) = swap.await {
            // Put the old container back exactly as it was.
            let _ = force_remove(&docker, &new_id).await;
            let _ = docker
                .rename_container(&old_id, RenameContainerOptions { name: name.clone() })
                .await;
            if was_running {
                let _ = docker
                    .start_container(&old_id, None::<StartContainerOptions>)
                    .await;
            }
            return Err(ToolError(format!(
                "{err} (rolled back: the old container {name} was restored)"
            )));
        }
        force_remove(&docker, &old_id).await.map_err(|e| {
            self.docker_failure(
                e,
                &format!("removing the old container (now named {old_parked})"),
                "remove it with remove_container",
            )
        })?;
        let action = self.action_result(&new_id, name).await;
        let text = format!(
            "Recreated {} as {} ({}); the old container was removed.",
            action.name, action.id, action.state
        );
        Ok(Json::new(action, text))
    }

    /// Start a stopped or created container.
    #[tool(annotations(
        title = "Start container",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn start_container(
        &self,
        Parameters(args): Parameters<ContainerRef>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (id, name) = self.container_identity(&args.container).await?;
        self.start(&id).await?;
        let action = self.action_result(&id, name).await;
        let text = format!("Container {} is {}.", action.name, action.state);
        Ok(Json::new(action, text))
    }

    /// Stop a running container (SIGTERM, then SIGKILL after the timeout).
    #[tool(annotations(
        title = "Stop container",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn stop_container(
        &self,
        Parameters(args): Parameters<StopContainerArgs>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (id, name) = self.container_identity(&args.container).await?;
        let docker = self.docker().await?;
        let options = StopContainerOptions {
            t: args.timeout_secs.map(|t| t as i32),
            ..Default::default()
        };
        docker
            .stop_container(&id, Some(options))
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("stopping container {name:?}"),
                    "check the name with list_containers",
                )
            })?;
        let action = self.action_result(&id, name).await;
        let text = format!("Container {} is {}.", action.name, action.state);
        Ok(Json::new(action, text))
    }

    /// Remove a container.
    #[tool(annotations(
        title = "Remove container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_container(
        &self,
        Parameters(args): Parameters<RemoveContainerArgs>,
    ) -> Result<Json<ContainerAction>, ToolError> {
        let (id, name) = self.container_identity(&args.container).await?;
        let docker = self.docker().await?;
        let options = RemoveContainerOptions {
            force: args.force,
            v: args.volumes,
            ..Default::default()
        };
        docker
            .remove_container(&id, Some(options))
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("removing container {name:?}"),
                    "stop it first (stop_container) or pass force: true",
                )
            })?;
        let action = ContainerAction {
            id: short_id(&id),
            name,
            state: "removed".into(),
        };
        let text = format!("Removed container {} ({}).", action.name, action.id);
        Ok(Json::new(action, text))
    }

    /// Fetch a container's logs: last `tail` lines, optionally between `since` and `until`, filtered by `grep`.
    #[tool(annotations(
        title = "Fetch container logs",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn fetch_container_logs(
        &self,
        Parameters(args): Parameters<LogsArgs>,
    ) -> Result<Json<Logs>, ToolError> {
        let since = args
            .since
            .as_deref()
            .map(|s| {
                parse_time(s).map_err(|e| {
                    ToolError::invalid(
                        "since",
                        e,
                        "use RFC 3339, unix seconds or an age such as 10m",
                    )
                })
            })
            .transpose()?;
        let until = args
            .until
            .as_deref()
            .map(|s| {
                parse_time(s).map_err(|e| {
                    ToolError::invalid(
                        "until",
                        e,
                        "use RFC 3339, unix seconds or an age such as 10m",
                    )
                })
            })
            .transpose()?;
        let (id, name) = self.container_identity(&args.container).await?;
        let logs = self
            .read_logs(
                &id,
                args.tail.unwrap_or(100),
                since,
                until,
                args.grep.as_deref(),
            )
            .await?;
        let mut text = String::new();
        for line in &logs.0 {
            if line.stream == "stderr" {
                text.push_str("[stderr] ");
            }
            text.push_str(&line.text);
            text.push('\n');
        }
        if text.is_empty() {
            text = format!("No log lines from {name} match.");
        }
        Ok(Json::new(
            Logs {
                container: name,
                lines: logs.0,
                truncated: logs.1,
            },
            text,
        ))
    }
}

impl DockerServer {
    /// Log lines of one container, newest `tail`, filtered; the flag says whether output was cut.
    pub(crate) async fn read_logs(
        &self,
        id: &str,
        tail: u32,
        since: Option<i64>,
        until: Option<i64>,
        grep: Option<&str>,
    ) -> Result<(Vec<LogLine>, bool), ToolError> {
        let docker = self.docker().await?;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: if grep.is_some() {
                "all".into()
            } else {
                tail.to_string()
            },
            since: since.unwrap_or(0) as i32,
            until: until.unwrap_or(0) as i32,
            ..Default::default()
        };
        let mut stream = docker.logs(id, Some(options));
        let mut lines = Vec::new();
        while let Some(item) = stream.next().await {
            let item = item.map_err(|e| {
                self.docker_failure(e, "reading logs", "check the name with list_containers")
            })?;
            let (stream_name, bytes) = match item {
                LogOutput::StdErr { message } => ("stderr", message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    ("stdout", message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            for text in String::from_utf8_lossy(&bytes).lines() {
                if grep.is_none_or(|g| text.contains(g)) {
                    lines.push(LogLine {
                        stream: stream_name.into(),
                        text: text.to_string(),
                    });
                }
            }
        }
        if lines.len() > tail as usize {
            lines.drain(..lines.len() - tail as usize);
        }
        let mut size = 0;
        let mut truncated = false;
        let mut kept = Vec::new();
        for line in lines.into_iter().rev() {
            size += line.text.len() + 1;
            if size > MAX_LOG_BYTES {
                truncated = true;
                break;
            }
            kept.push(line);
        }
        kept.reverse();
        Ok((kept, truncated))
    }
}

fn first_name(names: &Option<Vec<String>>) -> String {
    names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// Docker's own rule for container names, checked here so the error names the argument.
fn validate_container_name(name: &str) -> Result<(), ToolError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || name.len() < 2 || name.len() > 128 {
        return Err(ToolError::invalid(
            "name",
            format!("{name:?} is not a valid container name"),
            "use 2-128 characters: a letter or digit first, then letters, digits, `_`, `.` or `-`",
        ));
    }
    Ok(())
}

/// A container's env as a map for inspect output, with secret values masked: keys that look secret, and keys
/// the planner labelled as resolved from `{secret: NAME}` (whose names need not look secret).
pub(crate) fn env_map(
    env: &[String],
    labels: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    let from_secrets: Vec<&str> = labels
        .and_then(|l| l.get(planner::naming::LABEL_SECRET_ENV))
        .map(|keys| keys.split(',').collect())
        .unwrap_or_default();
    env.iter()
        .map(|e| {
            let masked = super::compact::mask_env_entry(e);
            match masked.split_once('=') {
                Some((k, _)) if from_secrets.contains(&k) => {
                    (k.to_string(), super::compact::MASK.to_string())
                }
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (masked.clone(), String::new()),
            }
        })
        .collect()
}
