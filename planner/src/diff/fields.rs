//! A service spec seen as display fields: the paths people write (`image`, `environment.DB_HOST`,
//! `mem_limit`), their display values, and whether a change forces a new container.
//!
//! The diff explains a replace by comparing these views of the last-applied and desired specs; the
//! renderer shows a create with them. Masking happens here, once: an environment value whose key looks
//! secret is `(sensitive)`, and a `{secret: NAME}` reference shows as `(secret NAME)`, so no plan field ever
//! carries such a value. Nested values (healthcheck, logging, ulimits, limits) are one field per leaf, and
//! sizes and durations read in the units people write (`64MiB`, `1m30s`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{
    BuildSpec, EnvValue, Healthcheck, Mount, MountKind, PortBinding, Protocol, Resources,
    ServiceSpec,
};
use crate::plan::FieldChange;

/// What a masked value displays as.
pub const SENSITIVE: &str = "(sensitive)";

/// What a variable passed without a value (`environment_unset`) displays as.
pub const UNSET: &str = "(unset)";

pub use crate::sensitive::is_sensitive_key;

/// The display form of one environment value, masked as described in the module doc.
pub fn env_display(key: &str, value: &EnvValue) -> String {
    match value {
        EnvValue::Secret { secret } => format!("(secret {secret})"),
        EnvValue::Literal(_) if is_sensitive_key(key) => SENSITIVE.to_string(),
        // A literal shaped like a marker (`(secret db)`, `(sensitive)`) shows quoted, so a spec cannot pass a
        // plain value off as a secret reference or a masked one.
        EnvValue::Literal(text) if looks_like_marker(text) => format!("{text:?}"),
        EnvValue::Literal(text) => text.clone(),
    }
}

/// Whether a display value has the shape of a marker: `(sensitive)`, `(unset)`, `(secret NAME)`.
pub fn looks_like_marker(text: &str) -> bool {
    text.starts_with('(') && text.ends_with(')')
}

/// Compose short syntax of a published port: `[host_ip:][published:]target[/proto]`.
pub fn port_display(port: &PortBinding) -> String {
    let mut text = String::new();
    if let Some(ip) = &port.host_ip {
        text.push_str(ip);
        text.push(':');
    }
    match port.published {
        Some(published) => text.push_str(&format!("{published}:{}", port.target)),
        None if port.host_ip.is_some() => text.push_str(&format!(":{}", port.target)),
        None => text.push_str(&port.target.to_string()),
    }
    if port.protocol != Protocol::Tcp {
        text.push('/');
        text.push_str(port.protocol.as_str());
    }
    text
}

/// Compose short syntax of a mount: `key:/path`, `/host:/path:ro`, `tmpfs:/path`, or `/path` (anonymous).
pub fn mount_display(mount: &Mount) -> String {
    let mut text = match (&mount.kind, &mount.source) {
        (MountKind::Tmpfs, _) => format!("tmpfs:{}", mount.target),
        (_, Some(source)) => format!("{source}:{}", mount.target),
        (_, None) => mount.target.clone(),
    };
    if mount.read_only {
        text.push_str(":ro");
    }
    text
}

/// `["a", "b"]`: a list of display strings, as one value.
pub fn list_display<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let quoted: Vec<String> = items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// `db (service_healthy)` for each dependency.
pub fn depends_display(spec: &ServiceSpec) -> Vec<String> {
    spec.depends_on
        .iter()
        .map(|(name, dep)| format!("{name} ({})", json_word(&dep.condition)))
        .collect()
}

/// `front`, or `front (aliases: a, b; ipv4_address: 172.28.0.10)` for each network.
pub fn networks_display(spec: &ServiceSpec) -> Vec<String> {
    spec.networks
        .iter()
        .map(|(key, attachment)| {
            let mut details = Vec::new();
            if !attachment.aliases.is_empty() {
                details.push(format!("aliases: {}", attachment.aliases.join(", ")));
            }
            if let Some(ip) = &attachment.ipv4_address {
                details.push(format!("ipv4_address: {ip}"));
            }
            if let Some(ip) = &attachment.ipv6_address {
                details.push(format!("ipv6_address: {ip}"));
            }
            if details.is_empty() {
                key.clone()
            } else {
                format!("{key} ({})", details.join("; "))
            }
        })
        .collect()
}

