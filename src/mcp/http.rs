//! Streamable HTTP transport at `/mcp`: loopback by default, bearer token required anywhere else.
//!
//! Listening beyond loopback hands Docker (root-equivalent) to the network, so it is refused without a token.
//! With a token, every request must carry `Authorization: Bearer <token>` or gets 401. rmcp's Host-header
//! check (DNS-rebinding defence) stays on for loopback; for other addresses the token is the defence.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::server::DockerServer;
use crate::engine::Engine;

/// The path MCP clients post to.
pub const MCP_PATH: &str = "/mcp";

type Service = StreamableHttpService<DockerServer, LocalSessionManager>;

/// Refuses a non-loopback address without a token, then serves until the process ends.
pub async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    token: Option<String>,
) -> anyhow::Result<()> {
    let token = token.filter(|t| !t.trim().is_empty());
    check_binding(addr, token.as_deref())?;
    let mut config = StreamableHttpServerConfig::default();
    if !addr.ip().is_loopback() {
        config = config.disable_allowed_hosts();
    }
    let service: Arc<Service> = Arc::new(StreamableHttpService::new(
        move || Ok(DockerServer::new(engine.clone())),
        LocalSessionManager::default().into(),
        config,
    ));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "MCP over streamable HTTP at http://{}{MCP_PATH}",
        listener.local_addr()?
    );
    let token: Arc<Option<String>> = Arc::new(token);
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = service.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let service = service.clone();
                let token = token.clone();
                async move {
                    Ok::<_, Infallible>(route(request, &service, token.as_ref().as_deref()).await)
                }
            });
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!(%peer, %err, "HTTP connection ended with an error");
            }
        });
    }
}

/// Loopback is always allowed; anything else needs a bearer token.
pub fn check_binding(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && token.is_none() {
        anyhow::bail!(
            "refusing to serve MCP on {addr} without a bearer token: anyone who reaches it would control Docker \
             (fix: bind 127.0.0.1, or set a token with --token or MCP_DOCKER_HTTP_TOKEN)"
        );
    }
    Ok(())
}

async fn route(
    request: Request<Incoming>,
    service: &Service,
    token: Option<&str>,
) -> Response<BoxBody<Bytes, Infallible>> {
    if request.uri().path() != MCP_PATH {
        return plain(
            StatusCode::NOT_FOUND,
            format!("not found: MCP is served at {MCP_PATH}"),
        );
    }
    if let Some(token) = token {
        let presented = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            let mut response = plain(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".to_string(),
            );
            response.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    }
    service.handle(request).await
}

fn plain(status: StatusCode, text: String) -> Response<BoxBody<Bytes, Infallible>> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    *response.status_mut() = status;
    response
}

/// Compares without an early exit, so response timing does not reveal how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
}
