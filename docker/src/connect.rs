//! `DockerConnector`: finds the engine the way the Docker CLI does and keeps one negotiated client.
//!
//! The host comes from an explicit override, else `DOCKER_HOST`, else the current Docker context
//! (`DOCKER_CONTEXT` or `docker context use`), else the default socket. `tcp://` uses TLS when
//! `DOCKER_TLS_VERIFY` is set (certificates from `DOCKER_CERT_PATH`, default `~/.docker`). `ssh://` goes
//! through the system OpenSSH, so `~/.ssh/config` aliases, keys and ProxyJump apply, and runs
//! `docker system dial-stdio` remotely through the project's own `ssh_transport` (bollard's `ssh` feature is
//! not used).
//! The server must start and keep answering while the engine is down, so connecting is lazy and a failed
//! connection is never cached.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::client::DockerClient;
pub use super::error::DockerError;
use super::raw_api::{self, RawRoute};
use super::ssh_transport::{self, SshDestination, SshDiagnostics};

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Seconds bollard waits for any single request (builds and pulls stream, so this bounds silence, not length).
const REQUEST_TIMEOUT_SECS: u64 = 600;
/// How long connecting plus version negotiation may take before the engine counts as unreachable.
const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const SSH_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the engine lives, parsed once from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Unix(String),
    Tcp { addr: String, tls: Option<PathBuf> },
    Ssh(SshDestination),
    Invalid { message: String, fix: String },
}

struct Shared {
    /// The host as the user wrote it (or the default), for messages.
    host: String,
    endpoint: Endpoint,
    cached: Mutex<Option<Docker>>,
    /// ssh's last stderr line, when the host is `ssh://`.
    ssh_diagnostics: SshDiagnostics,
}

/// Lazily connects to the engine and hands out the negotiated client. Cheap to clone.
#[derive(Clone)]
pub struct DockerConnector {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DockerConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerConnector")
            .field("host", &self.shared.host)
            .finish()
    }
}

/// How the engine answers right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionHealth {
    /// The host connected to (`unix:///var/run/docker.sock`, `ssh://alias` ...).
    pub host: String,
    /// Engine version (`20.10.24`).
    pub engine_version: String,
    /// API version in use after negotiation (`1.41`).
    pub api_version: String,
    /// Engine operating system and architecture (`linux/amd64`).
    pub os: String,
    /// Round trip of a version request, in milliseconds.
    pub latency_ms: u64,
}

