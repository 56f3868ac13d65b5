//! Raw compose types to the one canonical `model::Project`: every short form expanded, every unit
//! converted, every relative path resolved (and policy-checked where it is resolved).
//!
//! Conversions follow `docker compose` v2: a service with no `networks` joins `default`, a built image is
//! named `{project}-{service}`, secrets mount at `/run/secrets/NAME` and configs at `/NAME`, env files sit
//! under `environment`, and a bare `KEY` takes its value from the server's environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::compose::{
    self, Build, ComposeFile, DependsOnList, EnvFileItem, EnvFiles, EnvValueRaw, Environment,
    ExtraHosts, FileRef, HealthcheckRaw, HostAddresses, KeyValues, Port, Scalar, Service,
    ServiceNetworks, StringOrList, TopFile, TopNetwork, TopVolume, UlimitRaw, VolumeLong,
    VolumeMount,
};
use crate::error::{ErrorKind, SpecError};
use crate::load::Host;
use crate::model::{
    BuildSpec, DependsCondition, DependsOn, EnvValue, FileMount, FileSource, Healthcheck, Logging,
    Mount, MountKind, NetworkAttachment, NetworkSpec, Project, PullPolicy, Resources,
    RestartPolicy, ServiceSpec, Ulimit, VolumeSpec,
};
use crate::naming;
use crate::policy::{self, Policy};

pub mod dotenv;
mod ports;
mod shell;
mod units;

pub use ports::parse_short as parse_port;
pub use shell::split_words;
pub use units::{parse_bytes, parse_duration_ns, parse_nano_cpus};

/// What normalization reads besides the raw file.
pub struct Context<'a> {
    pub project: &'a str,
    /// Absolute (canonical when it exists).
    pub project_dir: &'a Path,
    pub host: &'a dyn Host,
    pub policy: &'a Policy,
    /// Interpolation variables: the server's environment, then `.env`.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub declared: &'a Declared,
}

/// Top-level names services may refer to.
#[derive(Debug, Default)]
pub struct Declared {
    pub volumes: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub configs: BTreeSet<String>,
}

impl Declared {
    pub fn of(file: &ComposeFile) -> Self {
        Declared {
            volumes: file.volumes.keys().cloned().collect(),
            secrets: file.secrets.keys().cloned().collect(),
            configs: file.configs.keys().cloned().collect(),
        }
    }
}

/// Errors and warnings collected across a whole load.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<SpecError>,
    pub warnings: Vec<String>,
}

impl Diagnostics {
    fn invalid(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors
            .push(SpecError::new(ErrorKind::Invalid, path, message, fix));
    }

    fn unsupported(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors
            .push(SpecError::new(ErrorKind::Unsupported, path, message, fix));
    }

    /// Keeps `Ok` values; turns `Err(message)` into an `Invalid` error at `path`.
    fn check<T>(&mut self, result: Result<T, String>, path: &str, fix: &str) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.invalid(path, message, fix);
                None
            }
        }
    }
}

/// `links: ["db:database"]` entries, applied once every service is known.
#[derive(Debug, Clone)]
pub struct Link {
    pub target: String,
    pub alias: String,
    pub path: String,
}

/// Named volumes a service mounts (for `load_service`, which treats them as existing volumes).
pub fn named_volumes(raw: &Service) -> Vec<String> {
    let mut names = Vec::new();
    for volume in raw.volumes.iter().flatten() {
        match volume {
            VolumeMount::Short(s) => {
                let mut parts = s.split(':');
                if let (Some(src), Some(_)) = (parts.next(), parts.next()) {
                    if !is_path_like(src) {
                        names.push(src.to_string());
                    }
                }
            }
            VolumeMount::Long(long) if long.kind.as_deref() == Some("volume") => {
                names.extend(long.source.clone());
            }
            VolumeMount::Long(_) => {}
        }
    }
    names
}

#[allow(clippy::too_many_arguments)]
pub fn project(
    cx: &Context,
    name: String,
    services: BTreeMap<String, Service>,
    networks: BTreeMap<String, Option<TopNetwork>>,
    volumes: BTreeMap<String, Option<TopVolume>>,
    secrets: BTreeMap<String, TopFile>,
    configs: BTreeMap<String, TopFile>,
    diag: &mut Diagnostics,
) -> Project {
    let mut project = Project {
        name,
        ..Project::default()
    };
    for (key, raw) in networks {
        project
            .networks
            .insert(key.clone(), network(&key, raw.unwrap_or_default(), diag));
    }
    for (key, raw) in volumes {
        project
            .volumes
            .insert(key.clone(), volume(&key, raw.unwrap_or_default(), diag));
    }
    for (key, raw) in secrets {
        if let Some(source) = file_source(cx, "secrets", &key, raw, diag) {
            project.secrets.insert(key, source);
        }
    }
    for (key, raw) in configs {
        if let Some(source) = file_source(cx, "configs", &key, raw, diag) {
            project.configs.insert(key, source);
        }
    }
    let mut links = Vec::new();
    for (key, raw) in services {
        let (spec, service_links) = service(cx, &key, raw, diag);
        links.extend(service_links.into_iter().map(|l| (key.clone(), l)));
        project.services.insert(key, spec);
    }
    apply_links(&mut project, links, diag);
    drop_optional_dependencies(&mut project, diag);
    let uses_default = project
        .services
        .values()
        .any(|s| s.networks.contains_key("default"));
    if uses_default {
        project.networks.entry("default".into()).or_default();
    }
    project
}

