//! The engine requests bollard cannot express, sent over a connection of our own to the same engine.
//!
//! - **A create with a fixed MAC address.** Engine API 1.41 takes it only as the container config's
//!   `MacAddress` (per-endpoint MACs came with API 1.44), and bollard 0.21's `ContainerCreateBody` no longer
//!   has that field. Such a container is created here: bollard's body, serialized, plus `MacAddress`, posted
//!   to the API version in use, over the same kind of connection (unix socket, plain TCP or ssh). Everything
//!   after the create (network connects, uploads, start) goes through bollard as for any other container.
//!   TLS engines are not reached this way; the create fails with an error that says so.
//! - **A container's fixed MAC address**, which import compares: the inspect's `Config.MacAddress`, which
//!   bollard 0.21's inspect model lacks too (the address on a network does not say whether it was fixed).
//! - **Version negotiation by `/_ping`**, as the Docker CLI does it: the engine names its API version in the
//!   `Api-Version` header of a ping, which it answers in well under a millisecond, where bollard's
//!   negotiation asks `/version`, which costs the engine several (it gathers its components' versions).

use std::time::Duration;

use bollard::models::{ContainerCreateBody, ContainerCreateResponse};
use bollard::{ClientVersion, Docker};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::error::DockerError;
use super::ssh_transport::{self, SshDestination, SshDiagnostics};

/// How long the whole create (connect, send, answer) may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(120);
/// The most of an answer read; a create answers with an id and a few warnings, a ping with `OK`. A longer
/// answer is cut here: an error's message may repeat what the client sent (an unknown log option's key).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The most of a container inspect read: its environment and labels are bounded by the spec's size (1 MiB).
const MAX_INSPECT_BYTES: usize = 4 * 1024 * 1024;
/// The ping's header that names the engine's API version.
const API_VERSION_HEADER: &str = "api-version";

/// How to open a second connection to the engine the client is negotiated with.
#[derive(Clone)]
pub(crate) enum RawRoute {
    Unix(String),
    Tcp(String),
    Ssh {
        destination: SshDestination,
        diagnostics: SshDiagnostics,
    },
    /// An engine behind TLS: not reachable by this module.
    Tls,
}

/// Where and what to create: the bollard body plus the fields bollard's model lacks.
pub(crate) struct RawCreate<'a> {
    pub name: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub body: &'a ContainerCreateBody,
    pub mac_address: &'a str,
}

/// Creates the container described by `create` and returns its id. Errors read as bollard's would.
pub(crate) async fn create_container(
    route: &RawRoute,
    docker: &Docker,
    host: &str,
    create: RawCreate<'_>,
) -> Result<String, DockerError> {
    let label = create.name.unwrap_or("the container");
    if matches!(route, RawRoute::Tls) {
        return Err(DockerError::InvalidAction(format!(
            "mac_address: {host} is reached over TLS, where a fixed MAC address cannot be sent to engine API 1.41; \
             remove mac_address or reach the engine over its unix socket or ssh"
        )));
    }
    let context = format!("creating container {label}");
    let request = create_request(docker, &create).map_err(|message| DockerError::Api {
        context: context.clone(),
        status: 0,
        message,
    })?;
    let answer = tokio::time::timeout(CREATE_TIMEOUT, send(route, host, request, MAX_ANSWER_BYTES))
        .await
        .map_err(|_| DockerError::Unreachable {
            host: host.to_string(),
            reason: format!(
                "no answer to the create of {label} within {} seconds",
                CREATE_TIMEOUT.as_secs()
            ),
        })??;
    let Answer {
        status, body, cut, ..
    } = answer;
    if status.is_success() {
        let created: ContainerCreateResponse =
            serde_json::from_slice(&body).map_err(|e| DockerError::Api {
                context,
                status: status.as_u16(),
                message: format!("the engine's answer is not a create response: {e}"),
            })?;
        return Ok(created.id);
    }
    Err(DockerError::from_bollard(
        bollard::errors::Error::DockerResponseServerError {
            status_code: status.as_u16(),
            message: engine_message(&body, cut),
        },
        host,
        &context,
    ))
}

