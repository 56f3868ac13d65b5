//! The host's receiving sockets on given ports, read from the kernel's socket tables (`/proc/net/tcp`, `tcp6`,
//! `udp`, `udp6`) of this process's network namespace; `planner::preflight` parses them and decides.
//!
//! Each table is read up to a bound. The kernel lists TCP's listening sockets before its connections, so a
//! host with very many connections still shows its listeners within the bound. A table that is missing (no
//! IPv6) or unreadable holds no listeners as far as the plan is concerned: the check can only miss a holder,
//! never invent one.

use planner::model::Protocol;
use planner::preflight::{parse_socket_table, HostListener};
use tokio::io::AsyncReadExt;

/// The socket tables and the protocol each lists.
const TABLES: [(&str, Protocol); 4] = [
    ("/proc/net/tcp", Protocol::Tcp),
    ("/proc/net/tcp6", Protocol::Tcp),
    ("/proc/net/udp", Protocol::Udp),
    ("/proc/net/udp6", Protocol::Udp),
];
/// Most bytes read from one table (about 50,000 sockets).
const MOST_TABLE_BYTES: u64 = 8 << 20;

/// The sockets on this host receiving on the `wanted` ports and protocols.
pub async fn listeners_on(wanted: &[(u16, Protocol)]) -> Vec<HostListener> {
    let mut found = Vec::new();
    if wanted.is_empty() {
        return found;
    }
    for (path, protocol) in TABLES {
        match read_bounded(path).await {
            Ok(table) => found.extend(parse_socket_table(&table, protocol, wanted)),
            Err(e) => tracing::debug!(path, error = %e, "socket table not read"),
        }
    }
    found
}

async fn read_bounded(path: &str) -> std::io::Result<String> {
    let file = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    file.take(MOST_TABLE_BYTES).read_to_end(&mut bytes).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_bound_here_is_found_on_its_port_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let found = listeners_on(&[(port, Protocol::Tcp)]).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].ip.to_string(), "127.0.0.1");
        assert!(listeners_on(&[(port, Protocol::Udp)]).await.is_empty());
    }
}
