//! Primitive container operations for the MCP tools: list, inspect, create, run, start, stop, remove,
//! recreate.
//!
//! Create, connect and roll back are the plan executor's own (`steps::create_connected`); the body comes from
//! `container_config::primitive_create_spec`, so a container made by hand and one made by a plan are mapped
//! by the same code.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ContainerInspectResponse, ContainerSummary as EngineSummary, PortSummary};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use planner::model::ServiceSpec;
use planner::naming;
use planner::preflight::{self, NamedContainer};

use super::client::DockerClient;
use super::container_config::primitive_create_spec;
use super::error::{api, DockerError};
use super::inherited_labels;
use super::steps;

/// Which containers to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    /// Include stopped containers.
    pub all: bool,
    /// `key` or `key=value` label filters.
    pub labels: Vec<String>,
    /// Substring of the name.
    pub name: Option<String>,
    /// One engine state (`running`, `exited` ...).
    pub status: Option<String>,
}

/// One published (or only exposed) port of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortMapping {
    /// Host address the port is bound to.
    pub ip: Option<String>,
    pub private_port: u16,
    pub public_port: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// One container as the list tool shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSummary {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    pub state: String,
    /// Docker's human status (`Up 3 minutes`).
    pub status: String,
    pub ports: Vec<PortMapping>,
    pub labels: HashMap<String, String>,
    /// Its MAC addresses on the networks it is attached to now, lowercase (a stopped container has none).
    pub mac_addresses: Vec<String>,
}

/// What inspecting one container tells, as plain values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    /// Full id.
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    /// `running`, `exited`, ...
    pub state: String,
    pub running: bool,
    /// Set once the container has exited.
    pub exit_code: Option<i64>,
    pub health: Option<String>,
    pub started_at: Option<String>,
    pub created: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// `KEY=value` entries, unmasked.
    pub env: Vec<String>,
    /// Unmasked.
    pub labels: HashMap<String, String>,
    /// `host_ip:host_port->port/proto`, or `port/proto` when not published.
    pub ports: Vec<String>,
    /// `type source:target[:ro]`.
    pub mounts: Vec<String>,
    /// Network name to IP address.
    pub networks: BTreeMap<String, String>,
    /// `no`, `always`, `on-failure:3` ...
    pub restart_policy: String,
    pub restart_count: i64,
}

/// A container just made: its full id and the name Docker gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub name: String,
}

/// How a container is removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Kill it first when it runs.
    pub force: bool,
    /// Also remove its anonymous volumes.
    pub anonymous_volumes: bool,
}

/// Containers matching `filter`, by name.
pub async fn list(
    client: &DockerClient,
    filter: &ContainerFilter,
) -> Result<Vec<ContainerSummary>, DockerError> {
    let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
    if !filter.labels.is_empty() {
        filters.insert("label", filter.labels.clone());
    }
    if let Some(name) = &filter.name {
        filters.insert("name", vec![name.clone()]);
    }
    if let Some(status) = &filter.status {
        filters.insert("status", vec![status.clone()]);
    }
    let options = ListContainersOptionsBuilder::new()
        .all(filter.all)
        .filters(&filters)
        .build();
    let mut containers: Vec<ContainerSummary> = client
        .api
        .list_containers(Some(options))
        .await
        .map_err(api(&client.host, "listing containers"))?
        .into_iter()
        .map(summary)
        .collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(containers)
}

/// Refuses a fixed MAC address another container uses now, as a plan's preflight does.
async fn refuse_taken_mac_address(
    client: &DockerClient,
    spec: &ServiceSpec,
    spared: &[&str],
) -> Result<(), DockerError> {
    let Some(mac) = spec.mac_address.as_deref() else {
        return Ok(());
    };
    let every = ContainerFilter {
        all: true,
        ..ContainerFilter::default()
    };
    let named = named_containers(&list(client, &every).await?);
    match preflight::mac_address_holder(mac, &named, spared) {
        Some(holder) => Err(DockerError::InvalidAction(format!(
            "mac_address: {} (fix: {})",
            preflight::mac_address_taken_message(mac, &holder.name),
            preflight::MAC_ADDRESS_TAKEN_FIX
        ))),
        None => Ok(()),
    }
}

/// Containers as the planner's preflight names them: name, managing project and MAC addresses.
pub fn named_containers(containers: &[ContainerSummary]) -> Vec<NamedContainer> {
    containers
        .iter()
        .map(|c| NamedContainer {
            name: c.name.clone(),
            managed_by: c.labels.get(naming::LABEL_MANAGED_BY).cloned(),
            mac_addresses: c.mac_addresses.clone(),
        })
        .collect()
}