fn network(key: &str, raw: TopNetwork, diag: &mut Diagnostics) -> NetworkSpec {
    let path = format!("networks.{key}");
    let (external, external_name) = external(raw.external.as_ref(), &path, diag);
    if external && (raw.driver.is_some() || raw.labels.is_some() || raw.internal.is_some()) {
        diag.invalid(
            &path,
            "an external network cannot also set driver, labels or internal",
            "remove them, or drop `external`",
        );
    }
    NetworkSpec {
        driver: raw.driver,
        labels: key_values(raw.labels.as_ref(), &format!("{path}.labels"), diag),
        internal: raw
            .internal
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.internal"), diag))
            .unwrap_or(false),
        external,
        name: raw.name.or(external_name),
    }
}

fn volume(key: &str, raw: TopVolume, diag: &mut Diagnostics) -> VolumeSpec {
    let path = format!("volumes.{key}");
    let (external, external_name) = external(raw.external.as_ref(), &path, diag);
    if external && (raw.driver.is_some() || raw.labels.is_some()) {
        diag.invalid(
            &path,
            "an external volume cannot also set driver or labels",
            "remove them, or drop `external`",
        );
    }
    VolumeSpec {
        driver: raw.driver,
        labels: key_values(raw.labels.as_ref(), &format!("{path}.labels"), diag),
        external,
        name: raw.name.or(external_name),
    }
}

fn external(
    raw: Option<&compose::External>,
    path: &str,
    diag: &mut Diagnostics,
) -> (bool, Option<String>) {
    match raw {
        None => (false, None),
        Some(compose::External::Flag(flag)) => (
            to_bool(flag, &format!("{path}.external"), diag).unwrap_or(false),
            None,
        ),
        Some(compose::External::Named { name }) => {
            diag.warnings.push(format!(
                "{path}.external.name: deprecated; use `external: true` with `name`"
            ));
            (true, Some(name.clone()))
        }
    }
}

fn file_source(
    cx: &Context,
    section: &str,
    key: &str,
    raw: TopFile,
    diag: &mut Diagnostics,
) -> Option<FileSource> {
    let path = format!("{section}.{key}");
    let given = [
        raw.file.is_some(),
        raw.environment.is_some(),
        raw.content.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        let choices = if section == "configs" {
            "`file`, `environment` or `content`"
        } else {
            "`file` or `environment`"
        };
        diag.invalid(
            &path,
            format!("give exactly one source: {choices}"),
            format!("set one of {choices}"),
        );
        return None;
    }
    if let Some(file) = raw.file {
        let resolved = resolve_host_path(cx, &file, &format!("{path}.file"), diag)?;
        return Some(FileSource::File(resolved.to_string_lossy().into_owned()));
    }
    if let Some(var) = raw.environment {
        return Some(FileSource::Environment(var));
    }
    raw.content.map(FileSource::Content)
}

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

fn to_bool(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<bool> {
    let parsed = match value {
        Scalar::Bool(b) => Some(*b),
        Scalar::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" | "" => Some(false),
            _ => None,
        },
        Scalar::Int(0) => Some(false),
        Scalar::Int(1) => Some(true),
        _ => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a boolean", value.to_text()),
            "write true or false",
        );
    }
    parsed
}

fn to_int(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let parsed = match value {
        Scalar::Int(n) => Some(*n),
        Scalar::Str(s) => s.trim().parse().ok(),
        Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
        _ => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a whole number", value.to_text()),
            "write a whole number",
        );
    }
    parsed
}

fn to_f64(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<f64> {
    let parsed = match value {
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(f) => Some(*f),
        Scalar::Str(s) => s.trim().parse().ok(),
        Scalar::Bool(_) => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a number", value.to_text()),
            "write a number such as 0.5",
        );
    }
    parsed
}

/// A duration; a bare number counts as seconds.
fn to_duration_ns(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let result = match value {
        Scalar::Int(n) if *n >= 0 => n
            .checked_mul(1_000_000_000)
            .ok_or_else(|| format!("{n}s is too long")),
        Scalar::Float(f) if *f >= 0.0 && *f < 9.0e9 => Ok((f * 1e9).round() as i64),
        Scalar::Str(s) => parse_duration_ns(s),
        other => Err(format!("`{}` is not a duration", other.to_text())),
    };
    diag.check(
        result,
        path,
        "write a duration such as `10s`, `1m30s` or `500ms`",
    )
}

