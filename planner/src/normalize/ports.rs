//! Port syntaxes: `80`, `"9000:80"`, `"127.0.0.1:9000:80/udp"`, `"[::1]:80:80"`, `"127.0.0.1::80"`,
//! ranges `"8000-8001:8000-8001"`, and the pieces of the long form. Ranges expand to one binding per port.

use std::net::IpAddr;

use crate::model::{PortBinding, Protocol};

pub fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        _ => Err(format!("`{text}` is not a protocol; use tcp, udp or sctp")),
    }
}

/// One port number, 1..=65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a port number"))?;
    match u16::try_from(n) {
        Ok(0) | Err(_) => Err(format!("port {n} is out of range; ports are 1 to 65535")),
        Ok(port) => Ok(port),
    }
}

/// `"8000"` or `"8000-8010"` as an inclusive range.
pub fn parse_range(text: &str) -> Result<(u16, u16), String> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_port(a)?, parse_port(b)?);
            if a > b {
                return Err(format!("range `{text}` ends before it starts"));
            }
            Ok((a, b))
        }
        None => parse_port(text).map(|p| (p, p)),
    }
}

/// A host port or range; empty, `0` (or `0-0`) leave the choice to the engine, as compose does: `None`.
pub fn parse_published(text: &str) -> Result<Option<(u16, u16)>, String> {
    let text = text.trim();
    let is_zero = |t: &str| t.trim().parse::<u64>() == Ok(0);
    let any_port = match text.split_once('-') {
        Some((a, b)) => is_zero(a) && is_zero(b),
        None => text.is_empty() || is_zero(text),
    };
    if any_port {
        Ok(None)
    } else {
        parse_range(text).map(Some)
    }
}

pub fn check_host_ip(ip: &str) -> Result<(), String> {
    ip.parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| format!("`{ip}` is not an IP address"))
}

/// Expands a (target range, published range) pair into bindings.
pub fn expand(
    target: (u16, u16),
    published: Option<(u16, u16)>,
    host_ip: Option<String>,
    protocol: Protocol,
) -> Result<Vec<PortBinding>, String> {
    let count = target.1 - target.0;
    if let Some(published) = published {
        if published.1 - published.0 != count {
            return Err(format!(
                "host range {}-{} and container range {}-{} differ in size; give ranges of the same length",
                published.0, published.1, target.0, target.1
            ));
        }
    }
    Ok((0..=count)
        .map(|i| PortBinding {
            target: target.0 + i,
            published: published.map(|p| p.0 + i),
            host_ip: host_ip.clone(),
            protocol,
        })
        .collect())
}

/// The short string form.
pub fn parse_short(text: &str) -> Result<Vec<PortBinding>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, proto)) => (spec, parse_protocol(proto)?),
        None => (text, Protocol::Tcp),
    };
    let (host_ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: `[` is never closed"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("`{text}`: expected `:` after `[{ip}]`"))?;
        (Some(ip.to_string()), rest.to_string())
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 2 {
            let ip = parts[..parts.len() - 2].join(":");
            (Some(ip), parts[parts.len() - 2..].join(":"))
        } else {
            (None, spec.to_string())
        }
    };
    if let Some(ip) = &host_ip {
        check_host_ip(ip)?;
    }
    let (published, target) = match rest.split_once(':') {
        Some((p, t)) => (parse_published(p)?, parse_range(t)?),
        None if host_ip.is_some() => {
            return Err(format!("`{text}` has a host IP but no container port"))
        }
        None => (None, parse_range(&rest)?),
    };
    if let Some(p) = published {
        if target.0 == target.1 && p.0 != p.1 {
            return Err(format!(
                "`{text}` publishes a host range for one container port; this server needs one host port per container port"
            ));
        }
    }
    expand(target, published, host_ip, protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(
        target: u16,
        published: Option<u16>,
        ip: Option<&str>,
        protocol: Protocol,
    ) -> PortBinding {
        PortBinding {
            target,
            published,
            host_ip: ip.map(str::to_string),
            protocol,
        }
    }

    #[test]
    fn short_forms() {
        assert_eq!(
            parse_short("80"),
            Ok(vec![one(80, None, None, Protocol::Tcp)])
        );
        assert_eq!(
            parse_short("9000:80"),
            Ok(vec![one(80, Some(9000), None, Protocol::Tcp)])
        );
        assert_eq!(
            parse_short("127.0.0.1:9000:80/udp"),
            Ok(vec![one(80, Some(9000), Some("127.0.0.1"), Protocol::Udp)])
        );
        assert_eq!(
            parse_short("[::1]:80:80"),
            Ok(vec![one(80, Some(80), Some("::1"), Protocol::Tcp)])
        );
        assert_eq!(
            parse_short("127.0.0.1::80"),
            Ok(vec![one(80, None, Some("127.0.0.1"), Protocol::Tcp)])
        );
        assert_eq!(parse_short("8000-8001:9000-9001").map(|v| v.len()), Ok(2));
        // Host port 0: the engine picks a free port, as with compose.
        assert_eq!(
            parse_short("0:80"),
            Ok(vec![one(80, None, None, Protocol::Tcp)])
        );
        assert_eq!(
            parse_short("127.0.0.1:0:80/udp"),
            Ok(vec![one(80, None, Some("127.0.0.1"), Protocol::Udp)])
        );
        assert!(parse_short("80:0").is_err());
        assert!(parse_short("0").is_err());
        assert!(parse_short("70000").is_err());
        assert!(parse_short("80/xtp").is_err());
        assert!(parse_short("8000-8001:80-82").is_err());
        assert!(parse_short("banana").is_err());
    }
}
