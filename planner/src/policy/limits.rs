//! Size and count limits on a spec, so that no small input can exhaust the server's memory or time.
//!
//! The operator may raise or lower each bound (`--max-spec-bytes`, `--max-yaml-nodes`, `--max-services`,
//! `--max-replicas`, `--max-containers`); the defaults keep a 1 MiB input under a few tens of MB and seconds.

use crate::error::{ErrorKind, SpecError};
use crate::model::Project;

/// Bounds enforced while loading a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the spec text (or of a JSON spec written out).
    pub max_spec_bytes: usize,
    /// YAML nodes after alias expansion; counted before anything is materialized.
    pub max_yaml_nodes: usize,
    /// Services in one project.
    pub max_services: usize,
    /// `scale` / `deploy.replicas` of one service.
    pub max_replicas: u32,
    /// Containers of one project: the sum of every service's replicas.
    pub max_containers: u64,
    /// Port bindings and exposed ports of one project once ranges (`8000-9000:8000-9000`) are expanded.
    pub max_ports: u64,
}

pub const DEFAULT_MAX_SPEC_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_YAML_NODES: usize = 250_000;
pub const DEFAULT_MAX_SERVICES: usize = 200;
pub const DEFAULT_MAX_REPLICAS: u32 = 100;
pub const DEFAULT_MAX_CONTAINERS: u64 = 500;
pub const DEFAULT_MAX_PORTS: u64 = 5_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_spec_bytes: DEFAULT_MAX_SPEC_BYTES,
            max_yaml_nodes: DEFAULT_MAX_YAML_NODES,
            max_services: DEFAULT_MAX_SERVICES,
            max_replicas: DEFAULT_MAX_REPLICAS,
            max_containers: DEFAULT_MAX_CONTAINERS,
            max_ports: DEFAULT_MAX_PORTS,
        }
    }
}

/// A count over its limit (a policy refusal: the spec may be well-formed).
fn over_limit(path: &str, message: String, flag: &str) -> SpecError {
    SpecError::new(ErrorKind::Policy, path, message, limit_fix(flag))
}

/// A document too large to read (reported as a syntax error, as before anything is parsed).
fn too_large(message: String, flag: &str) -> SpecError {
    SpecError::new(ErrorKind::Syntax, "", message, limit_fix(flag))
}

fn limit_fix(flag: &str) -> String {
    format!(
        "split the project or put large content in files; the server's operator may change the limit \
         with `{flag}`"
    )
}

/// Refuses a spec text longer than the limit.
pub fn check_spec_bytes(len: usize, limits: &Limits) -> Result<(), SpecError> {
    if len > limits.max_spec_bytes {
        return Err(too_large(
            format!(
                "the spec is {len} bytes; the limit is {} bytes",
                limits.max_spec_bytes
            ),
            "--max-spec-bytes",
        ));
    }
    Ok(())
}

/// The error for a document with more YAML nodes (aliases expanded) than the limit.
pub fn too_many_nodes(limits: &Limits) -> SpecError {
    too_large(
        format!(
            "the spec has more than {} YAML nodes once its aliases (`*name`) are expanded",
            limits.max_yaml_nodes
        ),
        "--max-yaml-nodes",
    )
}

/// Refuses a project with more services than the limit (checked on the raw document, before typing).
pub fn check_service_count(count: usize, limits: &Limits) -> Result<(), SpecError> {
    if count > limits.max_services {
        return Err(over_limit(
            "services",
            format!(
                "the spec has {count} services; the limit is {}",
                limits.max_services
            ),
            "--max-services",
        ));
    }
    Ok(())
}

/// Refuses services (`name -> body`, raw and interpolated) whose `ports` and `expose` ranges would expand
/// to more entries than the limit. Counted on the raw text, before anything is expanded.
pub fn check_port_count<'a>(
    services: impl IntoIterator<Item = &'a serde_json::Value>,
    limits: &Limits,
) -> Result<(), SpecError> {
    let mut total: u64 = 0;
    for body in services {
        for key in ["ports", "expose"] {
            if let Some(serde_json::Value::Array(entries)) = body.get(key) {
                total = entries
                    .iter()
                    .map(expanded_len)
                    .fold(total, u64::saturating_add);
            }
        }
    }
    if total > limits.max_ports {
        return Err(over_limit(
            "services",
            format!(
                "the spec's `ports` and `expose` ranges stand for {total} ports; the limit is {}",
                limits.max_ports
            ),
            "--max-ports",
        ));
    }
    Ok(())
}