impl DockerConnector {
    /// Reads the connection settings; never fails and never connects (the engine may be down).
    pub fn from_env(host_override: Option<String>) -> Self {
        let explicit = host_override.filter(|h| !h.trim().is_empty()).or_else(|| {
            std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.trim().is_empty())
        });
        let tls_env = std::env::var("DOCKER_TLS_VERIFY")
            .ok()
            .filter(|v| !v.is_empty() && v != "0")
            .map(|_| cert_dir());
        let (host, tls) = match explicit {
            Some(host) => (host, tls_env),
            // Like the CLI: without DOCKER_HOST, the current context (`docker context use`) decides.
            None => match docker_config_dir()
                .and_then(|dir| context_endpoint(&dir, std::env::var("DOCKER_CONTEXT").ok()))
            {
                Some((host, context_tls)) => (host, context_tls.or(tls_env)),
                None => (format!("unix://{DEFAULT_SOCKET}"), tls_env),
            },
        };
        let endpoint = parse_host(host.trim(), tls);
        DockerConnector {
            shared: Arc::new(Shared {
                host: host.trim().to_string(),
                endpoint,
                cached: Mutex::new(None),
                ssh_diagnostics: SshDiagnostics::default(),
            }),
        }
    }

    /// The host this connector talks to, as configured (`unix:///var/run/docker.sock`).
    pub fn host_description(&self) -> String {
        self.shared.host.clone()
    }

    /// A connected client whose API version was negotiated with the engine; connects on first use.
    pub async fn client(&self) -> Result<DockerClient, DockerError> {
        let mut cached = self.shared.cached.lock().await;
        if let Some(docker) = cached.as_ref() {
            return Ok(DockerClient::new(
                docker.clone(),
                self.host_description(),
                self.raw_route(),
            ));
        }
        let docker = self.connect().await.map_err(|e| self.with_ssh_words(e))?;
        *cached = Some(docker.clone());
        Ok(DockerClient::new(
            docker,
            self.host_description(),
            self.raw_route(),
        ))
    }

    /// The API version a unix-socket or plain-TCP engine names in its ping (`None` for other engines, and
    /// for one whose ping names none: bollard negotiates with those). An engine that does not answer the
    /// ping is unreachable, as it would be to bollard.
    async fn ping_api_version(&self) -> Result<Option<ClientVersion>, DockerError> {
        let route = self.raw_route();
        if !matches!(route, RawRoute::Unix(_) | RawRoute::Tcp(_)) {
            return Ok(None);
        }
        raw_api::ping_api_version(&route, &self.shared.host).await
    }

    /// The same engine, for the requests `raw_api` sends outside bollard.
    fn raw_route(&self) -> RawRoute {
        match &self.shared.endpoint {
            Endpoint::Unix(path) => RawRoute::Unix(path.clone()),
            Endpoint::Tcp { addr, tls: None } => {
                RawRoute::Tcp(addr.trim_start_matches("tcp://").to_string())
            }
            Endpoint::Tcp { tls: Some(_), .. } | Endpoint::Invalid { .. } => RawRoute::Tls,
            Endpoint::Ssh(destination) => RawRoute::Ssh {
                destination: destination.clone(),
                diagnostics: self.shared.ssh_diagnostics.clone(),
            },
        }
    }

    /// Forgets the cached client so the next call reconnects (after the engine restarted or moved).
    pub async fn invalidate(&self) {
        *self.shared.cached.lock().await = None;
    }

    /// Drops the cached client when `err` says the engine was unreachable; returns `err` for chaining.
    pub async fn note_error(&self, err: DockerError) -> DockerError {
        if err.is_unreachable() {
            self.invalidate().await;
        }
        self.with_ssh_words(err)
    }

    /// Adds what ssh itself said to an unreachable-engine error, since that is where the real cause is
    /// ("Permission denied (publickey)", "Host key verification failed").
    fn with_ssh_words(&self, err: DockerError) -> DockerError {
        let said = self
            .shared
            .ssh_diagnostics
            .lock()
            .ok()
            .and_then(|mut last| last.take());
        match (err, said) {
            (DockerError::Unreachable { host, reason }, Some(said)) if !reason.contains(&said) => {
                DockerError::Unreachable {
                    host,
                    reason: format!("{reason}; ssh says: {said}"),
                }
            }
            (err, _) => err,
        }
    }

    /// Pings the engine and reports its version and the round trip; drops the cache when it fails.
    pub async fn health(&self) -> Result<ConnectionHealth, DockerError> {
        let docker = self.client().await?.api;
        let started = Instant::now();
        let limit = self.answer_limit();
        let version = match tokio::time::timeout(limit, docker.version()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let err = DockerError::from_bollard(
                    e,
                    &self.shared.host,
                    "asking the engine for its version",
                );
                return Err(self.note_error(err).await);
            }
            Err(_) => {
                let err = DockerError::Unreachable {
                    host: self.shared.host.clone(),
                    reason: no_answer_within(limit),
                };
                return Err(self.note_error(err).await);
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(ConnectionHealth {
            host: self.shared.host.clone(),
            engine_version: version.version.unwrap_or_default(),
            api_version: docker.client_version().to_string(),
            os: format!(
                "{}/{}",
                version.os.unwrap_or_default(),
                version.arch.unwrap_or_default()
            ),
            latency_ms,
        })
    }

    /// How long a quick question may take before the engine counts as unreachable (ssh needs a handshake).
    fn answer_limit(&self) -> Duration {
        match self.shared.endpoint {
            Endpoint::Ssh(_) => SSH_CONNECT_TIMEOUT,
            _ => LOCAL_CONNECT_TIMEOUT,
        }
    }

    async fn connect(&self) -> Result<Docker, DockerError> {
        let host = &self.shared.host;
        let unreachable = |reason: String| DockerError::Unreachable {
            host: host.clone(),
            reason,
        };
        let pinged = tokio::time::timeout(LOCAL_CONNECT_TIMEOUT, self.ping_api_version())
            .await
            .map_err(|_| unreachable(no_answer_within(LOCAL_CONNECT_TIMEOUT)))??;
        // The engine's version when lower than ours (the Docker CLI's rule); ours otherwise.
        let version = match &pinged {
            Some(engine) if engine < API_DEFAULT_VERSION => engine,
            _ => API_DEFAULT_VERSION,
        };
        let (docker, limit) = match &self.shared.endpoint {
            Endpoint::Invalid { message, fix } => {
                return Err(DockerError::BadHost {
                    host: host.clone(),
                    message: message.clone(),
                    fix: fix.clone(),
                })
            }
            Endpoint::Unix(path) => {
                let docker = Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version)
                    .map_err(|e| unreachable(e.to_string()))?;
                (docker, LOCAL_CONNECT_TIMEOUT)
            }
            Endpoint::Tcp { addr, tls: None } => {
                let docker = Docker::connect_with_http(addr, REQUEST_TIMEOUT_SECS, version)
                    .map_err(|e| unreachable(e.to_string()))?;
                (docker, LOCAL_CONNECT_TIMEOUT)
            }
            Endpoint::Tcp {
                addr,
                tls: Some(dir),
            } => {
                let (key, cert, ca) = (
                    dir.join("key.pem"),
                    dir.join("cert.pem"),
                    dir.join("ca.pem"),
                );
                for file in [&key, &cert, &ca] {
                    if !file.is_file() {
                        return Err(DockerError::BadHost {
                            host: host.clone(),
                            message: format!("DOCKER_TLS_VERIFY is set but {} does not exist", file.display()),
                            fix: "set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem".into(),
                        });
                    }
                }
                let docker = Docker::connect_with_ssl(
                    addr,
                    &key,
                    &cert,
                    &ca,
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
                .map_err(|e| unreachable(e.to_string()))?;
                (docker, LOCAL_CONNECT_TIMEOUT)
            }
            Endpoint::Ssh(destination) => {
                let docker = ssh_transport::connect(
                    destination.clone(),
                    self.shared.ssh_diagnostics.clone(),
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
                .map_err(|e| unreachable(e.to_string()))?;
                (docker, SSH_CONNECT_TIMEOUT)
            }
        };
        if pinged.is_some() {
            tracing::debug!(host = %host, api = %docker.client_version(), "connected to the Docker engine (version from its ping)");
            return Ok(docker);
        }
        match tokio::time::timeout(limit, docker.negotiate_version()).await {
            Ok(Ok(docker)) => {
                tracing::debug!(host = %host, api = %docker.client_version(), "connected to the Docker engine");
                Ok(docker)
            }
            Ok(Err(e)) => Err(
                match DockerError::from_bollard(e, host, "negotiating the API version") {
                    DockerError::Api { message, .. } => unreachable(message),
                    other => other,
                },
            ),
            Err(_) => Err(unreachable(no_answer_within(limit))),
        }
    }
}

/// Why an engine that stayed silent for `limit` counts as unreachable.
fn no_answer_within(limit: Duration) -> String {
    format!("no answer within {} seconds", limit.as_secs())
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
fn docker_config_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => Some(dirs::home_dir()?.join(".docker")),
    }
}

