//! One raw service to a `ServiceSpec`: the fields in compose's groups, each group in a short function.
//! The groups run in a fixed order, so a service's errors are reported in the same order every time.

use super::addressing::mac_address;
use super::environment::environment;
use super::files::{file_mounts, FileKind};
use super::lifecycle::{depends_on, healthcheck, replicas, restart};
use super::networking::{expose, extra_hosts, ports, service_networks};
use super::paths::build;
use super::resources::{resources, ulimits};
use super::values::{key_values, to_bool, to_bytes, to_duration_ns, words};
use super::volumes::{volume_mount, MountOrTmpfs};
use super::{Context, Diagnostics, Link};
use crate::compose::{Scalar, Service, StringOrList};
use crate::model::{Logging, NetworkAttachment, PullPolicy, ServiceSpec};
use crate::{compose, naming};

/// Normalizes one service; returns it with its `links`, which need the whole project.
pub fn service(
    cx: &Context,
    name: &str,
    raw: Service,
    diag: &mut Diagnostics,
) -> (ServiceSpec, Vec<Link>) {
    let base = format!("services.{name}");
    let mut spec = ServiceSpec {
        replicas: 1,
        ..ServiceSpec::default()
    };
    image_fields(cx, name, &raw, &base, diag, &mut spec);
    (spec.environment, spec.environment_unset) = environment(cx, &raw, &base, diag);
    port_fields(&raw, &base, diag, &mut spec);
    mount_fields(cx, &raw, &base, diag, &mut spec);
    network_fields(&raw, &base, diag, &mut spec);
    lifecycle_fields(&raw, &base, diag, &mut spec);
    process_fields(&raw, &base, diag, &mut spec);
    spec.resources = resources(&raw, &base, diag);
    spec.memswap_limit = raw
        .memswap_limit
        .as_ref()
        .and_then(|v| memswap_limit(v, &field(&base, "memswap_limit"), diag));
    filesystem_fields(&raw, &base, diag, &mut spec);
    container_fields(&raw, &base, diag, &mut spec);
    spec.sysctls = key_values(raw.sysctls.as_ref(), &field(&base, "sysctls"), diag);
    spec.ulimits = ulimits(&raw, &base, diag);
    privilege_fields(&raw, &base, diag, &mut spec);
    spec.logging = raw.logging.as_ref().map(logging);
    spec.secrets = file_mounts(
        cx,
        raw.secrets.as_deref(),
        &field(&base, "secrets"),
        FileKind::Secret,
        diag,
    );
    spec.configs = file_mounts(
        cx,
        raw.configs.as_deref(),
        &field(&base, "configs"),
        FileKind::Config,
        diag,
    );
    spec.profiles = raw.profiles.clone().unwrap_or_default();
    let links = links(&raw, &base);
    (spec, links)
}

/// The path of one field of the service at `base`.
fn field(base: &str, name: &str) -> String {
    format!("{base}.{name}")
}

/// A boolean field that defaults to false.
fn flag(value: Option<&Scalar>, path: &str, diag: &mut Diagnostics) -> bool {
    value.and_then(|v| to_bool(v, path, diag)).unwrap_or(false)
}

/// `build`, `image` (or the built image's name), `pull_policy`, `command` and `entrypoint`.
fn image_fields(
    cx: &Context,
    name: &str,
    raw: &Service,
    base: &str,
    diag: &mut Diagnostics,
    spec: &mut ServiceSpec,
) {
    spec.build = raw
        .build
        .as_ref()
        .and_then(|b| build(cx, b, &field(base, "build"), diag));
    spec.image = image(cx, name, raw, spec.build.is_some(), base, diag);
    if let Some(policy) = &raw.pull_policy {
        spec.pull_policy = pull_policy(policy, &field(base, "pull_policy"), diag);
    }
    spec.command = raw
        .command
        .as_ref()
        .and_then(|c| words(c, &field(base, "command"), diag));
    spec.entrypoint = raw
        .entrypoint
        .as_ref()
        .and_then(|c| words(c, &field(base, "entrypoint"), diag));
}