/// How many ports one `ports`/`expose` entry stands for: its widest `a-b` range, else 1.
fn expanded_len(entry: &serde_json::Value) -> u64 {
    let texts: Vec<String> = match entry {
        serde_json::Value::String(text) => vec![text.clone()],
        serde_json::Value::Object(long) => ["published", "target"]
            .iter()
            .filter_map(|k| long.get(*k))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    texts
        .iter()
        .flat_map(|text| text.split(['/', ':']).map(range_len).collect::<Vec<_>>())
        .max()
        .unwrap_or(1)
}

fn range_len(part: &str) -> u64 {
    let Some((low, high)) = part.trim().split_once('-') else {
        return 1;
    };
    match (low.trim().parse::<u64>(), high.trim().parse::<u64>()) {
        (Ok(low), Ok(high)) if high >= low => high - low + 1,
        _ => 1,
    }
}

/// Refuses a service count above the replica limit and a project above the container limit.
pub fn check_replicas(project: &Project, limits: &Limits) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut total: u64 = 0;
    for (name, spec) in &project.services {
        total = total.saturating_add(u64::from(spec.replicas));
        if spec.replicas > limits.max_replicas {
            errors.push(over_limit(
                &format!("services.{name}.replicas"),
                format!(
                    "{} replicas (`scale` / `deploy.replicas`); the limit is {} per service",
                    spec.replicas, limits.max_replicas
                ),
                "--max-replicas",
            ));
        }
    }
    if total > limits.max_containers && errors.is_empty() {
        errors.push(over_limit(
            "services",
            format!(
                "the project would run {total} containers; the limit is {}",
                limits.max_containers
            ),
            "--max-containers",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceSpec;

    fn project(replicas: &[u32]) -> Project {
        let mut p = Project::default();
        for (i, r) in replicas.iter().enumerate() {
            let spec = ServiceSpec {
                replicas: *r,
                ..ServiceSpec::default()
            };
            p.services.insert(format!("s{i}"), spec);
        }
        p
    }

    #[test]
    fn replica_limits() {
        let limits = Limits::default();
        for (replicas, refused) in [
            (vec![1, 2, 3], false),
            (vec![100], false),
            (vec![101], true),
            (vec![u32::MAX], true),
            (vec![100; 5], false),
            (vec![100; 6], true),
        ] {
            let errors = check_replicas(&project(&replicas), &limits);
            assert_eq!(!errors.is_empty(), refused, "{replicas:?}: {errors:?}");
        }
    }

    #[test]
    fn port_ranges_are_counted_before_expansion() {
        let limits = Limits::default();
        let service = |ports: serde_json::Value| serde_json::json!({"ports": ports});
        for (ports, refused) in [
            (
                serde_json::json!(["80", "443:443", "127.0.0.1:8080:80/udp"]),
                false,
            ),
            (serde_json::json!(["1000-6000:1000-6000"]), true),
            (serde_json::json!(["1000-4999:1000-4999"]), false),
            (serde_json::json!(["1-65535:1-65535"]), true),
            (
                serde_json::json!([{"published": "1-65535", "target": 80}]),
                true,
            ),
            (
                serde_json::json!([{"published": 8080, "target": 80}]),
                false,
            ),
        ] {
            let services = [service(ports.clone())];
            assert_eq!(
                check_port_count(services.iter(), &limits).is_err(),
                refused,
                "{ports}"
            );
        }
    }

    #[test]
    fn byte_and_service_limits() {
        let limits = Limits::default();
        assert!(check_spec_bytes(DEFAULT_MAX_SPEC_BYTES, &limits).is_ok());
        assert!(check_spec_bytes(DEFAULT_MAX_SPEC_BYTES + 1, &limits).is_err());
        assert!(check_service_count(200, &limits).is_ok());
        assert!(check_service_count(201, &limits).is_err());
    }
}
