//! Turns a planner `ContainerTarget` (or, for the primitive tools, a bare `ServiceSpec`) into the bollard
//! create body, and secrets/configs into the tar uploaded
//! before start.
//!
//! The API version this server must support (1.41) accepts one network at create time, so the first network
//! goes into the create call and the rest are connected afterwards (`extra_networks`). Secret and config
//! contents never enter the container config (where `docker inspect` would show them): they are copied into
//! the created container as files.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig, Mount, MountType,
    NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy as EngineRestart,
    RestartPolicyNameEnum,
};
use planner::model::{
    EnvValue, FileMount, MountKind, NetworkAttachment, RestartPolicy, ServiceSpec,
};
use planner::plan::ContainerTarget;

use super::error::DockerError;
use super::execute::SecretValues;
use super::inherited_labels;

/// Where compose mounts secrets.
const SECRETS_DIR: &str = "/run/secrets";
/// Default mode of secret and config files: world-readable, writable by nobody.
const DEFAULT_FILE_MODE: u32 = 0o444;

/// Everything needed to create one container.
#[derive(Debug, Clone)]
pub struct CreateSpec {
    pub body: ContainerCreateBody,
    /// `platform` query parameter of the create call.
    pub platform: Option<String>,
    /// Networks to connect after create: engine network name and endpoint settings (aliases).
    pub extra_networks: Vec<(String, EndpointSettings)>,
    /// The container config's `MacAddress`, which bollard's `body` cannot carry (`raw_api` sends it).
    pub mac_address: Option<String>,
}

/// Builds the create body for `target`, resolving `{secret: NAME}` environment references from `secrets`.
pub fn create_spec(
    target: &ContainerTarget,
    secrets: &SecretValues,
) -> Result<CreateSpec, DockerError> {
    let spec = &target.spec;
    let (networking, network_mode, extra_networks) = networks(target)?;
    let mut mounts = mounts(spec, |key| {
        target.volume_names.get(key).cloned().ok_or_else(|| {
            DockerError::InvalidAction(format!(
                "container {} mounts volume {key:?}, which has no engine name in the plan",
                target.name
            ))
        })
    })?;
    mounts.extend(secrets_volume(target));
    let base = service_body(spec, mounts)?;
    let body = ContainerCreateBody {
        env: Some(environment(spec, secrets)?),
        labels: Some(label_map(&target.labels)),
        host_config: base.host_config.map(|host| HostConfig {
            network_mode,
            ..host
        }),
        networking_config: networking,
        ..base
    };
    Ok(CreateSpec {
        body,
        platform: spec.platform.clone(),
        extra_networks,
        mac_address: spec.mac_address.clone(),
    })
}

/// Label marking containers made through the primitive tools (never carries the project label, so plans
/// never touch them).
pub const LABEL_PRIMITIVE: &str = "io.mcp-docker-server.primitive";

/// The create spec of a primitive container (one made by the MCP container tools, outside any project).
///
/// Everything the spec alone decides is mapped by `service_body`, as for plan-made containers; what differs
/// is here: named volumes and networks are the engine's objects of that name, the labels mark the container
/// as primitive, and networks carry only the aliases the spec gives. The caller has refused specs that need
/// a project (builds, secrets, configs, `{secret: NAME}` values), so nothing is left to resolve.
/// `image_labels` are the image's own: the reserved ones among them are masked (`inherited_labels`).
pub fn primitive_create_spec(
    spec: &ServiceSpec,
    image_labels: &HashMap<String, String>,
) -> Result<CreateSpec, DockerError> {
    let env = environment(spec, &SecretValues::new())?;
    let mut labels = inherited_labels::masks(image_labels);
    labels.extend(spec.labels.clone());
    labels.insert(LABEL_PRIMITIVE.into(), "true".into());
    let mounts = mounts(spec, |name| Ok::<_, Infallible>(name.to_string()))
        .unwrap_or_else(|never| match never {});
    let mut networks: Vec<(&String, &NetworkAttachment)> = spec
        .networks
        .iter()
        .filter(|(key, _)| key.as_str() != "default")
        .collect();
    networks.sort_by(|a, b| a.0.cmp(b.0));
    let network_mode = spec
        .network_mode
        .clone()
        .or_else(|| networks.first().map(|(name, _)| (*name).clone()));
    let endpoint =
        |attachment: &NetworkAttachment| endpoint_settings(attachment.aliases.clone(), attachment);
    let extra_networks = networks
        .iter()
        .skip(1)
        .map(|(name, attachment)| ((*name).clone(), endpoint(attachment)))
        .collect();
    let endpoints: HashMap<String, EndpointSettings> = networks
        .iter()
        .take(1)
        .map(|(name, attachment)| ((*name).clone(), endpoint(attachment)))
        .collect();
    let base = service_body(spec, mounts)?;
    let body = ContainerCreateBody {
        env: (!env.is_empty()).then_some(env),
        labels: Some(labels),
        host_config: base.host_config.map(|host| HostConfig {
            network_mode,
            ..host
        }),
        networking_config: (!endpoints.is_empty()).then_some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..base
    };
    Ok(CreateSpec {
        body,
        platform: spec.platform.clone(),
        extra_networks,
        mac_address: spec.mac_address.clone(),
    })
}

