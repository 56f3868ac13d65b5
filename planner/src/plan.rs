//! The Plan: what apply will do, resource by resource, in which order, and why.
//!
//! A plan is data. `diff` decides it, `render` shows it, the engine executes it. Each action carries the full
//! desired configuration (`Target`) so the executor never re-derives anything from the spec.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{BuildSpec, DependsCondition, ServiceSpec};

/// Switches a user gives to `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct PlanOptions {
    /// Delete orphans: project-labelled containers and networks that the last-applied record never held.
    /// (What the record holds and the spec no longer does is deleted without asking.)
    #[serde(default)]
    pub remove_orphans: bool,
    /// Delete project volumes that are not in the spec (data loss; the plan warns). Without it they are
    /// kept, and the plan says so.
    #[serde(default)]
    pub remove_volumes: bool,
}

/// Digests of inputs that live outside the spec (file contents, secret values, build contexts), computed by
/// the engine so the planner stays pure. They enter config hashes, never renderings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct ExternalDigests {
    /// Per service: digest of the build context (after `.dockerignore`), Dockerfile, args and target.
    #[serde(default)]
    pub builds: BTreeMap<String, String>,
    /// Per secret name (compose `secrets` and `{secret: NAME}` env references alike).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Per config name.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub project: String,
    pub actions: Vec<Action>,
    /// Action ids grouped in waves: every action of a wave depends only on actions of earlier waves, so a
    /// wave's actions may run in parallel. No-op actions are not in any wave.
    pub waves: Vec<Vec<usize>>,
    /// Hash of the observed state this plan was computed from; apply refuses when it moved.
    pub fingerprint: String,
    pub summary: Summary,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Project-labelled resources that the last-applied record never held. Deleted only with
    /// `remove_orphans` (volumes only with `remove_volumes`).
    #[serde(default)]
    pub orphans: Vec<ResourceRef>,
    /// Volumes the last-applied record holds and the spec no longer does, kept with their data (deleted only
    /// with `remove_volumes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_volumes: Vec<ResourceRef>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(|a| a.op != Op::NoOp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Image,
    Network,
    Volume,
    Container,
    /// A Swarm service (target `swarm`).
    Service,
    /// A Swarm secret or config (target `swarm`).
    Secret,
    Config,
}

impl ResourceKind {
    /// The word people use for the kind, in renderings, progress lines and tool results.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Image => "image",
            ResourceKind::Network => "network",
            ResourceKind::Volume => "volume",
            ResourceKind::Container => "container",
            ResourceKind::Service => "service",
            ResourceKind::Secret => "secret",
            ResourceKind::Config => "config",
        }
    }
}

/// Which resource an action is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    /// Engine name (`demo-web-1`, `demo_default`, an image reference).
    pub name: String,
    /// Compose key: service name, network key or volume key.
    pub key: String,
    /// Replica number for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    /// Change live settings (restart policy, limits) without recreating.
    UpdateInPlace,
    /// Create new, stop old, remove old, rename new.
    Replace,
    /// Start a stopped container whose config still matches.
    Start,
    /// Restart a running container whose config still matches: a `depends_on` dependency with `restart: true`
    /// is replaced or restarted.
    Restart,
    Delete,
    NoOp,
    Pull,
    Build,
}

/// One field that differs, for rendering and for explaining a replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// Dotted path as the user wrote it: `image`, `environment.DB_HOST`, `ports[0]`.
    pub path: String,
    /// Display form of the old value; `None` when added.
    #[serde(default)]
    pub before: Option<String>,
    /// Display form of the new value; `None` when removed.
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    pub id: usize,
    pub resource: ResourceRef,
    pub op: Op,
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    /// Why: for a replace, what forces it; for a create, why it is missing (`container was removed`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Ids of actions that must succeed before this one runs.
    #[serde(default)]
    pub depends_on: Vec<usize>,
    /// Desired configuration, for every op but `Delete` and `NoOp`.
    #[serde(default)]
    pub target: Option<Target>,
    /// Engine id of the existing resource this acts on (replace, update, start, delete).
    #[serde(default)]
    pub existing_id: Option<String>,
    /// The existing container this acts on is running now, so replacing, restarting or deleting it interrupts
    /// its service (a stopped one costs no downtime).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing_running: bool,
}

// A plan holds a few hundred targets at most and each is built once; boxing the container variant would only
// add indirection to every match in the executor.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    Container(ContainerTarget),
    Network(NetworkTarget),
    Volume(VolumeTarget),
    Image(ImageTarget),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerTarget {
    pub service: String,
    pub number: u32,
    /// Final engine name.
    pub name: String,
    pub spec: ServiceSpec,
    /// Every label to set, ours included.
    pub labels: BTreeMap<String, String>,
    pub config_hash: String,
    /// Compose network key -> engine network name.
    pub network_names: BTreeMap<String, String>,
    /// Compose volume key -> engine volume name.
    pub volume_names: BTreeMap<String, String>,
    /// What to wait for before creating this container: dependency container names and their condition.
    #[serde(default)]
    pub wait_for: Vec<WaitFor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitFor {
    pub service: String,
    pub container: String,
    pub condition: DependsCondition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkTarget {
    pub name: String,
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_ipv6: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<crate::model::Ipam>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VolumeTarget {
    pub name: String,
    #[serde(default)]
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageTarget {
    pub reference: String,
    /// Present for `Op::Build`.
    #[serde(default)]
    pub build: Option<BuildSpec>,
}
