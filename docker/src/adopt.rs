//! Import's comparison: whether a container, network or volume `docker compose` made for a project already is
//! what this server would create for the spec under the same name, field by field.
//!
//! The config hashes cannot tell (compose computes its own), so the create body this server would send
//! (`container_config::create_spec`, the one mapping) is set beside the live container's inspect. A field the
//! spec leaves to the image is compared against the image's own value, which is what the engine filled in.
//! Environment and label values are compared but never named in the result, only their keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerInspectResponse, HealthConfig, HostConfig, ImageConfig, MountType, PortBinding,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use bollard::Docker;
use planner::adopt::{Fit, Found};
use planner::naming;
use planner::plan::{Op, Plan, ResourceKind, Target};

use super::client::DockerClient;
use super::container_config::{create_spec, CreateSpec};
use super::error::{api, DockerError};
use super::execute::SecretValues;
use super::raw_api::{self, RawRoute};

/// Most compose resources of one kind an import looks at.
pub const MAX_COMPOSE_RESOURCES: usize = 500;

/// Label prefixes compose and this server set themselves; the rest are the spec's own labels.
const TOOL_LABEL_PREFIXES: [&str; 2] = ["com.docker.compose.", "io.mcp-docker-server."];

/// Every container, network and volume labelled `com.docker.compose.project=project`, each compared with
/// what `plan` (computed with nothing of the project observed, so it creates everything) would create.
pub async fn compose_resources(
    client: &DockerClient,
    host: &str,
    project: &str,
    plan: &Plan,
    secrets: &SecretValues,
) -> Result<Vec<Found>, DockerError> {
    let docker = &client.api;
    let filter = HashMap::from([(
        "label",
        vec![format!("{}={project}", naming::LABEL_PROJECT)],
    )]);
    let mut found = Vec::new();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(api(host, "listing the compose project's containers"))?;
    bounded("containers", containers.len())?;
    for id in containers.into_iter().filter_map(|c| c.id) {
        found.push(container_found(client, host, &id, plan, secrets).await?);
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .map_err(api(host, "listing the compose project's networks"))?;
    bounded("networks", networks.len())?;
    for n in networks {
        let (Some(id), Some(name)) = (n.id, n.name) else {
            continue;
        };
        let labels = sorted(n.labels.unwrap_or_default());
        let live = vec![
            ("driver", n.driver.unwrap_or_default()),
            ("internal", n.internal.unwrap_or_default().to_string()),
        ];
        found.push(scoped_found(
            ResourceKind::Network,
            id,
            name,
            &labels,
            naming::LABEL_NETWORK,
            plan,
            &live,
        ));
    }
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .map_err(api(host, "listing the compose project's volumes"))?
        .volumes
        .unwrap_or_default();
    bounded("volumes", volumes.len())?;
    for v in volumes {
        let labels = sorted(v.labels);
        let live = vec![("driver", v.driver)];
        found.push(scoped_found(
            ResourceKind::Volume,
            v.name.clone(),
            v.name,
            &labels,
            naming::LABEL_VOLUME,
            plan,
            &live,
        ));
    }
    Ok(found)
}

fn bounded(kind: &str, count: usize) -> Result<(), DockerError> {
    if count > MAX_COMPOSE_RESOURCES {
        return Err(DockerError::InvalidAction(format!(
            "the compose project has {count} {kind}, more than the {MAX_COMPOSE_RESOURCES} one import takes"
        )));
    }
    Ok(())
}

fn sorted(labels: HashMap<String, String>) -> BTreeMap<String, String> {
    labels.into_iter().collect()
}

/// The plan's create action of `kind` named `name`, with its target.
fn planned<'p>(plan: &'p Plan, kind: ResourceKind, name: &str) -> Option<&'p Target> {
    plan.actions
        .iter()
        .find(|a| a.op == Op::Create && a.resource.kind == kind && a.resource.name == name)
        .and_then(|a| a.target.as_ref())
}

async fn container_found(
    client: &DockerClient,
    host: &str,
    id: &str,
    plan: &Plan,
    secrets: &SecretValues,
) -> Result<Found, DockerError> {
    let docker = &client.api;
    let live = docker
        .inspect_container(id, None)
        .await
        .map_err(api(host, format!("inspecting container {id}")))?;
    let name = live
        .name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let config = live.config.clone().unwrap_or_default();
    let labels = sorted(config.labels.unwrap_or_default());
    let key = labels
        .get(naming::LABEL_SERVICE)
        .cloned()
        .unwrap_or_default();
    let fit = match (
        labels.get(naming::LABEL_MANAGED_BY),
        planned(plan, ResourceKind::Container, &name),
    ) {
        (Some(owner), _) => Fit::Owned(owner.clone()),
        (None, Some(Target::Container(target))) => {
            let wanted = create_spec(target, secrets)?;
            let image = image_config(docker, host, config.image.as_deref()).await?;
            let extras = LiveExtras {
                mac: live_mac(client, host, id).await?,
                anonymous_volumes: anonymous_volumes(docker, host, &live).await?,
            };
            differences_to_fit(container_differences(
                &wanted,
                &live,
                image.as_ref(),
                &extras,
            ))
        }
        _ => Fit::NotInSpec,
    };
    Ok(Found {
        kind: ResourceKind::Container,
        id: live.id.clone().unwrap_or_else(|| id.to_string()),
        name,
        key,
        fit,
    })
}

