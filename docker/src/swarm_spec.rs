//! The planner's plain Swarm service spec onto bollard's `ServiceSpec`, field for field.
//!
//! Secrets and configs are referenced by ID in the API, so the caller passes the IDs of the objects the
//! service names; a missing one is `DockerError::NotFound` rather than a service the engine would refuse.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, HealthConfig, Limit, Mount, MountTmpfsOptions, MountType,
    MountVolumeOptions, NetworkAttachmentConfig, ResourceObject, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecDnsConfig, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use planner::model::Protocol;
use planner::swarm::spec::{
    self as plain, EndpointMode, FailureAction, PublishMode, RestartCondition, ServiceMode,
    TaskMount, UpdateOrder,
};

use crate::DockerError;

/// The IDs of the secrets and configs a service references, by their Swarm names.
pub type ObjectIds = BTreeMap<String, String>;

/// The API body for creating or updating `spec`.
pub fn service_body(
    spec: &plain::ServiceSpec,
    ids: &ObjectIds,
) -> Result<ServiceSpec, DockerError> {
    let networks = spec.networks.iter().map(network).collect();
    Ok(ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(hash_map(&spec.labels)),
        task_template: Some(TaskSpec {
            container_spec: Some(container(&spec.container, ids)?),
            resources: Some(resources(&spec.resources)),
            restart_policy: Some(restart(&spec.restart)),
            placement: Some(placement(&spec.placement)),
            networks: Some(networks),
            ..TaskSpec::default()
        }),
        mode: Some(mode(spec.mode)),
        update_config: spec.update.as_ref().map(update),
        rollback_config: spec.rollback.as_ref().map(rollback),
        endpoint_spec: Some(endpoint(&spec.endpoint)),
        ..ServiceSpec::default()
    })
}

fn hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn non_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// Nameservers, search domains and resolver options; none of them set is no DNS config at all.
fn dns_config(c: &plain::ContainerSpec) -> Option<TaskSpecContainerSpecDnsConfig> {
    let config = TaskSpecContainerSpecDnsConfig {
        nameservers: non_empty(&c.dns_nameservers),
        search: non_empty(&c.dns_search),
        options: non_empty(&c.dns_options),
    };
    (config != TaskSpecContainerSpecDnsConfig::default()).then_some(config)
}

fn container(
    c: &plain::ContainerSpec,
    ids: &ObjectIds,
) -> Result<TaskSpecContainerSpec, DockerError> {
    Ok(TaskSpecContainerSpec {
        image: Some(c.image.clone()),
        labels: Some(hash_map(&c.labels)),
        command: c.command.clone(),
        args: c.args.clone(),
        env: Some(c.env.clone()),
        hostname: c.hostname.clone(),
        user: c.user.clone(),
        dir: c.dir.clone(),
        init: c.init,
        tty: Some(c.tty),
        open_stdin: Some(c.open_stdin),
        read_only: Some(c.read_only),
        stop_signal: c.stop_signal.clone(),
        stop_grace_period: c.stop_grace_period_ns,
        health_check: c.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval_ns,
            timeout: h.timeout_ns,
            retries: h.retries,
            start_period: h.start_period_ns,
            ..HealthConfig::default()
        }),
        hosts: non_empty(&c.hosts),
        dns_config: dns_config(c),
        groups: non_empty(&c.groups),
        capability_add: non_empty(&c.cap_add),
        capability_drop: non_empty(&c.cap_drop),
        sysctls: (!c.sysctls.is_empty()).then(|| hash_map(&c.sysctls)),
        mounts: Some(c.mounts.iter().map(mount).collect()),
        secrets: Some(
            c.secrets
                .iter()
                .map(|r| secret(r, ids))
                .collect::<Result<_, _>>()?,
        ),
        configs: Some(
            c.configs
                .iter()
                .map(|r| config(r, ids))
                .collect::<Result<_, _>>()?,
        ),
        ..TaskSpecContainerSpec::default()
    })
}

fn object_id(reference: &plain::FileReference, ids: &ObjectIds) -> Result<String, DockerError> {
    ids.get(&reference.name)
        .cloned()
        .ok_or_else(|| DockerError::NotFound {
            what: format!("swarm object {}", reference.name),
            message: format!(
                "`{}` must be created before the services that use it",
                reference.key
            ),
        })
}

fn secret(
    r: &plain::FileReference,
    ids: &ObjectIds,
) -> Result<TaskSpecContainerSpecSecrets, DockerError> {
    Ok(TaskSpecContainerSpecSecrets {
        file: Some(TaskSpecContainerSpecFile {
            name: Some(r.target.clone()),
            uid: Some(r.uid.clone()),
            gid: Some(r.gid.clone()),
            mode: Some(r.mode),
        }),
        secret_id: Some(object_id(r, ids)?),
        secret_name: Some(r.name.clone()),
    })
}

fn config(
    r: &plain::FileReference,
    ids: &ObjectIds,
) -> Result<TaskSpecContainerSpecConfigs, DockerError> {
    Ok(TaskSpecContainerSpecConfigs {
        file: Some(TaskSpecContainerSpecFile1 {
            name: Some(r.target.clone()),
            uid: Some(r.uid.clone()),
            gid: Some(r.gid.clone()),
            mode: Some(r.mode),
        }),
        config_id: Some(object_id(r, ids)?),
        config_name: Some(r.name.clone()),
        ..TaskSpecContainerSpecConfigs::default()
    })
}

