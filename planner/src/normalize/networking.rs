//! A service's network fields: published ports, `expose`, network attachments and `extra_hosts`.

use std::collections::BTreeMap;

use super::{addressing, ports, Diagnostics};
use crate::compose::{ExtraHosts, HostAddresses, Port, Scalar, ServiceNetwork, ServiceNetworks};
use crate::model::NetworkAttachment;

pub(super) fn ports(
    port: &Port,
    path: &str,
    diag: &mut Diagnostics,
) -> Vec<crate::model::PortBinding> {
    let fix = "write a port such as \"8080:80\", \"127.0.0.1:8080:80/udp\" or 80, with ports from 1 to 65535";
    let result = match port {
        Port::Number(n) => ports::parse_short(&n.to_string()),
        Port::Short(s) => ports::parse_short(s),
        Port::Long(long) => (|| {
            let target = long.target.as_ref().ok_or("the long form needs `target`")?;
            let target = ports::parse_range(&target.to_text())?;
            let published = match &long.published {
                None => None,
                Some(p) => ports::parse_published(&p.to_text())?,
            };
            if let Some(ip) = &long.host_ip {
                ports::check_host_ip(ip)?;
            }
            let protocol = long
                .protocol
                .as_deref()
                .map(ports::parse_protocol)
                .transpose()?
                .unwrap_or_default();
            if let Some(mode) = &long.mode {
                if mode != "host" && mode != "ingress" {
                    return Err(format!("`{mode}` is not a port mode; use host or ingress"));
                }
            }
            ports::expand(target, published, long.host_ip.clone(), protocol)
        })(),
    };
    diag.check(result, path, fix).unwrap_or_default()
}

pub(super) fn expose(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Vec<String> {
    let text = value.to_text();
    let (range, protocol) = match text.split_once('/') {
        Some((r, p)) => (r.to_string(), ports::parse_protocol(p)),
        None => (text.clone(), Ok(Default::default())),
    };
    let result = protocol.and_then(|protocol| {
        ports::parse_range(&range).map(|(a, b)| {
            (a..=b)
                .map(|port| format!("{port}/{}", protocol.as_str()))
                .collect()
        })
    });
    diag.check(
        result,
        path,
        "write a container port such as 8080 or \"8080/udp\"",
    )
    .unwrap_or_default()
}

pub(super) fn service_networks(
    raw: Option<&ServiceNetworks>,
    path: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, NetworkAttachment> {
    match raw {
        None => BTreeMap::new(),
        Some(ServiceNetworks::List(list)) => list
            .iter()
            .map(|n| (n.clone(), NetworkAttachment::default()))
            .collect(),
        Some(ServiceNetworks::Map(map)) => map
            .iter()
            .map(|(n, body)| {
                let attachment = body
                    .as_ref()
                    .map(|b| attachment(b, &format!("{path}.{n}"), diag))
                    .unwrap_or_default();
                (n.clone(), attachment)
            })
            .collect(),
    }
}

/// One network's long form: aliases and fixed addresses.
fn attachment(raw: &ServiceNetwork, path: &str, diag: &mut Diagnostics) -> NetworkAttachment {
    NetworkAttachment {
        aliases: raw.aliases.clone().unwrap_or_default(),
        ipv4_address: raw
            .ipv4_address
            .as_ref()
            .and_then(|ip| addressing::ipv4_address(ip, &format!("{path}.ipv4_address"), diag)),
        ipv6_address: raw
            .ipv6_address
            .as_ref()
            .and_then(|ip| addressing::ipv6_address(ip, &format!("{path}.ipv6_address"), diag)),
    }
}

pub(super) fn extra_hosts(
    raw: Option<&ExtraHosts>,
    path: &str,
    diag: &mut Diagnostics,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |host: &str, ip: &str, path: &str, diag: &mut Diagnostics| {
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || (ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err()) {
            diag.invalid(
                path,
                format!("`{host}:{ip}` is not `host:ip`"),
                "write `name:1.2.3.4` or `name:host-gateway`",
            );
        } else {
            out.push(format!("{host}:{ip}"));
        }
    };
    match raw {
        None => {}
        Some(ExtraHosts::List(list)) => {
            for (i, entry) in list.iter().enumerate() {
                let (host, ip) = entry
                    .split_once('=')
                    .or_else(|| entry.split_once(':'))
                    .unwrap_or((entry, ""));
                push(host, ip, &format!("{path}[{i}]"), diag);
            }
        }
        Some(ExtraHosts::Map(map)) => {
            for (host, ips) in map {
                let ips = match ips {
                    HostAddresses::One(ip) => vec![ip.clone()],
                    HostAddresses::Many(ips) => ips.clone(),
                };
                for ip in ips {
                    push(host, &ip, &format!("{path}.{host}"), diag);
                }
            }
        }
    }
    out
}
