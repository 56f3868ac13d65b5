//! Swarm operations on a manager node: the node's role, overlay networks, secrets and configs, services and
//! their tasks. Everything a project creates carries the planner's labels; specs come from `planner::swarm`.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::{ConfigSpec, LocalNodeState, NetworkCreateRequest, SecretSpec, TaskState};
use bollard::query_parameters::{
    ListServicesOptionsBuilder, ListTasksOptionsBuilder, UpdateServiceOptionsBuilder,
};
use planner::naming::LABEL_MANAGED_BY;
use planner::swarm::diff::{ObservedService, LABEL_SPEC_HASH};
use planner::swarm::spec::{FileObjectSpec, NetworkSpec, ServiceSpec};

use crate::swarm_spec::{service_body, ObjectIds};
use crate::{DockerClient, DockerError};

/// What the engine is in its swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmRole {
    /// A manager: it can create and update services.
    Manager,
    /// A worker: it runs tasks but cannot manage services.
    Worker,
    /// Not part of a swarm (or still joining, or in error).
    NotInSwarm,
}

/// One task of a service as status reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub id: String,
    pub slot: Option<i64>,
    pub node_id: String,
    pub state: String,
    pub desired_state: String,
    /// The engine's error for a failed task (`task: non-zero exit (1)`), empty otherwise.
    pub error: String,
}

impl TaskView {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// A service's identity and the version the engine requires for an update (stale updates are refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHandle {
    pub id: String,
    pub version: u64,
}

fn api_error(
    client: &DockerClient,
    context: &str,
) -> impl Fn(bollard::errors::Error) -> DockerError {
    let host = client.host.clone();
    let context = context.to_string();
    move |e| DockerError::from_bollard(e, &host, &context)
}

pub async fn swarm_role(client: &DockerClient) -> Result<SwarmRole, DockerError> {
    let info = client
        .api
        .info()
        .await
        .map_err(api_error(client, "reading the engine's swarm state"))?;
    let swarm = info.swarm.unwrap_or_default();
    let active = swarm.local_node_state == Some(LocalNodeState::ACTIVE);
    Ok(match (active, swarm.control_available.unwrap_or(false)) {
        (true, true) => SwarmRole::Manager,
        (true, false) => SwarmRole::Worker,
        (false, _) => SwarmRole::NotInSwarm,
    })
}

/// Creates an attachable overlay network; returns its ID.
pub async fn create_network(
    client: &DockerClient,
    spec: &NetworkSpec,
) -> Result<String, DockerError> {
    let body = NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some(spec.driver.clone()),
        attachable: Some(spec.attachable),
        internal: Some(spec.internal),
        labels: Some(spec.labels.clone().into_iter().collect()),
        ..NetworkCreateRequest::default()
    };
    let created = client.api.create_network(body).await;
    let created = created.map_err(api_error(client, &format!("network {}", spec.name)))?;
    Ok(created.id)
}

pub async fn remove_network(client: &DockerClient, name: &str) -> Result<(), DockerError> {
    let removed = client.api.remove_network(name).await;
    removed.map_err(api_error(client, &format!("network {name}")))
}

