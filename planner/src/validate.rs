//! Checks on a normalized project that no single field can make: references, dependency cycles,
//! name syntax, image references, container name and host port clashes.
//!
//! Every error names its path, says what is wrong and how to fix it. Checks that need the raw spelling
//! (port syntax, undeclared named volumes, secrets) happen in `normalize`, where the index is known.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{ErrorKind, SpecError};
use crate::image_ref::ImageRef;
use crate::model::{Project, ServiceSpec};

fn invalid(
    path: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> SpecError {
    SpecError::new(ErrorKind::Invalid, path, message, fix)
}

const NAME_FIX: &str =
    "use letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 63 characters";

/// Compose's project name rule: `^[a-z0-9][a-z0-9_-]*$`, at most 63 characters. It also keeps names safe as
/// file and store key names. The engine checks tool arguments with it too, so there is one rule.
pub fn is_valid_project_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The project name rule as a spec error at the spec's `name` field.
pub fn check_project_name(name: &str) -> Result<(), SpecError> {
    check_project_name_at("name", name)
}

/// The project name rule as a spec error at `path` (`name` in a spec, `project` in a tool argument).
pub fn check_project_name_at(path: &str, name: &str) -> Result<(), SpecError> {
    if is_valid_project_name(name) {
        return Ok(());
    }
    Err(invalid(
        path,
        format!("`{name}` is not a valid project name"),
        "use lowercase letters, digits, `_` and `-`, starting with a letter or digit (for example `my-app`), at most 63 characters",
    ))
}

/// Keys of services, networks, volumes, secrets and configs: `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, short enough for DNS.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Engine names a spec gives (`container_name`, a network's or volume's `name:`): what the engine accepts,
/// and nothing that could break the plan's text apart (a newline or a terminal escape in a name would let a
/// spec forge lines of the plan the human approves).
pub fn is_valid_engine_name(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Checks that concern one service alone; `base` is its path (`services.web`, or the name for one container).
pub fn validate_service(name: &str, spec: &ServiceSpec, base: &str) -> Vec<SpecError> {
    let mut errors = Vec::new();
    if !is_valid_name(name) {
        errors.push(invalid(
            base,
            format!("`{name}` is not a valid service name"),
            NAME_FIX,
        ));
    }
    if !spec.image.is_empty() {
        if let Err(error) = ImageRef::parse(&spec.image) {
            errors.push(invalid(
                format!("{base}.image"),
                error.to_string(),
                "write `name[:tag]`, e.g. `nginx:1.27` or `registry:5000/team/app:v1`",
            ));
        }
    }
    if let Some(container_name) = &spec.container_name {
        if !is_valid_engine_name(container_name) {
            errors.push(invalid(
                format!("{base}.container_name"),
                format!("`{container_name}` is not a valid container name"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or digit",
            ));
        }
        if spec.replicas > 1 {
            errors.push(invalid(
                format!("{base}.container_name"),
                format!("`container_name` is set but the service has {} replicas; each container needs its own name", spec.replicas),
                "remove `container_name`, or run one replica",
            ));
        }
    }
    if let Some(dir) = &spec.working_dir {
        if !dir.starts_with('/') {
            errors.push(invalid(
                format!("{base}.working_dir"),
                format!("`{dir}` is not an absolute path"),
                "write an absolute container path such as `/app`",
            ));
        }
    }
    if spec.replicas > 1 {
        if let Some(published) = spec.ports.iter().find_map(|p| p.published) {
            errors.push(invalid(
                format!("{base}.ports"),
                format!(
                    "host port {published} would be bound by each of the {} replicas",
                    spec.replicas
                ),
                "drop the host ports (let the engine pick them) or run one replica",
            ));
        }
    }
    if let Some(problem) = mac_address_problem(spec) {
        errors.push(invalid(format!("{base}.mac_address"), problem.0, problem.1));
    }
    if spec.network_mode.is_some() && !spec.networks.is_empty() {
        errors.push(invalid(
            format!("{base}.network_mode"),
            "`network_mode` and `networks` cannot be combined",
            "keep one of them",
        ));
    }
    for (i, tmpfs) in spec.tmpfs.iter().enumerate() {
        if !tmpfs.starts_with('/') {
            errors.push(invalid(
                format!("{base}.tmpfs[{i}]"),
                format!("`{tmpfs}` is not an absolute path"),
                "write an absolute container path such as `/tmp`",
            ));
        }
    }
    errors.extend(duplicate_mount_targets(spec, base));
    for key in spec.sysctls.keys() {
        let namespaced = key.starts_with("net.")
            || key.starts_with("fs.mqueue.")
            || matches!(
                key.as_str(),
                "kernel.msgmax"
                    | "kernel.msgmnb"
                    | "kernel.msgmni"
                    | "kernel.sem"
                    | "kernel.shmall"
                    | "kernel.shmmax"
                    | "kernel.shmmni"
                    | "kernel.shm_rmid_forced"
            );
        if !namespaced {
            errors.push(invalid(
                format!("{base}.sysctls.{key}"),
                format!("`{key}` is not a namespaced sysctl; it would change the whole host"),
                "use only `net.*`, `kernel.msg*`, `kernel.sem`, `kernel.shm*` or `fs.mqueue.*`",
            ));
        }
    }
    const ULIMITS: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    for name in spec.ulimits.keys() {
        if !ULIMITS.contains(&name.as_str()) {
            errors.push(invalid(
                format!("{base}.ulimits.{name}"),
                format!("`{name}` is not a ulimit"),
                format!("use one of {}", ULIMITS.join(", ")),
            ));
        }
    }
    if spec.network_mode.as_deref() == Some("host") {
        for key in spec.sysctls.keys().filter(|k| k.starts_with("net.")) {
            errors.push(invalid(
                format!("{base}.sysctls.{key}"),
                format!("`{key}` cannot be set with `network_mode: host`; it would change the host's network"),
                "remove the sysctl or the host network mode",
            ));
        }
    }
    for key in spec.environment.keys().chain(&spec.environment_unset) {
        // A control character in a name would break the plan's lines apart wherever the name is shown.
        if key.is_empty() || key.contains('=') || key.contains(char::is_control) {
            errors.push(invalid(
                format!("{base}.environment"),
                format!("{key:?} is not a variable name"),
                "use names without `=` and without control characters",
            ));
        }
    }
    if let Some(hostname) = &spec.hostname {
        let valid = hostname.len() <= 253
            && hostname.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            errors.push(invalid(
                format!("{base}.hostname"),
                format!("`{hostname}` is not a valid hostname"),
                "use dot-separated labels of letters, digits and `-` (at most 63 characters each)",
            ));
        }
    }
    for (i, server) in spec.dns.iter().enumerate() {
        if server.parse::<std::net::IpAddr>().is_err() {
            errors.push(invalid(
                format!("{base}.dns[{i}]"),
                format!("`{server}` is not an IP address"),
                "list DNS servers by IP address, e.g. `1.1.1.1`",
            ));
        }
    }
    if let Some(signal) = &spec.stop_signal {
        let valid = !signal.is_empty()
            && signal.len() <= 16
            && signal
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '+' | '-'));
        if !valid {
            errors.push(invalid(
                format!("{base}.stop_signal"),
                format!("`{signal}` is not a signal"),
                "write a signal name such as `SIGINT` or a number",
            ));
        }
    }
    if let Some(retries) = spec.healthcheck.as_ref().and_then(|h| h.retries) {
        if retries < 0 {
            errors.push(invalid(
                format!("{base}.healthcheck.retries"),
                "retries cannot be negative",
                "write 0 or more",
            ));
        }
    }
    errors
}

