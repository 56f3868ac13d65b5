//! Reads what the engine holds for one project, by our ownership label, into the planner's `ObservedState`.
//!
//! Only resources carrying `LABEL_MANAGED_BY=project` count as ours. Names we would create that exist without
//! the label are reported as look-alikes so the planner can refuse to touch them. The one exception is what
//! an import recorded (`observe_adopted`): those ids count as ours while `planner::adopt::may_adopt` holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerStateStatusEnum, ContainerSummaryStateEnum, HealthStatusEnum, HostConfig,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use bollard::Docker;
use futures_util::stream::{self, StreamExt};
use planner::adopt::{claimed_labels, may_adopt, Adopted};
use planner::model::{Project, Resources, RestartPolicy};
use planner::naming;
use planner::observed::{
    ContainerState, ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume,
};
use planner::plan::ResourceKind;

use super::client::DockerClient;
use super::error::{api, DockerError};

/// Container inspections in flight at once: enough for a typical project in one round, bounded so a project
/// of hundreds does not open hundreds of connections to the engine.
const INSPECT_CONCURRENCY: usize = 32;
/// Image inspections in flight at once.
const IMAGE_CONCURRENCY: usize = 8;

/// Running and total container counts per project label value, over every container carrying our label.
pub async fn live_projects(
    client: &DockerClient,
    host: &str,
) -> Result<BTreeMap<String, (usize, usize)>, DockerError> {
    let filter = HashMap::from([("label", vec![naming::LABEL_MANAGED_BY.to_string()])]);
    let containers =
        every_container(&client.api, host, &filter, "listing project containers").await?;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in containers {
        // The one ownership rule: an empty label (masked on a primitive container) owns nothing.
        let Some(project) = c.labels.as_ref().and_then(naming::managing_project) else {
            continue;
        };
        tally(&mut counts, project, c.state);
    }
    Ok(counts)
}

/// Counts one container in its project's (running, total).
fn tally(
    counts: &mut BTreeMap<String, (usize, usize)>,
    project: &str,
    state: Option<ContainerSummaryStateEnum>,
) {
    let entry = counts.entry(project.to_string()).or_default();
    entry.1 += 1;
    if state == Some(ContainerSummaryStateEnum::RUNNING) {
        entry.0 += 1;
    }
}