/// The image reference: the one written, or `{project}-{service}` for a service that only builds.
fn image(
    cx: &Context,
    name: &str,
    raw: &Service,
    builds: bool,
    base: &str,
    diag: &mut Diagnostics,
) -> String {
    match &raw.image {
        // An empty name would otherwise read as "no image" and reach the engine as `""`.
        Some(image) if image.trim().is_empty() => {
            diag.invalid(
                &field(base, "image"),
                "`image` is empty",
                "write an image reference such as `nginx:1.27`, or remove `image` and use `build: ./dir`",
            );
            String::new()
        }
        Some(image) => image.clone(),
        None if builds => naming::built_image_name(cx.project, name),
        None => {
            diag.invalid(
                base,
                "the service has neither `image` nor `build`",
                "add `image: NAME[:TAG]` or `build: ./dir`",
            );
            String::new()
        }
    }
}

fn pull_policy(policy: &str, path: &str, diag: &mut Diagnostics) -> PullPolicy {
    match policy {
        "always" => PullPolicy::Always,
        "missing" | "if_not_present" => PullPolicy::Missing,
        "never" => PullPolicy::Never,
        "build" => PullPolicy::Build,
        other => {
            diag.invalid(
                path,
                format!("`{other}` is not a pull policy"),
                "use always, missing, never or build",
            );
            PullPolicy::Missing
        }
    }
}

/// `ports` (one binding per port of a range) and `expose`.
fn port_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.ports = raw
        .ports
        .iter()
        .flatten()
        .enumerate()
        .flat_map(|(i, port)| ports(port, &format!("{base}.ports[{i}]"), diag))
        .collect();
    spec.expose = raw
        .expose
        .iter()
        .flatten()
        .enumerate()
        .flat_map(|(i, e)| expose(e, &format!("{base}.expose[{i}]"), diag))
        .collect();
}

/// `volumes`: mounts, and the `tmpfs` entries written in volume form.
fn mount_fields(
    cx: &Context,
    raw: &Service,
    base: &str,
    diag: &mut Diagnostics,
    spec: &mut ServiceSpec,
) {
    for (i, volume) in raw.volumes.iter().flatten().enumerate() {
        let path = format!("{base}.volumes[{i}]");
        match volume_mount(cx, volume, &path, diag) {
            Some(MountOrTmpfs::Mount(m)) => spec.mounts.push(m),
            Some(MountOrTmpfs::Tmpfs(t)) => spec.tmpfs.push(t),
            None => {}
        }
    }
}

/// `network_mode`, `networks` (`default` when neither is given), `hostname`, `domainname`, `mac_address`
/// and the resolver settings (`dns`, `dns_search`, `dns_opt`).
fn network_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.network_mode = raw.network_mode.clone();
    spec.networks = service_networks(raw.networks.as_ref(), &field(base, "networks"), diag);
    if spec.networks.is_empty() && spec.network_mode.is_none() {
        spec.networks
            .insert("default".into(), NetworkAttachment::default());
    }
    spec.hostname = raw.hostname.clone();
    spec.domainname = raw.domainname.clone();
    spec.mac_address = raw
        .mac_address
        .as_deref()
        .and_then(|mac| mac_address(mac, &field(base, "mac_address"), diag));
    spec.dns = text_list(raw.dns.as_ref());
    spec.dns_search = text_list(raw.dns_search.as_ref());
    spec.dns_opt = raw.dns_opt.clone().unwrap_or_default();
}

/// One string or a list of scalars, as texts.
fn text_list(raw: Option<&StringOrList>) -> Vec<String> {
    match raw {
        Some(StringOrList::Str(s)) => vec![s.clone()],
        Some(StringOrList::List(list)) => list.iter().map(Scalar::to_text).collect(),
        None => Vec::new(),
    }
}

/// `memswap_limit`: a size, or `-1` for unlimited swap.
fn memswap_limit(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    match value {
        Scalar::Int(-1) => Some(-1),
        Scalar::Str(s) if s.trim() == "-1" => Some(-1),
        other => to_bytes(other, path, diag),
    }
}

/// `depends_on`, `restart` and `healthcheck`.
fn lifecycle_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.depends_on = depends_on(raw.depends_on.as_ref(), &field(base, "depends_on"), diag);
    spec.restart = restart(raw, base, diag);
    spec.healthcheck = raw
        .healthcheck
        .as_ref()
        .and_then(|h| healthcheck(h, &field(base, "healthcheck"), diag));
}

