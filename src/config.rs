//! Server configuration: where state lives, which engine to talk to, and what the operator allows.
//!
//! Everything here comes from the operator (flags or environment), never from a tool argument, so an LLM
//! cannot loosen the policy or redirect the state it is acting on.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use planner::policy::limits::{self, Limits};

use crate::host::EnvPolicy;
use crate::mcp::approval::ApprovalMode;
use crate::mcp::toolsets::{Toolset, ToolsetChoice};

/// Settings shared by the MCP server and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Directory holding the sled database and the per-project lock files.
    pub state_dir: PathBuf,
    /// Explicit engine address; `None` reads `DOCKER_HOST` as the Docker CLI does.
    pub docker_host: Option<String>,
    /// The swarm manager that `swarm` target projects run on; `None`: the engine above.
    pub swarm_host: Option<String>,
    /// The registry (`HOST:PORT`) every swarm node pulls from: a swarm service with `build:` is built on the
    /// manager, pushed there and pinned by digest. `None`: `build:` on the swarm target is refused.
    pub swarm_registry: Option<String>,
    /// Options the planner's policy refuses by default but the operator permits (`privileged`, `cap_add`, ...).
    pub allowed_options: BTreeSet<String>,
    /// Host paths binds and build contexts may use beyond the project directory.
    pub allowed_paths: Vec<PathBuf>,
    /// Serve only tools that change nothing.
    pub read_only: bool,
    /// Which tools the MCP server lists (`--toolsets`); read-only filtering applies on top.
    pub toolsets: ToolsetChoice,
    /// `KEY=VALUE` lines resolving `{secret: NAME}` references the server environment does not define.
    pub secrets_file: Option<PathBuf>,
    /// Most plan actions running at once within one wave.
    pub concurrency: usize,
    /// How long apply waits for a `depends_on` condition.
    pub dependency_timeout: Duration,
    /// Which server variables interpolation and secret references may read.
    pub env: EnvPolicy,
    /// Directories host paths and a client's `project_dir` must lie under (symlinks resolved).
    pub workspace_roots: Vec<PathBuf>,
    /// Size and count bounds on specs.
    pub limits: Limits,
    /// How MCP `apply`, and destructive primitives on resources we do not own, get the human's approval.
    pub approval: ApprovalMode,
    /// Whether an MCP apply that fails returns to the previous spec when the call does not say.
    pub revert_on_failure: bool,
    /// Size bounds on what the server reads at run time (logs, build contexts).
    pub runtime_limits: RuntimeLimits,
}

/// Bounds on what the server reads at run time for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeLimits {
    /// Most bytes of log text one `fetch_container_logs` returns (the newest; the reply says it was cut).
    pub max_log_bytes: usize,
    /// Largest build context (the total size of its files after `.dockerignore`).
    pub max_build_context_bytes: u64,
}

/// `--max-log-kb` default: 64 KiB of log text.
pub const DEFAULT_MAX_LOG_KB: usize = 64;
/// `--max-build-context-mb` default: 512 MiB.
pub const DEFAULT_MAX_BUILD_CONTEXT_MB: u64 = 512;

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            max_log_bytes: DEFAULT_MAX_LOG_KB * 1024,
            max_build_context_bytes: DEFAULT_MAX_BUILD_CONTEXT_MB * 1024 * 1024,
        }
    }
}

impl ServerConfig {
    /// A configuration with defaults and the given state directory (used by tests and embedders).
    pub fn with_state_dir(state_dir: PathBuf) -> Self {
        ServerConfig {
            state_dir,
            docker_host: None,
            swarm_host: None,
            swarm_registry: None,
            allowed_options: BTreeSet::new(),
            allowed_paths: Vec::new(),
            read_only: false,
            toolsets: ToolsetChoice::All,
            secrets_file: None,
            concurrency: DEFAULT_CONCURRENCY,
            dependency_timeout: Duration::from_secs(DEFAULT_DEPENDENCY_TIMEOUT_SECS),
            env: EnvPolicy::default(),
            workspace_roots: default_workspace_roots(),
            limits: Limits::default(),
            approval: ApprovalMode::default(),
            revert_on_failure: false,
            runtime_limits: RuntimeLimits::default(),
        }
    }

