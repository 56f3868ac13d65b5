//! Host ports held by a process on the host that is not a container: the create that publishes such a port
//! would be made and then fail to start, so the plan is refused with the port and "a process on the host"
//! named. The engine reads the host's socket tables (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`); this parses
//! them and decides, without I/O.
//!
//! A running container's published port is listened on by its `docker-proxy` too: such a listener is the
//! container's, which the container check names, so it is never reported as a host process.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{addresses_overlap, HostFacts};
use crate::error::{ErrorKind, SpecError};
use crate::model::Protocol;
use crate::plan::{Op, Plan, Target};

/// TCP's `LISTEN` state in the socket tables.
const TCP_LISTEN: &str = "0A";
/// An unconnected UDP socket (`TCP_CLOSE` in the tables): one bound to receive, as a server is.
const UDP_BOUND: &str = "07";
/// Most listeners kept from one table: only the plan's own ports are kept, so this is never reached
/// in practice, and bounds the facts when a table is hostile or huge.
pub const MOST_LISTENERS: usize = 4096;

/// A socket on the host bound to receive on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostListener {
    pub ip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

/// The host ports and protocols the plan's containers publish, which are all the listeners worth keeping.
pub fn ports_to_check(plan: &Plan) -> Vec<(u16, Protocol)> {
    let mut ports: Vec<(u16, Protocol)> = starting_targets(plan)
        .flat_map(|t| t.spec.ports.iter())
        .filter_map(|p| Some((p.published?, p.protocol)))
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

fn starting_targets(plan: &Plan) -> impl Iterator<Item = &crate::plan::ContainerTarget> {
    plan.actions
        .iter()
        .filter(|a| matches!(a.op, Op::Create | Op::Replace | Op::Start))
        .filter_map(|a| match &a.target {
            Some(Target::Container(target)) => Some(target),
            _ => None,
        })
}

/// The receiving sockets of one socket table (`/proc/net/tcp` and the like) on the ports in `wanted`.
/// Malformed lines are skipped; at most [`MOST_LISTENERS`] are kept. The addresses are in the host's byte
/// order, as the kernel that wrote the table prints them, so this reads them on the same host.
pub fn parse_socket_table(
    table: &str,
    protocol: Protocol,
    wanted: &[(u16, Protocol)],
) -> Vec<HostListener> {
    let receiving = match protocol {
        Protocol::Tcp => TCP_LISTEN,
        Protocol::Udp => UDP_BOUND,
        Protocol::Sctp => return Vec::new(),
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = fields.next()?;
            let state = fields.nth(1)?;
            if state != receiving {
                return None;
            }
            let (ip, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            if !wanted.contains(&(port, protocol)) {
                return None;
            }
            Some(HostListener {
                ip: table_address(ip)?,
                port,
                protocol,
            })
        })
        .take(MOST_LISTENERS)
        .collect()
}

/// An address as the tables print it: 8 or 32 hex digits, 32-bit words in the host's byte order.
fn table_address(hex: &str) -> Option<IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| {
            hex.get(i * 8..i * 8 + 8)
                .and_then(|w| u32::from_str_radix(w, 16).ok())
        })
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    match (hex.len(), bytes.as_slice()) {
        (8, &[a, b, c, d]) => Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
        (32, _) => <[u8; 16]>::try_from(bytes.as_slice())
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
}

/// A create, replace or start whose host port a host process (not a container's proxy) holds.
pub(super) fn held_by_host_process(plan: &Plan, facts: &HostFacts) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for target in starting_targets(plan) {
        for (index, binding) in target.spec.ports.iter().enumerate() {
            let Some(port) = binding.published else {
                continue;
            };
            let proxied = facts
                .published
                .iter()
                .any(|p| p.port == port && p.protocol == binding.protocol);
            let holder = facts.listeners.iter().find(|l| {
                l.port == port
                    && l.protocol == binding.protocol
                    && addresses_overlap(binding.host_ip.as_deref(), Some(&l.ip.to_string()))
            });
            if let (Some(holder), false) = (holder, proxied) {
                errors.push(port_in_use(&target.service, index, holder));
            }
        }
    }
    errors
}

fn port_in_use(service: &str, index: usize, holder: &HostListener) -> SpecError {
    SpecError {
        kind: ErrorKind::Invalid,
        path: format!("services.{service}.ports[{index}]"),
        message: format!(
            "host port {}/{} is already in use on {} by a process on the host (not a container); the \
             container would be created and then fail to start",
            holder.port,
            holder.protocol.as_str(),
            holder.ip
        ),
        fix: "publish another host port, or stop that process first".into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A table line as the kernel of this host writes it.
    fn line(ip: IpAddr, port: u16, state: &str) -> String {
        let hex: String = match ip {
            IpAddr::V4(v4) => format!("{:08X}", u32::from_ne_bytes(v4.octets())),
            IpAddr::V6(v6) => v6
                .octets()
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        };
        format!(
            "   0: {hex}:{port:04X} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000     0        0 1 1"
        )
    }

    #[test]
    fn listening_sockets_on_wanted_ports_are_read_and_the_rest_skipped() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let any6: IpAddr = "::".parse().unwrap();
        let table = [
            "  sl  local_address rem_address   st tx_queue ...".to_string(),
            line(loopback, 8080, "0A"),
            line(loopback, 8081, "0A"),
            line(loopback, 8080, "01"),
            line(any6, 8080, "0A"),
            "   9: garbage".into(),
            "   9: ZZZZZZZZ:1F90 00000000:0000 0A".into(),
            String::new(),
        ]
        .join("\n");
        let wanted = [(8080, Protocol::Tcp)];
        let found = parse_socket_table(&table, Protocol::Tcp, &wanted);
        let expected: Vec<HostListener> = [loopback, any6]
            .into_iter()
            .map(|ip| HostListener {
                ip,
                port: 8080,
                protocol: Protocol::Tcp,
            })
            .collect();
        assert_eq!(found, expected);
        // A UDP table keeps bound (unconnected) sockets only.
        let udp = format!(
            "header\n{}\n{}",
            line(loopback, 8080, "07"),
            line(loopback, 8080, "01")
        );
        assert_eq!(
            parse_socket_table(&udp, Protocol::Udp, &[(8080, Protocol::Udp)]).len(),
            1
        );
        assert!(parse_socket_table(&table, Protocol::Udp, &wanted).is_empty());
    }
}
