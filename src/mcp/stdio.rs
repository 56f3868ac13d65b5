//! The stdio transport: one JSON-RPC message per line in, one per line out, with JSON-RPC error replies for
//! lines that are not messages.
//!
//! rmcp's own stdio transport silently drops a line that is not JSON; JSON-RPC 2.0 asks for a parse error
//! (-32700, id null), so a client that sent garbage learns why it gets no answer. Well-formed JSON that is not a
//! message gets -32600 (invalid request). Either way the server keeps reading.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::RoleServer;
use serde_json::{json, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};

/// The longest line read; longer ones are discarded with an error reply (rmcp's stdio default too).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// JSON-RPC 2.0: invalid JSON was received.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC 2.0: the JSON sent is not a valid request object.
const INVALID_REQUEST: i64 = -32600;

type Writer = Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

/// Newline-delimited JSON-RPC over any reader and writer (stdin and stdout in the server).
pub struct LineTransport<R> {
    lines: FramedRead<R, AnyDelimiterCodec>,
    out: Writer,
    /// An error reply not yet written, kept here so a cancelled `receive` does not lose it.
    pending_reply: Option<Bytes>,
}

/// The server's stdin and stdout.
pub fn stdio() -> LineTransport<tokio::io::Stdin> {
    LineTransport::new(tokio::io::stdin(), tokio::io::stdout())
}

impl<R: tokio::io::AsyncRead + Unpin + Send> LineTransport<R> {
    pub fn new(read: R, write: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        let codec =
            AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), MAX_LINE_BYTES);
        LineTransport {
            lines: FramedRead::new(read, codec),
            out: Arc::new(Mutex::new(Box::new(write))),
            pending_reply: None,
        }
    }

    async fn flush_pending_reply(&mut self) -> std::io::Result<()> {
        if let Some(reply) = &self.pending_reply {
            write_line(&self.out, reply).await?;
            self.pending_reply = None;
        }
        Ok(())
    }
}

impl<R: tokio::io::AsyncRead + Unpin + Send> Transport<RoleServer> for LineTransport<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move {
            let line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            write_line(&out, &line).await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            self.flush_pending_reply().await.ok()?;
            let line = match self.lines.next().await? {
                Ok(line) => line,
                Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => {
                    let message = format!("message longer than {MAX_LINE_BYTES} bytes");
                    self.pending_reply = Some(error_reply(INVALID_REQUEST, &message, Value::Null));
                    continue;
                }
                Err(AnyDelimiterCodecError::Io(e)) => {
                    tracing::error!("reading stdin failed: {e}");
                    return None;
                }
            };
            match parse_message(&line) {
                Ok(Some(message)) => return Some(message),
                Ok(None) => continue,
                Err(reply) => self.pending_reply = Some(reply),
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.out.lock().await.flush().await
    }
}

/// A message, `None` for a blank line, or the error reply to send instead.
fn parse_message(line: &[u8]) -> Result<Option<RxJsonRpcMessage<RoleServer>>, Bytes> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| error_reply(PARSE_ERROR, &format!("Parse error: {e}"), Value::Null))?;
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| error_reply(INVALID_REQUEST, &format!("Invalid request: {e}"), id))
}

fn error_reply(code: i64, message: &str, id: Value) -> Bytes {
    let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    Bytes::from(reply.to_string())
}

async fn write_line(out: &Writer, line: &[u8]) -> std::io::Result<()> {
    let mut out = out.lock().await;
    out.write_all(line).await?;
    out.write_all(b"\n").await?;
    out.flush().await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply_of(line: &[u8]) -> Value {
        let reply = parse_message(line).err().unwrap();
        serde_json::from_slice(&reply).unwrap()
    }

    #[test]
    fn garbage_gets_a_parse_error_with_a_null_id() {
        let reply = reply_of(b"{not json");
        assert_eq!(reply["error"]["code"], PARSE_ERROR);
        assert_eq!(reply["id"], Value::Null);
    }

    #[test]
    fn json_that_is_no_message_gets_invalid_request_with_its_id() {
        let reply = reply_of(br#"{"jsonrpc":"2.0","id":7,"nomethod":true}"#);
        assert_eq!(reply["error"]["code"], INVALID_REQUEST);
        assert_eq!(reply["id"], 7);
    }

    #[test]
    fn a_request_parses_and_blank_lines_are_skipped() {
        let line = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(matches!(parse_message(line), Ok(Some(_))));
        assert!(matches!(parse_message(b"  \r"), Ok(None)));
    }
}