/// The live-updatable limits by their compose names, `None` when unset (an engine `0` means unset too).
pub fn live_resource_fields(resources: &Resources) -> [(&'static str, Option<String>); 5] {
    let set = |v: Option<i64>| v.filter(|n| *n != 0);
    [
        ("mem_limit", set(resources.memory_bytes).map(size_display)),
        (
            "mem_reservation",
            set(resources.memory_reservation_bytes).map(size_display),
        ),
        (
            "cpus",
            set(resources.nano_cpus).map(|n| format!("{}", n as f64 / 1e9)),
        ),
        (
            "cpu_shares",
            set(resources.cpu_shares).map(|n| n.to_string()),
        ),
        (
            "pids_limit",
            set(resources.pids_limit).map(|n| n.to_string()),
        ),
    ]
}

/// A byte count in the unit people write: `64MiB`, `1GiB`, or `1000B` when no binary unit divides it.
pub fn size_display(bytes: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    UNITS
        .iter()
        .find(|(unit, _)| bytes != 0 && bytes % unit == 0)
        .map_or_else(
            || format!("{bytes}B"),
            |(unit, name)| format!("{}{name}", bytes / unit),
        )
}

/// A duration in nanoseconds as compose writes it: `1m30s`, `10s`, `1h`, `500ms`, `0s`.
pub fn duration_display(nanos: i64) -> String {
    const PARTS: [(i64, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    if nanos <= 0 {
        return format!("{}s", nanos / 1_000_000_000);
    }
    let mut rest = nanos;
    let mut text = String::new();
    for (unit, name) in PARTS {
        if rest >= unit {
            text.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    text
}

/// `["CMD", "pg_isready"] interval 10s timeout 5s retries 3`: a healthcheck on one line.
pub fn healthcheck_display(check: &Healthcheck) -> String {
    let mut text = list_display(&check.test);
    for (name, value) in healthcheck_fields(check).into_iter().skip(1) {
        text.push_str(&format!(" {name} {value}"));
    }
    text
}

/// A healthcheck's set fields by compose name, `test` first, so a change shows the one field that moved.
pub fn healthcheck_fields(check: &Healthcheck) -> Vec<(&'static str, String)> {
    let mut out = vec![("test", list_display(&check.test))];
    let durations = [
        ("interval", check.interval_ns),
        ("timeout", check.timeout_ns),
    ];
    out.extend(
        durations
            .into_iter()
            .filter_map(|(name, ns)| ns.map(|ns| (name, duration_display(ns)))),
    );
    if let Some(n) = check.retries {
        out.push(("retries", n.to_string()));
    }
    if let Some(ns) = check.start_period_ns {
        out.push(("start_period", duration_display(ns)));
    }
    out
}

/// `/srv/app (Dockerfile, target prod, args: VERSION=2, NPM_TOKEN=(sensitive))`; args whose names look
/// secret are masked like environment values.
pub fn build_display(build: &BuildSpec) -> String {
    let mut details = vec![build.dockerfile.clone()];
    if let Some(target) = &build.target {
        details.push(format!("target {target}"));
    }
    if !build.args.is_empty() {
        let args: Vec<String> = build
            .args
            .iter()
            .map(|(k, v)| format!("{k}={}", env_display(k, &EnvValue::Literal(v.clone()))))
            .collect();
        details.push(format!("args: {}", args.join(", ")));
    }
    format!("{} ({})", build.context, details.join(", "))
}

/// A serde enum's wire word (`service_healthy`).
fn json_word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn value_display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        // A list holding a script (`["sh", "-c", "a\nb"]`) shows one element per line, so a change renders as
        // a line-by-line diff rather than one long escaped string.
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let strings = items.iter().filter_map(Value::as_str);
            if items
                .iter()
                .filter_map(Value::as_str)
                .any(|s| s.contains('\n'))
            {
                strings.collect::<Vec<_>>().join("\n")
            } else {
                list_display(strings)
            }
        }
        other => other.to_string(),
    }
}

/// One displayed field: its value and whether changing it forces a replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub value: String,
    pub forces_replacement: bool,
    /// What equality is judged on: the unmasked value, so a changed secret still shows as a change even
    /// though both sides display `(sensitive)`. Never displayed.
    identity: Option<String>,
}

impl Field {
    fn same_as(&self, other: &Field) -> bool {
        self.value == other.value && self.identity == other.identity
    }
}

/// Every field of a service, by display path. Fields Docker updates live (restart, limits) and ordering-only
/// ones (depends_on, pull_policy) do not force a replacement; replicas and profiles are not per-container and
/// are left out.
pub fn service_fields(spec: &ServiceSpec) -> BTreeMap<String, Field> {
    let mut entries: Vec<(String, Field)> = Vec::new();
    let mut put_identified =
        |path: String, value: String, forces: bool, identity: Option<String>| {
            entries.push((
                path,
                Field {
                    value,
                    forces_replacement: forces,
                    identity,
                },
            ));
        };
    let Ok(Value::Object(object)) = serde_json::to_value(spec) else {
        return BTreeMap::new();
    };
    for (name, value) in &object {
        match name.as_str() {
            "replicas" | "profiles" => {}
            "environment" => {
                for (key, v) in &spec.environment {
                    let identity = match v {
                        EnvValue::Literal(text) => Some(text.clone()),
                        EnvValue::Secret { .. } => None,
                    };
                    put_identified(
                        format!("environment.{key}"),
                        env_display(key, v),
                        true,
                        identity,
                    );
                }
            }
            "environment_unset" => {
                for key in &spec.environment_unset {
                    put_identified(format!("environment.{key}"), UNSET.into(), true, None);
                }
            }
            "labels" | "sysctls" => {
                if let Value::Object(entries) = value {
                    for (key, v) in entries {
                        put_identified(format!("{name}.{key}"), value_display(v), true, None);
                    }
                }
            }
            "ulimits" => {
                for (key, limit) in &spec.ulimits {
                    for (part, n) in [("soft", limit.soft), ("hard", limit.hard)] {
                        put_identified(format!("ulimits.{key}.{part}"), n.to_string(), true, None);
                    }
                }
            }
            "logging" => {
                if let Some(logging) = &spec.logging {
                    put_identified("logging.driver".into(), logging.driver.clone(), true, None);
                    for (key, v) in &logging.options {
                        put_identified(format!("logging.options.{key}"), v.clone(), true, None);
                    }
                }
            }
            "ports" => put_identified(
                "ports".into(),
                list_display(spec.ports.iter().map(port_display)),
                true,
                None,
            ),
            "mounts" => put_identified(
                "volumes".into(),
                list_display(spec.mounts.iter().map(mount_display)),
                true,
                None,
            ),
            "networks" => put_identified(
                "networks".into(),
                list_display(networks_display(spec)),
                true,
                None,
            ),
            "depends_on" => put_identified(
                "depends_on".into(),
                list_display(depends_display(spec)),
                false,
                None,
            ),
            "restart" => put_identified("restart".into(), spec.restart.to_compose(), false, None),
            "pull_policy" => put_identified(
                "pull_policy".into(),
                json_word(&spec.pull_policy),
                false,
                None,
            ),
            "healthcheck" => {
                if let Some(check) = &spec.healthcheck {
                    for (field, shown) in healthcheck_fields(check) {
                        put_identified(format!("healthcheck.{field}"), shown, true, None);
                    }
                }
            }
            "stop_grace_period_secs" => {
                if let Some(secs) = spec.stop_grace_period_secs {
                    let nanos = i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000_000);
                    let shown = duration_display(nanos.saturating_mul(1_000_000_000));
                    put_identified("stop_grace_period".into(), shown, true, None);
                }
            }
            "resources" => {
                for (path, shown) in live_resource_fields(&spec.resources) {
                    if let Some(shown) = shown {
                        put_identified(path.into(), shown, false, None);
                    }
                }
                if let Some(bytes) = spec.resources.shm_size_bytes {
                    put_identified("shm_size".into(), size_display(bytes), true, None);
                }
            }
            "build" => {
                if let Some(build) = &spec.build {
                    put_identified("build".into(), build_display(build), true, None);
                }
            }
            _ => put_identified(name.clone(), value_display(value), true, None),
        }
    }
    entries.into_iter().collect()
}