fn to_bytes(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let result = match value {
        Scalar::Int(n) if *n >= 0 => Ok(*n),
        Scalar::Float(f) if *f >= 0.0 && *f < 9.0e18 => Ok(f.round() as i64),
        Scalar::Str(s) => parse_bytes(s),
        other => Err(format!("`{}` is not a size", other.to_text())),
    };
    diag.check(result, path, "write bytes or a size such as `512m` or `1g`")
}

fn words(value: &StringOrList, path: &str, diag: &mut Diagnostics) -> Option<Vec<String>> {
    match value {
        StringOrList::Str(s) => diag.check(
            split_words(s),
            path,
            "close every quote, or give the command as a list",
        ),
        StringOrList::List(list) => Some(list.iter().map(Scalar::to_text).collect()),
    }
}

fn key_values(
    raw: Option<&KeyValues>,
    path: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match raw {
        None => {}
        Some(KeyValues::Map(map)) => {
            for (k, v) in map {
                out.insert(
                    k.clone(),
                    v.as_ref().map(Scalar::to_text).unwrap_or_default(),
                );
            }
        }
        Some(KeyValues::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                if k.is_empty() {
                    diag.invalid(
                        &format!("{path}[{i}]"),
                        format!("`{item}` has no key"),
                        "write `key=value`",
                    );
                    continue;
                }
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}

/// Variables with values, and those left without one (see `ServiceSpec::environment_unset`).
type EnvSets = (BTreeMap<String, EnvValue>, BTreeSet<String>);

/// `env_file` entries first (in order), then `environment` over them. A bare `KEY` that the server's
/// environment does not set overrides an env file's value with "unset", as in compose.
fn environment(cx: &Context, raw: &Service, base: &str, diag: &mut Diagnostics) -> EnvSets {
    let mut env = BTreeMap::new();
    let mut unset = BTreeSet::new();
    let mut put =
        |env: &mut BTreeMap<String, EnvValue>, key: &str, value: Option<EnvValue>| match value {
            Some(value) => {
                unset.remove(key);
                env.insert(key.to_string(), value);
            }
            None => {
                env.remove(key);
                unset.insert(key.to_string());
            }
        };
    let files: Vec<(String, bool)> = match &raw.env_file {
        None => Vec::new(),
        Some(EnvFiles::One(path)) => vec![(path.clone(), true)],
        Some(EnvFiles::Many(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                EnvFileItem::Path(path) => (path.clone(), true),
                EnvFileItem::Long { path, required } => {
                    let required = required
                        .as_ref()
                        .and_then(|r| to_bool(r, &format!("{base}.env_file[{i}].required"), diag))
                        .unwrap_or(true);
                    (path.clone(), required)
                }
            })
            .collect(),
    };
    for (i, (file, required)) in files.iter().enumerate() {
        let path = if matches!(raw.env_file, Some(EnvFiles::One(_))) {
            format!("{base}.env_file")
        } else {
            format!("{base}.env_file[{i}]")
        };
        let Some(resolved) = resolve_host_path(cx, file, &path, diag) else {
            continue;
        };
        let text = match cx.host.read_file(&resolved) {
            Ok(text) => text,
            Err(e) if *required => {
                diag.invalid(
                    &path,
                    format!("cannot read env file `{}`: {e}", resolved.display()),
                    "create the file, fix the path, or mark it `required: false`",
                );
                continue;
            }
            Err(_) => continue,
        };
        match dotenv::parse(&text, cx.lookup) {
            Ok(entries) => {
                for (key, value) in entries {
                    if let Some(value) = value.or_else(|| (cx.lookup)(&key)) {
                        env.insert(key, EnvValue::Literal(value));
                    }
                }
            }
            Err(e) => diag.invalid(
                &path,
                format!("env file `{}` is invalid: {e}", resolved.display()),
                "write `KEY=value` lines",
            ),
        }
    }
    let path = format!("{base}.environment");
    match &raw.environment {
        None => {}
        Some(Environment::Map(map)) => {
            for (key, value) in map {
                let value = match value {
                    None => (cx.lookup)(key).map(EnvValue::Literal),
                    Some(EnvValueRaw::Secret(r)) => Some(EnvValue::Secret {
                        secret: r.secret.clone(),
                    }),
                    Some(EnvValueRaw::Value(v)) => Some(EnvValue::Literal(v.to_text())),
                };
                put(&mut env, key, value);
            }
        }
        Some(Environment::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                match item.split_once('=') {
                    Some(("", _)) => diag.invalid(
                        &format!("{path}[{i}]"),
                        format!("`{item}` has no variable name"),
                        "write `KEY=value`",
                    ),
                    Some((k, v)) => put(&mut env, k, Some(EnvValue::Literal(v.to_string()))),
                    None => put(&mut env, item, (cx.lookup)(item).map(EnvValue::Literal)),
                }
            }
        }
    }
    (env, unset)
}

fn ports(port: &Port, path: &str, diag: &mut Diagnostics) -> Vec<crate::model::PortBinding> {
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

fn expose(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Vec<String> {
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

enum MountOrTmpfs {
    Mount(Mount),
    Tmpfs(String),
}

fn is_path_like(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

fn volume_mount(
    cx: &Context,
    raw: &VolumeMount,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    match raw {
        VolumeMount::Short(text) => short_volume(cx, text, path, diag),
        VolumeMount::Long(long) => long_volume(cx, long, path, diag),
    }
}

fn short_volume(
    cx: &Context,
    text: &str,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => {
            diag.invalid(
                path,
                format!("`{text}` has too many `:`"),
                "write `source:/container/path[:ro]`",
            );
            return None;
        }
    };
    check_target(target, path, diag)?;
    let target = clean_container_path(target);
    let target = target.as_str();
    let mut read_only = false;
    for option in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => read_only = true,
            "rw" | "cached" | "delegated" | "consistent" => {}
            "z" | "Z" => diag.warnings.push(format!(
                "{path}: `:{option}` ignored: {}",
                compose::SELINUX_IGNORED
            )),
            "nocopy" => diag.unsupported(path, "`nocopy` is not supported yet", "remove `:nocopy`"),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => diag.unsupported(
                path,
                format!("bind propagation `{option}` is not supported yet"),
                format!("remove `:{option}`"),
            ),
            other => diag.invalid(
                path,
                format!("`{other}` is not a volume mode"),
                "use `ro` or `rw`",
            ),
        }
    }
    let Some(source) = source else {
        return Some(MountOrTmpfs::Mount(Mount {
            kind: MountKind::Volume,
            source: None,
            target: target.into(),
            read_only,
        }));
    };
    if is_path_like(source) {
        let resolved = resolve_host_path(cx, source, path, diag)?;
        let source = Some(resolved.to_string_lossy().into_owned());
        return Some(MountOrTmpfs::Mount(Mount {
            kind: MountKind::Bind,
            source,
            target: target.into(),
            read_only,
        }));
    }
    check_volume_reference(cx, source, path, diag);
    Some(MountOrTmpfs::Mount(Mount {
        kind: MountKind::Volume,
        source: Some(source.into()),
        target: target.into(),
        read_only,
    }))
}

fn long_volume(
    cx: &Context,
    long: &VolumeLong,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    let target = match &long.target {
        Some(t) => t.as_str(),
        None => {
            diag.invalid(
                path,
                "a volume needs `target`",
                "add `target: /path/in/container`",
            );
            return None;
        }
    };
    check_target(target, path, diag)?;
    let target = clean_container_path(target);
    let target = target.as_str();
    let read_only = long
        .read_only
        .as_ref()
        .and_then(|v| to_bool(v, &format!("{path}.read_only"), diag))
        .unwrap_or(false);
    let kind = long
        .kind
        .as_deref()
        .unwrap_or(if long.source.is_some() { "volume" } else { "" });
    match kind {
        "volume" => {
            if let Some(source) = &long.source {
                check_volume_reference(cx, source, path, diag);
            }
            Some(MountOrTmpfs::Mount(Mount {
                kind: MountKind::Volume,
                source: long.source.clone(),
                target: target.into(),
                read_only,
            }))
        }
        "bind" => {
            let Some(source) = &long.source else {
                diag.invalid(path, "a bind mount needs `source`", "add `source: ./dir`");
                return None;
            };
            let resolved = resolve_host_path(cx, source, &format!("{path}.source"), diag)?;
            let source = Some(resolved.to_string_lossy().into_owned());
            Some(MountOrTmpfs::Mount(Mount {
                kind: MountKind::Bind,
                source,
                target: target.into(),
                read_only,
            }))
        }
        "tmpfs" => {
            let mut options = Vec::new();
            if let Some(tmpfs) = &long.tmpfs {
                if let Some(size) = tmpfs
                    .size
                    .as_ref()
                    .and_then(|s| to_bytes(s, &format!("{path}.tmpfs.size"), diag))
                {
                    options.push(format!("size={size}"));
                }
                if let Some(mode) = &tmpfs.mode {
                    let mode = match mode {
                        Scalar::Int(n) => Some(format!("{n:o}")),
                        Scalar::Str(s) => Some(s.clone()),
                        other => {
                            diag.invalid(
                                &format!("{path}.tmpfs.mode"),
                                format!("`{}` is not a file mode", other.to_text()),
                                "write an octal mode such as \"1777\"",
                            );
                            None
                        }
                    };
                    options.extend(mode.map(|m| format!("mode={m}")));
                }
            }
            if options.is_empty() && !read_only {
                Some(MountOrTmpfs::Mount(Mount {
                    kind: MountKind::Tmpfs,
                    source: None,
                    target: target.into(),
                    read_only,
                }))
            } else {
                if read_only {
                    options.push("ro".into());
                }
                Some(MountOrTmpfs::Tmpfs(format!(
                    "{target}:{}",
                    options.join(",")
                )))
            }
        }
        "" => {
            diag.invalid(
                path,
                "a long-form volume needs `type`",
                "add `type: volume`, `type: bind` or `type: tmpfs`",
            );
            None
        }
        other => {
            diag.unsupported(
                &format!("{path}.type"),
                format!("volume type `{other}` is not supported"),
                "use volume, bind or tmpfs",
            );
            None
        }
    }
}

/// A container path as compose writes it (Go's `path.Clean`): `/data/` is `/data`, `//a/./b/../c` is `/a/c`.
/// Without this, `/data` and `/data/` would hash differently and escape the duplicate-target check.
pub fn clean_container_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

fn check_target(target: &str, path: &str, diag: &mut Diagnostics) -> Option<()> {
    if target.starts_with('/') {
        Some(())
    } else {
        diag.invalid(
            path,
            format!("the container path `{target}` is not absolute"),
            "write an absolute container path such as `/data`",
        );
        None
    }
}

fn check_volume_reference(cx: &Context, name: &str, path: &str, diag: &mut Diagnostics) {
    if !cx.declared.volumes.contains(name) {
        diag.invalid(
            path,
            format!("named volume `{name}` is not declared under the top-level `volumes`"),
            format!("add `volumes: {{{name}: {{}}}}` at the top level, or write `./{name}` for a bind mount of a project directory"),
        );
    }
}

/// Resolves a host path (`~`, relative to the project dir, `..`), follows symlinks through its deepest existing
/// ancestor, and applies the path policy to both spellings. Returns the resolved (canonical) path.
fn resolve_host_path(
    cx: &Context,
    raw: &str,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<PathBuf> {
    let expanded = if raw == "~" || raw.starts_with("~/") {
        let Some(home) = cx.host.var("HOME") else {
            diag.invalid(
                path,
                format!("`{raw}` uses `~` but the server has no HOME"),
                "write an absolute path",
            );
            return None;
        };
        PathBuf::from(home).join(raw.trim_start_matches('~').trim_start_matches('/'))
    } else {
        PathBuf::from(raw)
    };
    let lexical = policy::lexical_normalize(&cx.project_dir.join(expanded));
    let canonical = canonical_through_ancestors(cx.host, &lexical);
    let mut ok = true;
    for candidate in [&lexical, &canonical] {
        if let Err(e) = policy::check_host_path(candidate, cx.policy, path) {
            diag.errors.push(e);
            ok = false;
            break;
        }
    }
    ok = ok && contains_no_sensitive_folder(cx, &canonical, path, diag);
    ok.then_some(canonical)
}

/// A directory that holds `.ssh` (or another credential folder) exposes it: look on disk through the host.
fn contains_no_sensitive_folder(
    cx: &Context,
    dir: &Path,
    path: &str,
    diag: &mut Diagnostics,
) -> bool {
    for folder in policy::sensitive_folders() {
        if cx.host.canonicalize(&dir.join(folder)).is_ok() {
            if let Err(e) = policy::check_contained_folder(dir, folder, cx.policy, path) {
                diag.errors.push(e);
                return false;
            }
        }
    }
    true
}

/// Canonicalizes the deepest existing ancestor and re-appends the rest, so a symlinked parent of a
/// not-yet-existing path is still seen.
fn canonical_through_ancestors(host: &dyn Host, path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = host.canonicalize(ancestor) {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return policy::lexical_normalize(&real.join(rest));
        }
    }
    path.to_path_buf()
}

fn is_remote_context(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

fn build(cx: &Context, raw: &Build, path: &str, diag: &mut Diagnostics) -> Option<BuildSpec> {
    let default = compose::BuildLong::default();
    let (context, long) = match raw {
        Build::Context(c) => (c.clone(), &default),
        Build::Long(long) => (long.context.clone().unwrap_or_else(|| ".".into()), long),
    };
    let context_path = if matches!(raw, Build::Context(_)) {
        path.to_string()
    } else {
        format!("{path}.context")
    };
    if is_remote_context(&context) {
        diag.unsupported(
            &context_path,
            format!("remote build context `{context}` is not supported"),
            "clone the repository into the project directory and use a local path",
        );
        return None;
    }
    let lexical = policy::lexical_normalize(&cx.project_dir.join(&context));
    let canonical = canonical_through_ancestors(cx.host, &lexical);
    for candidate in [&lexical, &canonical] {
        if let Err(e) = policy::check_within(candidate, cx.project_dir, cx.policy, &context_path) {
            diag.errors.push(e);
            return None;
        }
    }
    if !contains_no_sensitive_folder(cx, &canonical, &context_path, diag) {
        return None;
    }
    let dockerfile = long
        .dockerfile
        .clone()
        .unwrap_or_else(|| "Dockerfile".into());
    let dockerfile_path = format!("{path}.dockerfile");
    let df_lexical = policy::lexical_normalize(&lexical.join(&dockerfile));
    let Ok(relative) = df_lexical.strip_prefix(&lexical) else {
        diag.errors.push(SpecError::new(
            ErrorKind::Policy,
            &dockerfile_path,
            format!("the Dockerfile `{dockerfile}` is outside the build context `{context}`"),
            "put the Dockerfile inside the build context",
        ));
        return None;
    };
    let df_canonical = canonical_through_ancestors(cx.host, &df_lexical);
    if let Err(e) = policy::check_within(&df_canonical, cx.project_dir, cx.policy, &dockerfile_path)
    {
        diag.errors.push(e);
        return None;
    }
    let args = match &long.args {
        None => BTreeMap::new(),
        Some(KeyValues::Map(map)) => map
            .iter()
            .filter_map(|(k, v)| match v {
                Some(v) => Some((k.clone(), v.to_text())),
                None => (cx.lookup)(k).map(|v| (k.clone(), v)),
            })
            .collect(),
        Some(KeyValues::List(list)) => list
            .iter()
            .filter_map(|item| match item.split_once('=') {
                Some((k, v)) => Some((k.to_string(), v.to_string())),
                None => (cx.lookup)(item).map(|v| (item.clone(), v)),
            })
            .collect(),
    };
    Some(BuildSpec {
        context: canonical.to_string_lossy().into_owned(),
        dockerfile: relative.to_string_lossy().into_owned(),
        target: long.target.clone(),
        args,
        labels: key_values(long.labels.as_ref(), &format!("{path}.labels"), diag),
        no_cache: long
            .no_cache
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.no_cache"), diag))
            .unwrap_or(false),
        pull: long
            .pull
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.pull"), diag))
            .unwrap_or(false),
    })
}

fn service_networks(
    raw: Option<&ServiceNetworks>,
    _path: &str,
    _diag: &mut Diagnostics,
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
                let aliases = body
                    .as_ref()
                    .and_then(|b| b.aliases.clone())
                    .unwrap_or_default();
                (n.clone(), NetworkAttachment { aliases })
            })
            .collect(),
    }
}

