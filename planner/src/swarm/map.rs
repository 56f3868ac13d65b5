//! A loaded project onto Swarm specs, after docker/cli's `cli/compose/convert` (the `docker stack deploy`
//! mapping), with one difference: a key that has no Swarm meaning is an error naming it, or a warning where
//! `docker stack deploy` itself ignores it, never a silent drop.

use std::collections::BTreeMap;

use super::build::SwarmBuild;
use super::deploy::{DeployMode, ServiceDeploy};
use super::spec::{
    ContainerSpec, EndpointMode, EndpointSpec, FileObjectSpec, FileReference, NetworkSpec,
    NetworkTarget, PublishMode, PublishedPort, ServiceMode, ServiceSpec, TaskMount,
};
use super::{LABEL_STACK_IMAGE, LABEL_STACK_NAMESPACE, MAX_OBJECT_NAME};
use crate::error::{ErrorKind, SpecError, SpecErrors};
use crate::model::{self, EnvValue, FileMount, MountKind, Project};
use crate::policy::project::reserved_labels;
use crate::{hash, naming};

/// How many hex digits of a content digest a secret's or config's Swarm name carries.
pub const NAME_DIGEST_LEN: usize = 12;

/// A mapped service and the remarks about keys Swarm ignores.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedService {
    pub spec: ServiceSpec,
    pub warnings: Vec<String>,
}

/// What one service needs besides its own model.
pub struct ServiceInput<'a> {
    pub project: &'a Project,
    pub key: &'a str,
    pub deploy: &'a ServiceDeploy,
    /// Content digest (hex) of each secret and config, by compose key; the engine supplies them.
    pub digests: &'a BTreeMap<String, String>,
    /// The service's build on the manager, when it has `build:` and the operator named a registry.
    pub build: Option<&'a SwarmBuild>,
}

/// `{project}_{service}`, as `docker stack deploy` names services.
pub fn service_name(project: &str, service: &str) -> String {
    naming::scoped_name(project, service)
}

/// `{project}_{key}_{digest}`: secrets and configs are immutable, so new content gets a new name.
pub fn file_object_name(project: &str, key: &str, digest: &str) -> String {
    let short: String = digest.chars().take(NAME_DIGEST_LEN).collect();
    format!("{project}_{key}_{short}")
}

/// The labels on every Swarm object of a project: ours and the stack namespace.
pub fn object_labels(project: &str) -> BTreeMap<String, String> {
    let mut labels = naming::project_labels(project);
    labels.insert(LABEL_STACK_NAMESPACE.into(), project.into());
    labels
}

/// One service onto a Swarm service spec.
pub fn service(input: &ServiceInput<'_>) -> Result<MappedService, SpecErrors> {
    let svc = &input.project.services[input.key];
    let path = format!("services.{}", input.key);
    let unbuilt = svc.build.is_some() && input.build.is_none();
    let mut errors = refused_keys(svc, unbuilt, &path);
    // The engine target's rule for `labels:`: ownership, compose and stack labels are the server's.
    let deploy_path = format!("{path}.deploy");
    errors.extend(reserved_labels(&deploy_path, &input.deploy.labels));
    let warnings = ignored_keys(svc, &path);
    let container = container(input, svc, &path, &mut errors);
    let mode = mode(input.deploy, svc, &path, &mut errors);
    let endpoint = endpoint(input.deploy, svc, &path, &mut errors);
    let name = service_name(&input.project.name, input.key);
    check_name_length(&name, &path, &mut errors);
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }
    let mut labels = input.deploy.labels.clone();
    labels.extend(object_labels(&input.project.name));
    labels.insert(naming::LABEL_SERVICE.into(), input.key.into());
    labels.insert(LABEL_STACK_IMAGE.into(), image(input, svc));
    let spec = ServiceSpec {
        name,
        labels,
        container,
        resources: input.deploy.resources.clone(),
        restart: input.deploy.restart.clone().unwrap_or_default(),
        placement: input.deploy.placement.clone(),
        mode,
        update: input.deploy.update.clone(),
        rollback: input.deploy.rollback.clone(),
        endpoint,
        networks: networks(input, svc),
    };
    let mut spec = spec;
    let hash = super::diff::spec_hash(&spec);
    spec.labels
        .insert(super::diff::LABEL_SPEC_HASH.into(), hash);
    Ok(MappedService { spec, warnings })
}

fn check_name_length(name: &str, path: &str, errors: &mut Vec<SpecError>) {
    if name.len() > MAX_OBJECT_NAME {
        errors.push(SpecError::new(
            ErrorKind::Invalid,
            path,
            format!("the Swarm name `{name}` is longer than {MAX_OBJECT_NAME} characters"),
            "use a shorter project or key name",
        ));
    }
}