    /// The same configuration for a person at the CLI: interpolation and secrets read the whole
    /// environment, as compose does.
    /// The compose file's folder joins the workspace roots, since the person chose that file.
    pub fn for_person(self, compose_dir: Option<PathBuf>) -> Self {
        let mut workspace_roots = self.workspace_roots;
        workspace_roots.extend(compose_dir.map(|dir| resolved(&dir)));
        ServerConfig {
            env: EnvPolicy::whole(),
            workspace_roots,
            ..self
        }
    }

    /// The planner policy this configuration implies. The state directory and the secrets file are
    /// refused as host paths whatever else is allowed.
    pub fn policy(&self) -> planner::policy::Policy {
        planner::policy::Policy {
            allowed_options: self.allowed_options.clone(),
            allowed_paths: self.allowed_paths.clone(),
            server_paths: self.server_paths(),
            host_paths: planner::policy::HostPathScope::UnderRoots(self.workspace_roots.clone()),
            limits: self.limits,
        }
    }

    /// The server's own files, as given and with symlinks resolved.
    fn server_paths(&self) -> Vec<PathBuf> {
        let own = std::iter::once(&self.state_dir).chain(self.secrets_file.as_ref());
        own.flat_map(|path| {
            let resolved = std::fs::canonicalize(path).ok();
            std::iter::once(path.clone()).chain(resolved)
        })
        .collect()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::with_state_dir(default_state_dir())
    }
}

const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_DEPENDENCY_TIMEOUT_SECS: u64 = 120;

/// The default workspace root: the server's working directory, unless that is `/` or a home folder itself
/// (then none, and every host path is refused until the operator sets a root).
pub fn default_workspace_roots() -> Vec<PathBuf> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let cwd = resolved(&cwd);
    let home = dirs::home_dir().map(|h| resolved(&h));
    let is_home_itself = home.as_ref() == Some(&cwd)
        || cwd.parent() == Some(std::path::Path::new("/home"))
        || cwd == std::path::Path::new("/root");
    if cwd == std::path::Path::new("/") || is_home_itself {
        Vec::new()
    } else {
        vec![cwd]
    }
}

/// A path with symlinks resolved when it exists, as given otherwise.
fn resolved(path: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The per-user data directory (`~/.local/share/mcp-docker-server` on Linux).
pub fn default_state_dir() -> PathBuf {
    let base = dirs::data_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join(".local").join("share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("mcp-docker-server")
}

/// Command-line flags (with environment fallbacks) that build a [`ServerConfig`]; shared by every CLI command.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// State directory [default: the platform data dir]/mcp-docker-server.
    #[arg(long, env = "MCP_DOCKER_STATE_DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Docker engine address (unix://, tcp://, ssh://); default: DOCKER_HOST, then the local socket.
    #[arg(long, global = true)]
    pub docker_host: Option<String>,
    /// Swarm manager for projects planned with target `swarm` (a Docker host URL); default: the engine.
    #[arg(long, env = "MCP_DOCKER_SWARM_HOST", global = true)]
    pub swarm_host: Option<String>,
    /// Registry (HOST:PORT) every swarm node pulls from; lets a swarm service `build:` (built on the manager,
    /// pushed there, pinned by digest).
    #[arg(long, env = "MCP_DOCKER_SWARM_REGISTRY", global = true)]
    pub swarm_registry: Option<String>,
    /// Permit an option the policy refuses by default (repeatable or comma-separated), e.g. `privileged`.
    #[arg(
        long = "allow-option",
        env = "MCP_DOCKER_ALLOW_OPTIONS",
        value_delimiter = ',',
        global = true
    )]
    pub allow_options: Vec<String>,
    /// Permit host paths under this directory for binds and build contexts (repeatable or comma-separated).
    #[arg(
        long = "allow-path",
        env = "MCP_DOCKER_ALLOW_PATHS",
        value_delimiter = ',',
        global = true
    )]
    pub allow_paths: Vec<PathBuf>,
    /// Serve only tools that change nothing.
    #[arg(long, env = "MCP_DOCKER_READ_ONLY", global = true)]
    pub read_only: bool,
    /// Serve only these toolsets (comma-separated): plan, containers, images, networks, system. Default: all.
    #[arg(
        long,
        env = "MCP_DOCKER_TOOLSETS",
        value_enum,
        value_delimiter = ',',
        global = true
    )]
    pub toolsets: Vec<Toolset>,
    /// File of KEY=VALUE lines that resolves `{secret: NAME}` references.
    #[arg(long, env = "MCP_DOCKER_SECRETS_FILE", global = true)]
    pub secrets_file: Option<PathBuf>,
    /// Most actions applied at once within a wave.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize), global = true)]
    pub concurrency: usize,
    /// How long apply waits for a depends_on condition (on a swarm: for each service to converge): seconds,
    /// or a number with s/m/h.
    #[arg(long, default_value = "120s", value_parser = parse_duration, global = true)]
    pub dependency_timeout: Duration,
    /// How apply over MCP (and removing or stopping what this server does not own) gets the human's
    /// approval: elicit (always ask through the client), auto (ask when the client can) or off.
    #[arg(long, env = "MCP_DOCKER_APPROVAL", value_enum, default_value_t = ApprovalMode::Auto, global = true)]
    pub approval: ApprovalMode,
    /// When an apply fails, or a replaced container does not pass its healthcheck, plan and apply the
    /// return to the previous spec (CLI `apply --plan`, and MCP apply unless it sets `revert_on_failure`).
    #[arg(long, env = "MCP_DOCKER_REVERT_ON_FAILURE", global = true)]
    pub revert_on_failure: bool,
    #[command(flatten)]
    pub boundary: BoundaryArgs,
}

