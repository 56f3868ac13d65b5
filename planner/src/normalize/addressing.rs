//! Network addressing: a network's `ipam` block and a service's fixed `ipv4_address`/`ipv6_address`.
//!
//! Every address is parsed here, so the engine never sees a malformed subnet or address and the error names
//! the field. Whether a fixed address lies inside one of its network's subnets needs the whole project and is
//! checked in `validate`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Diagnostics;
use crate::compose::{IpamPoolRaw, IpamRaw, Scalar};
use crate::model::{Ipam, IpamPool};

/// Most address pools one network may declare.
pub const MAX_IPAM_POOLS: usize = 16;
/// Most reserved `aux_addresses` one pool may declare.
pub const MAX_AUX_ADDRESSES: usize = 64;

/// A network's `ipam`, each pool checked.
pub(super) fn ipam(raw: &IpamRaw, path: &str, diag: &mut Diagnostics) -> Ipam {
    let pools = raw.config.as_deref().unwrap_or_default();
    if pools.len() > MAX_IPAM_POOLS {
        diag.invalid(
            &format!("{path}.config"),
            format!("{} address pools, more than {MAX_IPAM_POOLS}", pools.len()),
            format!("declare at most {MAX_IPAM_POOLS} pools"),
        );
    }
    let options = raw
        .options
        .iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_ref().map(Scalar::to_text).unwrap_or_default(),
            )
        })
        .collect();
    Ipam {
        driver: raw.driver.clone(),
        config: pools
            .iter()
            .take(MAX_IPAM_POOLS)
            .enumerate()
            .map(|(i, pool)| ipam_pool(pool, &format!("{path}.config[{i}]"), diag))
            .collect(),
        options,
    }
}

fn ipam_pool(raw: &IpamPoolRaw, path: &str, diag: &mut Diagnostics) -> IpamPool {
    let subnet = raw.subnet.as_ref().and_then(|s| {
        checked(
            parse_cidr(s).map(|_| s.clone()),
            &format!("{path}.subnet"),
            diag,
        )
    });
    let gateway = raw.gateway.as_ref().and_then(|g| {
        checked(
            parse_ip(g).map(|_| g.clone()),
            &format!("{path}.gateway"),
            diag,
        )
    });
    let ip_range = raw.ip_range.as_ref().and_then(|r| {
        checked(
            parse_cidr(r).map(|_| r.clone()),
            &format!("{path}.ip_range"),
            diag,
        )
    });
    let aux = raw.aux_addresses.clone().unwrap_or_default();
    if aux.len() > MAX_AUX_ADDRESSES {
        diag.invalid(
            &format!("{path}.aux_addresses"),
            format!(
                "{} reserved addresses, more than {MAX_AUX_ADDRESSES}",
                aux.len()
            ),
            format!("reserve at most {MAX_AUX_ADDRESSES} addresses"),
        );
    }
    let aux_addresses = aux
        .into_iter()
        .take(MAX_AUX_ADDRESSES)
        .filter_map(|(host, ip)| {
            let field = format!("{path}.aux_addresses.{host}");
            checked(parse_ip(&ip).map(|_| ip.clone()), &field, diag).map(|ip| (host, ip))
        })
        .collect();
    IpamPool {
        subnet,
        gateway,
        ip_range,
        aux_addresses,
    }
}

/// A service's fixed IPv4 address on one network.
pub(super) fn ipv4_address(text: &str, path: &str, diag: &mut Diagnostics) -> Option<String> {
    let parsed = text
        .parse::<Ipv4Addr>()
        .map_err(|_| format!("`{text}` is not an IPv4 address"));
    diag.check(parsed, path, "write an address such as `172.28.0.10`")
        .map(|ip| ip.to_string())
}