/// `labels`, `working_dir`, `user`, `group_add`, `init` and how the process is stopped.
fn process_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.labels = key_values(raw.labels.as_ref(), &field(base, "labels"), diag);
    spec.working_dir = raw.working_dir.clone();
    spec.user = raw.user.as_ref().map(Scalar::to_text);
    spec.group_add = raw
        .group_add
        .iter()
        .flatten()
        .map(Scalar::to_text)
        .collect();
    spec.init = raw
        .init
        .as_ref()
        .and_then(|v| to_bool(v, &field(base, "init"), diag));
    spec.stop_grace_period_secs = raw.stop_grace_period.as_ref().and_then(|v| {
        to_duration_ns(v, &field(base, "stop_grace_period"), diag)
            .map(|ns| (ns as u64).div_ceil(1_000_000_000))
    });
    spec.stop_signal = raw.stop_signal.clone();
}

/// `tmpfs` and `read_only`.
fn filesystem_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    match &raw.tmpfs {
        Some(StringOrList::Str(s)) => spec.tmpfs.push(s.clone()),
        Some(StringOrList::List(list)) => spec.tmpfs.extend(list.iter().map(Scalar::to_text)),
        None => {}
    }
    spec.read_only = flag(raw.read_only.as_ref(), &field(base, "read_only"), diag);
}

/// `extra_hosts`, `container_name`, the replica count, `platform`, `runtime`, `stdin_open` and `tty`.
fn container_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.extra_hosts = extra_hosts(raw.extra_hosts.as_ref(), &field(base, "extra_hosts"), diag);
    spec.container_name = raw.container_name.clone();
    spec.replicas = replicas(raw, base, diag);
    spec.platform = raw.platform.clone();
    spec.runtime = raw.runtime.clone();
    spec.stdin_open = flag(raw.stdin_open.as_ref(), &field(base, "stdin_open"), diag);
    spec.tty = flag(raw.tty.as_ref(), &field(base, "tty"), diag);
}

/// Capabilities, `privileged`, `devices`, `security_opt` and the `pid`/`ipc`/`cgroup` namespaces (policy
/// judges them later).
fn privilege_fields(raw: &Service, base: &str, diag: &mut Diagnostics, spec: &mut ServiceSpec) {
    spec.cap_drop = raw.cap_drop.clone().unwrap_or_default();
    spec.cap_add = raw.cap_add.clone().unwrap_or_default();
    spec.privileged = flag(raw.privileged.as_ref(), &field(base, "privileged"), diag);
    spec.devices = raw.devices.iter().flatten().map(device).collect();
    spec.security_opt = raw.security_opt.clone().unwrap_or_default();
    spec.pid = raw.pid.clone();
    spec.ipc = raw.ipc.clone();
    spec.cgroup = raw.cgroup.as_ref().and_then(|mode| {
        let path = field(base, "cgroup");
        let known = matches!(mode.as_str(), "host" | "private");
        let result = if known {
            Ok(mode.clone())
        } else {
            Err(format!("`{mode}` is not a cgroup namespace mode"))
        };
        diag.check(result, &path, "use `private` or `host`")
    });
}

/// A device in the short form `source:target:permissions`.
fn device(device: &compose::Device) -> String {
    match device {
        compose::Device::Short(s) => s.clone(),
        compose::Device::Long {
            source,
            target,
            permissions,
        } => {
            let target = target.clone().unwrap_or_else(|| source.clone());
            let permissions = permissions.clone().unwrap_or_else(|| "rwm".into());
            format!("{source}:{target}:{permissions}")
        }
    }
}

fn logging(raw: &compose::LoggingRaw) -> Logging {
    Logging {
        driver: raw.driver.clone().unwrap_or_default(),
        options: raw
            .options
            .iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_ref().map(Scalar::to_text).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// `links: ["db:database"]`, applied once every service is known.
fn links(raw: &Service, base: &str) -> Vec<Link> {
    raw.links
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, link)| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            Link {
                target: target.to_string(),
                alias: alias.to_string(),
                path: format!("{base}.links[{i}]"),
            }
        })
        .collect()
}