/// The image the tasks run: the built one's `repository:tag` (pinned by digest at apply), else `image:`.
fn image(input: &ServiceInput<'_>, svc: &model::ServiceSpec) -> String {
    match input.build {
        Some(build) => build.reference(),
        None => svc.image.clone(),
    }
}

/// Keys whose meaning would silently change on a swarm: each is an error naming it and the fix.
/// `unbuilt`: the service has `build:` but no registry was named to push the image to.
fn refused_keys(svc: &model::ServiceSpec, unbuilt: bool, path: &str) -> Vec<SpecError> {
    let refused: [(&str, bool, &str); 11] = [
        (
            "container_name",
            svc.container_name.is_some(),
            "Swarm names tasks itself; remove it",
        ),
        (
            "build",
            unbuilt,
            "the operator names a registry every node pulls from (--swarm-registry or \
             MCP_DOCKER_SWARM_REGISTRY); or push the image yourself and give `image:`",
        ),
        (
            "network_mode",
            svc.network_mode.is_some(),
            "use `networks:` (overlay networks)",
        ),
        (
            "pid",
            svc.pid.is_some(),
            "remove it: Swarm tasks cannot share a host's pid namespace",
        ),
        (
            "ipc",
            svc.ipc.is_some(),
            "remove it: Swarm tasks cannot share ipc namespaces",
        ),
        (
            "privileged",
            svc.privileged,
            "remove it: Swarm services cannot run privileged",
        ),
        (
            "devices",
            !svc.devices.is_empty(),
            "remove it: Swarm services cannot map devices",
        ),
        (
            "security_opt",
            !svc.security_opt.is_empty(),
            "remove it: Swarm services take no security options",
        ),
        (
            "runtime",
            svc.runtime.is_some(),
            "remove it: Swarm services use each node's default runtime",
        ),
        (
            "ulimits",
            !svc.ulimits.is_empty(),
            "remove it: not mapped onto Swarm services yet",
        ),
        (
            "mac_address",
            svc.mac_address.is_some(),
            "remove it: Swarm tasks take their addresses from their overlay networks",
        ),
    ];
    let mut errors: Vec<SpecError> = refused
        .iter()
        .filter(|(_, present, _)| *present)
        .map(|(key, _, fix)| {
            SpecError::new(
                ErrorKind::Unsupported,
                format!("{path}.{key}"),
                format!("`{key}` has no meaning on a swarm"),
                *fix,
            )
        })
        .collect();
    errors.extend(refused_mounts(svc, path));
    errors.extend(refused_env(svc, path));
    errors
}

/// A bind mount names a path on whichever node runs the task, not on the server's machine.
fn refused_mounts(svc: &model::ServiceSpec, path: &str) -> Vec<SpecError> {
    let binds = svc.mounts.iter().enumerate();
    binds
        .filter(|(_, m)| m.kind == MountKind::Bind)
        .map(|(i, m)| {
            SpecError::new(
                ErrorKind::Unsupported,
                format!("{path}.volumes[{i}]"),
                format!("bind mount of `{}` on a swarm would mount that path of whichever node runs the task",
                    m.source.as_deref().unwrap_or_default()),
                "use a named volume, or a config or secret for files",
            )
        })
        .collect()
}

/// `{secret: NAME}` env values would be written into the service spec, which any manager can inspect.
fn refused_env(svc: &model::ServiceSpec, path: &str) -> Vec<SpecError> {
    let secret_env = svc.environment.iter();
    secret_env
        .filter(|(_, v)| matches!(v, EnvValue::Secret { .. }))
        .map(|(k, _)| {
            SpecError::new(
                ErrorKind::Unsupported,
                format!("{path}.environment.{k}"),
                "a secret reference in the environment would be stored in the Swarm service spec in clear",
                "give it as a compose secret (`secrets:`) and read the file",
            )
        })
        .collect()
}

