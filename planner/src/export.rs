//! The model written back as a compose file, for `export` and for status.
//!
//! Loading the export gives the same project (the same config hashes): every string value is escaped
//! (`$` as `$$`), because load interpolates every string value and the model holds values after
//! interpolation. The model keeps secret references, never values, so the export cannot leak one:
//! `{secret: NAME}` environment entries and `secrets:`/`configs:` sources come out as the references they
//! were.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::model::{
    BuildSpec, DependsCondition, DependsOn, EnvValue, FileMount, FileSource, Healthcheck, Mount,
    MountKind, NetworkSpec, Project, PullPolicy, RestartPolicy, ServiceSpec, VolumeSpec,
};

/// Why the export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the project as YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
}

/// The project as compose YAML.
pub fn project_to_compose_yaml(project: &Project) -> Result<String, ExportError> {
    Ok(serde_yaml::to_string(&project_to_compose(project))?)
}

/// The project as a compose-shaped JSON value, every string escaped against interpolation.
pub fn project_to_compose(project: &Project) -> Value {
    let mut top = Map::new();
    top.insert("name".into(), json!(project.name));
    let services = project
        .services
        .iter()
        .map(|(name, spec)| (name.clone(), service(spec)))
        .collect();
    top.insert("services".into(), Value::Object(services));
    put_entries(&mut top, "networks", &project.networks, network);
    put_entries(&mut top, "volumes", &project.volumes, volume);
    put_entries(&mut top, "secrets", &project.secrets, file_source);
    put_entries(&mut top, "configs", &project.configs, file_source);
    let mut document = Value::Object(top);
    escape_interpolation(&mut document);
    document
}

/// Writes `$` as `$$` in every string value (not in keys: load interpolates values only).
fn escape_interpolation(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('$') => *text = text.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_interpolation),
        Value::Object(map) => map.values_mut().for_each(escape_interpolation),
        _ => {}
    }
}

fn network(spec: &NetworkSpec) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "name", spec.name.as_ref());
    put_opt(&mut m, "driver", spec.driver.as_ref());
    put_map(&mut m, "labels", &spec.labels);
    put_true(&mut m, "internal", spec.internal);
    put_true(&mut m, "external", spec.external);
    put_true(&mut m, "enable_ipv6", spec.enable_ipv6);
    if let Some(ipam) = &spec.ipam {
        m.insert("ipam".into(), json!(ipam));
    }
    Value::Object(m)
}

fn volume(spec: &VolumeSpec) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "name", spec.name.as_ref());
    put_opt(&mut m, "driver", spec.driver.as_ref());
    put_map(&mut m, "labels", &spec.labels);
    put_true(&mut m, "external", spec.external);
    Value::Object(m)
}

fn file_source(source: &FileSource) -> Value {
    match source {
        FileSource::File(path) => json!({ "file": path }),
        FileSource::Environment(var) => json!({ "environment": var }),
        FileSource::Content(content) => json!({ "content": content }),
    }
}

fn service(s: &ServiceSpec) -> Value {
    let mut m = Map::new();
    put_image(&mut m, s);
    put_environment(&mut m, s);
    put_ports(&mut m, s);
    put_storage(&mut m, s);
    put_networking(&mut m, s);
    put_entries(&mut m, "depends_on", &s.depends_on, dependency);
    put_lifecycle(&mut m, s);
    put_resources(&mut m, s);
    put_runtime(&mut m, s);
    put_security(&mut m, s);
    put_files(&mut m, s);
    put_list(&mut m, "profiles", &s.profiles);
    Value::Object(m)
}

fn put_image(m: &mut Map<String, Value>, s: &ServiceSpec) {
    m.insert("image".into(), json!(s.image));
    if let Some(build) = &s.build {
        m.insert("build".into(), build_value(build));
    }
    let policy = match s.pull_policy {
        PullPolicy::Missing => None,
        PullPolicy::Always => Some("always"),
        PullPolicy::Never => Some("never"),
        PullPolicy::Build => Some("build"),
    };
    put_opt(m, "pull_policy", policy.as_ref());
    put_opt(m, "command", s.command.as_ref());
    put_opt(m, "entrypoint", s.entrypoint.as_ref());
}