/// Creates the secret `spec` with `content`; returns its ID. The content is never logged.
pub async fn create_secret(
    client: &DockerClient,
    spec: &FileObjectSpec,
    content: &[u8],
) -> Result<String, DockerError> {
    let body = SecretSpec {
        name: Some(spec.name.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        data: Some(base64::engine::general_purpose::STANDARD.encode(content)),
        ..SecretSpec::default()
    };
    let created = client.api.create_secret(body).await;
    Ok(created
        .map_err(api_error(client, &format!("secret {}", spec.name)))?
        .id)
}

/// Creates the config `spec` with `content`; returns its ID.
pub async fn create_config(
    client: &DockerClient,
    spec: &FileObjectSpec,
    content: &[u8],
) -> Result<String, DockerError> {
    let body = ConfigSpec {
        name: Some(spec.name.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        data: Some(base64::engine::general_purpose::STANDARD.encode(content)),
        ..ConfigSpec::default()
    };
    let created = client.api.create_config(body).await;
    Ok(created
        .map_err(api_error(client, &format!("config {}", spec.name)))?
        .id)
}

pub async fn remove_secret(client: &DockerClient, name_or_id: &str) -> Result<(), DockerError> {
    let removed = client.api.delete_secret(name_or_id).await;
    removed.map_err(api_error(client, &format!("secret {name_or_id}")))
}

pub async fn remove_config(client: &DockerClient, name_or_id: &str) -> Result<(), DockerError> {
    let removed = client.api.delete_config(name_or_id).await;
    removed.map_err(api_error(client, &format!("config {name_or_id}")))
}

/// Creates the service; `ids` maps the secrets' and configs' Swarm names to their IDs.
pub async fn create_service(
    client: &DockerClient,
    spec: &ServiceSpec,
    ids: &ObjectIds,
) -> Result<String, DockerError> {
    let body = service_body(spec, ids)?;
    let created = client.api.create_service(body, None).await;
    let created = created.map_err(api_error(client, &format!("service {}", spec.name)))?;
    Ok(created.id.unwrap_or_default())
}

/// The service's ID and current version, or `None` when no such service exists.
pub async fn service_handle(
    client: &DockerClient,
    name: &str,
) -> Result<Option<ServiceHandle>, DockerError> {
    match client.api.inspect_service(name, None).await {
        Ok(service) => Ok(Some(ServiceHandle {
            id: service.id.unwrap_or_default(),
            version: service.version.and_then(|v| v.index).unwrap_or_default(),
        })),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(api_error(client, &format!("service {name}"))(e)),
    }
}

/// Updates the service in place (a rolling update under its update policy) at the version the plan saw;
/// the engine refuses the update when the service changed since ("update out of sequence").
pub async fn update_service(
    client: &DockerClient,
    spec: &ServiceSpec,
    ids: &ObjectIds,
    seen: &ServiceHandle,
) -> Result<(), DockerError> {
    let body = service_body(spec, ids)?;
    let version = i32::try_from(seen.version).unwrap_or(i32::MAX);
    let options = UpdateServiceOptionsBuilder::new().version(version).build();
    let updated = client
        .api
        .update_service(&seen.id, body, options, None)
        .await;
    updated.map_err(api_error(client, &format!("service {}", spec.name)))?;
    Ok(())
}

/// The project's services (by our ownership label) as the swarm diff reads them.
pub async fn project_services(
    client: &DockerClient,
    project: &str,
) -> Result<Vec<ObservedService>, DockerError> {
    let label = format!("{LABEL_MANAGED_BY}={project}");
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let options = ListServicesOptionsBuilder::new().filters(&filters).build();
    let services = client.api.list_services(Some(options)).await;
    let services = services.map_err(api_error(client, &format!("services of {project}")))?;
    Ok(services.into_iter().map(observed_service).collect())
}

fn observed_service(service: bollard::models::Service) -> ObservedService {
    let spec = service.spec.unwrap_or_default();
    let replicas = spec
        .mode
        .and_then(|m| m.replicated)
        .and_then(|r| r.replicas);
    ObservedService {
        name: spec.name.unwrap_or_default(),
        version: service.version.and_then(|v| v.index).unwrap_or_default(),
        spec_hash: spec.labels.and_then(|mut l| l.remove(LABEL_SPEC_HASH)),
        replicas: replicas.and_then(|n| u64::try_from(n).ok()),
    }
}

pub async fn remove_service(client: &DockerClient, name: &str) -> Result<(), DockerError> {
    let removed = client.api.delete_service(name).await;
    removed.map_err(api_error(client, &format!("service {name}")))
}

/// The tasks of a service, newest first within each slot as the engine lists them.
pub async fn service_tasks(
    client: &DockerClient,
    name: &str,
) -> Result<Vec<TaskView>, DockerError> {
    let filters = HashMap::from([("service", vec![name])]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = client.api.list_tasks(Some(options)).await;
    let tasks = tasks.map_err(api_error(client, &format!("tasks of {name}")))?;
    Ok(tasks.into_iter().map(task_view).collect())
}

fn state_name(state: Option<TaskState>) -> String {
    state.map(|s| s.to_string()).unwrap_or_default()
}

fn task_view(task: bollard::models::Task) -> TaskView {
    let status = task.status.unwrap_or_default();
    TaskView {
        id: task.id.unwrap_or_default(),
        slot: task.slot,
        node_id: task.node_id.unwrap_or_default(),
        state: state_name(status.state),
        desired_state: state_name(task.desired_state),
        error: status.err.unwrap_or_default(),
    }
}
