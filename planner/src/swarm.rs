//! The Swarm target: where a project runs, and the pure mapping of a loaded project onto Swarm objects.
//!
//! A project runs either on one engine as containers (`Target::Engine`, the default) or on a Docker Swarm as
//! services (`Target::Swarm`). The mapping follows docker/cli's `cli/compose/convert` (the reference for
//! `docker stack deploy`), so `docker stack ls/ps/services` sees our projects, but it is stricter: a key that
//! has no Swarm meaning is an error naming it, not a silent drop.
//!
//! - `build`: a service's build on the manager, pushed to the operator's registry and pinned by digest.
//! - `deploy`: the swarm-only keys (`deploy:` and port `mode:`) read from the service as written.
//! - `spec`: the plain Swarm object specs the docker layer turns into engine calls.
//! - `map`: a service, network, volume, secret or config onto those specs.
//! - `desired`: a whole loaded project onto those specs, with the services' start waves.
//! - `diff`: services against what the manager reports; `plan`: the whole swarm plan, rendered.
//! - `drift`: services scaled, updated or removed outside the tool; `preflight`: published ports held elsewhere.

pub mod access;
pub mod build;
pub mod deploy;
pub mod desired;
pub mod diff;
pub mod drift;
pub mod map;
pub mod plan;
pub mod preflight;
pub mod spec;

#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a project's resources live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Containers on the engine the server talks to (today's behaviour).
    #[default]
    Engine,
    /// Services on a Docker Swarm, through a manager node.
    Swarm,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Engine => "engine",
            Target::Swarm => "swarm",
        }
    }
}

/// The label `docker stack` uses to group a stack's objects.
pub const LABEL_STACK_NAMESPACE: &str = "com.docker.stack.namespace";
/// The image a stack's service was deployed with, as `docker stack deploy` records it.
pub const LABEL_STACK_IMAGE: &str = "com.docker.stack.image";
/// Swarm object names (services, secrets, configs) are limited to 64 characters.
pub const MAX_OBJECT_NAME: usize = 64;