/// Where a path sorts in an explanation: what people look at first comes first.
pub fn path_rank(path: &str) -> u8 {
    let head = path.split(['.', '[']).next().unwrap_or(path);
    match head {
        "image" => 0,
        "build" => 1,
        "command" | "entrypoint" => 2,
        "environment" => 3,
        "ports" => 4,
        "volumes" => 5,
        "networks" => 6,
        _ => 7,
    }
}

/// The fields a create sets, in reading order: every field whose value differs from an empty spec's (the
/// image always), so nothing the apply sets is left out and nothing it leaves at Docker's default is shown.
pub fn create_fields(spec: &ServiceSpec) -> Vec<(String, Field)> {
    let defaults = service_fields(&ServiceSpec::default());
    let mut shown: Vec<(String, Field)> = service_fields(spec)
        .into_iter()
        .filter(|(path, field)| {
            path == "image" || defaults.get(path).is_none_or(|d| d.value != field.value)
        })
        .filter(|(path, _)| !path.starts_with("healthcheck."))
        .collect();
    // A new healthcheck reads best whole, on one line; a changed one shows field by field.
    if let Some(check) = &spec.healthcheck {
        let whole = Field {
            value: healthcheck_display(check),
            forces_replacement: true,
            identity: None,
        };
        shown.push(("healthcheck".into(), whole));
    }
    shown.sort_by(|(a, _), (b, _)| (path_rank(a), a).cmp(&(path_rank(b), b)));
    shown
}

