//! Plain Swarm object specs: what a project becomes on a swarm, before the docker layer turns it into API calls.
//!
//! Field names follow the Engine API's `ServiceSpec` so the docker layer's conversion stays one-to-one.
//! Durations are nanoseconds, sizes bytes and CPUs nano-CPUs, as the API takes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Healthcheck, Protocol};

/// One compose service as a Swarm service named `{project}_{service}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: String,
    /// `deploy.labels` plus the stack namespace and our ownership labels.
    pub labels: BTreeMap<String, String>,
    pub container: ContainerSpec,
    pub resources: TaskResources,
    pub restart: RestartSpec,
    pub placement: Placement,
    pub mode: ServiceMode,
    /// `None` keeps the engine's defaults.
    pub update: Option<UpdatePolicy>,
    pub rollback: Option<UpdatePolicy>,
    pub endpoint: EndpointSpec,
    pub networks: Vec<NetworkTarget>,
}

/// The task's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContainerSpec {
    pub image: String,
    /// Compose `labels` plus the stack namespace.
    pub labels: BTreeMap<String, String>,
    /// Compose `entrypoint` (the API's `Command`).
    pub command: Option<Vec<String>>,
    /// Compose `command` (the API's `Args`).
    pub args: Option<Vec<String>>,
    /// `KEY=value`, sorted by key.
    pub env: Vec<String>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub dir: Option<String>,
    pub init: Option<bool>,
    pub tty: bool,
    pub open_stdin: bool,
    pub read_only: bool,
    pub stop_signal: Option<String>,
    pub stop_grace_period_ns: Option<i64>,
    pub healthcheck: Option<Healthcheck>,
    /// `IP hostname`, the API's `Hosts` form.
    pub hosts: Vec<String>,
    pub dns_nameservers: Vec<String>,
    /// Compose `dns_search`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// Compose `dns_opt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_options: Vec<String>,
    /// Compose `group_add` (the API's `Groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub mounts: Vec<TaskMount>,
    pub secrets: Vec<FileReference>,
    pub configs: Vec<FileReference>,
}

/// A mount in a task's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskMount {
    /// A named volume (`{project}_{key}`, created by the engine on the node that runs the task) or an
    /// anonymous one (`source: None`).
    Volume {
        source: Option<String>,
        target: String,
        read_only: bool,
        labels: BTreeMap<String, String>,
    },
    Tmpfs {
        target: String,
    },
}

/// A secret or config given to a task, by its Swarm name (which carries the content digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReference {
    /// The Swarm object's name, `{project}_{key}_{digest}`.
    pub name: String,
    /// The compose key, for rendering.
    pub key: String,
    /// The file name under `/run/secrets/` (secrets) or the absolute path (configs).
    pub target: String,
    pub uid: String,
    pub gid: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskResources {
    pub limit_nano_cpus: Option<i64>,
    pub limit_memory_bytes: Option<i64>,
    pub limit_pids: Option<i64>,
    pub reserve_nano_cpus: Option<i64>,
    pub reserve_memory_bytes: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartCondition {
    None,
    OnFailure,
    /// The engine's default.
    #[default]
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RestartSpec {
    pub condition: RestartCondition,
    pub delay_ns: Option<i64>,
    pub max_attempts: Option<u64>,
    pub window_ns: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Placement {
    pub constraints: Vec<String>,
    /// Spread descriptors (`node.labels.zone`).
    pub spread: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMode {
    Replicated {
        replicas: u64,
    },
    /// One task on every eligible node.
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureAction {
    Pause,
    Continue,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StopFirst,
    StartFirst,
}

/// `update_config` or `rollback_config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatePolicy {
    /// Tasks updated at once; 0 means all at once. Compose's default is 1.
    pub parallelism: u64,
    pub delay_ns: Option<i64>,
    pub failure_action: Option<FailureAction>,
    pub monitor_ns: Option<i64>,
    pub max_failure_ratio: Option<f32>,
    pub order: Option<UpdateOrder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EndpointMode {
    /// A virtual IP behind IPVS (the default; needs IPVS in the nodes' kernels).
    #[default]
    Vip,
    /// DNS round robin over the tasks' addresses.
    Dnsrr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// The routing mesh: every node answers on the published port.
    Ingress,
    /// Only the node running the task answers.
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub target: u16,
    pub published: Option<u16>,
    pub protocol: Protocol,
    pub mode: PublishMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EndpointSpec {
    pub mode: EndpointMode,
    pub ports: Vec<PublishedPort>,
}

/// A network the service joins, by its Swarm name, with the DNS aliases it answers to there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkTarget {
    pub name: String,
    pub aliases: Vec<String>,
}

/// A compose network as an overlay network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub name: String,
    /// Always `overlay`.
    pub driver: String,
    /// Always true, so one-off containers (and tests) can join.
    pub attachable: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

/// A compose secret or config as an immutable Swarm object; a new content digest means a new object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileObjectSpec {
    pub name: String,
    pub key: String,
    pub digest: String,
    pub labels: BTreeMap<String, String>,
}