/// `POST /vX.Y/containers/create?name=..&platform=..` with bollard's body and `MacAddress` added.
fn create_request(docker: &Docker, create: &RawCreate<'_>) -> Result<Request<Full<Bytes>>, String> {
    let mut body = serde_json::to_value(create.body).map_err(|e| e.to_string())?;
    let Value::Object(fields) = &mut body else {
        return Err("the container config did not serialize to an object".into());
    };
    fields.insert(
        "MacAddress".into(),
        Value::String(create.mac_address.into()),
    );
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(name) = create.name {
        query.append_pair("name", name);
    }
    if let Some(platform) = create.platform {
        query.append_pair("platform", platform);
    }
    let path = versioned(docker, &format!("/containers/create?{}", query.finish()));
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    engine_request(Method::POST, &path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| e.to_string())
}

/// A request to the engine at `path`, with the `Host` header every engine request carries here.
fn engine_request(method: Method, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "docker")
}

/// `path` under the API version bollard negotiated (`/v1.41/...`).
fn versioned(docker: &Docker, path: &str) -> String {
    let version = docker.client_version();
    format!(
        "/v{}.{}{path}",
        version.major_version, version.minor_version
    )
}

/// The engine's API version as its ping names it (`1.41`), or `None` when the ping names none. Only a unix
/// socket or plain TCP engine is pinged this way (an ssh ping would start an ssh process of its own).
pub(crate) async fn ping_api_version(
    route: &RawRoute,
    host: &str,
) -> Result<Option<ClientVersion>, DockerError> {
    let request = engine_request(Method::GET, "/_ping")
        .body(Full::new(Bytes::new()))
        .map_err(|e| DockerError::Unreachable {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    let answer = send(route, host, request, MAX_ANSWER_BYTES).await?;
    if !answer.status.is_success() {
        return Err(DockerError::Unreachable {
            host: host.to_string(),
            reason: format!(
                "the engine answered its ping with {}: {}",
                answer.status,
                engine_message(&answer.body, answer.cut)
            ),
        });
    }
    Ok(answer
        .headers
        .get(API_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_api_version))
}

/// The container config's `MacAddress` of container `id`, lowercase: a fixed address, or `None` when the
/// engine picks one. `id` is the engine's own (hex); anything else is refused rather than put in a path.
pub(crate) async fn fixed_mac_address(
    route: &RawRoute,
    docker: &Docker,
    host: &str,
    id: &str,
) -> Result<Option<String>, DockerError> {
    let context = format!("inspecting container {id}");
    let api_error = |status: StatusCode, message: String| DockerError::Api {
        context: context.clone(),
        status: status.as_u16(),
        message,
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DockerError::InvalidAction(format!(
            "{context}: `{id}` is not an engine id"
        )));
    }
    let path = versioned(docker, &format!("/containers/{id}/json"));
    let request = engine_request(Method::GET, &path)
        .body(Full::new(Bytes::new()))
        .map_err(|e| api_error(StatusCode::OK, e.to_string()))?;
    let answer = send(route, host, request, MAX_INSPECT_BYTES).await?;
    if !answer.status.is_success() || answer.cut {
        return Err(DockerError::from_bollard(
            bollard::errors::Error::DockerResponseServerError {
                status_code: answer.status.as_u16(),
                message: engine_message(&answer.body, answer.cut),
            },
            host,
            &context,
        ));
    }
    let inspected: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| api_error(answer.status, format!("not an inspect answer: {e}")))?;
    Ok(inspected
        .pointer("/Config/MacAddress")
        .and_then(Value::as_str)
        .filter(|mac| !mac.is_empty())
        .map(str::to_lowercase))
}

