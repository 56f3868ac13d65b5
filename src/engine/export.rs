//! Regenerates a compose file from a normalized project, for `export` and for status.
//!
//! The model keeps secret references, never values, so the export cannot leak one: `{secret: NAME}`
//! environment entries and `secrets:`/`configs:` sources come out as the references they were.

use planner::model::{
    BuildSpec, DependsCondition, EnvValue, FileMount, FileSource, Healthcheck, Mount, MountKind,
    Project, PullPolicy, RestartPolicy, ServiceSpec,
};
use serde_json::{json, Map, Value};

use super::EngineError;

/// The project as compose YAML.
pub fn project_to_compose_yaml(project: &Project) -> Result<String, EngineError> {
    serde_yaml::to_string(&project_to_compose(project))
        .map_err(|e| EngineError::Internal(format!("cannot write the project as YAML: {e}")))
}

/// The project as a compose-shaped JSON value.
pub fn project_to_compose(project: &Project) -> Value {
    let mut top = Map::new();
    top.insert("name".into(), json!(project.name));
    let services: Map<String, Value> = project
        .services
        .iter()
        .map(|(name, s)| (name.clone(), service(s)))
        .collect();
    top.insert("services".into(), Value::Object(services));
    if !project.networks.is_empty() {
        let networks = project
            .networks
            .iter()
            .map(|(key, n)| {
                let mut m = Map::new();
                put_opt(&mut m, "name", n.name.as_ref());
                put_opt(&mut m, "driver", n.driver.as_ref());
                put_map(&mut m, "labels", &n.labels);
                put_true(&mut m, "internal", n.internal);
                put_true(&mut m, "external", n.external);
                (key.clone(), Value::Object(m))
            })
            .collect();
        top.insert("networks".into(), Value::Object(networks));
    }
    if !project.volumes.is_empty() {
        let volumes = project
            .volumes
            .iter()
            .map(|(key, v)| {
                let mut m = Map::new();
                put_opt(&mut m, "name", v.name.as_ref());
                put_opt(&mut m, "driver", v.driver.as_ref());
                put_map(&mut m, "labels", &v.labels);
                put_true(&mut m, "external", v.external);
                (key.clone(), Value::Object(m))
            })
            .collect();
        top.insert("volumes".into(), Value::Object(volumes));
    }
    for (key, sources) in [("secrets", &project.secrets), ("configs", &project.configs)] {
        if !sources.is_empty() {
            let entries = sources
                .iter()
                .map(|(name, source)| {
                    let v = match source {
                        FileSource::File(path) => json!({ "file": path }),
                        FileSource::Environment(var) => json!({ "environment": var }),
                        FileSource::Content(content) => json!({ "content": content }),
                    };
                    (name.clone(), v)
                })
                .collect();
            top.insert(key.into(), Value::Object(entries));
        }
    }
    Value::Object(top)
}