fn put_environment(m: &mut Map<String, Value>, s: &ServiceSpec) {
    if s.environment.is_empty() && s.environment_unset.is_empty() {
        return;
    }
    let mut env: Map<String, Value> = s
        .environment
        .iter()
        .map(|(key, value)| {
            let value = match value {
                EnvValue::Literal(text) => json!(text),
                EnvValue::Secret { secret } => json!({ "secret": secret }),
            };
            (key.clone(), value)
        })
        .collect();
    // `KEY:` with no value: compose passes it as a bare `KEY`, unsetting the image's default.
    for key in &s.environment_unset {
        env.insert(key.clone(), Value::Null);
    }
    m.insert("environment".into(), Value::Object(env));
}

fn put_ports(m: &mut Map<String, Value>, s: &ServiceSpec) {
    if !s.ports.is_empty() {
        let ports = s
            .ports
            .iter()
            .map(|p| {
                let mut pm = Map::new();
                pm.insert("target".into(), json!(p.target));
                put_opt(&mut pm, "published", p.published.as_ref());
                put_opt(&mut pm, "host_ip", p.host_ip.as_ref());
                pm.insert("protocol".into(), json!(p.protocol.as_str()));
                Value::Object(pm)
            })
            .collect();
        m.insert("ports".into(), Value::Array(ports));
    }
    put_list(m, "expose", &s.expose);
}

fn put_storage(m: &mut Map<String, Value>, s: &ServiceSpec) {
    if !s.mounts.is_empty() {
        m.insert(
            "volumes".into(),
            Value::Array(s.mounts.iter().map(mount).collect()),
        );
    }
    put_list(m, "tmpfs", &s.tmpfs);
    put_true(m, "read_only", s.read_only);
}

fn put_networking(m: &mut Map<String, Value>, s: &ServiceSpec) {
    if !s.networks.is_empty() {
        let networks = s
            .networks
            .iter()
            .map(|(key, attachment)| {
                let mut long = Map::new();
                put_list(&mut long, "aliases", &attachment.aliases);
                put_opt(&mut long, "ipv4_address", attachment.ipv4_address.as_ref());
                put_opt(&mut long, "ipv6_address", attachment.ipv6_address.as_ref());
                let value = if long.is_empty() {
                    Value::Null
                } else {
                    Value::Object(long)
                };
                (key.clone(), value)
            })
            .collect();
        m.insert("networks".into(), Value::Object(networks));
    }
    put_opt(m, "hostname", s.hostname.as_ref());
    put_list(m, "extra_hosts", &s.extra_hosts);
    put_opt(m, "domainname", s.domainname.as_ref());
    put_opt(m, "mac_address", s.mac_address.as_ref());
    put_list(m, "dns", &s.dns);
    put_list(m, "dns_search", &s.dns_search);
    put_list(m, "dns_opt", &s.dns_opt);
    put_opt(m, "network_mode", s.network_mode.as_ref());
}

fn dependency(d: &DependsOn) -> Value {
    let condition = match d.condition {
        DependsCondition::ServiceStarted => "service_started",
        DependsCondition::ServiceHealthy => "service_healthy",
        DependsCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
    };
    let mut m = Map::new();
    m.insert("condition".into(), json!(condition));
    if !d.required {
        m.insert("required".into(), json!(false));
    }
    if d.restart {
        m.insert("restart".into(), json!(true));
    }
    Value::Object(m)
}

fn put_lifecycle(m: &mut Map<String, Value>, s: &ServiceSpec) {
    if s.restart != RestartPolicy::No {
        m.insert("restart".into(), json!(s.restart.to_compose()));
    }
    if let Some(check) = &s.healthcheck {
        m.insert("healthcheck".into(), healthcheck(check));
    }
    put_opt(m, "init", s.init.as_ref());
    let grace = s.stop_grace_period_secs.map(|n| format!("{n}s"));
    put_opt(m, "stop_grace_period", grace.as_ref());
    put_opt(m, "stop_signal", s.stop_signal.as_ref());
    if s.replicas != 1 {
        m.insert("scale".into(), json!(s.replicas));
    }
}

