//! Raw compose-file types: every short and long form people and LLMs write, before normalization.
//!
//! These types mirror the compose specification closely so that `serde` accepts what `docker compose`
//! accepts, and so that `project_schema` can hand the same shape to an LLM. Scalars that compose lets
//! authors write as numbers, booleans or (interpolated) strings are kept as `Scalar` here and converted,
//! with a path-named error, in `normalize`. Which keys exist and how far they are supported lives in
//! `keys`, the single source of truth for the README's key table.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

mod keys;
pub(crate) use keys::SWARM;

pub use keys::{
    check_keys, check_service_keys, KeySupport, ALL_TABLES, BUILD_KEYS, CONFIG_TOP_KEYS,
    DEPENDS_ON_KEYS, DEPLOY_KEYS, ENV_FILE_KEYS, FILE_REF_KEYS, HEALTHCHECK_KEYS, IPAM_KEYS,
    IPAM_POOL_KEYS, LOGGING_KEYS, NETWORK_TOP_KEYS, PORT_KEYS, RESOURCES_KEYS, RESOURCE_LIMIT_KEYS,
    RESTART_POLICY_KEYS, SECRET_TOP_KEYS, SELINUX_IGNORED, SERVICE_KEYS, SERVICE_NETWORK_KEYS,
    TOP_LEVEL_KEYS, VOLUME_BIND_KEYS, VOLUME_KEYS, VOLUME_TMPFS_KEYS, VOLUME_TOP_KEYS,
    VOLUME_VOLUME_KEYS,
};

/// A whole compose file.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct ComposeFile {
    /// Project name, used when the caller gives none. Must match `^[a-z0-9][a-z0-9_-]*$`.
    #[serde(default)]
    pub name: Option<String>,
    /// Obsolete; accepted and ignored with a warning, as compose v2 does.
    #[serde(default)]
    pub version: Option<Scalar>,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default)]
    pub networks: BTreeMap<String, Option<TopNetwork>>,
    #[serde(default)]
    pub volumes: BTreeMap<String, Option<TopVolume>>,
    #[serde(default)]
    pub secrets: BTreeMap<String, TopFile>,
    #[serde(default)]
    pub configs: BTreeMap<String, TopFile>,
    /// Other compose files whose resources join this project (resolved, and removed, while loading).
    #[serde(default)]
    pub include: Option<Vec<Include>>,
}

/// `- other.yaml` or the long form; paths are relative to the including file's folder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Include {
    Path(String),
    Long {
        path: StringOrList,
        project_directory: Option<String>,
        env_file: Option<StringOrList>,
    },
}

/// `extends: NAME` or `extends: {service: NAME, file: ./other.yaml}` (resolved, and removed, while loading).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Extends {
    Service(String),
    Long {
        service: String,
        file: Option<String>,
    },
}

/// A YAML scalar as compose accepts it; converted to the field's type in `normalize`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    /// The text compose would use for this scalar in an environment value or label.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

/// `"echo hi"` (split into words like a shell would) or `["echo", "hi"]`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    Str(String),
    List(Vec<Scalar>),
}