/// Running and total counts of the containers imports adopted, per project: the recorded ids that still exist
/// and still qualify (`may_adopt`, the rule observation applies), in one list call.
pub async fn live_adopted(
    client: &DockerClient,
    host: &str,
    adopted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeMap<String, (usize, usize)>, DockerError> {
    let ids: Vec<String> = adopted.values().flatten().cloned().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let filter = HashMap::from([("id", ids)]);
    let containers =
        every_container(&client.api, host, &filter, "listing adopted containers").await?;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in containers {
        let (Some(id), Some(labels)) = (c.id.as_ref(), c.labels.as_ref()) else {
            continue;
        };
        let labels: BTreeMap<String, String> = labels.clone().into_iter().collect();
        let owner = adopted
            .iter()
            .find(|(project, ids)| ids.contains(id) && may_adopt(&labels, project));
        let Some((project, _)) = owner else {
            continue;
        };
        tally(&mut counts, project, c.state);
    }
    Ok(counts)
}

/// Everything carrying the project's label, plus the image and look-alike facts `desired` needs.
///
/// `host` is the connector's `host_description()`, named in errors when the engine stops answering.
/// The calls do not depend on each other, so they all go out at once: a no-op re-apply waits for the
/// slowest of them, not for their sum.
pub async fn observe(
    client: &DockerClient,
    host: &str,
    project: &str,
    desired: Option<&Project>,
) -> Result<ObservedState, DockerError> {
    let docker = &client.api;
    let label_filter = HashMap::from([(
        "label",
        vec![format!("{}={project}", naming::LABEL_MANAGED_BY)],
    )]);
    let desired_facts = async {
        match desired {
            Some(desired) => futures_util::try_join!(
                images_present(docker, host, desired),
                lookalikes(docker, host, project, desired),
            ),
            None => Ok((BTreeSet::new(), Vec::new())),
        }
    };
    let (containers, networks, volumes, (images_present, unmanaged_lookalikes)) = futures_util::try_join!(
        project_containers(docker, host, &label_filter),
        project_networks(docker, host, &label_filter),
        project_volumes(docker, host, &label_filter),
        desired_facts,
    )?;
    Ok(ObservedState {
        project: project.to_string(),
        containers,
        networks,
        volumes,
        images_present,
        unmanaged_lookalikes,
    })
}

/// The engine's filter for resources carrying one project's ownership label.
type LabelFilter = HashMap<&'static str, Vec<String>>;

/// Every container, stopped ones too, that matches `filter`; `context` names the call in an error.
async fn every_container(
    docker: &Docker,
    host: &str,
    filter: &LabelFilter,
    context: &str,
) -> Result<Vec<bollard::models::ContainerSummary>, DockerError> {
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(filter)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(api(host, context))
}

/// The project's containers, each inspected (the list lacks restart policy, limits and health), in
/// service and number order.
async fn project_containers(
    docker: &Docker,
    host: &str,
    label_filter: &LabelFilter,
) -> Result<Vec<ObservedContainer>, DockerError> {
    let summaries = every_container(
        docker,
        host,
        label_filter,
        "listing the project's containers",
    )
    .await?;
    // Inspects run together: a project of dozens of containers should not cost dozens of round trips.
    let inspected: Vec<Result<ObservedContainer, DockerError>> =
        stream::iter(summaries.into_iter().filter_map(|s| s.id))
            .map(|id| async move { observe_container(docker, host, &id).await })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .collect()
            .await;
    let mut containers = Vec::with_capacity(inspected.len());
    for result in inspected {
        match result {
            Ok(c) => containers.push(c),
            // Removed between list and inspect: it is simply gone.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    containers
        .sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
    Ok(containers)
}

async fn project_networks(
    docker: &Docker,
    host: &str,
    label_filter: &LabelFilter,
) -> Result<Vec<ObservedNetwork>, DockerError> {
    let listed = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new()
                .filters(label_filter)
                .build(),
        ))
        .await
        .map_err(api(host, "listing the project's networks"))?;
    Ok(listed
        .into_iter()
        .filter_map(|n| {
            let labels: BTreeMap<String, String> =
                n.labels.unwrap_or_default().into_iter().collect();
            Some(ObservedNetwork {
                id: n.id?,
                key: labels
                    .get(naming::LABEL_NETWORK)
                    .cloned()
                    .unwrap_or_default(),
                config_hash: labels.get(naming::LABEL_CONFIG_HASH).cloned(),
                name: n.name?,
                labels,
            })
        })
        .collect())
}

async fn project_volumes(
    docker: &Docker,
    host: &str,
    label_filter: &LabelFilter,
) -> Result<Vec<ObservedVolume>, DockerError> {
    let listed = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new()
                .filters(label_filter)
                .build(),
        ))
        .await
        .map_err(api(host, "listing the project's volumes"))?;
    Ok(listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let labels: BTreeMap<String, String> = v.labels.into_iter().collect();
            ObservedVolume {
                key: labels
                    .get(naming::LABEL_VOLUME)
                    .cloned()
                    .unwrap_or_default(),
                config_hash: labels.get(naming::LABEL_CONFIG_HASH).cloned(),
                name: v.name,
                labels,
            }
        })
        .collect())
}

