//! `ssh://` hosts: the Docker API over `ssh ... docker system dial-stdio`, one ssh process per pooled
//! connection, as the Docker CLI does it.
//!
//! It runs the system OpenSSH, so `~/.ssh/config` (aliases, ports, keys, agents, ProxyJump) applies exactly
//! as in a terminal. bollard's own ssh transport is not used: it hands `user@host:port` to ssh as one
//! destination (which ssh reads as a host named `host:port`), and keeps its control sockets in the current
//! directory on systems without a state directory. ssh runs non-interactively (stdin carries HTTP), so an
//! unknown host key or a password prompt fails instead of hanging; ssh's own last words are kept for the
//! error message.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where to ssh to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshDestination {
    pub user: Option<String>,
    /// Host name, address or `~/.ssh/config` alias.
    pub host: String,
    pub port: Option<u16>,
}

impl SshDestination {
    /// Parses the authority of an `ssh://` URL: `alias`, `user@host`, `user@host:2222`, `[::1]:2222`.
    pub fn parse(authority: &str) -> Option<SshDestination> {
        let (user, rest) = match authority.rsplit_once('@') {
            Some((user, rest)) => (Some(user.to_string()).filter(|u| !u.is_empty()), rest),
            None => (None, authority),
        };
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().ok()?),
                None if after.is_empty() => None,
                None => return None,
            };
            (host, port)
        } else {
            match rest.rsplit_once(':') {
                Some((host, p)) => (host, Some(p.parse().ok()?)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(SshDestination {
            user,
            host: host.to_string(),
            port,
        })
    }
}

/// The last line ssh wrote on stderr ("Permission denied (publickey)."), for error messages.
pub type SshDiagnostics = Arc<Mutex<Option<String>>>;

/// A client that reaches the engine through `ssh [-p PORT] [-l USER] HOST docker system dial-stdio`;
/// ssh's complaints land in `diagnostics`.
pub fn connect(
    destination: SshDestination,
    diagnostics: SshDiagnostics,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let connector = SshConnector {
        destination: Arc::new(destination),
        diagnostics,
    };
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let transport = move |mut request: BollardRequest| {
        let client = client.clone();
        async move {
            // The pool keys connections by URI authority; every request goes to the same engine.
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            *request.uri_mut() = format!("http://docker{path}").parse()?;
            Ok(client.request(request).await?)
        }
    };
    Docker::connect_with_custom_transport(transport, Some("http://docker"), timeout_secs, version)
}

#[derive(Clone)]
struct SshConnector {
    destination: Arc<SshDestination>,
    diagnostics: SshDiagnostics,
}

impl tower_service::Service<http::Uri> for SshConnector {
    type Response = SshIo;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<SshIo, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let destination = self.destination.clone();
        let diagnostics = self.diagnostics.clone();
        Box::pin(async move { spawn(&destination, diagnostics) })
    }
}

/// Starts one ssh connection to the engine, outside any pool (for requests bollard's models cannot express).
pub(crate) fn dial(
    destination: &SshDestination,
    diagnostics: SshDiagnostics,
) -> Result<SshIo, std::io::Error> {
    spawn(destination, diagnostics)
}

fn spawn(
    destination: &SshDestination,
    diagnostics: SshDiagnostics,
) -> Result<SshIo, std::io::Error> {
    let mut command = Command::new("ssh");
    // BatchMode: stdin carries HTTP, so ssh must never stop to ask for a password or a host key.
    command.args(["-o", "BatchMode=yes"]);
    if let Some(port) = destination.port {
        command.args(["-p", &port.to_string()]);
    }
    if let Some(user) = &destination.user {
        command.args(["-l", user]);
    }
    command
        .args(["--", &destination.host, "docker", "system", "dial-stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let missing = || std::io::Error::other("ssh started without its standard streams");
    let stdin = child.stdin.take().ok_or_else(missing)?;
    let stdout = child.stdout.take().ok_or_else(missing)?;
    if let Some(stderr) = child.stderr.take() {
        let host = destination.host.clone();
        // ssh explains its failures (auth, host keys) on stderr; keep them in the server log.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::warn!(target: "ssh", host = %host, "{line}");
                if let Ok(mut last) = diagnostics.lock() {
                    *last = Some(line);
                }
            }
        });
    }
    Ok(SshIo(TokioIo::new(SshStream {
        _child: child,
        stdin,
        stdout,
    })))
}

/// The ssh process's stdout (responses) and stdin (requests) as one duplex stream.
struct SshStream {
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

/// hyper's view of an ssh connection.
pub(crate) struct SshIo(TokioIo<SshStream>);

impl Connection for SshIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for SshIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_ssh_authorities() {
        let parse = |a| SshDestination::parse(a).unwrap();
        assert_eq!(
            parse("me@box:2222"),
            SshDestination {
                user: Some("me".into()),
                host: "box".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            parse("alias"),
            SshDestination {
                user: None,
                host: "alias".into(),
                port: None
            }
        );
        assert_eq!(
            parse("[::1]:22"),
            SshDestination {
                user: None,
                host: "::1".into(),
                port: Some(22)
            }
        );
        assert_eq!(
            parse("me@[::1]"),
            SshDestination {
                user: Some("me".into()),
                host: "::1".into(),
                port: None
            }
        );
        assert!(SshDestination::parse("box:notaport").is_none());
        assert!(SshDestination::parse("me@").is_none());
    }
}