fn depends_on(
    raw: Option<&DependsOnList>,
    path: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, DependsOn> {
    let started = DependsOn {
        condition: DependsCondition::ServiceStarted,
        required: true,
    };
    match raw {
        None => BTreeMap::new(),
        Some(DependsOnList::List(list)) => list.iter().map(|s| (s.clone(), started.clone())).collect(),
        Some(DependsOnList::Map(map)) => map
            .iter()
            .map(|(service, body)| {
                let body = body.clone().unwrap_or_default();
                let cpath = format!("{path}.{service}.condition");
                let condition = match body.condition.as_deref() {
                    None | Some("service_started") => DependsCondition::ServiceStarted,
                    Some("service_healthy") => DependsCondition::ServiceHealthy,
                    Some("service_completed_successfully") => DependsCondition::ServiceCompletedSuccessfully,
                    Some(other) => {
                        diag.invalid(&cpath, format!("`{other}` is not a dependency condition"), "use service_started, service_healthy or service_completed_successfully");
                        DependsCondition::ServiceStarted
                    }
                };
                let required = body.required.as_ref().and_then(|r| to_bool(r, &format!("{path}.{service}.required"), diag)).unwrap_or(true);
                (service.clone(), DependsOn { condition, required })
            })
            .collect(),
    }
}

fn restart(raw: &Service, base: &str, diag: &mut Diagnostics) -> RestartPolicy {
    if let Some(value) = &raw.restart {
        let path = format!("{base}.restart");
        let text = match value {
            Scalar::Bool(false) => "no".to_string(),
            other => other.to_text(),
        };
        return match text.as_str() {
            "no" | "" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure(None),
            other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) => RestartPolicy::OnFailure(Some(n)),
                _ => {
                    diag.invalid(
                        &path,
                        format!("`{other}` is not a restart policy"),
                        "use no, always, unless-stopped, on-failure or on-failure:N",
                    );
                    RestartPolicy::No
                }
            },
        };
    }
    let Some(policy) = raw.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) else {
        return RestartPolicy::No;
    };
    let path = format!("{base}.deploy.restart_policy");
    let attempts = policy
        .max_attempts
        .as_ref()
        .and_then(|n| to_int(n, &format!("{path}.max_attempts"), diag))
        .and_then(|n| u32::try_from(n).ok());
    match policy.condition.as_deref() {
        Some("none") => RestartPolicy::No,
        Some("on-failure") => RestartPolicy::OnFailure(attempts),
        Some("any") | None => RestartPolicy::Always,
        Some(other) => {
            diag.invalid(
                &format!("{path}.condition"),
                format!("`{other}` is not a restart condition"),
                "use none, on-failure or any",
            );
            RestartPolicy::No
        }
    }
}

