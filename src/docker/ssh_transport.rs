//! `ssh://user@host:port`: the Docker API over `ssh ... docker system dial-stdio`, one ssh process per pooled
//! connection.
//!
//! bollard's own ssh transport (used for `ssh://user@host` and `ssh://alias`) hands `user@host:port` to ssh
//! as a single destination, which ssh reads as a host literally named `host:port`. This transport passes the
//! port with `-p` instead and otherwise behaves the same: it runs the system OpenSSH (so `~/.ssh/config`,
//! keys, agents and ProxyJump apply), non-interactively, and speaks HTTP/1 over the process's stdio.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
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
    pub host: String,
    pub port: u16,
}

impl SshDestination {
    /// Parses the authority of an `ssh://` URL that carries a port (`user@host:2222`, `[::1]:2222`).
    pub fn parse(authority: &str) -> Option<SshDestination> {
        let (user, rest) = match authority.rsplit_once('@') {
            Some((user, rest)) => (Some(user.to_string()).filter(|u| !u.is_empty()), rest),
            None => (None, authority),
        };
        let (host, port) = rest.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return None;
        }
        Some(SshDestination {
            user,
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }
}

/// A client that reaches the engine through `ssh -p PORT [-l USER] HOST docker system dial-stdio`.
pub fn connect(
    destination: SshDestination,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let connector = SshConnector {
        destination: Arc::new(destination),
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
        Box::pin(async move { spawn(&destination) })
    }
}

fn spawn(destination: &SshDestination) -> Result<SshIo, std::io::Error> {
    let mut command = Command::new("ssh");
    // BatchMode: stdin carries HTTP, so ssh must never stop to ask for a password or a host key.
    command.args(["-o", "BatchMode=yes", "-p", &destination.port.to_string()]);
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
struct SshIo(TokioIo<SshStream>);

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
    fn parses_authorities_with_ports() {
        assert_eq!(
            SshDestination::parse("me@box:2222").unwrap(),
            SshDestination {
                user: Some("me".into()),
                host: "box".into(),
                port: 2222
            }
        );
        assert_eq!(
            SshDestination::parse("[::1]:22").unwrap(),
            SshDestination {
                user: None,
                host: "::1".into(),
                port: 22
            }
        );
        assert!(SshDestination::parse("box").is_none());
        assert!(SshDestination::parse("box:notaport").is_none());
    }
}