/// A fixed MAC address needs a network of the container's own, and one container to carry it.
fn mac_address_problem(spec: &ServiceSpec) -> Option<(String, String)> {
    spec.mac_address.as_ref()?;
    let mode = spec.network_mode.as_deref().unwrap_or("bridge");
    if matches!(mode, "host" | "none")
        || mode.starts_with("container:")
        || mode.starts_with("service:")
    {
        return Some((
            format!("`mac_address` cannot be set with `network_mode: {mode}`: the container has no interface of its own"),
            "remove mac_address, or attach the service to a network".into(),
        ));
    }
    (spec.replicas > 1).then(|| {
        (
            format!(
                "each of the {} replicas would get the same MAC address",
                spec.replicas
            ),
            "run one replica, or remove mac_address".into(),
        )
    })
}

/// The engine refuses a container path mounted twice ("Duplicate mount point"); say so at plan time.
/// Paths compare cleaned, as the engine compares them (`/data/` is `/data`).
fn duplicate_mount_targets(spec: &ServiceSpec, base: &str) -> Vec<SpecError> {
    let mounts = spec.mounts.iter().map(|m| (m.target.as_str(), "volumes"));
    let tmpfs = spec.tmpfs.iter().map(|t| {
        let path = t.split_once(':').map_or(t.as_str(), |(path, _)| path);
        (path, "tmpfs")
    });
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for (target, field) in mounts.chain(tmpfs) {
        let cleaned = crate::normalize::clean_container_path(target);
        if !seen.insert(cleaned.clone()) {
            errors.push(invalid(
                format!("{base}.{field}"),
                format!("container path `{cleaned}` is mounted more than once"),
                "mount each container path once (`/data` and `/data/` are the same path)",
            ));
        }
    }
    errors
}