fn healthcheck(raw: &HealthcheckRaw, path: &str, diag: &mut Diagnostics) -> Option<Healthcheck> {
    if raw
        .disable
        .as_ref()
        .and_then(|d| to_bool(d, &format!("{path}.disable"), diag))
        == Some(true)
    {
        return Some(Healthcheck {
            test: vec!["NONE".into()],
            interval_ns: None,
            timeout_ns: None,
            retries: None,
            start_period_ns: None,
        });
    }
    let test = match &raw.test {
        None => Vec::new(),
        Some(StringOrList::Str(s)) => vec!["CMD-SHELL".into(), s.clone()],
        Some(StringOrList::List(list)) => {
            let list: Vec<String> = list.iter().map(Scalar::to_text).collect();
            match list.first().map(String::as_str) {
                Some("CMD" | "CMD-SHELL" | "NONE") => list,
                _ => {
                    diag.invalid(&format!("{path}.test"), "a test list must start with CMD, CMD-SHELL or NONE", "write [\"CMD\", \"curl\", \"-f\", \"http://localhost\"] or a string run by the shell");
                    return None;
                }
            }
        }
    };
    let duration = |v: &Option<Scalar>, field: &str, diag: &mut Diagnostics| {
        v.as_ref()
            .and_then(|v| to_duration_ns(v, &format!("{path}.{field}"), diag))
    };
    Some(Healthcheck {
        test,
        interval_ns: duration(&raw.interval, "interval", diag),
        timeout_ns: duration(&raw.timeout, "timeout", diag),
        retries: raw
            .retries
            .as_ref()
            .and_then(|r| to_int(r, &format!("{path}.retries"), diag)),
        start_period_ns: duration(&raw.start_period, "start_period", diag),
    })
}

