//! Swarm plans that would certainly fail on the cluster as it is: a published port another stack's service
//! already holds. Which clash is certain depends on the publish mode: an `ingress` port is held on every
//! node, so it clashes with any other service publishing that port; a `host` port is held only where a task
//! runs, so two `host` ports leave placement to the scheduler, but a `host` port clashes with another
//! service's `ingress` one everywhere.

use crate::error::{ErrorKind, SpecError};
use crate::model::Protocol;

use super::spec::{PublishMode, ServiceSpec};

/// A port another service (not this project's) publishes, as the manager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedElsewhere {
    pub service: String,
    pub port: u16,
    pub protocol: Protocol,
    pub mode: PublishMode,
}

/// Each desired published port that clashes with `others`, as an error naming the port and the holder.
pub fn port_clashes(desired: &[ServiceSpec], others: &[PublishedElsewhere]) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for spec in desired {
        let key = spec
            .labels
            .get(crate::naming::LABEL_SERVICE)
            .cloned()
            .unwrap_or_else(|| spec.name.clone());
        for (i, port) in spec.endpoint.ports.iter().enumerate() {
            let Some(published) = port.published else {
                continue;
            };
            let holder = others.iter().find(|o| {
                o.port == published
                    && o.protocol == port.protocol
                    && (port.mode == PublishMode::Ingress || o.mode == PublishMode::Ingress)
            });
            if let Some(holder) = holder {
                errors.push(SpecError::new(
                    ErrorKind::Invalid,
                    format!("services.{key}.ports[{i}]"),
                    format!(
                        "port {published}/{} is already published on the swarm by service {}",
                        port.protocol.as_str(),
                        holder.service
                    ),
                    "publish another port, or remove the other service first",
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::swarm::tests::map_service;

    fn service(mode: &str) -> ServiceSpec {
        let yaml = format!(
            "services:\n  web:\n    image: busybox\n    ports: [{{target: 80, published: 8080, mode: {mode}}}]\n"
        );
        map_service(&yaml, "web").unwrap().spec
    }

    fn other(mode: PublishMode) -> PublishedElsewhere {
        PublishedElsewhere {
            service: "blog_web".into(),
            port: 8080,
            protocol: Protocol::Tcp,
            mode,
        }
    }

    #[test]
    fn clashes_depend_on_both_publish_modes() {
        let cases = [
            ("ingress", PublishMode::Ingress, true),
            ("ingress", PublishMode::Host, true),
            ("host", PublishMode::Ingress, true),
            ("host", PublishMode::Host, false),
        ];
        for (mine, theirs, clash) in cases {
            let errors = port_clashes(&[service(mine)], &[other(theirs)]);
            assert_eq!(!errors.is_empty(), clash, "{mine} vs {theirs:?}");
        }
        let errors = port_clashes(&[service("ingress")], &[other(PublishMode::Host)]);
        assert_eq!(errors[0].path, "services.web.ports[0]");
        assert!(errors[0].message.contains("by service blog_web"));
    }
}