/// The operator's boundary for MCP clients: which server variables they may reach and how large a spec
/// may be. Kept in one block so other flags can be added beside it without conflicts.
#[derive(Debug, Clone, clap::Args)]
pub struct BoundaryArgs {
    /// A server variable that `${NAME}` in an MCP spec may read (repeatable or comma-separated); no other is.
    #[arg(
        long = "pass-env",
        env = "MCP_DOCKER_PASS_ENV",
        value_delimiter = ',',
        global = true
    )]
    pub pass_env: Vec<String>,
    /// A server variable that `{secret: NAME}` in an MCP spec may resolve (repeatable or comma-separated).
    #[arg(
        long = "secret-env",
        env = "MCP_DOCKER_SECRET_ENV",
        value_delimiter = ',',
        global = true
    )]
    pub secret_env: Vec<String>,
    /// A directory under which host paths and a client's project_dir may lie (repeatable; the env var is
    /// colon-separated). Default: the working directory, unless it is `/` or a home folder.
    #[arg(
        long = "workspace-root",
        env = "MCP_DOCKER_WORKSPACE_ROOTS",
        value_delimiter = ':',
        global = true
    )]
    pub workspace_roots: Vec<PathBuf>,
    /// Largest spec, in bytes.
    #[arg(long, env = "MCP_DOCKER_MAX_SPEC_BYTES", default_value_t = limits::DEFAULT_MAX_SPEC_BYTES, global = true)]
    pub max_spec_bytes: usize,
    /// Most YAML nodes in a spec once its aliases are expanded.
    #[arg(long, env = "MCP_DOCKER_MAX_YAML_NODES", default_value_t = limits::DEFAULT_MAX_YAML_NODES, global = true)]
    pub max_yaml_nodes: usize,
    /// Most services in one project.
    #[arg(long, env = "MCP_DOCKER_MAX_SERVICES", default_value_t = limits::DEFAULT_MAX_SERVICES, global = true)]
    pub max_services: usize,
    /// Most replicas (`scale`, `deploy.replicas`) of one service.
    #[arg(long, env = "MCP_DOCKER_MAX_REPLICAS", default_value_t = limits::DEFAULT_MAX_REPLICAS, global = true)]
    pub max_replicas: u32,
    /// Most containers in one project.
    #[arg(long, env = "MCP_DOCKER_MAX_CONTAINERS", default_value_t = limits::DEFAULT_MAX_CONTAINERS, global = true)]
    pub max_containers: u64,
    /// Most ports (`ports` and `expose`, ranges expanded) in one project.
    #[arg(long, env = "MCP_DOCKER_MAX_PORTS", default_value_t = limits::DEFAULT_MAX_PORTS, global = true)]
    pub max_ports: u64,
    /// Most KiB of log text one fetch_container_logs call returns (the newest lines; the reply says it was cut).
    #[arg(long, env = "MCP_DOCKER_MAX_LOG_KB", default_value_t = DEFAULT_MAX_LOG_KB,
          value_parser = clap::value_parser!(usize), global = true)]
    pub max_log_kb: usize,
    /// Largest build context in MiB (its files after .dockerignore); a larger one is refused.
    #[arg(long, env = "MCP_DOCKER_MAX_BUILD_CONTEXT_MB", default_value_t = DEFAULT_MAX_BUILD_CONTEXT_MB, global = true)]
    pub max_build_context_mb: u64,
}