/// Service-level limits and `deploy.resources`; both spellings must agree when both are given, as in compose.
fn resources(raw: &Service, base: &str, diag: &mut Diagnostics) -> Resources {
    let deploy = raw.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = deploy.and_then(|r| r.limits.as_ref());
    let reservations = deploy.and_then(|r| r.reservations.as_ref());
    let dpath = format!("{base}.deploy.resources");
    let pick = |short: Option<i64>,
                short_name: &str,
                long: Option<i64>,
                long_name: &str,
                diag: &mut Diagnostics| match (short, long) {
        (Some(a), Some(b)) if a != b => {
            diag.invalid(
                &format!("{base}.{short_name}"),
                format!("`{short_name}` ({a}) and `deploy.resources.{long_name}` ({b}) disagree"),
                "give the value once",
            );
            Some(a)
        }
        (a, b) => a.or(b),
    };
    let cpus = |v: &Option<Scalar>, path: &str, diag: &mut Diagnostics| {
        v.as_ref()
            .and_then(|v| to_f64(v, path, diag))
            .and_then(|f| {
                diag.check(
                    parse_nano_cpus(f),
                    path,
                    "write a CPU count such as 0.5 or 2",
                )
            })
    };
    let memory_bytes = pick(
        raw.mem_limit
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.mem_limit"), diag)),
        "mem_limit",
        limits
            .and_then(|l| l.memory.as_ref())
            .and_then(|v| to_bytes(v, &format!("{dpath}.limits.memory"), diag)),
        "limits.memory",
        diag,
    );
    let memory_reservation_bytes = pick(
        raw.mem_reservation
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.mem_reservation"), diag)),
        "mem_reservation",
        reservations
            .and_then(|l| l.memory.as_ref())
            .and_then(|v| to_bytes(v, &format!("{dpath}.reservations.memory"), diag)),
        "reservations.memory",
        diag,
    );
    let short_cpus = cpus(&raw.cpus, &format!("{base}.cpus"), diag);
    let long_cpus = cpus(
        &limits.and_then(|l| l.cpus.clone()),
        &format!("{dpath}.limits.cpus"),
        diag,
    );
    let nano_cpus = pick(short_cpus, "cpus", long_cpus, "limits.cpus", diag);
    let pids_limit = pick(
        raw.pids_limit
            .as_ref()
            .and_then(|v| to_int(v, &format!("{base}.pids_limit"), diag)),
        "pids_limit",
        limits
            .and_then(|l| l.pids.as_ref())
            .and_then(|v| to_int(v, &format!("{dpath}.limits.pids"), diag)),
        "limits.pids",
        diag,
    );
    if reservations.is_some_and(|r| r.cpus.is_some()) {
        diag.warnings.push(format!("{dpath}.reservations.cpus: CPU reservations have no effect on a single engine; ignored"));
    }
    if reservations.is_some_and(|r| r.pids.is_some()) {
        diag.warnings.push(format!(
            "{dpath}.reservations.pids: pid reservations have no effect; ignored"
        ));
    }
    Resources {
        memory_bytes,
        memory_reservation_bytes,
        nano_cpus,
        cpu_shares: raw
            .cpu_shares
            .as_ref()
            .and_then(|v| to_int(v, &format!("{base}.cpu_shares"), diag)),
        pids_limit,
        shm_size_bytes: raw
            .shm_size
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.shm_size"), diag)),
    }
}