/// Keys `docker stack deploy` ignores with a warning.
fn ignored_keys(svc: &model::ServiceSpec, path: &str) -> Vec<String> {
    let ignored: [(&str, bool, &str); 7] = [
        (
            "domainname",
            svc.domainname.is_some(),
            "Swarm services have no domain name",
        ),
        (
            "cgroup",
            svc.cgroup.is_some(),
            "Swarm tasks run in the nodes' default cgroup namespace",
        ),
        (
            "memswap_limit",
            svc.memswap_limit.is_some(),
            "Swarm takes `deploy.resources` only",
        ),
        (
            "expose",
            !svc.expose.is_empty(),
            "services on the same network reach each other on any port",
        ),
        (
            "cpu_shares",
            svc.resources.cpu_shares.is_some(),
            "Swarm takes `deploy.resources` only",
        ),
        (
            "shm_size",
            svc.resources.shm_size_bytes.is_some(),
            "Swarm services have no shm size",
        ),
        (
            "logging",
            svc.logging.is_some(),
            "not mapped onto Swarm services yet; the nodes' default driver applies",
        ),
    ];
    ignored
        .iter()
        .filter(|(_, present, _)| *present)
        .map(|(key, _, why)| format!("{path}.{key}: ignored on a swarm ({why})"))
        .collect()
}

fn container(
    input: &ServiceInput<'_>,
    svc: &model::ServiceSpec,
    path: &str,
    errors: &mut Vec<SpecError>,
) -> ContainerSpec {
    let project = &input.project.name;
    let mut labels = svc.labels.clone();
    labels.insert(LABEL_STACK_NAMESPACE.into(), project.clone());
    let env = svc.environment.iter().filter_map(|(k, v)| match v {
        EnvValue::Literal(value) => Some(format!("{k}={value}")),
        EnvValue::Secret { .. } => None,
    });
    ContainerSpec {
        image: image(input, svc),
        labels,
        command: svc.entrypoint.clone(),
        args: svc.command.clone(),
        env: env.collect(),
        hostname: svc.hostname.clone(),
        user: svc.user.clone(),
        dir: svc.working_dir.clone(),
        init: svc.init,
        tty: svc.tty,
        open_stdin: svc.stdin_open,
        read_only: svc.read_only,
        stop_signal: svc.stop_signal.clone(),
        stop_grace_period_ns: svc.stop_grace_period_secs.map(secs_to_ns),
        healthcheck: svc.healthcheck.clone(),
        hosts: svc.extra_hosts.iter().map(|h| host_entry(h)).collect(),
        dns_nameservers: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        dns_options: svc.dns_opt.clone(),
        groups: svc.group_add.clone(),
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        sysctls: svc.sysctls.clone(),
        mounts: mounts(project, input.project, svc),
        secrets: file_refs(
            input,
            &svc.secrets,
            "secrets",
            &format!("{path}.secrets"),
            errors,
        ),
        configs: file_refs(
            input,
            &svc.configs,
            "configs",
            &format!("{path}.configs"),
            errors,
        ),
    }
}

fn secs_to_ns(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1_000_000_000)
        .saturating_mul(1_000_000_000)
}

/// Compose's `host:ip` (or `host=ip`) as the API's `ip host`.
fn host_entry(entry: &str) -> String {
    let split = entry.split_once('=').or_else(|| entry.split_once(':'));
    match split {
        Some((host, ip)) => format!("{ip} {host}"),
        None => entry.to_string(),
    }
}

fn mounts(project: &str, model: &Project, svc: &model::ServiceSpec) -> Vec<TaskMount> {
    let to_mount = |m: &model::Mount| match m.kind {
        MountKind::Tmpfs => Some(TaskMount::Tmpfs {
            target: m.target.clone(),
        }),
        MountKind::Volume => Some(TaskMount::Volume {
            source: m
                .source
                .as_deref()
                .map(|key| hash::volume_engine_name(model, key)),
            target: m.target.clone(),
            read_only: m.read_only,
            labels: m
                .source
                .as_ref()
                .map(|_| object_labels(project))
                .unwrap_or_default(),
        }),
        MountKind::Bind => None,
    };
    let tmpfs = svc.tmpfs.iter().map(|target| TaskMount::Tmpfs {
        target: target.split(':').next().unwrap_or(target).to_string(),
    });
    svc.mounts
        .iter()
        .filter_map(to_mount)
        .chain(tmpfs)
        .collect()
}

fn file_refs(
    input: &ServiceInput<'_>,
    mounts: &[FileMount],
    kind: &str,
    path: &str,
    errors: &mut Vec<SpecError>,
) -> Vec<FileReference> {
    let mut refs = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let Some(digest) = input.digests.get(&m.source) else {
            errors.push(SpecError::new(
                ErrorKind::Invalid,
                format!("{path}[{i}]"),
                format!("no content digest for {kind} `{}`", m.source),
                format!("declare `{}` under top-level `{kind}:`", m.source),
            ));
            continue;
        };
        refs.push(FileReference {
            name: file_object_name(&input.project.name, &m.source, digest),
            key: m.source.clone(),
            target: m.target.clone(),
            uid: m.uid.clone().unwrap_or_else(|| "0".into()),
            gid: m.gid.clone().unwrap_or_else(|| "0".into()),
            mode: m.mode.unwrap_or(0o444),
        });
    }
    refs
}

