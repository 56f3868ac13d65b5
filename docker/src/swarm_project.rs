//! A project on a swarm as a whole: what the manager holds of it (services, overlay networks, secrets,
//! configs, found by our ownership label), its nodes by name, and removals that wait for tasks to let go.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum, TaskState,
};
use bollard::query_parameters::{
    ListConfigsOptionsBuilder, ListNetworksOptionsBuilder, ListNodesOptionsBuilder,
    ListSecretsOptionsBuilder, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
};
use planner::model::Protocol;
use planner::naming::LABEL_MANAGED_BY;
use planner::swarm::plan::ObservedSwarm;
use planner::swarm::preflight::PublishedElsewhere;
use planner::swarm::spec::PublishMode;

use crate::swarm::{self, project_services};
use crate::swarm_spec::ObjectIds;
use crate::{DockerClient, DockerError};

/// How long a network removal waits for the tasks of removed services to leave it.
const NETWORK_RELEASE: Duration = Duration::from_secs(60);
const RETRY: Duration = Duration::from_millis(500);

/// One node as status names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub id: String,
    pub hostname: String,
    /// `ready`, `down`, `disconnected` or `unknown`.
    pub state: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
}

fn label_filter(project: &str) -> String {
    format!("{LABEL_MANAGED_BY}={project}")
}

fn api(client: &DockerClient, context: String) -> impl Fn(bollard::errors::Error) -> DockerError {
    let host = client.host.clone();
    move |e| DockerError::from_bollard(e, &host, &context)
}

/// Everything of `project` the manager holds; the four lists go out at once (plan and the apply's stale
/// check both wait for the slowest, not for their sum).
pub async fn observe(client: &DockerClient, project: &str) -> Result<ObservedSwarm, DockerError> {
    let label = label_filter(project);
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let networks = async {
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let listed = client.api.list_networks(Some(options)).await;
        listed.map_err(api(client, format!("networks of {project}")))
    };
    let secrets = async {
        let options = ListSecretsOptionsBuilder::new().filters(&filters).build();
        let listed = client.api.list_secrets(Some(options)).await;
        listed.map_err(api(client, format!("secrets of {project}")))
    };
    let configs = async {
        let options = ListConfigsOptionsBuilder::new().filters(&filters).build();
        let listed = client.api.list_configs(Some(options)).await;
        listed.map_err(api(client, format!("configs of {project}")))
    };
    let (services, networks, secrets, configs) = tokio::try_join!(
        project_services(client, project),
        networks,
        secrets,
        configs
    )?;
    Ok(ObservedSwarm {
        services,
        networks: networks.into_iter().filter_map(|n| n.name).collect(),
        secrets: secrets
            .into_iter()
            .filter_map(|s| s.spec.and_then(|s| s.name))
            .collect(),
        configs: configs
            .into_iter()
            .filter_map(|c| c.spec.and_then(|c| c.name))
            .collect(),
    })
}

/// Running tasks and desired replicas summed over the project's services, in two calls: what
/// `list_projects` shows of a swarm project. A global service wants one task per node it runs on, so its
/// tasks meant to run count as desired.
pub async fn replica_counts(
    client: &DockerClient,
    project: &str,
) -> Result<(usize, usize), DockerError> {
    let label = label_filter(project);
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let options = ListServicesOptionsBuilder::new().filters(&filters).build();
    let services = client.api.list_services(Some(options)).await;
    let services = services.map_err(api(client, format!("services of {project}")))?;
    let ids: Vec<&str> = services.iter().filter_map(|s| s.id.as_deref()).collect();
    if ids.is_empty() {
        return Ok((0, 0));
    }
    let filters = HashMap::from([("service", ids), ("desired-state", vec!["running"])]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = client.api.list_tasks(Some(options)).await;
    let tasks = tasks.map_err(api(client, format!("tasks of {project}")))?;
    let running = tasks
        .iter()
        .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
        .count();
    let mut desired = 0;
    for service in &services {
        let mode = service.spec.as_ref().and_then(|s| s.mode.as_ref());
        match mode.and_then(|m| m.replicated.as_ref()) {
            Some(r) => desired += usize::try_from(r.replicas.unwrap_or(1)).unwrap_or(0),
            None => desired += tasks.iter().filter(|t| t.service_id == service.id).count(),
        }
    }
    Ok((running, desired))
}

/// Which immutable file object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Secret,
    Config,
}