fn service(s: &ServiceSpec) -> Value {
    let mut m = Map::new();
    m.insert("image".into(), json!(s.image));
    if let Some(build) = &s.build {
        m.insert("build".into(), build_value(build));
    }
    if s.pull_policy != PullPolicy::Missing {
        let policy = match s.pull_policy {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
            PullPolicy::Build => "build",
        };
        m.insert("pull_policy".into(), json!(policy));
    }
    put_opt(&mut m, "command", s.command.as_ref());
    put_opt(&mut m, "entrypoint", s.entrypoint.as_ref());
    if !s.environment.is_empty() || !s.environment_unset.is_empty() {
        let mut env: Map<String, Value> = s
            .environment
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    EnvValue::Literal(text) => json!(text),
                    EnvValue::Secret { secret } => json!({ "secret": secret }),
                };
                (k.clone(), value)
            })
            .collect();
        // `KEY:` with no value: compose passes it as a bare `KEY`, unsetting the image's default.
        for key in &s.environment_unset {
            env.insert(key.clone(), Value::Null);
        }
        m.insert("environment".into(), Value::Object(env));
    }
    if !s.ports.is_empty() {
        let ports: Vec<Value> = s
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
    put_list(&mut m, "expose", &s.expose);
    let volumes: Vec<Value> = s.mounts.iter().map(mount).collect();
    if !volumes.is_empty() {
        m.insert("volumes".into(), Value::Array(volumes));
    }
    put_list(&mut m, "tmpfs", &s.tmpfs);
    if !s.networks.is_empty() {
        let networks: Map<String, Value> = s
            .networks
            .iter()
            .map(|(key, att)| {
                let v = if att.aliases.is_empty() {
                    Value::Null
                } else {
                    json!({ "aliases": att.aliases })
                };
                (key.clone(), v)
            })
            .collect();
        m.insert("networks".into(), Value::Object(networks));
    }
    if !s.depends_on.is_empty() {
        let deps: Map<String, Value> = s
            .depends_on
            .iter()
            .map(|(name, d)| {
                let condition = match d.condition {
                    DependsCondition::ServiceStarted => "service_started",
                    DependsCondition::ServiceHealthy => "service_healthy",
                    DependsCondition::ServiceCompletedSuccessfully => {
                        "service_completed_successfully"
                    }
                };
                let mut dm = Map::new();
                dm.insert("condition".into(), json!(condition));
                if !d.required {
                    dm.insert("required".into(), json!(false));
                }
                (name.clone(), Value::Object(dm))
            })
            .collect();
        m.insert("depends_on".into(), Value::Object(deps));
    }
    if s.restart != RestartPolicy::No {
        m.insert("restart".into(), json!(s.restart.to_compose()));
    }
    if let Some(h) = &s.healthcheck {
        m.insert("healthcheck".into(), healthcheck(h));
    }
    put_map(&mut m, "labels", &s.labels);
    put_opt(&mut m, "working_dir", s.working_dir.as_ref());
    put_opt(&mut m, "user", s.user.as_ref());
    put_opt(&mut m, "hostname", s.hostname.as_ref());
    put_opt(&mut m, "init", s.init.as_ref());
    put_opt(
        &mut m,
        "stop_grace_period",
        s.stop_grace_period_secs.map(|n| format!("{n}s")).as_ref(),
    );
    put_opt(&mut m, "stop_signal", s.stop_signal.as_ref());
    let r = &s.resources;
    put_opt(&mut m, "mem_limit", r.memory_bytes.as_ref());
    put_opt(
        &mut m,
        "mem_reservation",
        r.memory_reservation_bytes.as_ref(),
    );
    put_opt(
        &mut m,
        "cpus",
        r.nano_cpus.map(|n| format!("{}", n as f64 / 1e9)).as_ref(),
    );
    put_opt(&mut m, "cpu_shares", r.cpu_shares.as_ref());
    put_opt(&mut m, "pids_limit", r.pids_limit.as_ref());
    put_opt(&mut m, "shm_size", r.shm_size_bytes.as_ref());
    put_true(&mut m, "read_only", s.read_only);
    put_list(&mut m, "extra_hosts", &s.extra_hosts);
    put_opt(&mut m, "container_name", s.container_name.as_ref());
    if s.replicas != 1 {
        m.insert("scale".into(), json!(s.replicas));
    }
    put_opt(&mut m, "platform", s.platform.as_ref());
    put_opt(&mut m, "runtime", s.runtime.as_ref());
    put_true(&mut m, "stdin_open", s.stdin_open);
    put_true(&mut m, "tty", s.tty);
    put_map(&mut m, "sysctls", &s.sysctls);
    if !s.ulimits.is_empty() {
        let limits: Map<String, Value> = s
            .ulimits
            .iter()
            .map(|(k, u)| (k.clone(), json!({ "soft": u.soft, "hard": u.hard })))
            .collect();
        m.insert("ulimits".into(), Value::Object(limits));
    }
    put_list(&mut m, "dns", &s.dns);
    put_list(&mut m, "cap_drop", &s.cap_drop);
    put_list(&mut m, "cap_add", &s.cap_add);
    put_true(&mut m, "privileged", s.privileged);
    put_list(&mut m, "devices", &s.devices);
    put_list(&mut m, "security_opt", &s.security_opt);
    put_opt(&mut m, "network_mode", s.network_mode.as_ref());
    put_opt(&mut m, "pid", s.pid.as_ref());
    put_opt(&mut m, "ipc", s.ipc.as_ref());
    if let Some(logging) = &s.logging {
        let mut lm = Map::new();
        lm.insert("driver".into(), json!(logging.driver));
        put_map(&mut lm, "options", &logging.options);
        m.insert("logging".into(), Value::Object(lm));
    }
    for (key, mounts) in [("secrets", &s.secrets), ("configs", &s.configs)] {
        if !mounts.is_empty() {
            m.insert(
                key.into(),
                Value::Array(mounts.iter().map(file_mount).collect()),
            );
        }
    }
    put_list(&mut m, "profiles", &s.profiles);
    Value::Object(m)
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
    let mut m = Map::new();
    let kind = match mt.kind {
        MountKind::Volume => "volume",
        MountKind::Bind => "bind",
        MountKind::Tmpfs => "tmpfs",
    };
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
    put_opt(
        &mut m,
        "start_period",
        h.start_period_ns.map(duration).as_ref(),
    );
    Value::Object(m)
}