impl BoundaryArgs {
    fn env(&self) -> EnvPolicy {
        let names = |list: &[String]| -> BTreeSet<String> {
            list.iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect()
        };
        EnvPolicy::listed(names(&self.pass_env), names(&self.secret_env))
    }

    fn workspace_roots(&self) -> Vec<PathBuf> {
        let given: Vec<PathBuf> = self
            .workspace_roots
            .iter()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| resolved(p))
            .collect();
        if given.is_empty() {
            default_workspace_roots()
        } else {
            given
        }
    }

    fn runtime_limits(&self) -> RuntimeLimits {
        RuntimeLimits {
            max_log_bytes: self.max_log_kb.max(1).saturating_mul(1024),
            max_build_context_bytes: self.max_build_context_mb.saturating_mul(1024 * 1024),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_spec_bytes: self.max_spec_bytes,
            max_yaml_nodes: self.max_yaml_nodes,
            max_services: self.max_services,
            max_replicas: self.max_replicas,
            max_containers: self.max_containers,
            max_ports: self.max_ports,
        }
    }
}

impl ServerArgs {
    pub fn into_config(self) -> ServerConfig {
        ServerConfig {
            state_dir: self.state_dir.unwrap_or_else(default_state_dir),
            docker_host: self.docker_host.filter(|h| !h.trim().is_empty()),
            swarm_host: self.swarm_host.filter(|h| !h.trim().is_empty()),
            swarm_registry: self
                .swarm_registry
                .map(|r| r.trim().trim_end_matches('/').to_string())
                .filter(|r| !r.is_empty()),
            allowed_options: self
                .allow_options
                .into_iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            allowed_paths: self
                .allow_paths
                .into_iter()
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            read_only: self.read_only,
            toolsets: ToolsetChoice::from_flag(self.toolsets),
            secrets_file: self.secrets_file,
            concurrency: self.concurrency.max(1),
            dependency_timeout: self.dependency_timeout,
            env: self.boundary.env(),
            workspace_roots: self.boundary.workspace_roots(),
            limits: self.boundary.limits(),
            approval: self.approval,
            revert_on_failure: self.revert_on_failure,
            runtime_limits: self.boundary.runtime_limits(),
        }
    }
}

/// Parses `90`, `90s`, `2m` or `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = digits.parse().map_err(|_| {
        format!("`{text}` is not a duration: write seconds like `120` or `120s`, `2m`, `1h`")
    })?;
    let seconds = match unit {
        "s" => value,
        "m" => value.saturating_mul(60),
        "h" => value.saturating_mul(3600),
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}`: use s, m or h"
            ))
        }
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("120").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn workspace_roots_default_to_a_working_directory_that_is_not_a_home() {
        // cargo runs tests in the package directory, which is neither `/` nor a home folder.
        let roots = default_workspace_roots();
        assert_eq!(roots.len(), 1);
        let person = ServerConfig::with_state_dir("/s".into()).for_person(Some("/tmp".into()));
        assert!(person.workspace_roots.len() == 2);
    }

    #[test]
    fn default_state_dir_is_named_for_us() {
        assert!(default_state_dir().ends_with("mcp-docker-server"));
    }
}