fn put_resources(m: &mut Map<String, Value>, s: &ServiceSpec) {
    let r = &s.resources;
    put_opt(m, "mem_limit", r.memory_bytes.as_ref());
    put_opt(m, "mem_reservation", r.memory_reservation_bytes.as_ref());
    let cpus = r.nano_cpus.map(|n| format!("{}", n as f64 / 1e9));
    put_opt(m, "cpus", cpus.as_ref());
    put_opt(m, "cpu_shares", r.cpu_shares.as_ref());
    put_opt(m, "pids_limit", r.pids_limit.as_ref());
    put_opt(m, "shm_size", r.shm_size_bytes.as_ref());
    put_opt(m, "memswap_limit", s.memswap_limit.as_ref());
    put_entries(
        m,
        "ulimits",
        &s.ulimits,
        |u| json!({ "soft": u.soft, "hard": u.hard }),
    );
}

fn put_runtime(m: &mut Map<String, Value>, s: &ServiceSpec) {
    put_map(m, "labels", &s.labels);
    put_opt(m, "working_dir", s.working_dir.as_ref());
    put_opt(m, "user", s.user.as_ref());
    put_list(m, "group_add", &s.group_add);
    put_opt(m, "container_name", s.container_name.as_ref());
    put_opt(m, "platform", s.platform.as_ref());
    put_opt(m, "runtime", s.runtime.as_ref());
    put_true(m, "stdin_open", s.stdin_open);
    put_true(m, "tty", s.tty);
    put_map(m, "sysctls", &s.sysctls);
    if let Some(logging) = &s.logging {
        let mut lm = Map::new();
        lm.insert("driver".into(), json!(logging.driver));
        put_map(&mut lm, "options", &logging.options);
        m.insert("logging".into(), Value::Object(lm));
    }
}

fn put_security(m: &mut Map<String, Value>, s: &ServiceSpec) {
    put_list(m, "cap_drop", &s.cap_drop);
    put_list(m, "cap_add", &s.cap_add);
    put_true(m, "privileged", s.privileged);
    put_list(m, "devices", &s.devices);
    put_list(m, "security_opt", &s.security_opt);
    put_opt(m, "pid", s.pid.as_ref());
    put_opt(m, "ipc", s.ipc.as_ref());
    put_opt(m, "cgroup", s.cgroup.as_ref());
}

fn put_files(m: &mut Map<String, Value>, s: &ServiceSpec) {
    for (key, mounts) in [("secrets", &s.secrets), ("configs", &s.configs)] {
        if !mounts.is_empty() {
            m.insert(
                key.into(),
                Value::Array(mounts.iter().map(file_mount).collect()),
            );
        }
    }
}

fn build_value(b: &BuildSpec) -> Value {
    let mut m = Map::new();
    m.insert("context".into(), json!(b.context));
    m.insert("dockerfile".into(), json!(b.dockerfile));
    put_opt(&mut m, "target", b.target.as_ref());
    put_map(&mut m, "args", &b.args);
    put_map(&mut m, "labels", &b.labels);
    put_true(&mut m, "no_cache", b.no_cache);
    put_true(&mut m, "pull", b.pull);
    Value::Object(m)
}