fn summary(c: EngineSummary) -> ContainerSummary {
    let mac_addresses = c
        .network_settings
        .iter()
        .flat_map(|s| s.networks.iter().flatten())
        .filter_map(|(_, endpoint)| endpoint.mac_address.clone())
        .filter(|mac| !mac.is_empty())
        .map(|mac| mac.to_lowercase())
        .collect();
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name: c
            .names
            .and_then(|n| n.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: c.image.unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        status: c.status.unwrap_or_default(),
        ports: c
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(port_mapping)
            .collect(),
        labels: c.labels.unwrap_or_default(),
        mac_addresses,
    }
}

fn port_mapping(p: PortSummary) -> PortMapping {
    PortMapping {
        ip: p.ip,
        private_port: p.private_port,
        public_port: p.public_port,
        protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
    }
}

/// The engine's view of one container; `NotFound` when there is none by that id or name.
pub async fn inspect(client: &DockerClient, container: &str) -> Result<ContainerInfo, DockerError> {
    let info = client
        .api
        .inspect_container(container, None)
        .await
        .map_err(api(&client.host, format!("container {container:?}")))?;
    Ok(container_info(info))
}

fn container_info(info: ContainerInspectResponse) -> ContainerInfo {
    let config = info.config.clone().unwrap_or_default();
    let state = info.state.clone().unwrap_or_default();
    let running = state.running == Some(true);
    ContainerInfo {
        id: info.id.clone().unwrap_or_default(),
        name: info
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.clone().unwrap_or_default(),
        state: state.status.map(|s| s.to_string()).unwrap_or_default(),
        running,
        exit_code: state.exit_code.filter(|_| !running),
        health: state
            .health
            .as_ref()
            .and_then(|h| h.status)
            .map(|s| s.to_string()),
        started_at: state.started_at.clone().filter(|s| !s.starts_with("0001")),
        created: info
            .created
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        entrypoint: config.entrypoint.clone(),
        command: config.cmd.clone(),
        env: config.env.clone().unwrap_or_default(),
        labels: config.labels.clone().unwrap_or_default(),
        ports: published_ports(&info),
        mounts: mount_lines(&info),
        networks: network_addresses(&info),
        restart_policy: restart_policy(&info),
        restart_count: info.restart_count.unwrap_or(0),
    }
}

fn published_ports(info: &ContainerInspectResponse) -> Vec<String> {
    let mut ports = Vec::new();
    let bindings = info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.clone())
        .unwrap_or_default();
    for (port, hosts) in bindings {
        match hosts {
            Some(hosts) if !hosts.is_empty() => {
                for h in hosts {
                    let text = format!(
                        "{}:{}->{port}",
                        h.host_ip.unwrap_or_default(),
                        h.host_port.unwrap_or_default()
                    );
                    if !ports.contains(&text) {
                        ports.push(text);
                    }
                }
            }
            _ => ports.push(port),
        }
    }
    ports.sort();
    ports
}

fn mount_lines(info: &ContainerInspectResponse) -> Vec<String> {
    info.mounts
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let kind = m.typ.map(|t| t.to_string()).unwrap_or_default();
            let source = m.name.clone().or(m.source.clone()).unwrap_or_default();
            let ro = if m.rw == Some(false) { ":ro" } else { "" };
            format!("{kind} {source}:{}{ro}", m.destination.unwrap_or_default())
        })
        .collect()
}

fn network_addresses(info: &ContainerInspectResponse) -> BTreeMap<String, String> {
    info.network_settings
        .as_ref()
        .and_then(|n| n.networks.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| (name, endpoint.ip_address.unwrap_or_default()))
        .collect()
}

fn restart_policy(info: &ContainerInspectResponse) -> String {
    let policy = info
        .host_config
        .as_ref()
        .and_then(|h| h.restart_policy.as_ref());
    let Some(policy) = policy else {
        return "no".into();
    };
    let name = policy
        .name
        .map(|n| n.to_string())
        .unwrap_or_else(|| "no".into());
    match policy.maximum_retry_count {
        Some(n) if n > 0 => format!("{name}:{n}"),
        _ if name.is_empty() => "no".into(),
        _ => name,
    }
}

/// Creates (does not start) a primitive container from `spec`; Docker picks the name when `name` is `None`.
/// The caller has refused specs that need a project (builds, secrets, configs).
pub async fn create(
    client: &DockerClient,
    name: Option<&str>,
    spec: &ServiceSpec,
) -> Result<Created, DockerError> {
    create_sparing(client, name, spec, &[]).await
}

/// [`create`], where the containers named in `spared` may hold the spec's MAC address (a recreate's old
/// container, which stops before the new one starts).
async fn create_sparing(
    client: &DockerClient,
    name: Option<&str>,
    spec: &ServiceSpec,
    spared: &[&str],
) -> Result<Created, DockerError> {
    refuse_taken_mac_address(client, spec, spared).await?;
    let image = super::images::inspect(client, &spec.image).await?;
    let create_spec = primitive_create_spec(spec, &image.labels)?;
    let intended = create_spec.body.labels.clone().unwrap_or_default();
    let id = steps::create_connected(client, &client.host, name, create_spec, Vec::new()).await?;
    match created_as_intended(client, &id, &intended).await {
        Ok(actual) => Ok(Created {
            name: actual.unwrap_or_else(|| name.unwrap_or_default().to_string()),
            id,
        }),
        Err(err) => {
            let _ = force_remove(client, &id).await;
            Err(DockerError::RolledBack {
                source: Box::new(err),
                undone: "the created container was removed again".into(),
            })
        }
    }
}