/// The live container's fixed MAC address, read outside bollard (`raw_api`); an engine over TLS, which that
/// module cannot reach, leaves only the address on the container's first network.
async fn live_mac(client: &DockerClient, host: &str, id: &str) -> Result<LiveMac, DockerError> {
    if matches!(client.raw, RawRoute::Tls) {
        return Ok(LiveMac::OnFirstNetwork);
    }
    raw_api::fixed_mac_address(&client.raw, &client.api, host, id)
        .await
        .map(LiveMac::Fixed)
}

async fn image_config(
    docker: &Docker,
    host: &str,
    image: Option<&str>,
) -> Result<Option<ImageConfig>, DockerError> {
    let Some(image) = image else {
        return Ok(None);
    };
    match docker.inspect_image(image).await {
        Ok(inspect) => Ok(inspect.config),
        Err(e) => {
            let err = DockerError::from_bollard(e, host, &format!("inspecting image {image}"));
            if err.is_not_found() {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

fn differences_to_fit(differences: Vec<String>) -> Fit {
    if differences.is_empty() {
        Fit::Matches
    } else {
        Fit::Differs(differences)
    }
}

/// A network or volume: it fits when the spec creates it under this name with the same live settings.
fn scoped_found(
    kind: ResourceKind,
    id: String,
    name: String,
    labels: &BTreeMap<String, String>,
    key_label: &str,
    plan: &Plan,
    live: &[(&str, String)],
) -> Found {
    let key = labels.get(key_label).cloned().unwrap_or_default();
    let wanted: Option<Vec<(&str, String)>> = match planned(plan, kind, &name) {
        Some(Target::Network(n)) => Some(vec![
            (
                "driver",
                n.driver.clone().unwrap_or_else(|| "bridge".into()),
            ),
            ("internal", n.internal.to_string()),
        ]),
        Some(Target::Volume(v)) => Some(vec![(
            "driver",
            v.driver.clone().unwrap_or_else(|| "local".into()),
        )]),
        _ => None,
    };
    let fit = match (labels.get(naming::LABEL_MANAGED_BY), wanted) {
        (Some(owner), _) => Fit::Owned(owner.clone()),
        (None, None) => Fit::NotInSpec,
        (None, Some(wanted)) => differences_to_fit(
            wanted
                .iter()
                .zip(live)
                .filter(|((_, w), (_, l))| w != l)
                .map(|((field, w), (_, l))| format!("{field}: the spec has {w}, it has {l}"))
                .collect(),
        ),
    };
    Found {
        kind,
        id,
        name,
        key,
        fit,
    }
}

/// What import reads of a live container beyond bollard's inspect of it.
pub struct LiveExtras {
    pub mac: LiveMac,
    /// Its volumes that are truly anonymous: a 64-hex name, the `local` driver and no driver options. A named
    /// volume can carry such a name too, and a bind-backed one must not pass for an anonymous volume.
    pub anonymous_volumes: BTreeSet<String>,
}

impl LiveExtras {
    /// A container whose MAC the engine picked and that has no anonymous volume.
    pub fn plain() -> LiveExtras {
        LiveExtras {
            mac: LiveMac::Fixed(None),
            anonymous_volumes: BTreeSet::new(),
        }
    }
}

/// What import knows of a live container's fixed MAC address, which bollard's inspect model does not carry.
pub enum LiveMac {
    /// The container config's `MacAddress`: `None` when the engine picked the address.
    Fixed(Option<String>),
    /// Not readable (an engine over TLS): only the address on the container's first network is known.
    OnFirstNetwork,
}

/// The fields in which `live` differs from the container `wanted` would create; `image` is the live image's
/// config, which fills what the spec leaves unset (without it those fields are not compared), `extras` what
/// import read beyond the inspect.
pub fn container_differences(
    wanted: &CreateSpec,
    live: &ContainerInspectResponse,
    image: Option<&ImageConfig>,
    extras: &LiveExtras,
) -> Vec<String> {
    let want = wanted_facts(wanted, image);
    let have = live_facts(live, image, &extras.anonymous_volumes);
    let mut differences: Vec<String> = want
        .iter()
        .filter_map(|(field, w)| {
            let h = have.get(field).map(String::as_str).unwrap_or("(unset)");
            (w != h).then(|| format!("{field}: the spec has {w}, the container has {h}"))
        })
        .collect();
    let body = &wanted.body;
    let image_env = image.and_then(|i| i.env.clone()).unwrap_or_default();
    let env_wanted = environment(&image_env, body.env.as_deref().unwrap_or_default());
    let mut env_live = environment(
        &[],
        live.config
            .as_ref()
            .and_then(|c| c.env.as_deref())
            .unwrap_or_default(),
    );
    let image_labels = image.and_then(|i| i.labels.clone()).unwrap_or_default();
    let labels_wanted = user_labels(&image_labels, body.labels.as_ref());
    let mut labels_live = user_labels(
        &HashMap::new(),
        live.config.as_ref().and_then(|c| c.labels.as_ref()),
    );
    if image.is_none() {
        // Without the image, a key the spec does not set may be the image's own: compare the spec's keys only.
        env_live.retain(|key, _| env_wanted.contains_key(key));
        labels_live.retain(|key, _| labels_wanted.contains_key(key));
    }
    differences.extend(mac_difference(
        wanted.mac_address.as_deref(),
        live,
        &extras.mac,
    ));
    differences.extend(keys_differing("environment", &env_wanted, &env_live));
    differences.extend(keys_differing("labels", &labels_wanted, &labels_live));
    differences
}

/// `KEY=value` entries over `base`; a bare `KEY` unsets it.
fn environment(base: &[String], entries: &[String]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for entry in base.iter().chain(entries) {
        match entry.split_once('=') {
            Some((key, value)) => {
                env.insert(key.to_string(), value.to_string());
            }
            None => {
                env.remove(entry);
            }
        }
    }
    env
}

/// Labels other than compose's and ours, over the image's.
fn user_labels(
    image: &HashMap<String, String>,
    labels: Option<&HashMap<String, String>>,
) -> BTreeMap<String, String> {
    image
        .iter()
        .chain(labels.into_iter().flatten())
        .filter(|(key, _)| !TOOL_LABEL_PREFIXES.iter().any(|p| key.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `environment: GREETING differs, EXTRA only on the container`: keys only, never values.
fn keys_differing(
    what: &str,
    wanted: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Option<String> {
    let keys: BTreeSet<&String> = wanted.keys().chain(live.keys()).collect();
    let parts: Vec<String> = keys
        .into_iter()
        .filter_map(|key| match (wanted.get(key), live.get(key)) {
            (Some(w), Some(l)) if w == l => None,
            (Some(_), Some(_)) => Some(format!("{key} differs")),
            (Some(_), None) => Some(format!("{key} missing on the container")),
            (None, _) => Some(format!("{key} only on the container")),
        })
        .collect();
    (!parts.is_empty()).then(|| format!("{what}: {}", parts.join(", ")))
}

type Facts = BTreeMap<&'static str, String>;

/// What the create body decides, one normalized string per field; fields the body leaves to the engine are
/// filled from the image, or left out (not compared) when the engine picks them.
fn wanted_facts(wanted: &CreateSpec, image: Option<&ImageConfig>) -> Facts {
    let body = &wanted.body;
    let host = body.host_config.clone().unwrap_or_default();
    let mut facts = Facts::new();
    facts.insert("image", body.image.clone().unwrap_or_default());
    let image_cmd = image.and_then(|i| i.cmd.clone());
    // An entrypoint set at create time drops the image's command, as the engine does.
    let cmd = match (&body.cmd, &body.entrypoint) {
        (Some(cmd), _) => Some(cmd.clone()),
        (None, Some(_)) => Some(Vec::new()),
        (None, None) => image.map(|_| image_cmd.unwrap_or_default()),
    };
    if let Some(cmd) = cmd {
        facts.insert("command", format!("{cmd:?}"));
    }
    let entrypoint = body
        .entrypoint
        .clone()
        .or_else(|| image.map(|i| i.entrypoint.clone().unwrap_or_default()));
    if let Some(entrypoint) = entrypoint {
        facts.insert("entrypoint", format!("{entrypoint:?}"));
    }
    let or_image = |set: &Option<String>, from_image: Option<String>| {
        set.clone()
            .or_else(|| image.map(|_| from_image.unwrap_or_default()))
    };
    if let Some(user) = or_image(&body.user, image.and_then(|i| i.user.clone())) {
        facts.insert("user", user);
    }
    if let Some(dir) = or_image(&body.working_dir, image.and_then(|i| i.working_dir.clone())) {
        facts.insert("working_dir", dir);
    }
    match (&body.healthcheck, image) {
        (Some(check), _) => {
            facts.insert("healthcheck", health(Some(check)));
        }
        (None, Some(image)) => {
            facts.insert("healthcheck", health(image.healthcheck.as_ref()));
        }
        (None, None) => {}
    }
    let identity = Identity {
        hostname: &body.hostname,
        domainname: &body.domainname,
        stop_signal: &body.stop_signal,
        stop_timeout: body.stop_timeout,
    };
    // Compared only when the spec sets them: the engine picks them otherwise.
    for (field, value) in set_only(&identity, &host) {
        if let Some(value) = value {
            facts.insert(field, value);
        }
    }
    facts.insert("tty", body.tty.unwrap_or_default().to_string());
    facts.insert(
        "stdin_open",
        body.open_stdin.unwrap_or_default().to_string(),
    );
    facts.insert("networks", networks_wanted(wanted));
    facts.insert("mounts", format!("{:?}", mounts_wanted(&host)));
    host_facts(&mut facts, &host);
    facts
}

/// The live container in the same terms as [`wanted_facts`].
fn live_facts(
    live: &ContainerInspectResponse,
    image: Option<&ImageConfig>,
    anonymous: &BTreeSet<String>,
) -> Facts {
    let config = live.config.clone().unwrap_or_default();
    let host = live.host_config.clone().unwrap_or_default();
    let mut facts = Facts::new();
    facts.insert("image", config.image.clone().unwrap_or_default());
    facts.insert(
        "command",
        format!("{:?}", config.cmd.clone().unwrap_or_default()),
    );
    facts.insert(
        "entrypoint",
        format!("{:?}", config.entrypoint.clone().unwrap_or_default()),
    );
    facts.insert("user", config.user.clone().unwrap_or_default());
    facts.insert(
        "working_dir",
        config.working_dir.clone().unwrap_or_default(),
    );
    facts.insert("healthcheck", health(config.healthcheck.as_ref()));
    let identity = Identity {
        hostname: &config.hostname,
        domainname: &config.domainname,
        stop_signal: &config.stop_signal,
        stop_timeout: config.stop_timeout,
    };
    for (field, value) in set_only(&identity, &host) {
        facts.insert(field, value.unwrap_or_default());
    }
    facts.insert("tty", config.tty.unwrap_or_default().to_string());
    facts.insert(
        "stdin_open",
        config.open_stdin.unwrap_or_default().to_string(),
    );
    facts.insert("networks", networks_live(live, &host));
    facts.insert(
        "mounts",
        format!("{:?}", mounts_live(live, image, anonymous)),
    );
    host_facts(&mut facts, &host);
    facts
}

/// The container-config fields of [`set_only`], which a create body and an inspect both carry.
struct Identity<'a> {
    hostname: &'a Option<String>,
    domainname: &'a Option<String>,
    stop_signal: &'a Option<String>,
    stop_timeout: Option<i64>,
}

/// Fields compared only when the spec sets them (the engine chooses them otherwise), in one list for both
/// sides.
fn set_only(identity: &Identity<'_>, host: &HostConfig) -> [(&'static str, Option<String>); 11] {
    [
        ("hostname", identity.hostname.clone()),
        ("domainname", identity.domainname.clone()),
        ("stop_signal", identity.stop_signal.clone()),
        ("stop_timeout", identity.stop_timeout.map(|t| t.to_string())),
        ("shm_size", host.shm_size.map(|s| s.to_string())),
        ("memswap_limit", host.memory_swap.map(|s| s.to_string())),
        ("pid", host.pid_mode.clone()),
        ("ipc", host.ipc_mode.clone()),
        ("cgroup", host.cgroupns_mode.map(|m| m.to_string())),
        ("runtime", host.runtime.clone()),
        (
            "logging",
            host.log_config.as_ref().map(|l| format!("{l:?}")),
        ),
    ]
}

/// Host-config fields both sides state the same way: the engine reports unset as 0, empty or absent.
fn host_facts(facts: &mut Facts, host: &HostConfig) {
    let number = |v: Option<i64>| v.filter(|n| *n > 0).unwrap_or_default().to_string();
    let restart = host.restart_policy.clone().unwrap_or_default();
    let restart_name = restart
        .name
        .map(|n| n.to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "no".into());
    facts.insert(
        "restart",
        format!("{restart_name}:{}", number(restart.maximum_retry_count)),
    );
    facts.insert("init", host.init.unwrap_or_default().to_string());
    facts.insert(
        "privileged",
        host.privileged.unwrap_or_default().to_string(),
    );
    facts.insert(
        "read_only",
        host.readonly_rootfs.unwrap_or_default().to_string(),
    );
    facts.insert("mem_limit", number(host.memory));
    facts.insert("mem_reservation", number(host.memory_reservation));
    facts.insert("cpus", number(host.nano_cpus));
    facts.insert("cpu_shares", number(host.cpu_shares));
    facts.insert("pids_limit", number(host.pids_limit));
    let set = |items: &Option<Vec<String>>| {
        format!(
            "{:?}",
            items.iter().flatten().collect::<BTreeSet<&String>>()
        )
    };
    // The engine reports capabilities as `CAP_NET_RAW` whichever way they were asked for.
    let caps = |items: &Option<Vec<String>>| {
        let names: BTreeSet<String> = items
            .iter()
            .flatten()
            .map(|c| {
                let upper = c.to_ascii_uppercase();
                upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
            })
            .collect();
        format!("{names:?}")
    };
    facts.insert("cap_add", caps(&host.cap_add));
    facts.insert("cap_drop", caps(&host.cap_drop));
    facts.insert("dns", set(&host.dns));
    facts.insert("dns_search", set(&host.dns_search));
    facts.insert("dns_opt", set(&host.dns_options));
    facts.insert("extra_hosts", set(&host.extra_hosts));
    facts.insert("group_add", set(&host.group_add));
    facts.insert("security_opt", set(&host.security_opt));
    facts.insert("ports", format!("{:?}", ports(host.port_bindings.as_ref())));
    let map = |m: &Option<HashMap<String, String>>| {
        format!(
            "{:?}",
            m.iter().flatten().collect::<BTreeMap<&String, &String>>()
        )
    };
    facts.insert("sysctls", map(&host.sysctls));
    facts.insert("tmpfs", map(&host.tmpfs));
    let ulimits: BTreeSet<String> = host
        .ulimits
        .iter()
        .flatten()
        .map(|u| format!("{:?}={:?}:{:?}", u.name, u.soft, u.hard))
        .collect();
    facts.insert("ulimits", format!("{ulimits:?}"));
    let devices: BTreeSet<String> = host
        .devices
        .iter()
        .flatten()
        .map(|d| format!("{:?}:{:?}", d.path_on_host, d.path_in_container))
        .collect();
    facts.insert("devices", format!("{devices:?}"));
    facts.insert("device_cgroup_rules", set(&host.device_cgroup_rules));
    facts.insert(
        "publish_all_ports",
        host.publish_all_ports.unwrap_or_default().to_string(),
    );
    facts.insert("shared_namespaces", shared_namespaces(host));
}

/// The namespaces a container shares with the host or another container (`uts=host`, `pid=container`).
/// Always compared: a spec that sets none wants namespaces of the container's own, whatever name the
/// engine's default has, and a shared one is host access the human must see.
fn shared_namespaces(host: &HostConfig) -> String {
    let modes = [
        ("pid", &host.pid_mode),
        ("ipc", &host.ipc_mode),
        ("uts", &host.uts_mode),
        ("userns", &host.userns_mode),
    ];
    let shared: Vec<String> = modes
        .into_iter()
        .filter_map(|(namespace, mode)| match mode.as_deref()? {
            "host" => Some(format!("{namespace}=host")),
            m if m.starts_with("container:") => Some(format!("{namespace}=container")),
            _ => None,
        })
        .collect();
    format!("{shared:?}")
}

fn health(check: Option<&HealthConfig>) -> String {
    let Some(check) = check else {
        return "none".into();
    };
    let n = |v: Option<i64>| v.unwrap_or_default();
    format!(
        "{:?} interval {} timeout {} retries {} start_period {}",
        check.test.clone().unwrap_or_default(),
        n(check.interval),
        n(check.timeout),
        n(check.retries),
        n(check.start_period)
    )
}

/// `80/tcp -> 127.0.0.1:8080`, with every-address and unset written alike.
fn ports(bindings: Option<&HashMap<String, Option<Vec<PortBinding>>>>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (port, bound) in bindings.into_iter().flatten() {
        for binding in bound.iter().flatten() {
            let ip = binding
                .host_ip
                .as_deref()
                .filter(|ip| !matches!(*ip, "" | "0.0.0.0"))
                .unwrap_or("");
            let host_port = binding.host_port.as_deref().unwrap_or("");
            found.insert(format!("{port} -> {ip}:{host_port}"));
        }
    }
    found
}

/// The network mode when it is not a network of the project (`host`, `none`, `container:…`), else the
/// networks the container joins.
fn networks_wanted(wanted: &CreateSpec) -> String {
    let body = &wanted.body;
    let mode = body
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone())
        .unwrap_or_default();
    let mut names: BTreeSet<String> = body
        .networking_config
        .iter()
        .flat_map(|n| n.endpoints_config.iter().flatten())
        .map(|(name, _)| name.clone())
        .chain(wanted.extra_networks.iter().map(|(name, _)| name.clone()))
        .collect();
    if names.is_empty() || !names.contains(&mode) {
        names = BTreeSet::from([format!("mode {mode}")]);
    }
    format!("{names:?}")
}

/// `mac_address: the spec has .., the container has ..` when the fixed addresses differ. A container whose
/// address the engine picked has none fixed, so a compose container with a fixed MAC the spec lacks differs.
fn mac_difference(
    wanted: Option<&str>,
    live: &ContainerInspectResponse,
    mac: &LiveMac,
) -> Option<String> {
    let have = match mac {
        LiveMac::Fixed(fixed) => fixed.clone(),
        // Without the config's field a fixed address cannot be told from the engine's pick; compare the
        // address on the first network when the spec fixes one.
        LiveMac::OnFirstNetwork => wanted.map(|_| primary_mac_address(live)),
    };
    let show = |mac: Option<&str>| mac.unwrap_or("none (the engine picks one)").to_string();
    (wanted != have.as_deref()).then(|| {
        format!(
            "mac_address: the spec has {}, the container has {}",
            show(wanted),
            show(have.as_deref())
        )
    })
}

/// The MAC address on the network the container was created on (its network mode), lowercase.
fn primary_mac_address(live: &ContainerInspectResponse) -> String {
    let mode = live
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone())
        .unwrap_or_default();
    live.network_settings
        .iter()
        .flat_map(|s| s.networks.iter().flatten())
        .find(|(name, _)| **name == mode)
        .and_then(|(_, endpoint)| endpoint.mac_address.clone())
        .unwrap_or_default()
        .to_lowercase()
}

fn networks_live(live: &ContainerInspectResponse, host: &HostConfig) -> String {
    let mode = host.network_mode.clone().unwrap_or_default();
    let mut names: BTreeSet<String> = live
        .network_settings
        .iter()
        .flat_map(|s| s.networks.iter().flatten())
        .map(|(name, _)| name.clone())
        .collect();
    if names.is_empty() || !names.contains(&mode) {
        names = BTreeSet::from([format!("mode {mode}")]);
    }
    format!("{names:?}")
}

/// `volume demo_data:/data rw`; tmpfs mounts are compared through `tmpfs`, anonymous volumes by target.
fn mounts_wanted(host: &HostConfig) -> BTreeSet<String> {
    host.mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            let target = m.target.clone().unwrap_or_default();
            let mode = if m.read_only.unwrap_or_default() {
                "ro"
            } else {
                "rw"
            };
            let (kind, source) = match m.typ? {
                MountType::VOLUME => (
                    "volume",
                    m.source
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| ANONYMOUS.to_string()),
                ),
                MountType::BIND => ("bind", m.source.clone().unwrap_or_default()),
                _ => return None,
            };
            Some(format!("{kind} {source}:{target} {mode}"))
        })
        .collect()
}

/// The live mounts in the same words. An anonymous volume (one of `anonymous`) at a path the image declares is
/// the engine's own (it makes one for every container, on both sides) and is left out; elsewhere it reads as
/// `(anonymous)`, as the spec's `volumes: [/path]` does. A named volume is compared by name, wherever it is.
fn mounts_live(
    live: &ContainerInspectResponse,
    image: Option<&ImageConfig>,
    anonymous: &BTreeSet<String>,
) -> BTreeSet<String> {
    let declared: BTreeSet<&String> = image
        .and_then(|i| i.volumes.as_ref())
        .into_iter()
        .flatten()
        .collect();
    live.mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            let target = m.destination.clone().unwrap_or_default();
            let mode = if m.rw.unwrap_or(true) { "rw" } else { "ro" };
            let name = m.name.clone().unwrap_or_default();
            let (kind, source) = match m.typ.as_deref()? {
                "volume" if anonymous.contains(&name) && declared.contains(&target) => return None,
                "volume" if anonymous.contains(&name) => ("volume", ANONYMOUS.to_string()),
                "volume" => ("volume", name),
                "bind" => ("bind", m.source.clone().unwrap_or_default()),
                _ => return None,
            };
            Some(format!("{kind} {source}:{target} {mode}"))
        })
        .collect()
}