/// `{KEY: value}` or `["KEY=value"]`, as labels, sysctls and build args are written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KeyValues {
    Map(BTreeMap<String, Option<Scalar>>),
    List(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct Service {
    pub image: Option<String>,
    pub build: Option<Build>,
    /// `always`, `missing` (or `if_not_present`), `never` or `build`.
    pub pull_policy: Option<String>,
    pub command: Option<StringOrList>,
    pub entrypoint: Option<StringOrList>,
    pub environment: Option<Environment>,
    pub env_file: Option<EnvFiles>,
    pub ports: Option<Vec<Port>>,
    pub expose: Option<Vec<Scalar>>,
    pub volumes: Option<Vec<VolumeMount>>,
    pub networks: Option<ServiceNetworks>,
    pub network_mode: Option<String>,
    pub depends_on: Option<DependsOnList>,
    pub links: Option<Vec<String>>,
    /// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
    pub restart: Option<Scalar>,
    pub healthcheck: Option<HealthcheckRaw>,
    pub labels: Option<KeyValues>,
    pub working_dir: Option<String>,
    pub user: Option<Scalar>,
    pub hostname: Option<String>,
    pub init: Option<Scalar>,
    /// A duration such as `10s` or `1m30s`.
    pub stop_grace_period: Option<Scalar>,
    pub stop_signal: Option<String>,
    /// Bytes, or a size such as `512m`.
    pub mem_limit: Option<Scalar>,
    pub mem_reservation: Option<Scalar>,
    pub shm_size: Option<Scalar>,
    /// CPUs as a number or string (`0.5`).
    pub cpus: Option<Scalar>,
    pub cpu_shares: Option<Scalar>,
    pub pids_limit: Option<Scalar>,
    pub tmpfs: Option<StringOrList>,
    pub read_only: Option<Scalar>,
    pub extra_hosts: Option<ExtraHosts>,
    pub container_name: Option<String>,
    pub deploy: Option<Deploy>,
    pub scale: Option<Scalar>,
    pub platform: Option<String>,
    pub runtime: Option<String>,
    pub stdin_open: Option<Scalar>,
    pub tty: Option<Scalar>,
    pub sysctls: Option<KeyValues>,
    pub ulimits: Option<BTreeMap<String, UlimitRaw>>,
    pub dns: Option<StringOrList>,
    /// DNS search domains: one or a list.
    pub dns_search: Option<StringOrList>,
    /// Resolver options (`ndots:2`).
    pub dns_opt: Option<Vec<String>>,
    /// Supplementary groups of the container's user, by name or number.
    pub group_add: Option<Vec<Scalar>>,
    /// NIS domain name of the container.
    pub domainname: Option<String>,
    /// Fixed MAC address on the first network (`02:42:ac:11:00:02`).
    pub mac_address: Option<String>,
    /// `private` or `host`; `host` is refused unless the server allows option `host_cgroup`.
    pub cgroup: Option<String>,
    /// Memory plus swap: bytes, a size such as `1g`, or `-1` for unlimited swap.
    pub memswap_limit: Option<Scalar>,
    pub cap_drop: Option<Vec<String>>,
    pub logging: Option<LoggingRaw>,
    pub secrets: Option<Vec<FileRef>>,
    pub configs: Option<Vec<FileRef>>,
    pub profiles: Option<Vec<String>>,
    /// Another service this one is built on, merged by compose's rules.
    pub extends: Option<Extends>,
    /// Refused by policy unless the server allows option `privileged`.
    pub privileged: Option<Scalar>,
    /// Refused by policy unless the server allows option `cap_add`.
    pub cap_add: Option<Vec<String>>,
    /// Refused by policy unless the server allows option `devices`.
    pub devices: Option<Vec<Device>>,
    /// `host` is refused unless the server allows option `host_pid`.
    pub pid: Option<String>,
    /// `host` is refused unless the server allows option `host_ipc`.
    pub ipc: Option<String>,
    /// Unconfined options are refused unless the server allows option `security_opt`.
    pub security_opt: Option<Vec<String>>,
}

/// `build: ./dir` or the long form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Build {
    Context(String),
    Long(BuildLong),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct BuildLong {
    pub context: Option<String>,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: Option<KeyValues>,
    pub labels: Option<KeyValues>,
    pub no_cache: Option<Scalar>,
    pub pull: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Environment {
    Map(BTreeMap<String, Option<EnvValueRaw>>),
    List(Vec<String>),
}

/// An environment value: a scalar, or `{secret: NAME}` resolved by the server at apply time.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValueRaw {
    Secret(SecretRef),
    Value(Scalar),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvFiles {
    One(String),
    Many(Vec<EnvFileItem>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvFileItem {
    Path(String),
    Long {
        path: String,
        required: Option<Scalar>,
    },
}

/// `80`, `"9000:80"`, `"127.0.0.1:9000:80/udp"`, `"[::1]:80:80"`, `"8000-8001:8000-8001"`, or the long form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Port {
    Number(i64),
    Short(String),
    Long(PortLong),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct PortLong {
    pub target: Option<Scalar>,
    /// A port or a range such as `"8000-8001"`.
    pub published: Option<Scalar>,
    pub host_ip: Option<String>,
    pub protocol: Option<String>,
    /// `ingress` or `host`; both publish on the one engine.
    pub mode: Option<String>,
}

/// `"name:/path:ro"`, `"./rel:/path"`, `"/abs:/path"`, `"/anonymous"`, or the long form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VolumeMount {
    Short(String),
    Long(VolumeLong),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct VolumeLong {
    /// `volume`, `bind` or `tmpfs`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: Option<Scalar>,
    pub bind: Option<BindOptions>,
    pub volume: Option<VolumeOptions>,
    pub tmpfs: Option<TmpfsOptions>,
    /// macOS-only hint; no effect on Linux.
    pub consistency: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct BindOptions {
    pub create_host_path: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct VolumeOptions {}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct TmpfsOptions {
    pub size: Option<Scalar>,
    pub mode: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ServiceNetworks {
    List(Vec<String>),
    Map(BTreeMap<String, Option<ServiceNetwork>>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct ServiceNetwork {
    pub aliases: Option<Vec<String>>,
    /// A fixed IPv4 address inside one of the network's `ipam` subnets.
    pub ipv4_address: Option<String>,
    /// A fixed IPv6 address; the network needs `enable_ipv6` and an IPv6 subnet.
    pub ipv6_address: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DependsOnList {
    List(Vec<String>),
    Map(BTreeMap<String, Option<DependsOnLong>>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct DependsOnLong {
    /// `service_started` (default), `service_healthy` or `service_completed_successfully`.
    pub condition: Option<String>,
    pub required: Option<Scalar>,
    /// `true`: restart the dependent when this dependency is replaced or restarted.
    pub restart: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct HealthcheckRaw {
    /// `"curl -f http://localhost"` (run by a shell), `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Option<StringOrList>,
    pub interval: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub retries: Option<Scalar>,
    pub start_period: Option<Scalar>,
    pub disable: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExtraHosts {
    List(Vec<String>),
    Map(BTreeMap<String, HostAddresses>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HostAddresses {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct Deploy {
    pub replicas: Option<Scalar>,
    pub resources: Option<DeployResources>,
    pub restart_policy: Option<DeployRestartPolicy>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct DeployResources {
    pub limits: Option<ResourceLimits>,
    pub reservations: Option<ResourceLimits>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct ResourceLimits {
    pub cpus: Option<Scalar>,
    pub memory: Option<Scalar>,
    pub pids: Option<Scalar>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct DeployRestartPolicy {
    /// `none`, `on-failure` or `any`.
    pub condition: Option<String>,
    pub max_attempts: Option<Scalar>,
}

/// `nofile: 65535` or `nofile: {soft: 1024, hard: 65535}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum UlimitRaw {
    Single(Scalar),
    Pair { soft: Scalar, hard: Scalar },
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct LoggingRaw {
    pub driver: Option<String>,
    pub options: Option<BTreeMap<String, Option<Scalar>>>,
}

/// A secret or config given to a service: `NAME` or the long form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FileRef {
    Short(String),
    Long(FileRefLong),
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct FileRefLong {
    pub source: Option<String>,
    /// Secrets: a name under `/run/secrets/` or an absolute path. Configs: an absolute path (default `/NAME`).
    pub target: Option<String>,
    pub uid: Option<Scalar>,
    pub gid: Option<Scalar>,
    /// File mode; a string is read as octal (`"0440"`).
    pub mode: Option<Scalar>,
}

/// `"/dev/sda:/dev/xvda:rwm"` or the long form; refused by default policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Device {
    Short(String),
    Long {
        source: String,
        target: Option<String>,
        permissions: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct TopNetwork {
    pub driver: Option<String>,
    pub labels: Option<KeyValues>,
    pub internal: Option<Scalar>,
    pub external: Option<External>,
    pub name: Option<String>,
    pub enable_ipv6: Option<Scalar>,
    /// Address management: subnets, gateways and ranges.
    pub ipam: Option<IpamRaw>,
}

/// A network's `ipam`: its driver, address pools and driver options.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct IpamRaw {
    pub driver: Option<String>,
    pub config: Option<Vec<IpamPoolRaw>>,
    pub options: Option<BTreeMap<String, Option<Scalar>>>,
}

/// One address pool: `subnet` (CIDR) with an optional `gateway`, `ip_range` and reserved `aux_addresses`.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct IpamPoolRaw {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub aux_addresses: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct TopVolume {
    pub driver: Option<String>,
    pub labels: Option<KeyValues>,
    pub external: Option<External>,
    pub name: Option<String>,
}

/// `external: true`, or the legacy `external: {name: NAME}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum External {
    Flag(Scalar),
    Named { name: String },
}

/// A top-level secret or config: exactly one of `file`, `environment` or (configs only) `content`.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct TopFile {
    pub file: Option<String>,
    pub environment: Option<String>,
    pub content: Option<String>,
}

/// JSON Schema of the compose file this server accepts.
pub fn project_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ComposeFile)).unwrap_or(serde_json::Value::Null)
}

/// JSON Schema of one service, the spec type of the primitive container tools.
pub fn service_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Service)).unwrap_or(serde_json::Value::Null)
}
