//! Config hashes (what forces a replace) and the observed-state fingerprint (what makes a plan stale).
//!
//! Like compose, a container carries a hash of the configuration it was created from; the diff replaces it
//! when the desired hash differs. The hash therefore covers exactly what cannot change on a live container:
//! settings Docker updates in place (restart policy, limits) and the replica count are left out, and inputs
//! that live outside the spec (build context, secret and config contents) enter as digests supplied by the
//! engine. Hashes are sha256 over JSON that is canonical by construction: typed data is streamed straight
//! into the hasher (struct fields in declaration order, `BTreeMap`s sorted), and ad-hoc `Value`s are written
//! with their object keys sorted, so nothing depends on map order or on serde_json's `preserve_order`
//! feature being switched on by some other crate.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::{
    EnvValue, FileSource, MountKind, Project, Resources, RestartPolicy, ServiceSpec,
};
use crate::naming;
use crate::observed::ObservedState;
use crate::plan::ExternalDigests;

/// A secret's or config's source definition and the digest of its value.
type Input<'a> = (Option<&'a FileSource>, Option<&'a String>);

/// Hash of everything about `service` whose change requires a new container. An unknown service hashes as
/// an empty spec rather than panicking; validation guarantees the caller never asks for one.
pub fn service_config_hash(project: &Project, service: &str, digests: &ExternalDigests) -> String {
    let Some(spec) = project.services.get(service) else {
        return sha256_hex(b"");
    };
    let hashed = hashed_service(spec);
    // Each secret and config enters with where it comes from (so inline `content:` counts even when the
    // engine supplies no digest for it) and the engine's digest of its value (so a new value replaces).
    let secrets: BTreeMap<&str, Input> = secret_names(spec)
        .into_iter()
        .map(|name| (name, (project.secrets.get(name), digests.secrets.get(name))))
        .collect();
    let configs: BTreeMap<&str, Input> = spec
        .configs
        .iter()
        .map(|c| {
            let name = c.source.as_str();
            (name, (project.configs.get(name), digests.configs.get(name)))
        })
        .collect();
    #[derive(Serialize)]
    struct Hashed<'a> {
        service: ServiceSpec,
        build_digest: Option<&'a String>,
        secrets: BTreeMap<&'a str, Input<'a>>,
        configs: BTreeMap<&'a str, Input<'a>>,
        networks: BTreeMap<String, String>,
        volumes: BTreeMap<String, String>,
    }
    hash_serialized(&Hashed {
        service: hashed,
        build_digest: digests.builds.get(service),
        secrets,
        configs,
        networks: service_network_names(project, spec),
        volumes: service_volume_names(project, spec),
    })
}

/// Hash of a network's configuration; a change replaces the network (and the containers on it).
pub fn network_config_hash(project: &Project, key: &str) -> String {
    match project.networks.get(key) {
        Some(spec) => {
            let mut hashed = json!({
                "name": network_engine_name(project, key),
                "driver": spec.driver,
                "internal": spec.internal,
                "labels": spec.labels,
            });
            // Added only when set, so the hash of every network written before these keys existed is unchanged.
            if let Some(object) = hashed.as_object_mut() {
                if spec.enable_ipv6 {
                    object.insert("enable_ipv6".into(), Value::Bool(true));
                }
                if let Some(ipam) = &spec.ipam {
                    object.insert("ipam".into(), json!(ipam));
                }
            }
            hash_value(&hashed)
        }
        None => sha256_hex(b""),
    }
}

/// Hash of a volume's configuration. A differing volume hash is only reported, never acted on: recreating a
/// volume would lose its data.
pub fn volume_config_hash(project: &Project, key: &str) -> String {
    match project.volumes.get(key) {
        Some(spec) => hash_value(&json!({
            "name": volume_engine_name(project, key),
            "driver": spec.driver,
            "labels": spec.labels,
        })),
        None => sha256_hex(b""),
    }
}

/// Stable hash of the observed facts a plan depends on, independent of the order the engine listed them in.
///
/// Container state enters coarsely (running or not, plus dead/removing), because that is all the diff looks
/// at: a container flapping between `running` and `restarting` must not make every plan stale. Health and
/// uptime are left out for the same reason.
pub fn fingerprint(observed: &ObservedState) -> String {
    #[derive(Serialize)]
    struct Container<'a> {
        id: &'a str,
        name: &'a str,
        service: &'a str,
        number: u32,
        config_hash: Option<&'a str>,
        state: &'static str,
        image: &'a str,
        restart: &'a RestartPolicy,
        resources: &'a Resources,
        managed_by: Option<&'a str>,
        depends_on: Option<&'a str>,
    }
    let mut containers: Vec<Container<'_>> = observed
        .containers
        .iter()
        .map(|c| Container {
            id: &c.id,
            name: &c.name,
            service: &c.service,
            number: c.number,
            config_hash: c.config_hash.as_deref(),
            state: coarse_state(c.state),
            image: &c.image,
            restart: &c.restart,
            resources: &c.resources,
            managed_by: c.labels.get(naming::LABEL_MANAGED_BY).map(String::as_str),
            depends_on: c.labels.get(naming::LABEL_DEPENDS_ON).map(String::as_str),
        })
        .collect();
    containers.sort_by(|a, b| (a.id, a.name).cmp(&(b.id, b.name)));
    let mut networks: Vec<(&str, &str, &str, Option<&str>)> = observed
        .networks
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                n.name.as_str(),
                n.key.as_str(),
                n.config_hash.as_deref(),
            )
        })
        .collect();
    networks.sort_unstable();
    let mut volumes: Vec<(&str, &str, Option<&str>)> = observed
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.key.as_str(), v.config_hash.as_deref()))
        .collect();
    volumes.sort_unstable();
    let mut lookalikes: Vec<&str> = observed
        .unmanaged_lookalikes
        .iter()
        .map(String::as_str)
        .collect();
    lookalikes.sort_unstable();
    lookalikes.dedup();
    #[derive(Serialize)]
    struct Facts<'a> {
        project: &'a str,
        containers: Vec<Container<'a>>,
        networks: Vec<(&'a str, &'a str, &'a str, Option<&'a str>)>,
        volumes: Vec<(&'a str, &'a str, Option<&'a str>)>,
        images_present: &'a std::collections::BTreeSet<String>,
        unmanaged_lookalikes: Vec<&'a str>,
    }
    hash_serialized(&Facts {
        project: &observed.project,
        containers,
        networks,
        volumes,
        images_present: &observed.images_present,
        unmanaged_lookalikes: lookalikes,
    })
}

