//! Images the plan pulls that are not present locally, and whether their registry answers. A pull from a
//! registry that does not answer will likely fail, so the plan warns; it is a warning, not an error, because
//! the engine may still reach the registry through a mirror or a proxy that this host does not see.
//!
//! The engine probes the addresses [`registries_to_probe`] names (a bounded TCP connect) and reports those
//! that did not answer in [`super::HostFacts`]; [`unreachable_registry_warnings`] decides from that.

use std::collections::BTreeSet;
use std::fmt;

use crate::image_ref::ImageRef;
use crate::plan::{Action, Op, Plan, ResourceKind};

/// Where Docker pulls an image without a registry host from.
const DOCKER_HUB: &str = "registry-1.docker.io";
/// Names Docker treats as Docker Hub.
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", DOCKER_HUB];
/// The port of a registry named without one (Docker speaks HTTPS to it).
const HTTPS_PORT: u16 = 443;
/// Most distinct registries probed for one plan: every probe runs at once, within one time budget.
pub const MOST_REGISTRIES_PROBED: usize = 16;

/// A registry as a TCP endpoint: `registry-1.docker.io:443`, `127.0.0.1:5000`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistryAddress {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for RegistryAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A registry that did not answer the engine's probe, and why (`connection refused`, `no answer within 1s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreachableRegistry {
    pub address: RegistryAddress,
    pub reason: String,
}

/// The registry an image reference pulls from; `None` when the reference does not parse (validation has
/// refused such a spec already).
pub fn registry_of(reference: &str) -> Option<RegistryAddress> {
    let image = ImageRef::parse(reference).ok()?;
    let Some(registry) = image.registry else {
        return Some(docker_hub());
    };
    if DOCKER_HUB_ALIASES.contains(&registry.as_str()) {
        return Some(docker_hub());
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (registry.as_str(), HTTPS_PORT),
    };
    Some(RegistryAddress {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    })
}

fn docker_hub() -> RegistryAddress {
    RegistryAddress {
        host: DOCKER_HUB.to_string(),
        port: HTTPS_PORT,
    }
}

/// The distinct registries of the images the plan pulls and that are not present locally, at most
/// [`MOST_REGISTRIES_PROBED`]. A refresh of a present image (`pull_policy: always`) is left out: the local
/// image serves when the registry does not answer.
pub fn registries_to_probe(plan: &Plan) -> Vec<RegistryAddress> {
    let distinct: BTreeSet<RegistryAddress> = first_pulls(plan)
        .filter_map(|a| registry_of(&a.resource.name))
        .collect();
    distinct.into_iter().take(MOST_REGISTRIES_PROBED).collect()
}

/// Pulls of images not present locally (a present image's pull keeps its reference in `existing_id`).
fn first_pulls(plan: &Plan) -> impl Iterator<Item = &Action> {
    plan.actions.iter().filter(|a| {
        a.resource.kind == ResourceKind::Image && a.op == Op::Pull && a.existing_id.is_none()
    })
}

/// One warning per image the plan must pull from a registry that did not answer, naming both.
pub fn unreachable_registry_warnings(
    plan: &Plan,
    unreachable: &[UnreachableRegistry],
) -> Vec<String> {
    first_pulls(plan)
        .filter_map(|action| {
            let address = registry_of(&action.resource.name)?;
            let down = unreachable.iter().find(|u| u.address == address)?;
            Some(format!(
                "image \"{}\" is not present locally and its registry {address} does not answer ({}): the \
                 pull will likely fail (fix: start or reach that registry, or build or load the image on the \
                 engine first)",
                action.resource.name, down.reason
            ))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn address(host: &str, port: u16) -> Option<RegistryAddress> {
        Some(RegistryAddress {
            host: host.into(),
            port,
        })
    }

    #[test]
    fn the_registry_of_a_reference_is_where_docker_pulls_it_from() {
        for (reference, expected) in [
            ("nginx", address(DOCKER_HUB, 443)),
            ("library/nginx:1.27", address(DOCKER_HUB, 443)),
            ("docker.io/library/nginx", address(DOCKER_HUB, 443)),
            ("index.docker.io/team/app:1", address(DOCKER_HUB, 443)),
            ("ghcr.io/team/app:1", address("ghcr.io", 443)),
            ("127.0.0.1:5999/nope/x:1", address("127.0.0.1", 5999)),
            ("localhost:5000/app", address("localhost", 5000)),
            ("localhost/app", address("localhost", 443)),
            ("Not A Reference", None),
        ] {
            assert_eq!(registry_of(reference), expected, "{reference}");
        }
        assert_eq!(
            registry_of("localhost:5000/app").unwrap().to_string(),
            "localhost:5000"
        );
    }
}