fn extra_hosts(raw: Option<&ExtraHosts>, path: &str, diag: &mut Diagnostics) -> Vec<String> {
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

fn replicas(raw: &Service, base: &str, diag: &mut Diagnostics) -> u32 {
    let count = |v: &Scalar, path: &str, diag: &mut Diagnostics| {
        to_int(v, path, diag).and_then(|n| {
            diag.check(
                u32::try_from(n).map_err(|_| format!("{n} is not a replica count")),
                path,
                "write a count from 0 up",
            )
        })
    };
    let scale = raw
        .scale
        .as_ref()
        .and_then(|v| count(v, &format!("{base}.scale"), diag));
    let deploy = raw
        .deploy
        .as_ref()
        .and_then(|d| d.replicas.as_ref())
        .and_then(|v| count(v, &format!("{base}.deploy.replicas"), diag));
    match (scale, deploy) {
        (Some(a), Some(b)) if a != b => {
            diag.invalid(
                &format!("{base}.scale"),
                format!("`scale` ({a}) and `deploy.replicas` ({b}) disagree"),
                "give the count once",
            );
            a
        }
        (a, b) => a.or(b).unwrap_or(1),
    }
}

fn file_mounts(
    cx: &Context,
    raw: Option<&[FileRef]>,
    path: &str,
    secrets: bool,
    diag: &mut Diagnostics,
) -> Vec<FileMount> {
    let (declared, section) = if secrets {
        (&cx.declared.secrets, "secrets")
    } else {
        (&cx.declared.configs, "configs")
    };
    let mut out = Vec::new();
    for (i, item) in raw.unwrap_or_default().iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let (source, target, uid, gid, mode) = match item {
            FileRef::Short(name) => (name.clone(), None, None, None, None),
            FileRef::Long(long) => {
                let Some(source) = long.source.clone() else {
                    diag.invalid(
                        &ipath,
                        "the long form needs `source`",
                        format!("add `source: NAME` naming a top-level `{section}` entry"),
                    );
                    continue;
                };
                let mode = long.mode.as_ref().and_then(|m| match m {
                    Scalar::Int(n) => u32::try_from(*n).ok(),
                    Scalar::Str(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
                    _ => None,
                });
                if long.mode.is_some() && mode.is_none() {
                    diag.invalid(
                        &format!("{ipath}.mode"),
                        "not a file mode",
                        "write an octal string such as \"0440\"",
                    );
                }
                (
                    source,
                    long.target.clone(),
                    long.uid.as_ref().map(Scalar::to_text),
                    long.gid.as_ref().map(Scalar::to_text),
                    mode,
                )
            }
        };
        if !declared.contains(&source) {
            diag.invalid(
                &ipath,
                format!("`{source}` is not declared under the top-level `{section}`"),
                format!("add `{section}: {{{source}: {{file: ./{source}.txt}}}}` at the top level"),
            );
            continue;
        }
        let target = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) if secrets => format!("/run/secrets/{t}"),
            Some(t) => format!("/{t}"),
            None if secrets => format!("/run/secrets/{source}"),
            None => format!("/{source}"),
        };
        out.push(FileMount {
            source,
            target,
            uid,
            gid,
            mode,
        });
    }
    out
}

