//! One raw service to a `ServiceSpec`: the fields in compose's groups, each group in a short function,
//! in the order their errors are reported.

use super::environment::environment;
use super::files::file_mounts;
use super::lifecycle::{depends_on, healthcheck, replicas, restart};
use super::networking::{expose, extra_hosts, ports, service_networks};
use super::paths::build;
use super::resources::resources;
use super::values::{key_values, to_bool, to_duration_ns, to_int, words};
use super::volumes::{volume_mount, MountOrTmpfs};
use super::{Context, Diagnostics, Link};
use crate::compose::{Scalar, Service, StringOrList, UlimitRaw};
use crate::model::{Logging, NetworkAttachment, PullPolicy, ServiceSpec, Ulimit};
use crate::{compose, naming};

/// Normalizes one service; returns it with its `links`, which need the whole project.
pub fn service(
    cx: &Context,
    name: &str,
    raw: Service,
    diag: &mut Diagnostics,
) -> (ServiceSpec, Vec<Link>) {
    let base = format!("services.{name}");
    let p = |field: &str| format!("{base}.{field}");
    let mut spec = ServiceSpec {
        replicas: 1,
        ..ServiceSpec::default()
    };

    spec.build = raw
        .build
        .as_ref()
        .and_then(|b| build(cx, b, &p("build"), diag));
    spec.image = match (&raw.image, &spec.build) {
        // An empty name would otherwise read as "no image" and reach the engine as `""`.
        (Some(image), _) if image.trim().is_empty() => {
            diag.invalid(
                &p("image"),
                "`image` is empty",
                "write an image reference such as `nginx:1.27`, or remove `image` and use `build: ./dir`",
            );
            String::new()
        }
        (Some(image), _) => image.clone(),
        (None, Some(_)) => naming::built_image_name(cx.project, name),
        (None, None) => {
            diag.invalid(
                &base,
                "the service has neither `image` nor `build`",
                "add `image: NAME[:TAG]` or `build: ./dir`",
            );
            String::new()
        }
    };
    if let Some(policy) = &raw.pull_policy {
        spec.pull_policy = match policy.as_str() {
            "always" => PullPolicy::Always,
            "missing" | "if_not_present" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "build" => PullPolicy::Build,
            other => {
                diag.invalid(
                    &p("pull_policy"),
                    format!("`{other}` is not a pull policy"),
                    "use always, missing, never or build",
                );
                PullPolicy::Missing
            }
        };
    }
    spec.command = raw
        .command
        .as_ref()
        .and_then(|c| words(c, &p("command"), diag));
    spec.entrypoint = raw
        .entrypoint
        .as_ref()
        .and_then(|c| words(c, &p("entrypoint"), diag));
    (spec.environment, spec.environment_unset) = environment(cx, &raw, &base, diag);
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
    for (i, volume) in raw.volumes.iter().flatten().enumerate() {
        let path = format!("{base}.volumes[{i}]");
        match volume_mount(cx, volume, &path, diag) {
            Some(MountOrTmpfs::Mount(m)) => spec.mounts.push(m),
            Some(MountOrTmpfs::Tmpfs(t)) => spec.tmpfs.push(t),
            None => {}
        }
    }
    spec.network_mode = raw.network_mode.clone();
    spec.networks = service_networks(raw.networks.as_ref(), &p("networks"), diag);
    if spec.networks.is_empty() && spec.network_mode.is_none() {
        spec.networks
            .insert("default".into(), NetworkAttachment::default());
    }
    spec.depends_on = depends_on(raw.depends_on.as_ref(), &p("depends_on"), diag);
    spec.restart = restart(&raw, &base, diag);
    spec.healthcheck = raw
        .healthcheck
        .as_ref()
        .and_then(|h| healthcheck(h, &p("healthcheck"), diag));
    spec.labels = key_values(raw.labels.as_ref(), &p("labels"), diag);
    spec.working_dir = raw.working_dir.clone();
    spec.user = raw.user.as_ref().map(Scalar::to_text);
    spec.hostname = raw.hostname.clone();
    spec.init = raw.init.as_ref().and_then(|v| to_bool(v, &p("init"), diag));
    spec.stop_grace_period_secs = raw.stop_grace_period.as_ref().and_then(|v| {
        to_duration_ns(v, &p("stop_grace_period"), diag)
            .map(|ns| (ns as u64).div_ceil(1_000_000_000))
    });
    spec.stop_signal = raw.stop_signal.clone();
    spec.resources = resources(&raw, &base, diag);
    match &raw.tmpfs {
        Some(StringOrList::Str(s)) => spec.tmpfs.push(s.clone()),
        Some(StringOrList::List(list)) => spec.tmpfs.extend(list.iter().map(Scalar::to_text)),
        None => {}
    }
    spec.read_only = raw
        .read_only
        .as_ref()
        .and_then(|v| to_bool(v, &p("read_only"), diag))
        .unwrap_or(false);
    spec.extra_hosts = extra_hosts(raw.extra_hosts.as_ref(), &p("extra_hosts"), diag);
    spec.container_name = raw.container_name.clone();
    spec.replicas = replicas(&raw, &base, diag);
    spec.platform = raw.platform.clone();
    spec.runtime = raw.runtime.clone();
    spec.stdin_open = raw
        .stdin_open
        .as_ref()
        .and_then(|v| to_bool(v, &p("stdin_open"), diag))
        .unwrap_or(false);
    spec.tty = raw
        .tty
        .as_ref()
        .and_then(|v| to_bool(v, &p("tty"), diag))
        .unwrap_or(false);
    spec.sysctls = key_values(raw.sysctls.as_ref(), &p("sysctls"), diag);
    for (key, limit) in raw.ulimits.iter().flatten() {
        let path = format!("{base}.ulimits.{key}");
        let pair = match limit {
            UlimitRaw::Single(n) => to_int(n, &path, diag).map(|n| (n, n)),
            UlimitRaw::Pair { soft, hard } => to_int(soft, &format!("{path}.soft"), diag)
                .zip(to_int(hard, &format!("{path}.hard"), diag)),
        };
        if let Some((soft, hard)) = pair {
            if soft > hard {
                diag.invalid(
                    &path,
                    format!("soft limit {soft} is above hard limit {hard}"),
                    "make `soft` at most `hard`",
                );
            }
            spec.ulimits.insert(key.clone(), Ulimit { soft, hard });
        }
    }
    spec.dns = match &raw.dns {
        Some(StringOrList::Str(s)) => vec![s.clone()],
        Some(StringOrList::List(list)) => list.iter().map(Scalar::to_text).collect(),
        None => Vec::new(),
    };
    spec.cap_drop = raw.cap_drop.clone().unwrap_or_default();
    spec.cap_add = raw.cap_add.clone().unwrap_or_default();
    spec.privileged = raw
        .privileged
        .as_ref()
        .and_then(|v| to_bool(v, &p("privileged"), diag))
        .unwrap_or(false);
    spec.devices = raw
        .devices
        .iter()
        .flatten()
        .map(|d| match d {
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
        })
        .collect();
    spec.security_opt = raw.security_opt.clone().unwrap_or_default();
    spec.pid = raw.pid.clone();
    spec.ipc = raw.ipc.clone();
    spec.logging = raw.logging.as_ref().map(|l| Logging {
        driver: l.driver.clone().unwrap_or_default(),
        options: l
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
    });
    spec.secrets = file_mounts(cx, raw.secrets.as_deref(), &p("secrets"), true, diag);
    spec.configs = file_mounts(cx, raw.configs.as_deref(), &p("configs"), false, diag);
    spec.profiles = raw.profiles.clone().unwrap_or_default();

    let links = raw
        .links
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
        .collect();
    (spec, links)
}