fn mode(
    deploy: &ServiceDeploy,
    svc: &model::ServiceSpec,
    path: &str,
    errors: &mut Vec<SpecError>,
) -> ServiceMode {
    match deploy.mode {
        DeployMode::Replicated => ServiceMode::Replicated {
            replicas: u64::from(svc.replicas),
        },
        DeployMode::Global => {
            if deploy.replicas_written.is_some() {
                errors.push(SpecError::new(
                    ErrorKind::Invalid,
                    format!("{path}.deploy.replicas"),
                    "`replicas` has no meaning with `mode: global` (one task per node)",
                    "remove `replicas`, or use `mode: replicated`",
                ));
            }
            ServiceMode::Global
        }
    }
}

fn endpoint(
    deploy: &ServiceDeploy,
    svc: &model::ServiceSpec,
    path: &str,
    errors: &mut Vec<SpecError>,
) -> EndpointSpec {
    let mut ports = Vec::new();
    for (i, p) in svc.ports.iter().enumerate() {
        let host_mode = deploy.host_mode_ports.contains(&p.target);
        let mode = if host_mode {
            PublishMode::Host
        } else {
            PublishMode::Ingress
        };
        let at = format!("{path}.ports[{i}]");
        if p.host_ip.is_some() {
            errors.push(SpecError::new(
                ErrorKind::Unsupported,
                &at,
                "a host IP has no meaning on a swarm (the port is published on every node's addresses)",
                "remove the host IP",
            ));
        }
        if mode == PublishMode::Ingress && deploy.endpoint_mode == EndpointMode::Dnsrr {
            errors.push(SpecError::new(
                ErrorKind::Invalid,
                &at,
                "an `ingress` port cannot be published with `endpoint_mode: dnsrr`",
                "use the long form with `mode: host`, or `endpoint_mode: vip`",
            ));
        }
        ports.push(PublishedPort {
            target: p.target,
            published: p.published,
            protocol: p.protocol,
            mode,
        });
    }
    EndpointSpec {
        mode: deploy.endpoint_mode,
        ports,
    }
}

/// Each network the service joins, answering to its service key (as compose's DNS does) and its aliases.
fn networks(input: &ServiceInput<'_>, svc: &model::ServiceSpec) -> Vec<NetworkTarget> {
    let project = input.project;
    hash::service_network_keys(project, svc)
        .into_iter()
        .map(|key| {
            let mut aliases = vec![input.key.to_string()];
            let attachment = svc.networks.get(key);
            aliases.extend(
                attachment
                    .into_iter()
                    .flat_map(|a| a.aliases.iter().cloned()),
            );
            NetworkTarget {
                name: hash::network_engine_name(project, key),
                aliases,
            }
        })
        .collect()
}

/// A compose network onto an attachable overlay network; another driver is an error naming it.
pub fn network(project: &Project, key: &str) -> Result<NetworkSpec, SpecError> {
    let net = &project.networks[key];
    let driver = net.driver.as_deref().unwrap_or("overlay");
    if driver != "overlay" {
        return Err(SpecError::new(
            ErrorKind::Unsupported,
            format!("networks.{key}.driver"),
            format!("driver `{driver}` does not span nodes"),
            "use `driver: overlay` (the default on a swarm) or remove `driver`",
        ));
    }
    let mut labels = net.labels.clone();
    labels.extend(object_labels(&project.name));
    labels.insert(naming::LABEL_NETWORK.into(), key.into());
    Ok(NetworkSpec {
        name: hash::network_engine_name(project, key),
        driver: "overlay".into(),
        attachable: true,
        internal: net.internal,
        labels,
    })
}

/// Which top-level section a file object comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    pub fn section(self) -> &'static str {
        match self {
            FileKind::Secret => "secrets",
            FileKind::Config => "configs",
        }
    }
}

/// A compose secret or config onto its Swarm object, named after its content digest.
pub fn file_object(
    project: &str,
    kind: FileKind,
    key: &str,
    digest: &str,
) -> Result<FileObjectSpec, SpecError> {
    let name = file_object_name(project, key, digest);
    let mut errors = Vec::new();
    check_name_length(&name, &format!("{}.{key}", kind.section()), &mut errors);
    if let Some(e) = errors.pop() {
        return Err(e);
    }
    Ok(FileObjectSpec {
        name,
        key: key.into(),
        digest: digest.into(),
        labels: object_labels(project),
    })
}