/// How an anonymous volume reads on both sides of the comparison.
const ANONYMOUS: &str = "(anonymous)";

/// The container's volumes that are truly anonymous: named like one (64 hex digits), on the `local` driver,
/// without driver options (which could back a volume of any name with a host path).
async fn anonymous_volumes(
    docker: &Docker,
    host: &str,
    live: &ContainerInspectResponse,
) -> Result<BTreeSet<String>, DockerError> {
    let mut anonymous = BTreeSet::new();
    let named_like_one = live
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| m.name.clone())
        .filter(|name| is_anonymous(Some(name)));
    for name in named_like_one {
        let volume = docker
            .inspect_volume(&name)
            .await
            .map_err(api(host, format!("inspecting volume {name}")))?;
        let plain = volume.driver == "local" && volume.options.is_empty();
        if plain {
            anonymous.insert(name);
        }
    }
    Ok(anonymous)
}

/// The engine names an anonymous volume with 64 hex digits.
fn is_anonymous(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bollard::models::{
        ContainerConfig, ContainerCreateBody, EndpointSettings, Mount, MountPoint, NetworkSettings,
        NetworkingConfig, RestartPolicy, RestartPolicyNameEnum,
    };

    use super::*;

    const PATH: &str = "PATH=/usr/bin:/bin";

    fn image() -> ImageConfig {
        ImageConfig {
            cmd: Some(vec!["sh".into()]),
            env: Some(vec![PATH.into()]),
            ..Default::default()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// What this server would create for `web`: sleep, GREETING=hi, init, a volume, the default network.
    fn wanted() -> CreateSpec {
        let body = ContainerCreateBody {
            image: Some("busybox".into()),
            cmd: Some(strings(&["sleep", "3600"])),
            env: Some(strings(&["GREETING=hi"])),
            labels: Some(HashMap::from([
                (naming::LABEL_SERVICE.into(), "web".into()),
                (naming::LABEL_MANAGED_BY.into(), "demo".into()),
            ])),
            host_config: Some(HostConfig {
                init: Some(true),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                }),
                network_mode: Some("demo_default".into()),
                mounts: Some(vec![Mount {
                    target: Some("/data".into()),
                    source: Some("demo_data".into()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    "demo_default".into(),
                    EndpointSettings::default(),
                )])),
            }),
            ..Default::default()
        };
        CreateSpec {
            body,
            platform: None,
            extra_networks: Vec::new(),
            mac_address: None,
        }
    }

    /// The same container as compose made it: compose's labels, the image's PATH, binds for the volume.
    fn live() -> ContainerInspectResponse {
        ContainerInspectResponse {
            config: Some(ContainerConfig {
                image: Some("busybox".into()),
                cmd: Some(strings(&["sleep", "3600"])),
                env: Some(strings(&["GREETING=hi", PATH])),
                labels: Some(HashMap::from([
                    (naming::LABEL_SERVICE.into(), "web".into()),
                    (naming::LABEL_PROJECT.into(), "demo".into()),
                ])),
                hostname: Some("84847c926cde".into()),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                init: Some(true),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::EMPTY),
                    maximum_retry_count: Some(0),
                }),
                network_mode: Some("demo_default".into()),
                binds: Some(strings(&["demo_data:/data:rw"])),
                extra_hosts: Some(Vec::new()),
                ipc_mode: Some("private".into()),
                ..Default::default()
            }),
            mounts: Some(vec![MountPoint {
                typ: Some("volume".into()),
                name: Some("demo_data".into()),
                destination: Some("/data".into()),
                rw: Some(true),
                ..Default::default()
            }]),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    "demo_default".into(),
                    EndpointSettings::default(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_compose_container_of_the_same_config_matches() {
        let differences =
            container_differences(&wanted(), &live(), Some(&image()), &LiveExtras::plain());
        assert!(differences.is_empty(), "{differences:?}");
    }

    #[test]
    fn each_changed_field_is_named_and_values_of_environment_and_labels_are_not() {
        type Change = fn(&mut ContainerInspectResponse);
        let table: [(Change, &str); 10] = [
            (
                |c| c.host_config.as_mut().unwrap().init = Some(false),
                "init: the spec has true, the container has false",
            ),
            (
                |c| c.config.as_mut().unwrap().cmd = Some(strings(&["sleep", "1"])),
                "command:",
            ),
            (
                |c| c.config.as_mut().unwrap().env = Some(strings(&["GREETING=s3cr3t", PATH])),
                "environment: GREETING differs",
            ),
            (
                |c| {
                    let config = c.config.as_mut().unwrap();
                    config.env.as_mut().unwrap().push("EXTRA=s3cr3t".into());
                },
                "environment: EXTRA only on the container",
            ),
            (
                |c| {
                    let labels = c.config.as_mut().unwrap().labels.as_mut().unwrap();
                    labels.insert("team".into(), "s3cr3t".into());
                },
                "labels: team only on the container",
            ),
            (|c| c.mounts = Some(Vec::new()), "mounts:"),
            // Host access a spec without these fields does not grant: an unset field is not "the
            // engine picks", so these are compared whether the spec sets them or not.
            (
                |c| c.host_config.as_mut().unwrap().uts_mode = Some("host".into()),
                "shared_namespaces: the spec has [], the container has [\"uts=host\"]",
            ),
            (
                |c| c.host_config.as_mut().unwrap().pid_mode = Some("container:ab12".into()),
                "shared_namespaces: the spec has [], the container has [\"pid=container\"]",
            ),
            (
                |c| {
                    c.host_config.as_mut().unwrap().device_cgroup_rules =
                        Some(strings(&["c *:* rwm"]))
                },
                "device_cgroup_rules:",
            ),
            (
                |c| c.host_config.as_mut().unwrap().publish_all_ports = Some(true),
                "publish_all_ports:",
            ),
        ];
        for (change, expected) in table {
            let mut container = live();
            change(&mut container);
            let differences =
                container_differences(&wanted(), &container, Some(&image()), &LiveExtras::plain());
            assert_eq!(differences.len(), 1, "{expected}: {differences:?}");
            assert!(differences[0].starts_with(expected), "{differences:?}");
            assert!(!differences[0].contains("s3cr3t"), "{differences:?}");
        }
    }

    #[test]
    fn anonymous_volumes_at_paths_the_image_declares_are_the_engines_own() {
        let image = ImageConfig {
            volumes: Some(strings(&["/data", "/cache"])),
            ..image()
        };
        let mut container = live();
        container.mounts.as_mut().unwrap().push(MountPoint {
            typ: Some("volume".into()),
            name: Some("a".repeat(64)),
            destination: Some("/cache".into()),
            rw: Some(true),
            ..Default::default()
        });
        let anonymous = LiveExtras {
            anonymous_volumes: BTreeSet::from(["a".repeat(64)]),
            ..LiveExtras::plain()
        };
        let differences = container_differences(&wanted(), &container, Some(&image), &anonymous);
        assert!(differences.is_empty(), "{differences:?}");
        // Named like an anonymous volume but backed by driver options: a named volume, compared by name.
        let differences =
            container_differences(&wanted(), &container, Some(&image), &LiveExtras::plain());
        assert_eq!(differences.len(), 1, "{differences:?}");
    }

    #[test]
    fn an_anonymous_volume_of_the_spec_matches_the_engines_anonymous_volume_there() {
        let mut spec = wanted();
        if let Some(mounts) = spec
            .body
            .host_config
            .as_mut()
            .and_then(|h| h.mounts.as_mut())
        {
            mounts.push(Mount {
                target: Some("/scratch".into()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            });
        }
        let mut container = live();
        container.mounts.as_mut().unwrap().push(MountPoint {
            typ: Some("volume".into()),
            name: Some("b".repeat(64)),
            destination: Some("/scratch".into()),
            rw: Some(true),
            ..Default::default()
        });
        let anonymous = LiveExtras {
            anonymous_volumes: BTreeSet::from(["b".repeat(64)]),
            ..LiveExtras::plain()
        };
        let differences = container_differences(&spec, &container, Some(&image()), &anonymous);
        assert!(differences.is_empty(), "{differences:?}");
        let bind_backed =
            container_differences(&spec, &container, Some(&image()), &LiveExtras::plain());
        assert_eq!(bind_backed.len(), 1, "{bind_backed:?}");
    }

    #[test]
    fn a_fixed_mac_address_differs_unless_both_sides_fix_the_same_one() {
        let fixed = |mac: &str| LiveMac::Fixed(Some(mac.into()));
        let mut on_network = live();
        on_network.host_config = Some(HostConfig {
            network_mode: Some("demo_default".into()),
            ..Default::default()
        });
        if let Some(networks) = on_network
            .network_settings
            .as_mut()
            .and_then(|s| s.networks.as_mut())
        {
            for endpoint in networks.values_mut() {
                endpoint.mac_address = Some("02:42:AC:1F:00:01".into());
            }
        }
        let table: [(Option<&str>, LiveMac, bool); 7] = [
            (None, LiveMac::Fixed(None), false),
            (None, fixed("02:42:ac:1f:00:01"), true),
            (Some("02:42:ac:1f:00:01"), fixed("02:42:ac:1f:00:01"), false),
            (Some("02:42:ac:1f:00:01"), fixed("02:42:ac:1f:00:02"), true),
            (Some("02:42:ac:1f:00:01"), LiveMac::Fixed(None), true),
            (Some("02:42:ac:1f:00:01"), LiveMac::OnFirstNetwork, false),
            (None, LiveMac::OnFirstNetwork, false),
        ];
        for (wanted, mac, differs) in table {
            let difference = mac_difference(wanted, &on_network, &mac);
            assert_eq!(difference.is_some(), differs, "{wanted:?}: {difference:?}");
        }
        let named = mac_difference(None, &on_network, &fixed("02:42:ac:1f:00:01"));
        assert_eq!(
            named.as_deref(),
            Some("mac_address: the spec has none (the engine picks one), the container has 02:42:ac:1f:00:01")
        );
    }

    #[test]
    fn fields_the_spec_leaves_to_an_unknown_image_are_not_compared() {
        let mut spec = wanted();
        spec.body.cmd = None;
        let mut container = live();
        container.config.as_mut().unwrap().cmd = Some(strings(&["anything"]));
        let differences = container_differences(&spec, &container, None, &LiveExtras::plain());
        assert!(differences.is_empty(), "{differences:?}");
        let differences =
            container_differences(&spec, &container, Some(&image()), &LiveExtras::plain());
        assert!(differences[0].starts_with("command:"), "{differences:?}");
    }
}