fn mount(m: &TaskMount) -> Mount {
    match m {
        TaskMount::Volume {
            source,
            target,
            read_only,
            labels,
        } => Mount {
            typ: Some(MountType::VOLUME),
            source: source.clone(),
            target: Some(target.clone()),
            read_only: Some(*read_only),
            volume_options: Some(MountVolumeOptions {
                labels: Some(hash_map(labels)),
                ..MountVolumeOptions::default()
            }),
            ..Mount::default()
        },
        TaskMount::Tmpfs { target } => Mount {
            typ: Some(MountType::TMPFS),
            target: Some(target.clone()),
            tmpfs_options: Some(MountTmpfsOptions::default()),
            ..Mount::default()
        },
    }
}

fn resources(r: &plain::TaskResources) -> TaskSpecResources {
    TaskSpecResources {
        limits: Some(Limit {
            nano_cpus: r.limit_nano_cpus,
            memory_bytes: r.limit_memory_bytes,
            pids: r.limit_pids,
        }),
        reservations: Some(ResourceObject {
            nano_cpus: r.reserve_nano_cpus,
            memory_bytes: r.reserve_memory_bytes,
            ..ResourceObject::default()
        }),
        ..TaskSpecResources::default()
    }
}

fn restart(r: &plain::RestartSpec) -> TaskSpecRestartPolicy {
    TaskSpecRestartPolicy {
        condition: Some(match r.condition {
            RestartCondition::None => TaskSpecRestartPolicyConditionEnum::NONE,
            RestartCondition::OnFailure => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
            RestartCondition::Any => TaskSpecRestartPolicyConditionEnum::ANY,
        }),
        delay: r.delay_ns,
        max_attempts: r.max_attempts.and_then(|n| i64::try_from(n).ok()),
        window: r.window_ns,
    }
}

fn placement(p: &plain::Placement) -> TaskSpecPlacement {
    let spread = p
        .spread
        .iter()
        .map(|descriptor| TaskSpecPlacementPreferences {
            spread: Some(TaskSpecPlacementSpread {
                spread_descriptor: Some(descriptor.clone()),
            }),
        });
    TaskSpecPlacement {
        constraints: non_empty(&p.constraints),
        preferences: Some(spread.collect()),
        max_replicas: p.max_replicas_per_node.and_then(|n| i64::try_from(n).ok()),
        ..TaskSpecPlacement::default()
    }
}

fn mode(m: ServiceMode) -> ServiceSpecMode {
    match m {
        ServiceMode::Replicated { replicas } => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: i64::try_from(replicas).ok(),
            }),
            ..ServiceSpecMode::default()
        },
        ServiceMode::Global => ServiceSpecMode {
            global: Some(HashMap::new()),
            ..ServiceSpecMode::default()
        },
    }
}

fn update(u: &plain::UpdatePolicy) -> ServiceSpecUpdateConfig {
    ServiceSpecUpdateConfig {
        parallelism: i64::try_from(u.parallelism).ok(),
        delay: u.delay_ns,
        failure_action: u.failure_action.map(|a| match a {
            FailureAction::Pause => ServiceSpecUpdateConfigFailureActionEnum::PAUSE,
            FailureAction::Continue => ServiceSpecUpdateConfigFailureActionEnum::CONTINUE,
            FailureAction::Rollback => ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK,
        }),
        monitor: u.monitor_ns,
        max_failure_ratio: u.max_failure_ratio.map(f64::from),
        order: u.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
        }),
    }
}

/// A rollback cannot itself roll back: `rollback` there means pause, as the engine reads it.
fn rollback(u: &plain::UpdatePolicy) -> ServiceSpecRollbackConfig {
    ServiceSpecRollbackConfig {
        parallelism: i64::try_from(u.parallelism).ok(),
        delay: u.delay_ns,
        failure_action: u.failure_action.map(|a| match a {
            FailureAction::Continue => ServiceSpecRollbackConfigFailureActionEnum::CONTINUE,
            FailureAction::Pause | FailureAction::Rollback => {
                ServiceSpecRollbackConfigFailureActionEnum::PAUSE
            }
        }),
        monitor: u.monitor_ns,
        max_failure_ratio: u.max_failure_ratio.map(f64::from),
        order: u.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecRollbackConfigOrderEnum::START_FIRST,
        }),
    }
}

fn endpoint(e: &plain::EndpointSpec) -> EndpointSpec {
    let ports = e.ports.iter().map(|p| EndpointPortConfig {
        protocol: Some(match p.protocol {
            Protocol::Tcp => EndpointPortConfigProtocolEnum::TCP,
            Protocol::Udp => EndpointPortConfigProtocolEnum::UDP,
            Protocol::Sctp => EndpointPortConfigProtocolEnum::SCTP,
        }),
        target_port: Some(i64::from(p.target)),
        published_port: p.published.map(i64::from),
        publish_mode: Some(match p.mode {
            PublishMode::Ingress => EndpointPortConfigPublishModeEnum::INGRESS,
            PublishMode::Host => EndpointPortConfigPublishModeEnum::HOST,
        }),
        ..EndpointPortConfig::default()
    });
    EndpointSpec {
        mode: Some(match e.mode {
            EndpointMode::Vip => EndpointSpecModeEnum::VIP,
            EndpointMode::Dnsrr => EndpointSpecModeEnum::DNSRR,
        }),
        ports: Some(ports.collect()),
    }
}

fn network(n: &plain::NetworkTarget) -> NetworkAttachmentConfig {
    NetworkAttachmentConfig {
        target: Some(n.name.clone()),
        aliases: Some(n.aliases.clone()),
        ..NetworkAttachmentConfig::default()
    }
}