/// The create body as far as `spec` alone decides it, shared by plan-made and primitive containers: image,
/// process, ports, health, resources and the rest of the host config, with `mounts` as given. Environment,
/// labels and networks are left to the caller, because a project and a primitive container resolve them
/// differently.
pub fn service_body(
    spec: &ServiceSpec,
    mounts: Vec<Mount>,
) -> Result<ContainerCreateBody, DockerError> {
    let (exposed_ports, port_bindings) = ports(spec);
    let host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        restart_policy: Some(restart_policy(&spec.restart)),
        init: spec.init,
        memory: spec.resources.memory_bytes,
        memory_reservation: spec.resources.memory_reservation_bytes,
        nano_cpus: spec.resources.nano_cpus,
        cpu_shares: spec.resources.cpu_shares,
        pids_limit: spec.resources.pids_limit,
        shm_size: spec.resources.shm_size_bytes,
        tmpfs: Some(tmpfs(&spec.tmpfs)).filter(|t| !t.is_empty()),
        readonly_rootfs: spec.read_only.then_some(true),
        extra_hosts: non_empty(&spec.extra_hosts),
        ulimits: Some(
            spec.ulimits
                .iter()
                .map(|(name, u)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect::<Vec<_>>(),
        )
        .filter(|u| !u.is_empty()),
        sysctls: Some(
            spec.sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
        .filter(|s| !s.is_empty()),
        dns: non_empty(&spec.dns),
        dns_search: non_empty(&spec.dns_search),
        dns_options: non_empty(&spec.dns_opt),
        group_add: non_empty(&spec.group_add),
        cgroupns_mode: spec.cgroup.as_deref().map(cgroupns_mode),
        memory_swap: spec.memswap_limit,
        cap_drop: non_empty(&spec.cap_drop),
        cap_add: non_empty(&spec.cap_add),
        privileged: spec.privileged.then_some(true),
        devices: Some(
            spec.devices
                .iter()
                .map(|d| device(d))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .filter(|d| !d.is_empty()),
        security_opt: non_empty(&spec.security_opt),
        pid_mode: spec.pid.clone(),
        ipc_mode: spec.ipc.clone(),
        log_config: spec.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: Some(l.driver.clone()),
            config: Some(
                l.options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        }),
        runtime: spec.runtime.clone(),
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        exposed_ports: (!exposed_ports.is_empty()).then_some(exposed_ports),
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval_ns,
            timeout: h.timeout_ns,
            retries: h.retries,
            start_period: h.start_period_ns,
            ..Default::default()
        }),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        hostname: spec.hostname.clone(),
        domainname: spec.domainname.clone(),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec
            .stop_grace_period_secs
            .and_then(|s| i64::try_from(s).ok()),
        tty: spec.tty.then_some(true),
        open_stdin: spec.stdin_open.then_some(true),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// The cgroup namespace mode in engine form; normalization admits only `host` and `private`.
fn cgroupns_mode(mode: &str) -> HostConfigCgroupnsModeEnum {
    match mode {
        "host" => HostConfigCgroupnsModeEnum::HOST,
        _ => HostConfigCgroupnsModeEnum::PRIVATE,
    }
}

/// Endpoint settings of one network: its aliases and fixed addresses.
fn endpoint_settings(aliases: Vec<String>, attachment: &NetworkAttachment) -> EndpointSettings {
    let fixed = attachment.ipv4_address.is_some() || attachment.ipv6_address.is_some();
    EndpointSettings {
        aliases: (!aliases.is_empty()).then_some(aliases),
        ipam_config: fixed.then(|| EndpointIpamConfig {
            ipv4_address: attachment.ipv4_address.clone(),
            ipv6_address: attachment.ipv6_address.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The restart policy in engine form (also used by in-place updates).
pub fn restart_policy(policy: &RestartPolicy) -> EngineRestart {
    let (name, retries) = match policy {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        RestartPolicy::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, n.map(i64::from)),
    };
    EngineRestart {
        name: Some(name),
        maximum_retry_count: retries,
    }
}

fn non_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// `KEY=value` entries, then a bare `KEY` for each variable written without a value, which the engine
/// takes as "unset the image's `KEY`" (as compose passes it).
pub fn environment(spec: &ServiceSpec, secrets: &SecretValues) -> Result<Vec<String>, DockerError> {
    let unset = spec.environment_unset.iter().map(|key| Ok(key.clone()));
    spec.environment
        .iter()
        .map(|(key, value)| match value {
            EnvValue::Literal(v) => Ok(format!("{key}={v}")),
            EnvValue::Secret { secret } => {
                let bytes = secrets
                    .get(secret)
                    .ok_or_else(|| DockerError::MissingSecret { kind: "secret".into(), name: secret.clone() })?;
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    DockerError::InvalidAction(format!(
                        "secret {secret:?} used in environment.{key} is not UTF-8 text; environment values must be text"
                    ))
                })?;
                Ok(format!("{key}={text}"))
            }
        })
        .chain(unset)
        .collect()
}

/// `ExposedPorts` keys and `PortBindings`, both keyed `port/proto`.
fn ports(spec: &ServiceSpec) -> (Vec<String>, HashMap<String, Option<Vec<PortBinding>>>) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &spec.ports {
        let key = format!("{}/{}", port.target, port.protocol.as_str());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = PortBinding {
            host_ip: port.host_ip.clone(),
            host_port: Some(port.published.map(|p| p.to_string()).unwrap_or_default()),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    for port in &spec.expose {
        let key = if port.contains('/') {
            port.clone()
        } else {
            format!("{port}/tcp")
        };
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    (exposed, bindings)
}

/// The spec's mounts in engine form; `volume_source` turns a named volume's spec key into the engine volume
/// to mount (a project's prefixed name, or the name itself for a primitive container).
pub fn mounts<E>(
    spec: &ServiceSpec,
    volume_source: impl Fn(&str) -> Result<String, E>,
) -> Result<Vec<Mount>, E> {
    spec.mounts
        .iter()
        .map(|m| {
            let (typ, source) = match m.kind {
                MountKind::Volume => {
                    let source = match &m.source {
                        Some(key) => Some(volume_source(key)?),
                        None => None,
                    };
                    (MountType::VOLUME, source)
                }
                MountKind::Bind => (MountType::BIND, m.source.clone()),
                MountKind::Tmpfs => (MountType::TMPFS, None),
            };
            Ok(Mount {
                target: Some(m.target.clone()),
                source,
                typ: Some(typ),
                read_only: m.read_only.then_some(true),
                ..Default::default()
            })
        })
        .collect()
}

/// `tmpfs` entries `path[:options]` as the engine's path -> options map.
fn tmpfs(entries: &[String]) -> HashMap<String, String> {
    entries
        .iter()
        .map(|e| match e.split_once(':') {
            Some((path, opts)) => (path.to_string(), opts.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect()
}

/// `host[:container[:permissions]]`, as `docker run --device` reads it.
fn device(entry: &str) -> Result<DeviceMapping, DockerError> {
    let parts: Vec<&str> = entry.split(':').collect();
    let (host, container, perms) = match parts.as_slice() {
        [host] => (*host, *host, "rwm"),
        [host, container] => (*host, *container, "rwm"),
        [host, container, perms] => (*host, *container, *perms),
        _ => {
            return Err(DockerError::InvalidAction(format!(
                "device {entry:?} is not HOST[:CONTAINER[:PERMISSIONS]]"
            )))
        }
    };
    Ok(DeviceMapping {
        path_on_host: Some(host.to_string()),
        path_in_container: Some(container.to_string()),
        cgroup_permissions: Some(perms.to_string()),
    })
}

type Networking = (
    Option<NetworkingConfig>,
    Option<String>,
    Vec<(String, EndpointSettings)>,
);

/// The first network (in compose key order) goes into the create call; the rest are connected after create.
/// Every endpoint carries the service name as an alias, which gives DNS by service name.
fn networks(target: &ContainerTarget) -> Result<Networking, DockerError> {
    let spec = &target.spec;
    if let Some(mode) = &spec.network_mode {
        return Ok((None, Some(mode.clone()), Vec::new()));
    }
    let mut endpoints = Vec::new();
    for (key, attachment) in &spec.networks {
        let name = target.network_names.get(key).cloned().ok_or_else(|| {
            DockerError::InvalidAction(format!(
                "container {} joins network {key:?}, which has no engine name in the plan",
                target.name
            ))
        })?;
        let mut aliases = vec![target.service.clone()];
        aliases.extend(
            attachment
                .aliases
                .iter()
                .filter(|a| **a != target.service)
                .cloned(),
        );
        endpoints.push((name, endpoint_settings(aliases, attachment)));
    }
    let mut rest = endpoints.into_iter();
    let Some((first_name, first)) = rest.next() else {
        return Ok((None, None, Vec::new()));
    };
    let config = NetworkingConfig {
        endpoints_config: Some(HashMap::from([(first_name.clone(), first)])),
    };
    Ok((Some(config), Some(first_name), rest.collect()))
}

/// Tars holding every secret and config file of `target`, each with the container directory to extract it
/// into (`/`, or `/run/secrets` for a read-only container whose secrets volume is the only writable place).
pub fn secret_files_archives(
    target: &ContainerTarget,
    secrets: &SecretValues,
    configs: &SecretValues,
) -> Result<Vec<(String, Vec<u8>)>, DockerError> {
    let spec = &target.spec;
    let into_volume = secrets_volume(target).is_some();
    let mut root = tar::Builder::new(Vec::new());
    let mut volume = tar::Builder::new(Vec::new());
    let (mut root_used, mut volume_used) = (false, false);
    let kinds: [(&str, &[FileMount], &SecretValues); 2] = [
        ("secret", &spec.secrets, secrets),
        ("config", &spec.configs, configs),
    ];
    for (kind, mounts, values) in kinds {
        for mount in mounts {
            let content = values
                .get(&mount.source)
                .ok_or_else(|| DockerError::MissingSecret {
                    kind: kind.into(),
                    name: mount.source.clone(),
                })?;
            let path = checked_path(kind, mount)?;
            match path.strip_prefix(&format!("{}/", SECRETS_DIR.trim_start_matches('/'))) {
                Some(inside) if into_volume => {
                    append_file(&mut volume, kind, mount, inside, content)?;
                    volume_used = true;
                }
                _ => {
                    append_file(&mut root, kind, mount, &path, content)?;
                    root_used = true;
                }
            }
        }
    }
    let finish = |builder: tar::Builder<Vec<u8>>| {
        builder.into_inner().map_err(|e| {
            DockerError::InvalidAction(format!("cannot assemble the secret files archive: {e}"))
        })
    };
    let mut archives = Vec::new();
    if root_used {
        archives.push(("/".to_string(), finish(root)?));
    }
    if volume_used {
        archives.push((SECRETS_DIR.to_string(), finish(volume)?));
    }
    Ok(archives)
}

/// Where a secret or config lands: compose reads a relative secret target as a name under /run/secrets and a
/// relative config target as a path under /.
fn file_target(kind: &str, mount: &FileMount) -> String {
    if mount.target.starts_with('/') {
        mount.target.clone()
    } else if kind == "secret" {
        format!("{SECRETS_DIR}/{}", mount.target)
    } else {
        format!("/{}", mount.target)
    }
}

/// A read-only root file system refuses the files copied in before start, but a volume inside it does not:
/// such containers get an anonymous volume at /run/secrets when their secrets land there.
fn secrets_volume(target: &ContainerTarget) -> Option<Mount> {
    let spec = &target.spec;
    let lands_there = spec
        .secrets
        .iter()
        .map(|m| file_target("secret", m))
        .chain(spec.configs.iter().map(|m| file_target("config", m)))
        .any(|t| t.starts_with(&format!("{SECRETS_DIR}/")));
    let already_mounted = spec
        .mounts
        .iter()
        .any(|m| m.target.trim_end_matches('/') == SECRETS_DIR);
    (spec.read_only && lands_there && !already_mounted).then(|| Mount {
        target: Some(SECRETS_DIR.to_string()),
        typ: Some(MountType::VOLUME),
        ..Default::default()
    })
}

/// The file's path inside the container, relative to `/`, refusing empty paths and `..`.
fn checked_path(kind: &str, mount: &FileMount) -> Result<String, DockerError> {
    let absolute = file_target(kind, mount);
    let path = absolute.trim_start_matches('/');
    if path.is_empty() || mount.target.is_empty() || path.split('/').any(|c| c == "..") {
        return Err(DockerError::InvalidAction(format!(
            "{kind} {:?} has target {:?}; use an absolute path inside the container without `..`",
            mount.source, mount.target
        )));
    }
    Ok(path.to_string())
}

fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    kind: &str,
    mount: &FileMount,
    path: &str,
    content: &[u8],
) -> Result<(), DockerError> {
    let id = |field: &Option<String>, what: &str| -> Result<u64, DockerError> {
        match field {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                DockerError::InvalidAction(format!(
                    "{kind} {:?}: {what} {v:?} is not a number; give a numeric {what}",
                    mount.source
                ))
            }),
        }
    };
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mount.mode.unwrap_or(DEFAULT_FILE_MODE));
    header.set_uid(id(&mount.uid, "uid")?);
    header.set_gid(id(&mount.gid, "gid")?);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, content)
        .map_err(|e| {
            DockerError::InvalidAction(format!(
                "{kind} {:?}: cannot add to the archive: {e}",
                mount.source
            ))
        })
}

/// Labels of a target as the engine's map type.
pub fn label_map(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use planner::model::{PortBinding as SpecPort, Protocol};

    fn target(spec: ServiceSpec) -> ContainerTarget {
        ContainerTarget {
            service: "web".into(),
            number: 1,
            name: "demo-web-1".into(),
            spec,
            labels: BTreeMap::from([("k".to_string(), "v".to_string())]),
            config_hash: "h".into(),
            network_names: BTreeMap::from([
                ("back".to_string(), "demo_back".to_string()),
                ("front".to_string(), "demo_front".to_string()),
            ]),
            volume_names: BTreeMap::from([("data".to_string(), "demo_data".to_string())]),
            wait_for: vec![],
        }
    }

    #[test]
    fn maps_ports_mounts_and_networks() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            ports: vec![
                SpecPort {
                    target: 80,
                    published: Some(8080),
                    host_ip: Some("127.0.0.1".into()),
                    protocol: Protocol::Tcp,
                },
                SpecPort {
                    target: 80,
                    published: Some(8081),
                    host_ip: None,
                    protocol: Protocol::Tcp,
                },
                SpecPort {
                    target: 53,
                    published: None,
                    host_ip: None,
                    protocol: Protocol::Udp,
                },
            ],
            expose: vec!["9000".into()],
            mounts: vec![planner::model::Mount {
                kind: MountKind::Volume,
                source: Some("data".into()),
                target: "/data".into(),
                read_only: true,
            }],
            networks: BTreeMap::from([
                (
                    "front".to_string(),
                    NetworkAttachment {
                        aliases: vec!["www".into()],
                        ..NetworkAttachment::default()
                    },
                ),
                ("back".to_string(), NetworkAttachment::default()),
            ]),
            tmpfs: vec!["/run:size=64k".into()],
            ..Default::default()
        };
        let created = create_spec(&target(spec), &SecretValues::new()).unwrap();
        let body = created.body;
        let exposed = body.exposed_ports.unwrap();
        assert!(exposed.contains(&"80/tcp".to_string()) && exposed.contains(&"53/udp".to_string()));
        assert!(exposed.contains(&"9000/tcp".to_string()));
        let host = body.host_config.unwrap();
        let bindings = host.port_bindings.unwrap();
        assert_eq!(bindings["80/tcp"].as_ref().unwrap().len(), 2);
        assert_eq!(
            bindings["53/udp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("")
        );
        let mount = &host.mounts.unwrap()[0];
        assert_eq!(mount.source.as_deref(), Some("demo_data"));
        assert_eq!(mount.read_only, Some(true));
        assert_eq!(host.tmpfs.unwrap()["/run"], "size=64k");
        // First network (key order) at create, the rest after; the service name is always an alias.
        assert_eq!(host.network_mode.as_deref(), Some("demo_back"));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints["demo_back"].aliases.as_ref().unwrap(),
            &vec!["web".to_string()]
        );
        assert_eq!(created.extra_networks.len(), 1);
        assert_eq!(created.extra_networks[0].0, "demo_front");
        assert_eq!(
            created.extra_networks[0].1.aliases.as_ref().unwrap(),
            &vec!["web".to_string(), "www".to_string()]
        );
    }

    #[test]
    fn env_secrets_resolve_and_a_missing_one_is_named() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            environment: BTreeMap::from([(
                "PW".to_string(),
                EnvValue::Secret {
                    secret: "db_pw".into(),
                },
            )]),
            ..Default::default()
        };
        let err = create_spec(&target(spec.clone()), &SecretValues::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"db_pw\""), "{err}");
        let secrets = SecretValues::from([("db_pw".to_string(), b"hunter2".to_vec())]);
        let env = create_spec(&target(spec), &secrets)
            .unwrap()
            .body
            .env
            .unwrap();
        assert_eq!(env, vec!["PW=hunter2".to_string()]);
    }

    #[test]
    fn variables_without_a_value_pass_as_bare_keys() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            environment: BTreeMap::from([("A".to_string(), EnvValue::Literal("1".into()))]),
            environment_unset: ["DEBUG".to_string()].into(),
            ..Default::default()
        };
        let env = create_spec(&target(spec), &SecretValues::new())
            .unwrap()
            .body
            .env
            .unwrap();
        assert_eq!(env, vec!["A=1".to_string(), "DEBUG".to_string()]);
    }

    #[test]
    fn secret_files_default_read_only_under_run_secrets() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            secrets: vec![FileMount {
                source: "tok".into(),
                target: "tok".into(),
                uid: None,
                gid: None,
                mode: None,
            }],
            configs: vec![FileMount {
                source: "conf".into(),
                target: "/etc/app.conf".into(),
                uid: Some("1000".into()),
                gid: None,
                mode: Some(0o440),
            }],
            ..Default::default()
        };
        let secrets = SecretValues::from([("tok".to_string(), b"s".to_vec())]);
        let configs = SecretValues::from([("conf".to_string(), b"c=1".to_vec())]);
        let archives = secret_files_archives(&target(spec.clone()), &secrets, &configs).unwrap();
        assert_eq!(archives.len(), 1);
        let (dir, tar) = &archives[0];
        assert_eq!(dir, "/");
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("run/secrets/tok".into(), 0o444, 0),
                ("etc/app.conf".into(), 0o440, 1000)
            ]
        );
        assert!(
            secrets_volume(&target(spec.clone())).is_none(),
            "only read-only containers need it"
        );
        let read_only = ServiceSpec {
            read_only: true,
            ..spec.clone()
        };
        let mounts = create_spec(&target(read_only), &secrets)
            .unwrap()
            .body
            .host_config
            .unwrap()
            .mounts
            .unwrap();
        assert_eq!(mounts[0].target.as_deref(), Some("/run/secrets"));
        let err = secret_files_archives(&target(spec), &SecretValues::new(), &configs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"tok\""), "{err}");
    }

    #[test]
    fn variables_without_a_value_unset_the_image_default() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            environment: [("A".to_string(), EnvValue::Literal("1".into()))].into(),
            environment_unset: ["DEBUG".to_string()].into(),
            ..Default::default()
        };
        let env = primitive_create_spec(&spec, &HashMap::new())
            .unwrap()
            .body
            .env
            .unwrap();
        assert_eq!(env, vec!["A=1".to_string(), "DEBUG".to_string()]);
    }

    #[test]
    fn named_volumes_and_networks_are_the_engines_own() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            mounts: vec![planner::model::Mount {
                kind: planner::model::MountKind::Volume,
                source: Some("shared".into()),
                target: "/data".into(),
                read_only: false,
            }],
            networks: [
                ("default".to_string(), Default::default()),
                ("backend".to_string(), Default::default()),
            ]
            .into(),
            ..Default::default()
        };
        let created = primitive_create_spec(&spec, &HashMap::new()).unwrap();
        let host = created.body.host_config.unwrap();
        assert_eq!(host.mounts.unwrap()[0].source.as_deref(), Some("shared"));
        assert_eq!(host.network_mode.as_deref(), Some("backend"));
        let endpoints = created
            .body
            .networking_config
            .unwrap()
            .endpoints_config
            .unwrap();
        assert_eq!(
            endpoints["backend"].aliases, None,
            "no service-name alias outside a project"
        );
        assert!(created.extra_networks.is_empty());
        assert_eq!(created.body.labels.unwrap()[LABEL_PRIMITIVE], "true");
    }
}
