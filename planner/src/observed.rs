//! What the engine reports about a project, as plain data.
//!
//! The engine layer fills these from `docker ps`/`inspect` by label; the planner never talks to Docker. Only
//! facts the diff needs are here, so the plan fingerprint does not move when irrelevant things (uptime) do.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Resources, RestartPolicy};

/// Everything the engine holds that carries the project's labels, plus the facts about images and
/// look-alike names the plan needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct ObservedState {
    pub project: String,
    pub containers: Vec<ObservedContainer>,
    pub networks: Vec<ObservedNetwork>,
    pub volumes: Vec<ObservedVolume>,
    /// Image references present locally (as given in specs: `busybox:latest`, `nginx` ...).
    #[serde(default)]
    pub images_present: BTreeSet<String>,
    /// Containers, networks or volumes whose *name* collides with one we would create but that lack our labels.
    #[serde(default)]
    pub unmanaged_lookalikes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedContainer {
    pub id: String,
    /// Engine name without the leading `/`.
    pub name: String,
    /// `com.docker.compose.service` label.
    pub service: String,
    /// `com.docker.compose.container-number` label.
    pub number: u32,
    /// Our config-hash label, absent on containers made by something else.
    #[serde(default)]
    pub config_hash: Option<String>,
    pub state: ContainerState,
    /// Health status when the container has a healthcheck (`healthy`, `unhealthy`, `starting`).
    #[serde(default)]
    pub health: Option<String>,
    pub image: String,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedNetwork {
    pub id: String,
    pub name: String,
    /// `com.docker.compose.network` label: the compose key.
    pub key: String,
    #[serde(default)]
    pub config_hash: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedVolume {
    pub name: String,
    /// `com.docker.compose.volume` label: the compose key.
    pub key: String,
    #[serde(default)]
    pub config_hash: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}
