//! Whether the registries a plan pulls from answer at all: one TCP connect per registry, all at once, within
//! one time budget, so a plan never waits long on the network. Only reachability is probed (no TLS, no HTTP,
//! no credentials): the pull itself still decides, and a registry that does not answer only yields a plan
//! warning (see `planner::preflight::registries`).

use std::time::Duration;

use futures_util::future::join_all;
use planner::preflight::{RegistryAddress, UnreachableRegistry};
use tokio::net::TcpStream;

/// The registries among `addresses` that did not accept a TCP connection within `budget`, with why.
pub async fn unreachable_registries(
    addresses: &[RegistryAddress],
    budget: Duration,
) -> Vec<UnreachableRegistry> {
    let probes = addresses.iter().map(|address| async move {
        let connect = TcpStream::connect((address.host.as_str(), address.port));
        let reason = match tokio::time::timeout(budget, connect).await {
            Ok(Ok(_)) => return None,
            Ok(Err(e)) => connect_failure(&e),
            Err(_) => format!("no answer within {}ms", budget.as_millis()),
        };
        Some(UnreachableRegistry {
            address: address.clone(),
            reason,
        })
    });
    join_all(probes).await.into_iter().flatten().collect()
}

/// The error in a few words: `connection refused`, or the OS's message (which names a failed name lookup).
fn connect_failure(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(port: u16) -> RegistryAddress {
        RegistryAddress {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_a_listening_one_answers() {
        let listening =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let open = listening.local_addr().map(|a| a.port()).unwrap_or(0);
        let closed = {
            let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            gone.local_addr().map(|a| a.port()).unwrap_or(0)
        };
        let down =
            unreachable_registries(&[local(open), local(closed)], Duration::from_secs(1)).await;
        assert_eq!(down.len(), 1, "{down:?}");
        assert_eq!(down[0].address, local(closed));
        assert_eq!(down[0].reason, "connection refused");
    }
}