/// Every project-wide check. `disabled` holds services switched off by profiles.
pub fn validate(project: &Project, disabled: &BTreeSet<String>) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (key, kind) in project
        .networks
        .keys()
        .map(|k| (k, "networks"))
        .chain(project.volumes.keys().map(|k| (k, "volumes")))
        // A secret's or config's key names its Swarm object and is a line of the plan.
        .chain(project.secrets.keys().map(|k| (k, "secrets")))
        .chain(project.configs.keys().map(|k| (k, "configs")))
    {
        if !is_valid_name(key) {
            errors.push(invalid(
                format!("{kind}.{key}"),
                format!("`{key}` is not a valid name"),
                NAME_FIX,
            ));
        }
    }
    let engine_names = project
        .networks
        .iter()
        .map(|(key, n)| ("networks", key, &n.name))
        .chain(
            project
                .volumes
                .iter()
                .map(|(key, v)| ("volumes", key, &v.name)),
        );
    for (kind, key, name) in engine_names {
        if let Some(name) = name.as_deref().filter(|n| !is_valid_engine_name(n)) {
            errors.push(invalid(
                format!("{kind}.{key}.name"),
                format!("{name:?} is not a valid engine name"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 128",
            ));
        }
    }
    for (name, spec) in &project.services {
        let base = format!("services.{name}");
        errors.extend(validate_service(name, spec, &base));
        for network in spec.networks.keys() {
            if !project.networks.contains_key(network) {
                errors.push(invalid(
                    format!("{base}.networks.{network}"),
                    format!("network `{network}` is not defined"),
                    format!("add `networks: {{{network}: {{}}}}` at the top level, or use a defined network"),
                ));
            }
        }
        for dep in spec.depends_on.keys() {
            if project.services.contains_key(dep) {
                continue;
            }
            let (message, fix) = if disabled.contains(dep) {
                (
                    format!("depends on `{dep}`, which is disabled by profiles"),
                    format!(
                        "activate a profile of `{dep}`, or mark the dependency `required: false`"
                    ),
                )
            } else {
                (
                    format!("depends on undefined service `{dep}`"),
                    "depend on a service defined in this project".to_string(),
                )
            };
            errors.push(invalid(format!("{base}.depends_on.{dep}"), message, fix));
        }
        if let Some(other) = spec
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            if !project.services.contains_key(other) {
                errors.push(invalid(
                    format!("{base}.network_mode"),
                    format!("`service:{other}` names an undefined service"),
                    "name a service of this project",
                ));
            }
        }
    }
    errors.extend(dependency_cycles(project));
    errors.extend(container_name_clashes(project));
    errors.extend(host_port_clashes(project));
    errors.extend(mac_address_clashes(project));
    errors.extend(fixed_addresses(project));
    errors
}

/// A fixed `ipv4_address`/`ipv6_address` must lie in one of its network's `ipam` subnets (the engine refuses
/// it otherwise, after the network exists), and belongs to one container only. An external network's subnets
/// are not known here, so its addresses are left to the engine.
fn fixed_addresses(project: &Project) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (name, spec) in &project.services {
        for (key, attachment) in &spec.networks {
            let Some(network) = project.networks.get(key).filter(|n| !n.external) else {
                continue;
            };
            let subnets: Vec<&str> = network
                .ipam
                .iter()
                .flat_map(|ipam| &ipam.config)
                .filter_map(|pool| pool.subnet.as_deref())
                .collect();
            for (field, address) in [
                ("ipv4_address", &attachment.ipv4_address),
                ("ipv6_address", &attachment.ipv6_address),
            ] {
                let Some(address) = address else { continue };
                let path = format!("services.{name}.networks.{key}.{field}");
                if spec.replicas > 1 {
                    errors.push(invalid(
                        path.clone(),
                        format!(
                            "{} replicas cannot share the fixed address {address}",
                            spec.replicas
                        ),
                        "run one replica, or drop the fixed address",
                    ));
                }
                if !subnets
                    .iter()
                    .any(|subnet| crate::normalize::subnet_contains(subnet, address))
                {
                    errors.push(invalid(
                        path,
                        format!("{address} is in none of network `{key}`'s ipam subnets"),
                        format!("add a subnet holding it under `networks.{key}.ipam.config`, or pick an address inside one"),
                    ));
                }
            }
        }
    }
    errors
}