/// The created container's name, once it is known to carry no reserved label its create body did not give
/// it (`inherited_labels`: its image may have been retagged to one carrying ours since the image inspect).
async fn created_as_intended(
    client: &DockerClient,
    id: &str,
    intended: &HashMap<String, String>,
) -> Result<Option<String>, DockerError> {
    let info = client
        .api
        .inspect_container(id, None)
        .await
        .map_err(api(&client.host, format!("container {id}")))?;
    let labels = info
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    if let Some(label) = inherited_labels::unexpected(intended, &labels) {
        return Err(DockerError::InheritedLabel {
            label: label.to_string(),
        });
    }
    Ok(info.name.map(|n| n.trim_start_matches('/').to_string()))
}

/// Creates and starts a primitive container; one that fails to start is removed again.
pub async fn run(
    client: &DockerClient,
    name: Option<&str>,
    spec: &ServiceSpec,
) -> Result<Created, DockerError> {
    let created = create(client, name, spec).await?;
    if let Err(err) = start(client, &created.id).await {
        let _ = force_remove(client, &created.id).await;
        return Err(DockerError::RolledBack {
            source: Box::new(err),
            undone: "the created container was removed again".into(),
        });
    }
    Ok(created)
}

/// Starts a container; one already running is fine.
pub async fn start(client: &DockerClient, container: &str) -> Result<(), DockerError> {
    steps::start(&client.api, &client.host, container).await
}

/// Stops a container, killing it after `timeout_secs` (the container's own stop timeout when `None`).
pub async fn stop(
    client: &DockerClient,
    container: &str,
    timeout_secs: Option<u32>,
) -> Result<(), DockerError> {
    let mut options = StopContainerOptionsBuilder::new();
    if let Some(seconds) = timeout_secs {
        options = options.t(i32::try_from(seconds).unwrap_or(i32::MAX));
    }
    client
        .api
        .stop_container(container, Some(options.build()))
        .await
        .map_err(api(
            &client.host,
            format!("stopping container {container:?}"),
        ))
}

/// Removes a container as `options` says.
pub async fn remove(
    client: &DockerClient,
    container: &str,
    options: RemoveOptions,
) -> Result<(), DockerError> {
    let query = RemoveContainerOptionsBuilder::new()
        .force(options.force)
        .v(options.anonymous_volumes)
        .build();
    client
        .api
        .remove_container(container, Some(query))
        .await
        .map_err(api(
            &client.host,
            format!("removing container {container:?}"),
        ))
}

/// Removes a container even while it runs (with its anonymous volumes); gone already is fine.
pub async fn force_remove(client: &DockerClient, container: &str) -> Result<(), DockerError> {
    steps::remove(&client.api, &client.host, container).await
}

async fn rename(client: &DockerClient, container: &str, name: &str) -> Result<(), DockerError> {
    client
        .api
        .rename_container(
            container,
            RenameContainerOptionsBuilder::new().name(name).build(),
        )
        .await
        .map_err(api(
            &client.host,
            format!("renaming container {container:?} to {name}"),
        ))
}

/// Replaces container `old` (a full id) with one made from `spec`, keeping its name and whether it ran. The
/// new container is created before the old one is touched; any failure after that restores the old one.
pub async fn recreate(
    client: &DockerClient,
    old: &str,
    spec: &ServiceSpec,
) -> Result<Created, DockerError> {
    let info = inspect(client, old).await?;
    let name = info.name;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let temporary = format!("{name}-new-{}", &suffix[..8]);
    let parked = format!("{name}-old-{}", &suffix[..8]);
    let created = create_sparing(client, Some(&temporary), spec, &[name.as_str()])
        .await
        .map_err(|e| DockerError::RolledBack {
            source: Box::new(e),
            undone: format!("the old container {name} was left untouched"),
        })?;
    let swap = async {
        if info.running {
            stop(client, old, None).await?;
        }
        rename(client, old, &parked).await?;
        rename(client, &created.id, &name).await?;
        start(client, &created.id).await
    };
    if let Err(err) = swap.await {
        let _ = force_remove(client, &created.id).await;
        let _ = rename(client, old, &name).await;
        if info.running {
            let _ = start(client, old).await;
        }
        return Err(DockerError::RolledBack {
            source: Box::new(err),
            undone: format!("rolled back: the old container {name} was restored"),
        });
    }
    force_remove(client, old)
        .await
        .map_err(|e| DockerError::Api {
            context: format!("removing the old container (now named {parked})"),
            status: 0,
            message: e.to_string(),
        })?;
    Ok(Created {
        id: created.id,
        name,
    })
}