/// Compose duration text for nanoseconds, in the largest unit that keeps it exact.
fn duration(ns: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    for (size, unit) in UNITS {
        if ns % size == 0 {
            return format!("{}{unit}", ns / size);
        }
    }
    format!("{ns}ns")
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

fn put_map(
    m: &mut Map<String, Value>,
    key: &str,
    values: &std::collections::BTreeMap<String, String>,
) {
    if !values.is_empty() {
        m.insert(key.into(), json!(values));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_export_as_references() {
        let mut project = Project {
            name: "demo".into(),
            ..Project::default()
        };
        let mut web = ServiceSpec {
            image: "busybox".into(),
            replicas: 1,
            ..ServiceSpec::default()
        };
        web.environment.insert(
            "PASSWORD".into(),
            EnvValue::Secret {
                secret: "db_pass".into(),
            },
        );
        project.services.insert("web".into(), web);
        let yaml = project_to_compose_yaml(&project).unwrap();
        assert!(yaml.contains("secret: db_pass"), "{yaml}");
    }

    #[test]
    fn unset_variables_export_without_a_value() {
        let mut project = Project {
            name: "demo".into(),
            ..Project::default()
        };
        let web = ServiceSpec {
            image: "busybox".into(),
            replicas: 1,
            environment_unset: ["DEBUG".to_string()].into(),
            ..ServiceSpec::default()
        };
        project.services.insert("web".into(), web);
        let yaml = project_to_compose_yaml(&project).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        let env = &doc["services"]["web"]["environment"];
        assert!(env.as_mapping().is_some(), "{yaml}");
        assert_eq!(env["DEBUG"], serde_yaml::Value::Null, "{yaml}");
        assert!(env.as_mapping().unwrap().contains_key("DEBUG"), "{yaml}");
    }

    #[test]
    fn durations_stay_exact() {
        assert_eq!(duration(30_000_000_000), "30s");
        assert_eq!(duration(1_500_000_000), "1500ms");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod roundtrip {
    use planner::load::{load_yaml, LoadOptions};

    use super::*;
    use crate::host::SystemHost;

    /// An exported project loads back into the same normalized project.
    #[test]
    fn export_loads_back_to_the_same_project() {
        let dir = tempfile::tempdir().unwrap();
        let options = LoadOptions {
            project_name: Some("rt".into()),
            project_dir: dir.path().to_path_buf(),
            profiles: vec![],
            policy: Default::default(),
        };
        let source = r#"
services:
  db:
    image: mcp-docker-test/busybox:latest
    init: true
    command: ["sh", "-c", "sleep 3600"]
    environment:
      MODE: primary
      PASSWORD: {secret: db_password}
      MCP_EXPORT_ROUNDTRIP_NEVER_SET:
    healthcheck:
      test: ["CMD-SHELL", "test -f /ready"]
      interval: 2s
      timeout: 1500ms
      retries: 5
    volumes:
      - data:/data
      - type: tmpfs
        target: /scratch
    networks:
      back:
        aliases: [database]
    restart: unless-stopped
    ports:
      - "127.0.0.1:18080:80"
    mem_limit: 64m
    cpus: 0.5
    labels:
      tier: data
  web:
    image: mcp-docker-test/busybox:latest
    ports:
      - "80"
      - "90/udp"
    expose: ["8080"]
    depends_on:
      db:
        condition: service_healthy
    networks: [back, front]
    stop_grace_period: 5s
    working_dir: /srv
    user: "1000"
    read_only: true
    extra_hosts: ["gateway:10.0.0.1"]
    scale: 2
networks:
  back:
    internal: true
  front:
    labels:
      purpose: public
volumes:
  data:
    labels:
      keep: "yes"
"#;
        let original = load_yaml(source, &options, &SystemHost).unwrap();
        assert!(
            original.services["db"]
                .environment_unset
                .contains("MCP_EXPORT_ROUNDTRIP_NEVER_SET"),
            "the source should carry a variable without a value"
        );
        let exported = project_to_compose_yaml(&original).unwrap();
        let reloaded = load_yaml(&exported, &options, &SystemHost)
            .unwrap_or_else(|e| panic!("export does not load back: {e}\n{exported}"));
        assert_eq!(reloaded.services, original.services, "{exported}");
        assert_eq!(reloaded.networks, original.networks, "{exported}");
        assert_eq!(reloaded.volumes, original.volumes, "{exported}");
    }
}
