//! Container tools: list, create/run/recreate from a compose service spec, start, stop, remove, logs.

use std::collections::BTreeMap;

use planner::model::ServiceSpec;
use planner::naming;
use rmcp::handler::server::tool::{schema_for_output, InputResponses as Answers, RequestState};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::approval::{Act, Foreign, Gate, Round};
use super::args::Parameters;
use super::bounds;
use super::compact::{format_ports, short_id, Table};
use super::container_spec::check_primitive;
use super::output::{Json, Reply, ToolError};
use super::server::DockerServer;
use super::time_args::parse_time;
use crate::docker::containers::{self, ContainerInfo};
use crate::docker::system::{self, LogLine};

/// What to do when creating a container fails.
const CREATE_FIX: &str =
    "pull or build the image first (pull_image, build_image), or pick another name";

/// The argument that carries a container's compose service spec.
const SPEC_ARGUMENT: &str = "spec";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListContainersArgs {
    /// Include stopped ones (default true).
    #[serde(default)]
    pub all: Option<bool>,
    /// Only this project's.
    #[serde(default)]
    pub project: Option<String>,
    /// `key` or `key=value`; all must match.
    #[serde(default)]
    pub label: Vec<String>,
    /// Name substring.
    #[serde(default)]
    pub name: Option<String>,
    /// A state: running, exited, created, paused...
    #[serde(default)]
    pub status: Option<String>,
    /// Most rows (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContainerArgs {
    /// Container name; Docker picks one when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// One compose service as a JSON object (`{"image": "nginx", "ports": ["8080:80"]}`).
    pub spec: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecreateContainerArgs {
    /// Container to replace (id or name).
    pub container: String,
    /// Its new compose service, as in `create_container`.
    pub spec: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRef {
    /// Container id or name.
    pub container: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopContainerArgs {
    /// Container id or name.
    pub container: String,
    /// Seconds before SIGKILL (default: the container's stop timeout).
    #[serde(default)]
    pub timeout_secs: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveContainerArgs {
    /// Container id or name.
    pub container: String,
    /// Kill it if running.
    #[serde(default)]
    pub force: bool,
    /// Also remove anonymous volumes.
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
    /// Lines after: RFC 3339, unix seconds, or an age (`10m`, `2h`, `1d`).
    #[serde(default)]
    pub since: Option<String>,
    /// Lines before (forms as `since`).
    #[serde(default)]
    pub until: Option<String>,
    /// Only lines containing this text.
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
pub struct Logs {
    pub container: String,
    pub lines: Vec<LogLine>,
    /// True when output was cut at 64 KB.
    pub truncated: bool,
}

impl DockerServer {
    /// Docker's canonical name (without the leading `/`) and full id of a container reference.
    pub(crate) async fn container_identity(
        &self,
        container: &str,
    ) -> Result<(String, String), ToolError> {
        let info = self.inspect_existing(container).await?;
        Ok((info.id, info.name))
    }

    /// The engine's inspection of `container`, or an error telling how to find the existing ones.
    pub(crate) async fn inspect_existing(
        &self,
        container: &str,
    ) -> Result<ContainerInfo, ToolError> {
        let docker = self.docker().await?;
        containers::inspect(&docker, container)
            .await
            .map_err(|e| self.docker_failure(e, "list_containers shows the existing containers"))
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
        let Ok(docker) = self.docker().await else {
            return "unknown".into();
        };
        match containers::inspect(&docker, container).await {
            Ok(info) if !info.state.is_empty() => info.state,
            _ => "unknown".into(),
        }
    }

    /// The container name (the argument, else the spec's `container_name`) and the loaded, policy-checked
    /// service spec of a create/run call.
    fn primitive_request(
        &self,
        name: Option<&str>,
        spec: &serde_json::Value,
    ) -> Result<(Option<String>, ServiceSpec), ToolError> {
        if let Some(name) = name {
            validate_container_name(name)?;
        }
        // The service is named after the argument, so every problem is reported at the path the caller gave
        // (`spec.privileged`), never at a container name.
        let service = self.engine.load_service(SPEC_ARGUMENT, spec)?;
        check_primitive(&service)?;
        // `container_name` in the spec names the container when the `name` argument does not.
        let name = match (name, service.container_name.as_deref()) {
            (Some(name), _) => Some(name.to_string()),
            (None, Some(spec_name)) => {
                validate_container_name(spec_name)?;
                Some(spec_name.to_string())
            }
            (None, None) => None,
        };
        Ok((name, service))
    }
}

#[tool_router(router = container_tools, vis = "pub(crate)")]
impl DockerServer {
    /// List containers, with filters.
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
        let mut labels = args.label.clone();
        if let Some(project) = &args.project {
            labels.push(format!("{}={project}", naming::LABEL_PROJECT));
        }
        if let Some(status) = &args.status {
            check_state(status)?;
        }
        let filter = containers::ContainerFilter {
            all: args.all.unwrap_or(true),
            labels,
            name: args.name.clone(),
            status: args.status.clone(),
        };
        let containers = containers::list(&docker, &filter)
            .await
            .map_err(|e| self.docker_failure(e, "check the filters"))?;
        let total = containers.len();
        let limit = args.limit.unwrap_or(100).max(1);
        let rows = containers
            .iter()
            .take(limit)
            .map(|c| {
                vec![
                    short_id(&c.id),
                    c.name.clone(),
                    c.image.clone(),
                    c.state.clone(),
                    c.status.clone(),
                    format_ports(&c.ports),
                    c.labels
                        .get(naming::LABEL_PROJECT)
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

    /// Create, not start, one container from a compose service (policy as `plan`). For projects use `plan`.
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
        let (name, service) = self.primitive_request(args.name.as_deref(), &args.spec)?;
        let docker = self.docker().await?;
        let created = containers::create(&docker, name.as_deref(), &service)
            .await
            .map_err(|e| self.docker_failure(e, CREATE_FIX))?;
        let action = ContainerAction {
            id: short_id(&created.id),
            name: created.name,
            state: "created".into(),
        };
        let text = format!(
            "Created container {} ({}); start it with start_container.",
            action.name, action.id
        );
        Ok(Json::new(action, text))
    }

    /// Create and start one container from a compose service (policy as `plan`). For projects use `plan`.
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
        let (name, service) = self.primitive_request(args.name.as_deref(), &args.spec)?;
        let docker = self.docker().await?;
        let created = containers::run(&docker, name.as_deref(), &service)
            .await
            .map_err(|e| self.docker_failure(e, CREATE_FIX))?;
        let (id, name) = (created.id, created.name);
        let action = self.action_result(&id, name).await;
        let text = format!(
            "Started container {} ({}), now {}.",
            action.name, action.id, action.state
        );
        Ok(Json::new(action, text))
    }

    /// Replace a container with one from a new spec, same name; the old one stays if the new fails.
    #[tool(output_schema = schema_for_output::<ContainerAction>(), annotations(
        title = "Recreate container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn recreate_container(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RecreateContainerArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ContainerAction>, ToolError> {
        let (_, service) = self.primitive_request(None, &args.spec)?;
        let old = self.inspect_existing(&args.container).await?;
        let target = container_target(Act::Recreate, &old);
        let round = Round { state, responses };
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        let old_id = old.id;
        let docker = self.docker().await?;
        let created = containers::recreate(&docker, &old_id, &service)
            .await
            .map_err(|e| self.docker_failure(e, CREATE_FIX))?;
        let (new_id, name) = (created.id, created.name);
        let action = self.action_result(&new_id, name).await;
        let text = format!(
            "Recreated {} as {} ({}); the old container was removed.",
            action.name, action.id, action.state
        );
        Ok(Json::new(action, text).into())
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
        let docker = self.docker().await?;
        containers::start(&docker, &id)
            .await
            .map_err(|e| self.docker_failure(e, "check the name with list_containers"))?;
        let action = self.action_result(&id, name).await;
        let text = format!("Container {} is {}.", action.name, action.state);
        Ok(Json::new(action, text))
    }

    /// Stop a running container (SIGTERM, then SIGKILL after the timeout).
    #[tool(output_schema = schema_for_output::<ContainerAction>(), annotations(
        title = "Stop container",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn stop_container(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<StopContainerArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ContainerAction>, ToolError> {
        let timeout = args
            .timeout_secs
            .map(|t| bounds::at_most("timeout_secs", t, bounds::MAX_STOP_TIMEOUT_SECS))
            .transpose()?;
        let info = self.inspect_existing(&args.container).await?;
        let round = Round { state, responses };
        let target = container_target(Act::Stop, &info);
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        let (id, name) = (info.id, info.name);
        let docker = self.docker().await?;
        containers::stop(&docker, &id, timeout)
            .await
            .map_err(|e| self.docker_failure(e, "check the name with list_containers"))?;
        let action = self.action_result(&id, name).await;
        let text = format!("Container {} is {}.", action.name, action.state);
        Ok(Json::new(action, text).into())
    }

    /// Remove a container.
    #[tool(output_schema = schema_for_output::<ContainerAction>(), annotations(
        title = "Remove container",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_container(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RemoveContainerArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ContainerAction>, ToolError> {
        let info = self.inspect_existing(&args.container).await?;
        let round = Round { state, responses };
        let target = container_target(Act::Remove, &info);
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        let (id, name) = (info.id, info.name);
        let docker = self.docker().await?;
        let options = containers::RemoveOptions {
            force: args.force,
            anonymous_volumes: args.volumes,
        };
        containers::remove(&docker, &id, options)
            .await
            .map_err(|e| {
                self.docker_failure(e, "stop it first (stop_container) or pass force: true")
            })?;
        let action = ContainerAction {
            id: short_id(&id),
            name,
            state: "removed".into(),
        };
        let text = format!("Removed container {} ({}).", action.name, action.id);
        Ok(Json::new(action, text).into())
    }

    /// A container's last log lines, optionally by time and text.
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
                        "use RFC 3339, unix seconds or an age such as 10m or 1m30s",
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
                        "use RFC 3339, unix seconds or an age such as 10m or 1m30s",
                    )
                })
            })
            .transpose()?;
        let tail = bounds::at_most("tail", args.tail.unwrap_or(100), bounds::MAX_LOG_TAIL_LINES)?;
        let (id, name) = self.container_identity(&args.container).await?;
        let logs = self
            .read_logs(&id, tail, since, until, args.grep.as_deref())
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
        if logs.1 {
            text.push_str(&format!(
                "[cut: only the newest {} KiB of log text are returned; narrow with tail, since, until or grep]\n",
                self.engine.config().runtime_limits.max_log_bytes / 1024
            ));
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
        let query = system::LogQuery {
            tail,
            since: since.unwrap_or(0),
            until: until.unwrap_or(0),
            grep: grep.map(str::to_string),
            max_bytes: self.engine.config().runtime_limits.max_log_bytes,
        };
        let logs = system::logs(&docker, id, &query)
            .await
            .map_err(|e| self.docker_failure(e, "check the name with list_containers"))?;
        Ok((logs.lines, logs.truncated))
    }
}

/// Refuses a `status` filter that is no container state, naming the allowed ones.
/// A container as the approval question names it.
fn container_target(act: Act, info: &ContainerInfo) -> Foreign<'_> {
    Foreign {
        act,
        kind: "container",
        name: &info.name,
        id: &info.id,
        image: Some(&info.image),
        labels: &info.labels,
        command: None,
    }
}

fn check_state(status: &str) -> Result<(), ToolError> {
    const STATES: [&str; 7] = [
        "created",
        "restarting",
        "running",
        "removing",
        "paused",
        "exited",
        "dead",
    ];
    if STATES.contains(&status) {
        return Ok(());
    }
    Err(ToolError::invalid(
        "status",
        format!("{status:?} is not a container state"),
        format!("use one of {}", STATES.join(", ")),
    ))
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
