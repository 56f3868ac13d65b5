//! Streamable HTTP transport at `/mcp` on axum: loopback by default, a bearer token anywhere else, browser
//! origins checked, graceful shutdown on SIGTERM and ctrl-c.
//!
//! Listening beyond loopback hands Docker (root-equivalent) to the network, so it is refused without a token.
//! With a token, every request must carry `Authorization: Bearer <token>` or gets 401. Against DNS rebinding,
//! rmcp checks the `Host` header (loopback names only, when bound to loopback) and the `Origin` header: a request
//! whose `Origin` is neither loopback nor one the operator allowed gets 403; requests without `Origin` (non-browser
//! clients) pass. Open sessions are capped (503 beyond). At start the server prints its URL to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::server::DockerServer;
use crate::engine::Engine;

/// The path MCP clients post to.
pub const MCP_PATH: &str = "/mcp";

/// Origins a local browser page may have; anything else needs `--allowed-origin`.
const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
    "http://[::1]:*",
    "https://[::1]:*",
];

/// A token file larger than this is a mistake (a wrong path), not a token.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// Most MCP sessions open at once unless the operator says otherwise. rmcp closes a session on DELETE or after
/// 5 minutes idle; without a cap, a client looping on `initialize` grows memory without end.
pub const DEFAULT_MAX_SESSIONS: u16 = 64;

/// How long open streams may take to finish after a shutdown signal before the server stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The operator's HTTP flags, flattened into the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Serve MCP over streamable HTTP at HOST:PORT (e.g. 127.0.0.1:8811 or localhost:8811) instead of stdio.
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,
    /// Bearer token required by the HTTP transport (required when --http binds beyond loopback). Prefer
    /// --token-file or the environment variable: a flag shows in `ps`.
    #[arg(long, env = "MCP_DOCKER_HTTP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the bearer token from this file (surrounding whitespace is ignored).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Also accept requests whose Origin is this (repeatable), e.g. https://app.example.com:443;
    /// loopback origins are always accepted.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Most MCP sessions open at once over HTTP; more get 503 until one closes or idles out (5 minutes).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_http_sessions: u16,
}

/// Why the HTTP transport could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("both a token (--token or MCP_DOCKER_HTTP_TOKEN) and --token-file are given (fix: give one of them)")]
    TwoTokens,
    #[error("cannot read the token file {path}: {source}")]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {path} is empty or larger than {MAX_TOKEN_FILE_BYTES} bytes (fix: write the token alone into it)")]
    TokenFileContent { path: PathBuf },
    #[error("--allowed-origin {origin:?} is not an origin (fix: give scheme, host and optionally port, e.g. https://app.example.com:443)")]
    BadOrigin { origin: String },
    #[error("--http {addr:?}: cannot resolve the address: {source} (fix: give HOST:PORT, e.g. 127.0.0.1:8811)")]
    Resolve {
        addr: String,
        source: std::io::Error,
    },
    #[error("--http {addr:?} resolves to no address (fix: give HOST:PORT, e.g. 127.0.0.1:8811)")]
    NoAddress { addr: String },
    #[error(
        "refusing to serve MCP on {addr} without a bearer token: anyone who reaches it would control Docker \
         (fix: bind 127.0.0.1, or set a token with --token-file, MCP_DOCKER_HTTP_TOKEN or --token)"
    )]
    PublicWithoutToken { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving HTTP failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// What the HTTP transport serves with, once the flags are read.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub addr: String,
    pub token: Option<String>,
    pub allowed_origins: Vec<String>,
    pub max_sessions: usize,
}

impl HttpArgs {
    /// The options when `--http` is given; `None` means serve stdio.
    pub fn into_options(self) -> Result<Option<HttpOptions>, HttpError> {
        let Some(addr) = self.http else {
            return Ok(None);
        };
        let given = self.token.filter(|t| !t.trim().is_empty());
        let token = match (&self.token_file, given) {
            (Some(_), Some(_)) => return Err(HttpError::TwoTokens),
            (Some(path), None) => Some(read_token_file(path)?),
            (None, given) => given,
        };
        for origin in &self.allowed_origins {
            check_origin(origin)?;
        }
        Ok(Some(HttpOptions {
            addr,
            token,
            allowed_origins: self.allowed_origins,
            max_sessions: usize::from(self.max_http_sessions),
        }))
    }
}

fn read_token_file(path: &std::path::Path) -> Result<String, HttpError> {
    let io_error = |source| HttpError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io_error)?.len();
    let token = std::fs::read_to_string(path).map_err(io_error)?;
    let token = token.trim();
    if token.is_empty() || size > MAX_TOKEN_FILE_BYTES {
        return Err(HttpError::TokenFileContent {
            path: path.to_path_buf(),
        });
    }
    Ok(token.to_string())
}

/// An origin is `scheme://host[:port]` with nothing after it (or `:*` for any port).
fn check_origin(origin: &str) -> Result<(), HttpError> {
    let bad = || HttpError::BadOrigin {
        origin: origin.to_string(),
    };
    let base = origin.strip_suffix(":*").unwrap_or(origin);
    let uri: axum::http::Uri = base.parse().map_err(|_| bad())?;
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/") && !base.ends_with('/');
    if uri.scheme().is_none() || uri.authority().is_none() || !bare {
        return Err(bad());
    }
    Ok(())
}