/// The resources an import recorded that still exist and still qualify for adoption, reported as ours with
/// the recorded config hash. A recorded id whose resource lost the compose project label, or gained an
/// ownership label, is not reported: the record alone never makes a resource ours.
pub async fn observe_adopted(
    client: &DockerClient,
    host: &str,
    project: &str,
    adopted: &[Adopted],
) -> Result<ObservedState, DockerError> {
    let docker = &client.api;
    let mut state = ObservedState {
        project: project.to_string(),
        ..ObservedState::default()
    };
    for record in adopted {
        let found = match record.kind {
            ResourceKind::Container => adopted_container(docker, host, project, record)
                .await
                .map(|c| c.map(|c| state.containers.push(c))),
            ResourceKind::Network => adopted_network(docker, host, project, record)
                .await
                .map(|n| n.map(|n| state.networks.push(n))),
            ResourceKind::Volume => adopted_volume(docker, host, project, record)
                .await
                .map(|v| v.map(|v| state.volumes.push(v))),
            // Import never adopts these (see planner::adopt).
            ResourceKind::Image
            | ResourceKind::Service
            | ResourceKind::Secret
            | ResourceKind::Config => Ok(None),
        };
        match found {
            Ok(_) => {}
            // Removed since the import: simply gone.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(state)
}

async fn adopted_container(
    docker: &Docker,
    host: &str,
    project: &str,
    record: &Adopted,
) -> Result<Option<ObservedContainer>, DockerError> {
    let mut container = observe_container(docker, host, &record.id).await?;
    if !may_adopt(&container.labels, project) || container.service != record.key {
        return Ok(None);
    }
    container.labels = claimed_labels(&container.labels, project, record);
    container.config_hash = Some(record.config_hash.clone());
    Ok(Some(container))
}

async fn adopted_network(
    docker: &Docker,
    host: &str,
    project: &str,
    record: &Adopted,
) -> Result<Option<ObservedNetwork>, DockerError> {
    let network = docker
        .inspect_network(&record.id, None)
        .await
        .map_err(api(host, format!("inspecting network {}", record.name)))?;
    let labels: BTreeMap<String, String> = network.labels.unwrap_or_default().into_iter().collect();
    if !may_adopt(&labels, project) || labels.get(naming::LABEL_NETWORK) != Some(&record.key) {
        return Ok(None);
    }
    Ok(Some(ObservedNetwork {
        id: network.id.unwrap_or_else(|| record.id.clone()),
        name: network.name.unwrap_or_else(|| record.name.clone()),
        key: record.key.clone(),
        config_hash: Some(record.config_hash.clone()),
        labels: claimed_labels(&labels, project, record),
    }))
}

async fn adopted_volume(
    docker: &Docker,
    host: &str,
    project: &str,
    record: &Adopted,
) -> Result<Option<ObservedVolume>, DockerError> {
    let volume = docker
        .inspect_volume(&record.id)
        .await
        .map_err(api(host, format!("inspecting volume {}", record.name)))?;
    let labels: BTreeMap<String, String> = volume.labels.into_iter().collect();
    if !may_adopt(&labels, project) || labels.get(naming::LABEL_VOLUME) != Some(&record.key) {
        return Ok(None);
    }
    Ok(Some(ObservedVolume {
        name: volume.name,
        key: record.key.clone(),
        config_hash: Some(record.config_hash.clone()),
        labels: claimed_labels(&labels, project, record),
    }))
}

async fn observe_container(
    docker: &Docker,
    host: &str,
    id: &str,
) -> Result<ObservedContainer, DockerError> {
    let inspect = docker
        .inspect_container(id, None)
        .await
        .map_err(api(host, format!("inspecting container {id}")))?;
    let config = inspect.config.unwrap_or_default();
    let labels: BTreeMap<String, String> = config.labels.unwrap_or_default().into_iter().collect();
    let state = inspect.state.unwrap_or_default();
    let host_config = inspect.host_config.unwrap_or_default();
    Ok(ObservedContainer {
        id: inspect.id.unwrap_or_else(|| id.to_string()),
        name: inspect
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        service: labels
            .get(naming::LABEL_SERVICE)
            .cloned()
            .unwrap_or_default(),
        number: labels
            .get(naming::LABEL_NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
        config_hash: labels.get(naming::LABEL_CONFIG_HASH).cloned(),
        state: container_state(state.status),
        health: state.health.and_then(|h| h.status).and_then(|s| match s {
            HealthStatusEnum::HEALTHY => Some("healthy".to_string()),
            HealthStatusEnum::UNHEALTHY => Some("unhealthy".to_string()),
            HealthStatusEnum::STARTING => Some("starting".to_string()),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        }),
        image: config.image.unwrap_or_default(),
        restart: restart_policy(&host_config),
        resources: resources(&host_config),
        labels,
    })
}

/// The engine's status word in the planner's terms (`stopping` counts as running: it has not stopped yet).
pub(crate) fn container_state(status: Option<ContainerStateStatusEnum>) -> ContainerState {
    match status {
        Some(ContainerStateStatusEnum::RUNNING) | Some(ContainerStateStatusEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        Some(ContainerStateStatusEnum::CREATED) | Some(ContainerStateStatusEnum::EMPTY) | None => {
            ContainerState::Created
        }
    }
}

fn restart_policy(host: &HostConfig) -> RestartPolicy {
    let Some(policy) = &host.restart_policy else {
        return RestartPolicy::No;
    };
    match policy.name {
        Some(RestartPolicyNameEnum::ALWAYS) => RestartPolicy::Always,
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => RestartPolicy::UnlessStopped,
        Some(RestartPolicyNameEnum::ON_FAILURE) => RestartPolicy::OnFailure(
            policy
                .maximum_retry_count
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
        ),
        _ => RestartPolicy::No,
    }
}

/// Limits as the spec states them: the engine reports "unset" as 0 (or -1 for pids), which is `None` here.
fn resources(host: &HostConfig) -> Resources {
    let set = |v: Option<i64>| v.filter(|n| *n > 0);
    Resources {
        memory_bytes: set(host.memory),
        memory_reservation_bytes: set(host.memory_reservation),
        nano_cpus: set(host.nano_cpus),
        cpu_shares: set(host.cpu_shares),
        pids_limit: set(host.pids_limit),
        // The engine always reports a shm size (64 MiB by default), so only an explicit one is comparable;
        // the diff compares it only when the spec sets one.
        shm_size_bytes: set(host.shm_size),
    }
}

async fn images_present(
    docker: &Docker,
    host: &str,
    desired: &Project,
) -> Result<BTreeSet<String>, DockerError> {
    // Owned names: a stream of borrowed ones makes the future fail the `Send` check of the engine's seam.
    let images: BTreeSet<String> = desired.services.values().map(|s| s.image.clone()).collect();
    let checked: Vec<Result<Option<String>, DockerError>> = stream::iter(images)
        .map(|image| async move {
            match docker.inspect_image(&image).await {
                Ok(_) => Ok(Some(image)),
                Err(e) => {
                    let err =
                        DockerError::from_bollard(e, host, &format!("inspecting image {image}"));
                    if err.is_not_found() {
                        Ok(None)
                    } else {
                        Err(err)
                    }
                }
            }
        })
        .buffer_unordered(IMAGE_CONCURRENCY)
        .collect()
        .await;
    let mut present = BTreeSet::new();
    for image in checked {
        present.extend(image?);
    }
    Ok(present)
}

/// Engine names `desired` would create that already exist without our label for this project (bare names,
/// as the plan's resources are named).
async fn lookalikes(
    docker: &Docker,
    host: &str,
    project: &str,
    desired: &Project,
) -> Result<Vec<String>, DockerError> {
    let (containers, networks, volumes) = futures_util::try_join!(
        lookalike_containers(docker, host, project, desired),
        lookalike_networks(docker, host, project, desired),
        lookalike_volumes(docker, host, project, desired),
    )?;
    let mut found: Vec<String> = containers
        .into_iter()
        .chain(networks)
        .chain(volumes)
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// True when `labels` carry this project's ownership label.
fn owned_by(labels: Option<&HashMap<String, String>>, project: &str) -> bool {
    labels
        .and_then(|l| l.get(naming::LABEL_MANAGED_BY))
        .is_some_and(|p| p == project)
}

async fn lookalike_containers(
    docker: &Docker,
    host: &str,
    project: &str,
    desired: &Project,
) -> Result<Vec<String>, DockerError> {
    let mut container_names = BTreeSet::new();
    for (name, service) in &desired.services {
        match &service.container_name {
            Some(explicit) => {
                container_names.insert(explicit.clone());
            }
            None => {
                for n in 1..=service.replicas.max(1) {
                    container_names.insert(naming::container_name(project, name, n));
                }
            }
        }
    }
    if container_names.is_empty() {
        return Ok(Vec::new());
    }
    let all = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
        .await
        .map_err(api(host, "listing containers"))?;
    let mut found = Vec::new();
    for c in all {
        let names = c.names.clone().unwrap_or_default();
        for name in names.iter().map(|n| n.trim_start_matches('/')) {
            if container_names.contains(name) && !owned_by(c.labels.as_ref(), project) {
                found.push(name.to_string());
            }
        }
    }
    Ok(found)
}

async fn lookalike_networks(
    docker: &Docker,
    host: &str,
    project: &str,
    desired: &Project,
) -> Result<Vec<String>, DockerError> {
    let network_names: BTreeSet<String> = desired
        .networks
        .iter()
        .filter(|(_, n)| !n.external)
        .map(|(key, _)| planner::hash::network_engine_name(desired, key))
        .collect();
    if network_names.is_empty() {
        return Ok(Vec::new());
    }
    let listed = docker
        .list_networks(None)
        .await
        .map_err(api(host, "listing networks"))?;
    Ok(listed
        .into_iter()
        .filter(|n| !owned_by(n.labels.as_ref(), project))
        .filter_map(|n| n.name.filter(|name| network_names.contains(name)))
        .collect())
}

async fn lookalike_volumes(
    docker: &Docker,
    host: &str,
    project: &str,
    desired: &Project,
) -> Result<Vec<String>, DockerError> {
    let volume_names: BTreeSet<String> = desired
        .volumes
        .iter()
        .filter(|(_, v)| !v.external)
        .map(|(key, _)| planner::hash::volume_engine_name(desired, key))
        .collect();
    if volume_names.is_empty() {
        return Ok(Vec::new());
    }
    let listed = docker
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .map_err(api(host, "listing volumes"))?;
    Ok(listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        .filter(|v| volume_names.contains(&v.name) && !owned_by(Some(&v.labels), project))
        .map(|v| v.name)
        .collect())
}
