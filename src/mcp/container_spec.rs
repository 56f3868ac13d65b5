//! Turns one planner `ServiceSpec` into the engine's container-create body, for the primitive container tools.
//!
//! `create_container`, `run_container` and `recreate_container` accept exactly what a compose service accepts
//! (loaded and policy-checked by `Engine::load_service`), so a container made by hand and one made by a plan
//! are described the same way. Outside a project there is no project prefix: a named volume or network in the
//! spec is the engine's object of that name, and `default` means Docker's default bridge.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig,
    Mount as EngineMount, MountType, NetworkingConfig, PortBinding as EnginePortBinding,
    ResourcesUlimits, RestartPolicy as EngineRestart, RestartPolicyNameEnum,
};
use planner::model::{EnvValue, MountKind, RestartPolicy, ServiceSpec};

use super::output::ToolError;

/// Label marking containers made through the primitive tools (never carries the project label, so plans
/// never touch them).
pub const LABEL_PRIMITIVE: &str = "io.mcp-docker-server.primitive";

/// What creating one primitive container takes.
pub struct PrimitiveCreate {
    pub body: ContainerCreateBody,
    /// Networks to connect after create, with their aliases: API 1.41 accepts only one network at create.
    pub extra_networks: Vec<(String, Vec<String>)>,
}

/// The create body for `spec`; fails on parts only a project can provide (secrets, configs, builds).
pub fn create_body(spec: &ServiceSpec) -> Result<PrimitiveCreate, ToolError> {
    if spec.build.is_some() {
        return Err(ToolError::invalid(
            "spec.build",
            "the container tools run an existing image",
            "build it first with build_image and put its tag in `image`, or use plan/apply with `build`",
        ));
    }
    if !spec.secrets.is_empty() || !spec.configs.is_empty() {
        return Err(ToolError::invalid(
            "spec.secrets",
            "compose secrets and configs need a project",
            "use plan/apply for services with `secrets` or `configs`",
        ));
    }
    let mut env = Vec::new();
    for (key, value) in &spec.environment {
        match value {
            EnvValue::Literal(text) => env.push(format!("{key}={text}")),
            EnvValue::Secret { .. } => {
                return Err(ToolError::invalid(
                    &format!("spec.environment.{key}"),
                    "`{secret: NAME}` references are resolved only by plan/apply",
                    "use plan/apply for this service, or pass a literal value",
                ))
            }
        }
    }
    // A variable written without a value and not set on the server goes as a bare `KEY`, which the engine
    // takes as "unset the image's default", as compose passes it.
    env.extend(spec.environment_unset.iter().cloned());
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.insert(LABEL_PRIMITIVE.into(), "true".into());

    let mut port_bindings: HashMap<String, Option<Vec<EnginePortBinding>>> = HashMap::new();
    let mut exposed = Vec::new();
    for port in &spec.ports {
        let key = format!("{}/{}", port.target, port.protocol.as_str());
        let binding = EnginePortBinding {
            host_ip: port.host_ip.clone(),
            host_port: Some(port.published.map(|p| p.to_string()).unwrap_or_default()),
        };
        port_bindings
            .entry(key.clone())
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
        if !exposed.contains(&key) {
            exposed.push(key);
        }
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

    let mounts = spec
        .mounts
        .iter()
        .map(|m| EngineMount {
            target: Some(m.target.clone()),
            source: m.source.clone(),
            typ: Some(match m.kind {
                MountKind::Volume => MountType::VOLUME,
                MountKind::Bind => MountType::BIND,
                MountKind::Tmpfs => MountType::TMPFS,
            }),
            read_only: Some(m.read_only),
            ..Default::default()
        })
        .collect::<Vec<_>>();

    let tmpfs: HashMap<String, String> = spec
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();

    let restart = match &spec.restart {
        RestartPolicy::No => EngineRestart {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        },
        RestartPolicy::Always => EngineRestart {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        },
        RestartPolicy::UnlessStopped => EngineRestart {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        },
        RestartPolicy::OnFailure(n) => EngineRestart {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: n.map(i64::from),
        },
    };

    let mut networks: Vec<(&String, &planner::model::NetworkAttachment)> = spec
        .networks
        .iter()
        .filter(|(key, _)| key.as_str() != "default")
        .collect();
    networks.sort_by(|a, b| a.0.cmp(b.0));
    let network_mode = spec
        .network_mode
        .clone()
        .or_else(|| networks.first().map(|(name, _)| (*name).clone()));
    let extra_networks = networks
        .iter()
        .skip(1)
        .map(|(name, attachment)| ((*name).clone(), attachment.aliases.clone()))
        .collect();
    let endpoints: HashMap<String, EndpointSettings> = networks
        .iter()
        .take(1)
        .map(|(name, attachment)| {
            (
                (*name).clone(),
                EndpointSettings {
                    aliases: (!attachment.aliases.is_empty()).then(|| attachment.aliases.clone()),
                    ..Default::default()
                },
            )
        })
        .collect();

    let host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        restart_policy: Some(restart),
        init: spec.init,
        readonly_rootfs: spec.read_only.then_some(true),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
        memory: spec.resources.memory_bytes,
        memory_reservation: spec.resources.memory_reservation_bytes,
        nano_cpus: spec.resources.nano_cpus,
        cpu_shares: spec.resources.cpu_shares,
        pids_limit: spec.resources.pids_limit,
        shm_size: spec.resources.shm_size_bytes,
        sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.clone().into_iter().collect()),
        ulimits: (!spec.ulimits.is_empty()).then(|| {
            spec.ulimits
                .iter()
                .map(|(name, u)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        dns: (!spec.dns.is_empty()).then(|| spec.dns.clone()),
        cap_drop: (!spec.cap_drop.is_empty()).then(|| spec.cap_drop.clone()),
        cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
        privileged: spec.privileged.then_some(true),
        security_opt: (!spec.security_opt.is_empty()).then(|| spec.security_opt.clone()),
        network_mode,
        pid_mode: spec.pid.clone(),
        ipc_mode: spec.ipc.clone(),
        runtime: spec.runtime.clone(),
        log_config: spec.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: Some(l.driver.clone()),
            config: Some(l.options.clone().into_iter().collect()),
        }),
        ..Default::default()
    };

    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: (!env.is_empty()).then_some(env),
        labels: Some(labels),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_grace_period_secs.map(|s| s as i64),
        tty: spec.tty.then_some(true),
        open_stdin: spec.stdin_open.then_some(true),
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval_ns,
            timeout: h.timeout_ns,
            retries: h.retries,
            start_period: h.start_period_ns,
            ..Default::default()
        }),
        host_config: Some(host_config),
        networking_config: (!endpoints.is_empty()).then_some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    };
    Ok(PrimitiveCreate {
        body,
        extra_networks,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn variables_without_a_value_unset_the_image_default() {
        let spec = ServiceSpec {
            image: "busybox".into(),
            environment: [("A".to_string(), EnvValue::Literal("1".into()))].into(),
            environment_unset: ["DEBUG".to_string()].into(),
            ..Default::default()
        };
        let env = create_body(&spec).ok().unwrap().body.env.unwrap();
        assert_eq!(env, vec!["A=1".to_string(), "DEBUG".to_string()]);
    }
}
