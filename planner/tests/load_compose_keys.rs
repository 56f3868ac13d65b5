//! The compose keys of issue 15: `ipam`, fixed addresses, resolver and identity settings, `group_add`,
//! `cgroup` and `memswap_limit`, loaded, hashed and refused where they are malformed or widen host access.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use load_support::{assert_error, errors, ok};
use planner::hash::{network_config_hash, service_config_hash};
use planner::model::*;
use planner::plan::ExternalDigests;
use planner::ErrorKind;

const PIHOLE: &str = r#"name: t
services:
  dns:
    image: pihole/pihole:2024.07.0
    dns_search: [lan, home.arpa]
    dns_opt: ["ndots:2", timeout:1]
    group_add: [audio, 1001]
    domainname: example.internal
    cgroup: private
    memswap_limit: 1g
    networks:
      dns_net:
        ipv4_address: 172.28.0.10
        ipv6_address: fd00:28::10
  tunnel:
    image: cloudflare/cloudflared:2024.6.1
    dns_search: single.lan
    memswap_limit: -1
    networks:
      dns_net: {ipv4_address: 172.28.0.2}
networks:
  dns_net:
    enable_ipv6: true
    ipam:
      driver: default
      options: {foo: bar}
      config:
        - subnet: 172.28.0.0/16
          gateway: 172.28.0.1
          ip_range: 172.28.5.0/24
          aux_addresses: {router: 172.28.1.5}
        - subnet: fd00:28::/64
"#;

#[test]
fn every_new_key_reaches_the_model() {
    let p = ok(PIHOLE);
    let dns = &p.services["dns"];
    assert_eq!(dns.dns_search, ["lan", "home.arpa"]);
    assert_eq!(dns.dns_opt, ["ndots:2", "timeout:1"]);
    assert_eq!(dns.group_add, ["audio", "1001"]);
    assert_eq!(dns.domainname.as_deref(), Some("example.internal"));
    assert_eq!(dns.cgroup.as_deref(), Some("private"));
    assert_eq!(dns.memswap_limit, Some(1 << 30));
    let net = &dns.networks["dns_net"];
    assert_eq!(net.ipv4_address.as_deref(), Some("172.28.0.10"));
    assert_eq!(net.ipv6_address.as_deref(), Some("fd00:28::10"));
    let tunnel = &p.services["tunnel"];
    assert_eq!(tunnel.dns_search, ["single.lan"]);
    assert_eq!(tunnel.memswap_limit, Some(-1));
    let network = &p.networks["dns_net"];
    assert!(network.enable_ipv6);
    let ipam = network.ipam.as_ref().unwrap();
    assert_eq!(ipam.driver.as_deref(), Some("default"));
    assert_eq!(ipam.options["foo"], "bar");
    assert_eq!(ipam.config.len(), 2);
    assert_eq!(ipam.config[0].gateway.as_deref(), Some("172.28.0.1"));
    assert_eq!(ipam.config[0].ip_range.as_deref(), Some("172.28.5.0/24"));
    assert_eq!(ipam.config[0].aux_addresses["router"], "172.28.1.5");
}

#[test]
fn the_new_keys_enter_the_config_hashes() {
    let p = ok(PIHOLE);
    let digests = ExternalDigests::default();
    let before = service_config_hash(&p, "dns", &digests);
    for change in [
        |s: &mut ServiceSpec| s.dns_search.push("x".into()),
        |s: &mut ServiceSpec| s.dns_opt.clear(),
        |s: &mut ServiceSpec| s.group_add.clear(),
        |s: &mut ServiceSpec| s.domainname = None,
        |s: &mut ServiceSpec| s.cgroup = None,
        |s: &mut ServiceSpec| s.memswap_limit = Some(-1),
        |s: &mut ServiceSpec| {
            s.networks.get_mut("dns_net").unwrap().ipv4_address = Some("172.28.0.11".into())
        },
    ] {
        let mut changed = p.clone();
        change(changed.services.get_mut("dns").unwrap());
        assert_ne!(service_config_hash(&changed, "dns", &digests), before);
    }
    let network_before = network_config_hash(&p, "dns_net");
    let mut changed = p.clone();
    let ipam = changed
        .networks
        .get_mut("dns_net")
        .unwrap()
        .ipam
        .as_mut()
        .unwrap();
    ipam.config[0].gateway = Some("172.28.0.254".into());
    assert_ne!(network_config_hash(&changed, "dns_net"), network_before);
}

#[test]
fn networks_without_the_new_keys_keep_their_hash() {
    // Written before these keys existed: a plain network's hash must not move, or every project would
    // plan a network replace after the upgrade.
    let p = ok("name: t\nservices: {web: {image: x}}\n");
    let old_form = serde_json::json!({
        "name": "t_default",
        "driver": null,
        "internal": false,
        "labels": {},
    });
    assert_eq!(
        network_config_hash(&p, "default"),
        planner::hash::hash_value(&old_form)
    );
}

#[test]
fn malformed_addresses_name_their_field() {
    let bad = r#"name: t
services:
  web:
    image: x
    cgroup: shared
    networks:
      n: {ipv4_address: 172.28.0.300}
      m: {ipv6_address: "fd00::zz"}
networks:
  n:
    ipam:
      config:
        - subnet: 172.28.0.0/33
          gateway: not-an-ip
          aux_addresses: {r: 1.2.3}
  m: {}
"#;
    let errs = errors(bad);
    assert_error(&errs, ErrorKind::Invalid, "services.web.cgroup", "private");
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.web.networks.n.ipv4_address",
        "IPv4",
    );
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.web.networks.m.ipv6_address",
        "IPv6",
    );
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "networks.n.ipam.config[0].subnet",
        "CIDR",
    );
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "networks.n.ipam.config[0].gateway",
        "IP address",
    );
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "networks.n.ipam.config[0].aux_addresses.r",
        "IP address",
    );
}

#[test]
fn a_fixed_address_must_lie_in_a_subnet_and_belong_to_one_container() {
    let outside = r#"name: t
services:
  web:
    image: x
    deploy: {replicas: 2}
    networks:
      n: {ipv4_address: 10.9.0.5}
networks:
  n:
    ipam: {config: [{subnet: 172.28.0.0/16}]}
"#;
    let errs = errors(outside);
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.web.networks.n.ipv4_address",
        "ipam subnets",
    );
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.web.networks.n.ipv4_address",
        "replicas",
    );
}

#[test]
fn ipam_pools_are_bounded() {
    let pools: String = (0..17)
        .map(|i| format!("        - subnet: 10.{i}.0.0/16\n"))
        .collect();
    let yaml = format!(
        "name: t\nservices: {{web: {{image: x}}}}\nnetworks:\n  n:\n    ipam:\n      config:\n{pools}"
    );
    let errs = errors(&yaml);
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "networks.n.ipam.config",
        "at most 16",
    );
}

#[test]
fn host_cgroup_namespace_is_refused_by_default_policy() {
    let errs = errors("name: t\nservices: {web: {image: x, cgroup: host}}\n");
    assert_error(
        &errs,
        ErrorKind::Policy,
        "services.web.cgroup",
        "host_cgroup",
    );
}

#[test]
fn an_external_network_cannot_set_ipam() {
    let errs = errors(
        "name: t\nservices: {web: {image: x}}\nnetworks: {n: {external: true, ipam: {config: [{subnet: 10.0.0.0/8}]}}}\n",
    );
    assert_error(&errs, ErrorKind::Invalid, "networks.n", "ipam");
}