/// The IDs of the project's secrets or configs by name, as a service spec references them.
pub async fn object_ids(
    client: &DockerClient,
    project: &str,
    kind: ObjectKind,
) -> Result<ObjectIds, DockerError> {
    let label = label_filter(project);
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let context = || format!("{kind:?} objects of {project}").to_lowercase();
    let pairs: Vec<(Option<String>, Option<String>)> = match kind {
        ObjectKind::Secret => {
            let options = ListSecretsOptionsBuilder::new().filters(&filters).build();
            let listed = client.api.list_secrets(Some(options)).await;
            let listed = listed.map_err(api(client, context()))?;
            listed
                .into_iter()
                .map(|s| (s.spec.and_then(|s| s.name), s.id))
                .collect()
        }
        ObjectKind::Config => {
            let options = ListConfigsOptionsBuilder::new().filters(&filters).build();
            let listed = client.api.list_configs(Some(options)).await;
            let listed = listed.map_err(api(client, context()))?;
            listed
                .into_iter()
                .map(|c| (c.spec.and_then(|c| c.name), c.id))
                .collect()
        }
    };
    Ok(pairs
        .into_iter()
        .filter_map(|(name, id)| Some((name?, id?)))
        .collect())
}

/// The ports every service not of `project` publishes, for the plan's port check.
pub async fn ports_published_elsewhere(
    client: &DockerClient,
    project: &str,
) -> Result<Vec<PublishedElsewhere>, DockerError> {
    let services = client.api.list_services(None).await;
    let services = services.map_err(api(client, "listing services".into()))?;
    let mut found = Vec::new();
    for service in services {
        let spec = service.spec.unwrap_or_default();
        let labels = spec.labels.unwrap_or_default();
        if labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some(project) {
            continue;
        }
        let name = spec.name.unwrap_or_default();
        let ports = spec.endpoint_spec.and_then(|e| e.ports).unwrap_or_default();
        for port in ports {
            let Some(published) = port.published_port.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            found.push(PublishedElsewhere {
                service: name.clone(),
                port: published,
                protocol: match port.protocol {
                    Some(EndpointPortConfigProtocolEnum::UDP) => Protocol::Udp,
                    Some(EndpointPortConfigProtocolEnum::SCTP) => Protocol::Sctp,
                    _ => Protocol::Tcp,
                },
                mode: match port.publish_mode {
                    Some(EndpointPortConfigPublishModeEnum::HOST) => PublishMode::Host,
                    _ => PublishMode::Ingress,
                },
            });
        }
    }
    Ok(found)
}

/// The swarm's nodes by ID.
pub async fn nodes(client: &DockerClient) -> Result<BTreeMap<String, NodeView>, DockerError> {
    let listed = client
        .api
        .list_nodes(Some(ListNodesOptionsBuilder::new().build()))
        .await
        .map_err(api(client, "listing nodes".into()))?;
    Ok(listed
        .into_iter()
        .map(|n| {
            let id = n.id.unwrap_or_default();
            let hostname = n.description.and_then(|d| d.hostname).unwrap_or_default();
            let state = n
                .status
                .and_then(|s| s.state)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let availability = n
                .spec
                .and_then(|s| s.availability)
                .map(|a| a.to_string())
                .unwrap_or_default();
            let view = NodeView {
                id: id.clone(),
                hostname,
                state,
                availability,
            };
            (id, view)
        })
        .collect())
}

/// Removes the network, retrying while tasks of just-removed services still hold it.
pub async fn remove_network_when_free(
    client: &DockerClient,
    name: &str,
) -> Result<(), DockerError> {
    let deadline = tokio::time::Instant::now() + NETWORK_RELEASE;
    loop {
        match swarm::remove_network(client, name).await {
            Ok(()) => return Ok(()),
            Err(DockerError::NotFound { .. }) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    }
}