/// The Docker endpoint of the named context (else of `currentContext` in config.json), with its TLS folder
/// when the context stores certificates. `None` for the default context or when nothing is configured.
fn context_endpoint(
    config_dir: &Path,
    context: Option<String>,
) -> Option<(String, Option<PathBuf>)> {
    let name = context.filter(|c| !c.is_empty()).or_else(|| {
        let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
        let config: serde_json::Value = serde_json::from_str(&text).ok()?;
        config.get("currentContext")?.as_str().map(str::to_string)
    })?;
    if name.is_empty() || name == "default" {
        return None;
    }
    // The CLI stores each context under the sha256 of its name.
    let id = hex::encode(Sha256::digest(name.as_bytes()));
    let meta =
        std::fs::read_to_string(config_dir.join("contexts/meta").join(&id).join("meta.json"))
            .ok()?;
    let meta: serde_json::Value = serde_json::from_str(&meta).ok()?;
    let host = meta
        .pointer("/Endpoints/docker/Host")?
        .as_str()?
        .to_string();
    let tls_dir = config_dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.join("ca.pem").is_file().then_some(tls_dir);
    tracing::debug!(context = %name, host = %host, "using the current Docker context");
    Some((host, tls))
}

/// `DOCKER_CERT_PATH`, else `~/.docker`, as the CLI looks for TLS material.
fn cert_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CERT_PATH").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::home_dir().unwrap_or_default().join(".docker")
}