/// Field-by-field differences from `before` to `after`.
pub fn changes(before: &ServiceSpec, after: &ServiceSpec) -> Vec<FieldChange> {
    let old = service_fields(before);
    let new = service_fields(after);
    let mut found: Vec<FieldChange> = Vec::new();
    for (path, field) in &new {
        match old.get(path) {
            Some(prev) if prev.same_as(field) => {}
            prev => found.push(FieldChange {
                path: path.clone(),
                before: prev.map(|p| p.value.clone()),
                after: Some(field.value.clone()),
                forces_replacement: field.forces_replacement,
            }),
        }
    }
    for (path, field) in &old {
        if !new.contains_key(path) {
            found.push(FieldChange {
                path: path.clone(),
                before: Some(field.value.clone()),
                after: None,
                forces_replacement: field.forces_replacement,
            });
        }
    }
    found.sort_by(|a, b| (path_rank(&a.path), &a.path).cmp(&(path_rank(&b.path), &b.path)));
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;

    #[test]
    fn masks_secret_looking_keys_and_secret_references() {
        assert_eq!(
            env_display("DB_PASSWORD", &EnvValue::Literal("hunter2".into())),
            SENSITIVE
        );
        assert_eq!(
            env_display("api_token", &EnvValue::Literal("x".into())),
            SENSITIVE
        );
        assert_eq!(
            env_display("DB_HOST", &EnvValue::Literal("db".into())),
            "db"
        );
        assert_eq!(
            env_display(
                "ANY",
                &EnvValue::Secret {
                    secret: "db_pw".into()
                }
            ),
            "(secret db_pw)"
        );
    }

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(size_display(64 * 1024 * 1024), "64MiB");
        assert_eq!(size_display(1 << 30), "1GiB");
        assert_eq!(size_display(1000), "1000B");
        assert_eq!(duration_display(90_000_000_000), "1m30s");
        assert_eq!(duration_display(10_000_000_000), "10s");
        assert_eq!(duration_display(500_000_000), "500ms");
        assert_eq!(duration_display(3_600_000_000_000), "1h");
        assert_eq!(duration_display(0), "0s");
    }

    #[test]
    fn a_healthcheck_change_names_the_one_field_that_moved() {
        let check = Healthcheck {
            test: vec!["CMD".into(), "true".into()],
            interval_ns: Some(10_000_000_000),
            timeout_ns: None,
            retries: Some(3),
            start_period_ns: None,
        };
        let a = ServiceSpec {
            image: "a".into(),
            healthcheck: Some(check.clone()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.healthcheck = Some(Healthcheck {
            interval_ns: Some(90_000_000_000),
            ..check
        });
        let found = changes(&a, &b);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "healthcheck.interval");
        assert_eq!(found[0].before.as_deref(), Some("10s"));
        assert_eq!(found[0].after.as_deref(), Some("1m30s"));
    }

    #[test]
    fn ports_use_compose_short_syntax() {
        let port = |target, published, host_ip: Option<&str>, protocol| PortBinding {
            target,
            published,
            host_ip: host_ip.map(String::from),
            protocol,
        };
        assert_eq!(
            port_display(&port(80, Some(9000), None, Protocol::Tcp)),
            "9000:80"
        );
        assert_eq!(
            port_display(&port(53, Some(53), Some("127.0.0.1"), Protocol::Udp)),
            "127.0.0.1:53:53/udp"
        );
        assert_eq!(port_display(&port(80, None, None, Protocol::Tcp)), "80");
    }

    #[test]
    fn explains_image_and_env_changes() {
        let mut a = ServiceSpec {
            image: "a".into(),
            ..Default::default()
        };
        a.environment
            .insert("X".into(), EnvValue::Literal("1".into()));
        let mut b = a.clone();
        b.image = "b".into();
        b.environment
            .insert("X".into(), EnvValue::Literal("2".into()));
        let found = changes(&a, &b);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, "image");
        assert_eq!(found[0].before.as_deref(), Some("a"));
        assert!(found[0].forces_replacement);
        assert_eq!(found[1].path, "environment.X");
    }

    #[test]
    fn an_unset_variable_shows_as_unset_and_forces_replacement() {
        let mut a = ServiceSpec {
            image: "a".into(),
            ..Default::default()
        };
        a.environment
            .insert("DEBUG".into(), EnvValue::Literal("1".into()));
        let mut b = a.clone();
        b.environment.clear();
        b.environment_unset.insert("DEBUG".into());
        let found = changes(&a, &b);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "environment.DEBUG");
        assert_eq!(found[0].before.as_deref(), Some("1"));
        assert_eq!(found[0].after.as_deref(), Some(UNSET));
        assert!(found[0].forces_replacement);
    }
}