/// A service's fixed IPv6 address on one network.
pub(super) fn ipv6_address(text: &str, path: &str, diag: &mut Diagnostics) -> Option<String> {
    let parsed = text
        .parse::<Ipv6Addr>()
        .map_err(|_| format!("`{text}` is not an IPv6 address"));
    diag.check(parsed, path, "write an address such as `fd00:28::10`")
        .map(|_| text.to_string())
}

/// A service's fixed MAC address: six hex octets joined by `:` or `-`, unicast, as lowercase `xx:..:xx`.
pub(super) fn mac_address(text: &str, path: &str, diag: &mut Diagnostics) -> Option<String> {
    diag.check(
        parse_mac(text),
        path,
        "write a unicast address such as `02:42:ac:11:00:02`",
    )
}

fn parse_mac(text: &str) -> Result<String, String> {
    let not_mac = || format!("`{text}` is not a MAC address");
    let octets: Vec<u8> = text
        .split([':', '-'])
        .map(|octet| match octet.len() {
            // Two hex digits: `from_str_radix` alone takes a sign (`+2`).
            2 if octet.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u8::from_str_radix(octet, 16).map_err(|_| not_mac())
            }
            _ => Err(not_mac()),
        })
        .collect::<Result<_, _>>()?;
    let separators: Vec<char> = text.chars().filter(|c| matches!(c, ':' | '-')).collect();
    if octets.len() != 6 || separators.windows(2).any(|w| w[0] != w[1]) {
        return Err(not_mac());
    }
    if octets[0] & 1 == 1 {
        return Err(format!(
            "`{text}` is a multicast address; an interface needs a unicast one"
        ));
    }
    // The kernel refuses it at start ("cannot assign requested address"), after the engine created the container.
    if octets.iter().all(|o| *o == 0) {
        return Err(format!(
            "`{text}` is the all-zero address, which no interface can take"
        ));
    }
    let hex: Vec<String> = octets.iter().map(|o| format!("{o:02x}")).collect();
    Ok(hex.join(":"))
}

fn checked(result: Result<String, String>, path: &str, diag: &mut Diagnostics) -> Option<String> {
    diag.check(
        result,
        path,
        "write an address such as `172.28.0.1`, or a subnet in CIDR form such as `172.28.0.0/16`",
    )
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("`{text}` is not an IP address"))
}

/// `address/prefix`, the prefix no longer than the address.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("`{text}` is not a subnet in CIDR form (`172.28.0.0/16`)");
    let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
    let address: IpAddr = address.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(bad());
    }
    Ok((address, prefix))
}

/// Whether `address` lies inside the subnet `cidr` (false when either does not parse).
pub fn subnet_contains(cidr: &str, address: &str) -> bool {
    let (Ok((net, prefix)), Ok(ip)) = (parse_cidr(cidr), address.parse::<IpAddr>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_are_unicast_six_octets() {
        assert_eq!(
            parse_mac("02:42:AC:11:00:02").as_deref(),
            Ok("02:42:ac:11:00:02")
        );
        assert_eq!(
            parse_mac("02-42-ac-11-00-02").as_deref(),
            Ok("02:42:ac:11:00:02")
        );
        for bad in [
            "",
            "02:42:ac:11:00",
            "02:42:ac:11:00:02:03",
            "02:42-ac:11:00:02",
            "0242.ac11.0002",
            "02:42:ac:11:00:0g",
            "2:42:ac:11:00:02",
            "01:00:5e:00:00:01",
            "+2:42:ac:11:00:02",
            "02:42:ac:11:00:+f",
            "00:00:00:00:00:00",
            "00-00-00-00-00-00",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn subnets_contain_their_addresses() {
        assert!(subnet_contains("172.28.0.0/16", "172.28.5.9"));
        assert!(!subnet_contains("172.28.0.0/16", "172.29.0.1"));
        assert!(subnet_contains("0.0.0.0/0", "8.8.8.8"));
        assert!(subnet_contains("fd00:28::/64", "fd00:28::10"));
        assert!(!subnet_contains("fd00:28::/64", "172.28.0.1"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0.0").is_err());
    }
}