/// `links` give the linked service an alias on the networks both share, and imply a dependency.
fn apply_links(project: &mut Project, links: Vec<(String, Link)>, diag: &mut Diagnostics) {
    for (from, link) in links {
        let Some(from_networks) = project
            .services
            .get(&from)
            .map(|s| s.networks.keys().cloned().collect::<Vec<_>>())
        else {
            continue;
        };
        let Some(target) = project.services.get_mut(&link.target) else {
            diag.invalid(
                &link.path,
                format!("links to undefined service `{}`", link.target),
                "link to a service defined in this project",
            );
            continue;
        };
        for network in &from_networks {
            if let Some(attachment) = target.networks.get_mut(network) {
                if link.alias != link.target && !attachment.aliases.contains(&link.alias) {
                    attachment.aliases.push(link.alias.clone());
                }
            }
        }
        if let Some(service) = project.services.get_mut(&from) {
            service
                .depends_on
                .entry(link.target.clone())
                .or_insert(DependsOn {
                    condition: DependsCondition::ServiceStarted,
                    required: true,
                });
        }
    }
}

/// `required: false` dependencies on services that are absent are dropped with a warning, as compose does.
fn drop_optional_dependencies(project: &mut Project, diag: &mut Diagnostics) {
    let names: BTreeSet<String> = project.services.keys().cloned().collect();
    for (name, service) in &mut project.services {
        service.depends_on.retain(|dep, d| {
            let keep = d.required || names.contains(dep);
            if !keep {
                diag.warnings.push(format!("services.{name}.depends_on.{dep}: optional dependency is not in the project; ignored"));
            }
            keep
        });
    }
}