fn parse_host(host: &str, tls: Option<PathBuf>) -> Endpoint {
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return invalid(
                "the unix socket path is empty",
                "use unix:///var/run/docker.sock",
            );
        }
        return Endpoint::Unix(path.to_string());
    }
    if let Some(rest) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        if rest.is_empty() {
            return invalid("the tcp address is empty", "use tcp://HOST:PORT");
        }
        let addr = if rest.contains(':') {
            rest.to_string()
        } else {
            format!("{rest}:{}", if tls.is_some() { 2376 } else { 2375 })
        };
        return Endpoint::Tcp {
            addr: format!("tcp://{addr}"),
            tls,
        };
    }
    if let Some(rest) = host.strip_prefix("https://") {
        return Endpoint::Tcp {
            addr: format!("tcp://{rest}"),
            tls: Some(tls.unwrap_or_else(cert_dir)),
        };
    }
    if let Some(rest) = host.strip_prefix("ssh://") {
        return parse_ssh(rest.trim_end_matches('/'));
    }
    if host.starts_with('/') {
        return Endpoint::Unix(host.to_string());
    }
    invalid(
        "the scheme is not one of unix://, tcp://, ssh://",
        "use unix:///var/run/docker.sock, tcp://HOST:PORT or ssh://USER@HOST",
    )
}

fn parse_ssh(rest: &str) -> Endpoint {
    let authority = rest.split('/').next().unwrap_or_default();
    match SshDestination::parse(authority) {
        Some(destination) => Endpoint::Ssh(destination),
        None => invalid(
            "the ssh address is not USER@HOST[:PORT] or an alias",
            "use ssh://USER@HOST, ssh://USER@HOST:PORT or an alias from ~/.ssh/config (ssh://ALIAS)",
        ),
    }
}

fn invalid(message: &str, fix: &str) -> Endpoint {
    Endpoint::Invalid {
        message: message.to_string(),
        fix: fix.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_host_forms() {
        assert_eq!(
            parse_host("unix:///run/docker.sock", None),
            Endpoint::Unix("/run/docker.sock".into())
        );
        assert_eq!(
            parse_host("tcp://10.0.0.1", None),
            Endpoint::Tcp {
                addr: "tcp://10.0.0.1:2375".into(),
                tls: None
            }
        );
        assert_eq!(
            parse_host("tcp://h:2376", Some(PathBuf::from("/c"))),
            Endpoint::Tcp {
                addr: "tcp://h:2376".into(),
                tls: Some(PathBuf::from("/c"))
            }
        );
        let ssh = |user: Option<&str>, host: &str, port: Option<u16>| {
            Endpoint::Ssh(SshDestination {
                user: user.map(str::to_string),
                host: host.into(),
                port,
            })
        };
        assert_eq!(
            parse_host("ssh://me@box", None),
            ssh(Some("me"), "box", None)
        );
        assert_eq!(parse_host("ssh://alias/", None), ssh(None, "alias", None));
        assert_eq!(
            parse_host("ssh://me@box:2222", None),
            ssh(Some("me"), "box", Some(2222))
        );
        assert!(matches!(
            parse_host("ssh://me@box:x", None),
            Endpoint::Invalid { .. }
        ));
        assert!(matches!(
            parse_host("npipe:////./pipe/x", None),
            Endpoint::Invalid { .. }
        ));
    }

    #[test]
    fn reads_the_current_context_like_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(context_endpoint(dir.path(), None), None);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext": "remote"}"#,
        )
        .unwrap();
        let id = hex::encode(Sha256::digest(b"remote"));
        let meta = dir.path().join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"ssh://me@box","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        assert_eq!(
            context_endpoint(dir.path(), None),
            Some(("ssh://me@box".to_string(), None))
        );
        // DOCKER_CONTEXT wins over config.json; `default` means the local engine.
        assert_eq!(context_endpoint(dir.path(), Some("default".into())), None);
        assert_eq!(context_endpoint(dir.path(), Some("missing".into())), None);
    }

    #[tokio::test]
    async fn a_missing_socket_names_the_host_and_the_fix() {
        let connector = DockerConnector::from_env(Some("unix:///nonexistent/docker.sock".into()));
        let err = connector.client().await.unwrap_err().to_string();
        assert!(err.contains("unix:///nonexistent/docker.sock"), "{err}");
        assert!(err.contains("is dockerd running"), "{err}");
    }
}