/// Resolves the address (host names included), refuses a non-loopback one without a token, then serves until
/// SIGTERM or ctrl-c.
pub async fn serve(engine: Arc<Engine>, options: HttpOptions) -> Result<(), HttpError> {
    let addr = resolve(&options.addr).await?;
    check_binding(addr, options.token.as_deref())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| HttpError::Bind { addr, source })?;
    let shutdown = CancellationToken::new();
    let app = router(engine, &options, addr, shutdown.child_token());
    // People and scripts (benches/soak.rs) read this line to find the server.
    eprintln!("mcp-docker-server: serving MCP over streamable HTTP at http://{local}{MCP_PATH}");
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let server =
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tokio::select! {
        served = server => served.map_err(HttpError::Serve),
        () = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("open HTTP connections did not finish within {SHUTDOWN_GRACE:?}; stopping anyway");
            Ok(())
        }
    }
}

async fn resolve(addr: &str) -> Result<SocketAddr, HttpError> {
    let mut found = tokio::net::lookup_host(addr)
        .await
        .map_err(|source| HttpError::Resolve {
            addr: addr.to_string(),
            source,
        })?;
    found.next().ok_or_else(|| HttpError::NoAddress {
        addr: addr.to_string(),
    })
}

/// Loopback is always allowed; anything else needs a bearer token.
pub fn check_binding(addr: SocketAddr, token: Option<&str>) -> Result<(), HttpError> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(HttpError::PublicWithoutToken { addr });
    }
    Ok(())
}

fn router(
    engine: Arc<Engine>,
    options: &HttpOptions,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_origins(
            LOOPBACK_ORIGINS
                .iter()
                .map(|o| o.to_string())
                .chain(options.allowed_origins.iter().cloned()),
        )
        .enforce_origin_validation()
        .with_cancellation_token(shutdown);
    if !addr.ip().is_loopback() {
        // Clients reach a public address by names rmcp cannot know; the token is the defence there.
        config = config.disable_allowed_hosts();
    }
    let sessions = Arc::new(LocalSessionManager::default());
    let shared = Arc::new(super::server::Shared::default());
    let service = StreamableHttpService::new(
        move || Ok(DockerServer::with_shared(engine.clone(), shared.clone())),
        sessions.clone(),
        config,
    );
    let token: Arc<Option<String>> = Arc::new(options.token.clone());
    let session_cap = Arc::new(SessionCap {
        sessions,
        max: options.max_sessions,
        opening: tokio::sync::Mutex::new(()),
    });
    Router::new()
        .route_service(MCP_PATH, service)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(session_deleted_is_ok))
        .layer(axum::middleware::from_fn_with_state(
            session_cap,
            cap_sessions,
        ))
        .layer(axum::middleware::from_fn_with_state(token, require_token))
}

/// The live sessions, and a lock that makes opening one (check the count, then create) one step.
struct SessionCap {
    sessions: Arc<LocalSessionManager>,
    max: usize,
    opening: tokio::sync::Mutex<()>,
}

/// Answers 503 to a request that would open a session (a POST without `Mcp-Session-Id`) when
/// the most allowed are open.
async fn cap_sessions(
    State(cap): State<Arc<SessionCap>>,
    request: Request,
    next: Next,
) -> Response {
    let opens_session = request.method() == axum::http::Method::POST
        && !request.headers().contains_key("mcp-session-id");
    if !opens_session {
        return next.run(request).await;
    }
    let _opening = cap.opening.lock().await;
    if cap.sessions.sessions.read().await.len() >= cap.max {
        let text = format!(
            "too many MCP sessions open ({}): close one with DELETE, or wait 5 minutes for idle ones to expire \
             (the operator sets the cap with --max-http-sessions)",
            cap.max
        );
        return (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
    }
    next.run(request).await
}

/// rmcp answers a session DELETE with 202; rmcp's client takes any 2xx, but the Python SDK's client takes only
/// 200 or 204 and logs "Session termination failed: 202". 200 suits both.
async fn session_deleted_is_ok(request: Request, next: Next) -> Response {
    let is_delete = request.method() == axum::http::Method::DELETE;
    let mut response = next.run(request).await;
    if is_delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

async fn not_found() -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        format!("not found: MCP is served at {MCP_PATH}"),
    )
}

/// Answers 401 unless the request presents the token (when one is set).
async fn require_token(
    State(token): State<Arc<Option<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token.as_deref() else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(presented.as_bytes(), token.as_bytes()) {
        return next.run(request).await;
    }
    let mut response = (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compares without an early exit, so response timing does not reveal how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Cancels `shutdown` on the first SIGTERM or ctrl-c.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down the HTTP transport");
    shutdown.cancel();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_token() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_binding(public, None).is_err());
        assert!(check_binding(public, Some("t")).is_ok());
        assert!(check_binding(local, None).is_ok());
    }

    #[test]
    fn compares_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn origins_need_a_scheme_and_a_host_only() {
        for good in [
            "https://app.example.com",
            "https://app.example.com:443",
            "http://10.0.0.5:*",
        ] {
            assert!(check_origin(good).is_ok(), "{good}");
        }
        for bad in ["app.example.com", "https://app.example.com/path", "*", ""] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