/// Each cycle once, named in order: `web -> api -> web`. Iterative, so a long dependency chain cannot
/// exhaust the stack.
fn dependency_cycles(project: &Project) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut seen_cycles: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let deps = |node: &str| -> Vec<&str> {
        project.services.get(node).map_or(Vec::new(), |s| {
            s.depends_on
                .keys()
                .filter_map(|d| project.services.get_key_value(d).map(|(k, _)| k.as_str()))
                .collect()
        })
    };
    for start in project.services.keys() {
        if done.contains(start.as_str()) {
            continue;
        }
        // (node, its dependencies, index of the next one to visit)
        let mut stack: Vec<(&str, Vec<&str>, usize)> = vec![(start.as_str(), deps(start), 0)];
        let mut on_stack: BTreeSet<&str> = BTreeSet::from([start.as_str()]);
        while let Some((node, children, next)) = stack.last_mut() {
            let Some(child) = children.get(*next).copied() else {
                done.insert(*node);
                on_stack.remove(*node);
                stack.pop();
                continue;
            };
            *next += 1;
            if done.contains(child) {
                continue;
            }
            if let Some(pos) = on_stack
                .contains(child)
                .then(|| stack.iter().position(|(n, _, _)| *n == child))
                .flatten()
            {
                let mut cycle: Vec<&str> = stack[pos..].iter().map(|(n, _, _)| *n).collect();
                let mut key = cycle.clone();
                key.sort_unstable();
                cycle.push(child);
                if seen_cycles.insert(key) {
                    errors.push(invalid(
                        format!("services.{}.depends_on", cycle[0]),
                        format!("dependency cycle: {}", cycle.join(" -> ")),
                        "remove one of these `depends_on` entries so the services can start in order",
                    ));
                }
                continue;
            }
            on_stack.insert(child);
            stack.push((child, deps(child), 0));
        }
    }
    errors
}

fn container_name_clashes(project: &Project) -> Vec<SpecError> {
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    let mut errors = Vec::new();
    for (service, spec) in &project.services {
        let Some(name) = spec.container_name.as_deref() else {
            continue;
        };
        if let Some(first) = owners.insert(name, service) {
            errors.push(invalid(
                format!("services.{service}.container_name"),
                format!("container name `{name}` is also used by service `{first}`"),
                "give each service its own `container_name`, or remove it",
            ));
        }
    }
    errors
}

/// One MAC address given to two services: the second container could not join the network beside the first.
fn mac_address_clashes(project: &Project) -> Vec<SpecError> {
    let mut first_holder: BTreeMap<&str, &str> = BTreeMap::new();
    let mut errors = Vec::new();
    for (service, spec) in &project.services {
        let Some(mac) = spec.mac_address.as_deref() else {
            continue;
        };
        match first_holder.get(mac) {
            Some(owner) => errors.push(invalid(
                format!("services.{service}.mac_address"),
                format!("MAC address {mac} is already given to service `{owner}`"),
                "give each service its own address, or remove mac_address",
            )),
            None => {
                first_holder.insert(mac, service);
            }
        }
    }
    errors
}

/// The same host port and protocol published twice (an unset or `0.0.0.0`/`::` host IP clashes with any IP).
fn host_port_clashes(project: &Project) -> Vec<SpecError> {
    type Binding<'a> = (Option<&'a str>, &'a str);
    let mut taken: BTreeMap<(u16, crate::model::Protocol), Vec<Binding>> = BTreeMap::new();
    let mut errors = Vec::new();
    let wildcard = |ip: Option<&str>| matches!(ip, None | Some("0.0.0.0") | Some("::") | Some(""));
    for (service, spec) in &project.services {
        for port in &spec.ports {
            let Some(published) = port.published else {
                continue;
            };
            let ip = port.host_ip.as_deref();
            let bound = taken.entry((published, port.protocol)).or_default();
            let clash = bound
                .iter()
                .find(|(other_ip, _)| wildcard(ip) || wildcard(*other_ip) || ip == *other_ip);
            if let Some((_, owner)) = clash {
                let by = if *owner == service.as_str() {
                    "this service".to_string()
                } else {
                    format!("service `{owner}`")
                };
                errors.push(invalid(
                    format!("services.{service}.ports"),
                    format!(
                        "host port {published}/{} is already published by {by}",
                        port.protocol.as_str()
                    ),
                    "publish a different host port",
                ));
            }
            bound.push((ip, service));
        }
    }
    errors
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_compose() {
        for ok in ["demo", "demo_1-a", "1app", &"x".repeat(63)] {
            assert!(is_valid_project_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Demo",
            "-x",
            "_x",
            "a/b",
            "a b",
            "../etc",
            "prøject",
            &"x".repeat(64),
        ] {
            assert!(!is_valid_project_name(bad), "{bad}");
        }
        let error = check_project_name_at("project", "Demo").unwrap_err();
        assert_eq!(error.path, "project");
    }

    #[test]
    fn engine_names_cannot_break_the_plan_text_apart() {
        for ok in ["data", "shared.v1", "my_app-data", &"x".repeat(128)] {
            assert!(is_valid_engine_name(ok), "{ok}");
        }
        for bad in [
            "",
            "evil\n  + nothing",
            "v\u{1b}[2K",
            "v\rw",
            "-x",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(!is_valid_engine_name(bad), "{bad:?}");
        }
    }
}