fn mount(mt: &Mount) -> Value {
    let kind = match mt.kind {
        MountKind::Volume => "volume",
        MountKind::Bind => "bind",
        MountKind::Tmpfs => "tmpfs",
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    put_opt(&mut m, "source", mt.source.as_ref());
    m.insert("target".into(), json!(mt.target));
    put_true(&mut m, "read_only", mt.read_only);
    Value::Object(m)
}

fn file_mount(f: &FileMount) -> Value {
    let mut m = Map::new();
    m.insert("source".into(), json!(f.source));
    m.insert("target".into(), json!(f.target));
    put_opt(&mut m, "uid", f.uid.as_ref());
    put_opt(&mut m, "gid", f.gid.as_ref());
    put_opt(&mut m, "mode", f.mode.as_ref());
    Value::Object(m)
}

fn healthcheck(h: &Healthcheck) -> Value {
    let mut m = Map::new();
    if h.test.first().map(String::as_str) == Some("NONE") {
        m.insert("disable".into(), json!(true));
        return Value::Object(m);
    }
    m.insert("test".into(), json!(h.test));
    put_opt(&mut m, "interval", h.interval_ns.map(duration).as_ref());
    put_opt(&mut m, "timeout", h.timeout_ns.map(duration).as_ref());
    put_opt(&mut m, "retries", h.retries.as_ref());
    let start_period = h.start_period_ns.map(duration);
    put_opt(&mut m, "start_period", start_period.as_ref());
    Value::Object(m)
}

/// Compose duration text for nanoseconds, in the largest unit that keeps it exact.
fn duration(ns: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    UNITS.iter().find(|(size, _)| ns % size == 0).map_or_else(
        || format!("{ns}ns"),
        |(size, unit)| format!("{}{unit}", ns / size),
    )
}

/// `key: {name: value(entry), ...}` unless there are no entries.
fn put_entries<T>(
    m: &mut Map<String, Value>,
    key: &str,
    entries: &BTreeMap<String, T>,
    value: impl Fn(&T) -> Value,
) {
    if !entries.is_empty() {
        let map = entries
            .iter()
            .map(|(name, entry)| (name.clone(), value(entry)))
            .collect();
        m.insert(key.into(), Value::Object(map));
    }
}

fn put_opt<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, value: Option<&T>) {
    if let Some(v) = value {
        m.insert(key.into(), json!(v));
    }
}

fn put_true(m: &mut Map<String, Value>, key: &str, value: bool) {
    if value {
        m.insert(key.into(), json!(true));
    }
}

fn put_list(m: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        m.insert(key.into(), json!(values));
    }
}

fn put_map(m: &mut Map<String, Value>, key: &str, values: &BTreeMap<String, String>) {
    if !values.is_empty() {
        m.insert(key.into(), json!(values));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;

    fn one_service(spec: ServiceSpec) -> Project {
        let mut project = Project {
            name: "demo".into(),
            ..Project::default()
        };
        project.services.insert("web".into(), spec);
        project
    }

    fn busybox() -> ServiceSpec {
        ServiceSpec {
            image: "busybox".into(),
            replicas: 1,
            ..ServiceSpec::default()
        }
    }

    #[test]
    fn secret_references_export_as_references() {
        let mut web = busybox();
        web.environment.insert(
            "PASSWORD".into(),
            EnvValue::Secret {
                secret: "db_pass".into(),
            },
        );
        let yaml = project_to_compose_yaml(&one_service(web)).unwrap();
        assert!(yaml.contains("secret: db_pass"), "{yaml}");
    }

    #[test]
    fn unset_variables_export_without_a_value() {
        let web = ServiceSpec {
            environment_unset: ["DEBUG".to_string()].into(),
            ..busybox()
        };
        let doc = project_to_compose(&one_service(web));
        let env = &doc["services"]["web"]["environment"];
        assert_eq!(env.get("DEBUG"), Some(&Value::Null), "{doc}");
    }

    #[test]
    fn dollars_are_escaped_in_values_only() {
        let mut web = busybox();
        web.command = Some(vec!["sh".into(), "-c".into(), "echo \"$GREETING\"".into()]);
        web.labels.insert("$key".into(), "$5".into());
        let doc = project_to_compose(&one_service(web));
        let service = &doc["services"]["web"];
        assert_eq!(service["command"][2], json!("echo \"$$GREETING\""));
        assert_eq!(service["labels"]["$key"], json!("$$5"));
    }

    #[test]
    fn durations_stay_exact() {
        assert_eq!(duration(30_000_000_000), "30s");
        assert_eq!(duration(1_500_000_000), "1500ms");
        assert_eq!(duration(2_000), "2us");
        assert_eq!(duration(1_500), "1500ns");
    }
}
