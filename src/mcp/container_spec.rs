//! Turns one planner `ServiceSpec` into the engine's container-create body, for the primitive container tools.
//!
//! `create_container`, `run_container` and `recreate_container` accept exactly what a compose service accepts
//! (loaded and policy-checked by `Engine::load_service`), so a container made by hand and one made by a plan
//! are described the same way. Outside a project there is no project prefix: a named volume or network in the
//! spec is the engine's object of that name, and `default` means Docker's default bridge.

use std::collections::HashMap;
use std::convert::Infallible;

use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use planner::model::{EnvValue, ServiceSpec};

use super::output::ToolError;
use crate::docker::container_config::{environment, mounts, service_body};
use crate::docker::execute::SecretValues;

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
///
/// Everything the spec alone decides is mapped by the plan executor's code
/// (`docker::container_config::service_body`); what differs from a plan-made container is here: named
/// volumes and networks are the engine's objects of that name, the labels mark the container as primitive,
/// and networks carry only the aliases the spec gives.
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
    if let Some((key, _)) = spec
        .environment
        .iter()
        .find(|(_, value)| matches!(value, EnvValue::Secret { .. }))
    {
        return Err(ToolError::invalid(
            &format!("spec.environment.{key}"),
            "`{secret: NAME}` references are resolved only by plan/apply",
            "use plan/apply for this service, or pass a literal value",
        ));
    }
    // No secret references are left, so there is nothing to resolve.
    let env = environment(spec, &SecretValues::new())?;
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.insert(LABEL_PRIMITIVE.into(), "true".into());
    let mounts = mounts(spec, |name| Ok::<_, Infallible>(name.to_string()))
        .unwrap_or_else(|never| match never {});

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
        let created = create_body(&spec).ok().unwrap();
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