/// `1.41` as a version; anything else is `None`.
fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// What the engine answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// At most the bound the request was sent with.
    body: Bytes,
    /// The engine said more than `body` holds.
    cut: bool,
}

/// Sends `request` over a fresh connection along `route`; reads at most `limit` bytes of the answer.
async fn send(
    route: &RawRoute,
    host: &str,
    request: Request<Full<Bytes>>,
    limit: usize,
) -> Result<Answer, DockerError> {
    let unreachable = |reason: String| DockerError::Unreachable {
        host: host.to_string(),
        reason,
    };
    match route {
        RawRoute::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            exchange(TokioIo::new(stream), request, host, limit).await
        }
        RawRoute::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            exchange(TokioIo::new(stream), request, host, limit).await
        }
        RawRoute::Ssh {
            destination,
            diagnostics,
        } => {
            let io = ssh_transport::dial(destination, diagnostics.clone())
                .map_err(|e| unreachable(e.to_string()))?;
            exchange(io, request, host, limit).await
        }
        RawRoute::Tls => Err(DockerError::InvalidAction(format!(
            "{host} is reached over TLS, which this server reaches only through bollard"
        ))),
    }
}

/// One HTTP/1.1 exchange on `io`, reading at most `limit` bytes of the answer.
async fn exchange<I>(
    io: I,
    request: Request<Full<Bytes>>,
    host: &str,
    limit: usize,
) -> Result<Answer, DockerError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let unreachable = |reason: String| DockerError::Unreachable {
        host: host.to_string(),
        reason,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let (body, cut) = read_bounded(response.into_body(), limit)
            .await
            .map_err(|e| unreachable(format!("reading the engine's answer: {e}")))?;
        Ok(Answer {
            status,
            headers,
            body,
            cut,
        })
    }
    .await;
    driver.abort();
    result
}

/// The first `limit` bytes of `body`, and whether there was more.
async fn read_bounded<B>(mut body: B, limit: usize) -> Result<(Bytes, bool), B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut kept = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let room = limit - kept.len();
        if data.len() > room {
            kept.extend_from_slice(&data[..room]);
            return Ok((kept.freeze(), true));
        }
        kept.extend_from_slice(&data);
    }
    Ok((kept.freeze(), false))
}

/// The engine's `{"message": ...}`, else the body as text; a `cut` body's message as far as it was read.
fn engine_message(body: &[u8], cut: bool) -> String {
    if cut {
        let text = String::from_utf8_lossy(body);
        let message = text.strip_prefix(r#"{"message":""#).unwrap_or(&text);
        return format!("{message}... (cut at {} KiB)", body.len() / 1024);
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse_from_the_ping_header() {
        let parsed = parse_api_version("1.41").map(|v| (v.major_version, v.minor_version));
        assert_eq!(parsed, Some((1, 41)));
        for bad in ["", "1", "1.x", "v1.41", "1.41.2"] {
            assert!(parse_api_version(bad).is_none(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn an_answer_above_the_bound_is_cut_and_its_message_kept() {
        let mut answer = br#"{"message":"unknown log opt 'k"#.to_vec();
        answer.resize(MAX_ANSWER_BYTES + 10, b'k');
        let Ok((kept, cut)) = read_bounded(Full::new(Bytes::from(answer)), MAX_ANSWER_BYTES).await;
        assert!(cut);
        assert_eq!(kept.len(), MAX_ANSWER_BYTES);
        let message = engine_message(&kept, cut);
        assert!(message.starts_with("unknown log opt 'kkk"), "{message}");
        assert!(message.ends_with("(cut at 64 KiB)"), "{message}");

        let Ok((short, cut)) =
            read_bounded(Full::new(Bytes::from_static(b"OK")), MAX_ANSWER_BYTES).await;
        assert_eq!((short.as_ref(), cut), (&b"OK"[..], false));
    }
}