fn coarse_state(state: crate::observed::ContainerState) -> &'static str {
    use crate::observed::ContainerState as S;
    match state {
        S::Dead => "dead",
        S::Removing => "removing",
        s if s.is_running() => "running",
        _ => "stopped",
    }
}

/// The service spec without the fields that change live or do not describe one container.
fn hashed_service(spec: &ServiceSpec) -> ServiceSpec {
    let mut hashed = spec.clone();
    hashed.restart = RestartPolicy::default();
    hashed.resources = Resources {
        shm_size_bytes: spec.resources.shm_size_bytes,
        ..Resources::default()
    };
    hashed.replicas = 1;
    // Like compose: when and how the image is obtained is not container configuration; the build's effect
    // enters through its digest. Dependencies order the apply but do not change a container either.
    hashed.pull_policy = Default::default();
    if let Some(build) = hashed.build.as_mut() {
        build.no_cache = false;
        build.pull = false;
    }
    hashed.depends_on.clear();
    hashed.profiles.clear();
    hashed
}

/// Secrets the service reads: mounted compose secrets and `{secret: NAME}` environment references.
pub(crate) fn secret_names(spec: &ServiceSpec) -> Vec<&str> {
    let mut names: Vec<&str> = spec.secrets.iter().map(|s| s.source.as_str()).collect();
    names.extend(spec.environment.values().filter_map(|v| match v {
        EnvValue::Secret { secret } => Some(secret.as_str()),
        EnvValue::Literal(_) => None,
    }));
    names.sort_unstable();
    names.dedup();
    names
}

/// Engine name of a project network: its `name:` override (always set for external ones) or `{project}_{key}`.
pub fn network_engine_name(project: &Project, key: &str) -> String {
    match project.networks.get(key).and_then(|n| n.name.clone()) {
        Some(name) => name,
        None => naming::scoped_name(&project.name, key),
    }
}

/// Engine name of a project volume, like `network_engine_name`.
pub fn volume_engine_name(project: &Project, key: &str) -> String {
    match project.volumes.get(key).and_then(|v| v.name.clone()) {
        Some(name) => name,
        None => naming::scoped_name(&project.name, key),
    }
}

/// Network keys a service joins. A service that names none joins `default`, as in compose, unless it uses a
/// `network_mode` (allowlisted) instead.
pub fn service_network_keys<'a>(project: &'a Project, spec: &'a ServiceSpec) -> Vec<&'a str> {
    if !spec.networks.is_empty() {
        return spec.networks.keys().map(String::as_str).collect();
    }
    if spec.network_mode.is_none() && project.networks.contains_key("default") {
        return vec!["default"];
    }
    Vec::new()
}

/// Named volume keys a service mounts (anonymous volumes, binds and tmpfs have no project volume).
pub fn service_volume_keys<'a>(project: &Project, spec: &'a ServiceSpec) -> Vec<&'a str> {
    let mut keys: Vec<&str> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .filter_map(|m| m.source.as_deref())
        .filter(|key| project.volumes.contains_key(*key))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Compose network key -> engine name, for the service's networks.
pub fn service_network_names(project: &Project, spec: &ServiceSpec) -> BTreeMap<String, String> {
    service_network_keys(project, spec)
        .into_iter()
        .map(|key| (key.to_string(), network_engine_name(project, key)))
        .collect()
}

/// Compose volume key -> engine name, for the service's named volumes.
pub fn service_volume_names(project: &Project, spec: &ServiceSpec) -> BTreeMap<String, String> {
    service_volume_keys(project, spec)
        .into_iter()
        .map(|key| (key.to_string(), volume_engine_name(project, key)))
        .collect()
}

/// sha256 hex of the JSON serialization of typed data, streamed into the hasher. Typed data serializes
/// canonically by itself (struct fields in declaration order, `BTreeMap`s sorted, no `Value` maps whose
/// order a crate feature could change), so this skips building a `Value` on the hot path of big plans.
fn hash_serialized<T: Serialize>(value: &T) -> String {
    struct HashWriter(Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail and our types have string keys only; should serialization still
    // fail, the error text gives a stable, distinct hash instead of a panic.
    if let Err(e) = serde_json::to_writer(&mut writer, value) {
        return sha256_hex(e.to_string().as_bytes());
    }
    hex::encode(writer.0.finalize())
}

/// sha256 hex of the canonical JSON of `value`.
pub fn hash_value(value: &Value) -> String {
    let mut text = String::with_capacity(512);
    write_canonical(value, &mut text);
    sha256_hex(text.as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// JSON with object keys sorted, no whitespace.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[1,{"q":1,"p":2}]}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":[1,{"p":2,"q":1}],"y":2},"b":1}"#).unwrap();
        assert_eq!(hash_value(&a), hash_value(&b));
    }
}
