//! One plan action against the engine: the container, network, volume and image operations.
//!
//! Every operation tolerates having already happened (a network that exists, a container already gone), so
//! re-running an interrupted apply converges instead of failing on its own earlier work.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerUpdateBody, NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, RenameContainerOptionsBuilder, RestartContainerOptions,
    StartContainerOptions, StopContainerOptions, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use planner::naming;
use planner::plan::{
    Action, ContainerTarget, NetworkTarget, Op, ResourceKind, Target, VolumeTarget,
};

use super::client::DockerClient;
use super::container_config::{
    create_spec, label_map, restart_policy, secret_files_archives, CreateSpec,
};
use super::error::DockerError;
use super::execute::ExecOptions;
use super::images;
use super::raw_api::{self, RawCreate};
use super::wait::{self, wait_for, HealthGate};

/// Runs one action; returns the engine id of the resulting resource when there is one.
pub async fn run_action(
    client: &DockerClient,
    action: &Action,
    opts: &ExecOptions,
    progress: images::Progress<'_>,
) -> Result<Option<String>, DockerError> {
    let docker = &client.api;
    let host = opts.engine_host.as_str();
    let kind = action.resource.kind;
    match (action.op, kind, action.target.as_ref()) {
        (Op::Delete, ResourceKind::Container, _) => {
            delete_container(docker, host, &existing(action))
                .await
                .map(|_| None)
        }
        (Op::Delete, ResourceKind::Network, _) => delete_network(docker, host, &existing(action))
            .await
            .map(|_| None),
        (Op::Delete, ResourceKind::Volume, _) => delete_volume(docker, host, &action.resource.name)
            .await
            .map(|_| None),
        (Op::Delete, ResourceKind::Image, _) => delete_image(docker, host, &action.resource.name)
            .await
            .map(|_| None),
        (Op::Pull | Op::Create, ResourceKind::Image, Some(Target::Image(image))) => {
            // The planner sets `existing_id` when it wants a present image refreshed (`pull_policy: always`);
            // otherwise the pull is for a missing image, which may have arrived since the plan was made.
            if action.existing_id.is_some() {
                images::pull(docker, host, &image.reference, progress).await?;
                Ok(images::image_id(docker, &image.reference).await)
            } else {
                images::pull_if_missing(docker, host, &image.reference, progress).await
            }
        }
        (Op::Build, ResourceKind::Image, Some(Target::Image(image))) => {
            let build = image.build.as_ref().ok_or_else(|| {
                DockerError::InvalidAction(format!(
                    "build of {} has no build settings",
                    image.reference
                ))
            })?;
            images::build(docker, host, &image.reference, build, progress).await
        }
        (Op::Create, ResourceKind::Network, Some(Target::Network(net))) => {
            create_network(docker, host, net).await.map(Some)
        }
        (Op::Replace, ResourceKind::Network, Some(Target::Network(net))) => {
            // Networks cannot change in place; the containers on it were stopped or replaced before this.
            delete_network(docker, host, &existing(action)).await?;
            create_network(docker, host, net).await.map(Some)
        }
        (Op::Create, ResourceKind::Volume, Some(Target::Volume(vol))) => {
            create_volume(docker, host, vol).await.map(Some)
        }
        (Op::Create, ResourceKind::Container, Some(Target::Container(target))) => {
            wait_dependencies(docker, host, target, opts, progress).await?;
            create_container(client, host, target, opts, progress)
                .await
                .map(Some)
        }
        (Op::Replace, ResourceKind::Container, Some(Target::Container(target))) => {
            wait_dependencies(docker, host, target, opts, progress).await?;
            replace_container(client, host, target, &existing(action), opts, progress)
                .await
                .map(Some)
        }
        (Op::Start, ResourceKind::Container, target) => {
            if let Some(Target::Container(target)) = target {
                wait_dependencies(docker, host, target, opts, progress).await?;
            }
            let id = existing(action);
            start(docker, host, &id).await?;
            Ok(Some(id))
        }
        (Op::Restart, ResourceKind::Container, Some(Target::Container(target))) => {
            wait_dependencies(docker, host, target, opts, progress).await?;
            let id = existing(action);
            restart(docker, host, &id).await?;
            Ok(Some(id))
        }
        (Op::UpdateInPlace, ResourceKind::Container, Some(Target::Container(target))) => {
            let id = existing(action);
            update_container(docker, host, &id, target).await?;
            Ok(Some(id))
        }
        (op, kind, _) => Err(DockerError::InvalidAction(format!(
            "{op:?} of {kind:?} {} is not something the executor can do (or its target is missing)",
            action.resource.name
        ))),
    }
}

/// Creates the network, or adopts one of the same name that already carries the same ownership label (an
/// interrupted apply made it). API 1.41 engines allow duplicate network names, so the check is ours to do.
async fn create_network(
    docker: &Docker,
    host: &str,
    net: &NetworkTarget,
) -> Result<String, DockerError> {
    let filter = HashMap::from([("name", vec![net.name.clone()])]);
    let existing = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .map_err(|e| {
            DockerError::from_bollard(e, host, &format!("looking for network {}", net.name))
        })?;
    if let Some(found) = existing
        .into_iter()
        .find(|n| n.name.as_deref() == Some(net.name.as_str()))
    {
        let owner = found
            .labels
            .as_ref()
            .and_then(|l| l.get(naming::LABEL_MANAGED_BY));
        if owner.is_some() && owner == net.labels.get(naming::LABEL_MANAGED_BY) {
            return Ok(found.id.unwrap_or_default());
        }
        return Err(not_ours("network", &net.name));
    }
    let request = NetworkCreateRequest {
        name: net.name.clone(),
        driver: net.driver.clone(),
        internal: net.internal.then_some(true),
        labels: Some(label_map(&net.labels)),
        enable_ipv6: net.enable_ipv6.then_some(true),
        ipam: net.ipam.as_ref().map(crate::network_config::engine_ipam),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map(|created| created.id)
        .map_err(|e| DockerError::from_bollard(e, host, &format!("creating network {}", net.name)))
}

/// Creates the volume. The engine answers a create for an existing name with the existing volume, so a
/// volume that is not ours is caught by its labels rather than silently adopted.
async fn create_volume(
    docker: &Docker,
    host: &str,
    vol: &VolumeTarget,
) -> Result<String, DockerError> {
    let request = VolumeCreateRequest {
        name: Some(vol.name.clone()),
        driver: vol.driver.clone(),
        labels: Some(label_map(&vol.labels)),
        ..Default::default()
    };
    let created = docker.create_volume(request).await.map_err(|e| {
        DockerError::from_bollard(e, host, &format!("creating volume {}", vol.name))
    })?;
    if created.labels.get(naming::LABEL_MANAGED_BY) != vol.labels.get(naming::LABEL_MANAGED_BY) {
        return Err(not_ours("volume", &vol.name));
    }
    Ok(created.name)
}

fn not_ours(kind: &str, name: &str) -> DockerError {
    DockerError::NotOurs {
        kind: kind.to_string(),
        name: name.to_string(),
    }
}

/// The engine id the action acts on, else its engine name (both work for every API call used here).
fn existing(action: &Action) -> String {
    action
        .existing_id
        .clone()
        .unwrap_or_else(|| action.resource.name.clone())
}

async fn wait_dependencies(
    docker: &Docker,
    host: &str,
    target: &ContainerTarget,
    opts: &ExecOptions,
    progress: images::Progress<'_>,
) -> Result<(), DockerError> {
    for wait in &target.wait_for {
        wait_for(
            docker,
            host,
            wait,
            opts.dependency_timeout,
            &opts.cancel,
            progress,
        )
        .await?;
    }
    Ok(())
}

/// Create, connect the extra networks, copy secrets in, start. A container that fails before start is
/// removed again, so a retry starts from a clean slate.
async fn create_container(
    client: &DockerClient,
    host: &str,
    target: &ContainerTarget,
    opts: &ExecOptions,
    progress: images::Progress<'_>,
) -> Result<String, DockerError> {
    let id = create_configured(client, host, target, &target.name, opts).await?;
    progress(format!("created {} ({})", target.name, short(&id)));
    start(&client.api, host, &id).await?;
    Ok(id)
}

/// Creates `target` under `name` with networks and secret files in place, not started.
async fn create_configured(
    client: &DockerClient,
    host: &str,
    target: &ContainerTarget,
    name: &str,
    opts: &ExecOptions,
) -> Result<String, DockerError> {
    let spec = create_spec(target, &opts.secrets)?;
    let archives = secret_files_archives(target, &opts.secrets, &opts.configs)?;
    create_connected(client, host, Some(name), spec, archives).await
}

/// Creates a container from `spec` (Docker picks the name when `name` is `None`), connects its extra
/// networks and copies `archives` (directory, tar) in. A container that fails after create is removed
/// again, so a retry starts from a clean slate. Shared by plans and the primitive container tools.
pub(crate) async fn create_connected(
    client: &DockerClient,
    host: &str,
    name: Option<&str>,
    spec: CreateSpec,
    archives: Vec<(String, Vec<u8>)>,
) -> Result<String, DockerError> {
    let docker = &client.api;
    let label = name.unwrap_or("the container");
    let id = match &spec.mac_address {
        // bollard's model has no container-level MacAddress, the only form API 1.41 takes.
        Some(mac_address) => {
            let create = RawCreate {
                name,
                platform: spec.platform.as_deref(),
                body: &spec.body,
                mac_address,
            };
            raw_api::create_container(&client.raw, docker, host, create).await?
        }
        None => {
            let mut options = CreateContainerOptionsBuilder::new();
            if let Some(name) = name {
                options = options.name(name);
            }
            if let Some(platform) = &spec.platform {
                options = options.platform(platform);
            }
            docker
                .create_container(Some(options.build()), spec.body)
                .await
                .map_err(|e| {
                    DockerError::from_bollard(e, host, &format!("creating container {label}"))
                })?
                .id
        }
    };
    let finish = async {
        for (network, endpoint) in spec.extra_networks {
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(endpoint),
            };
            docker
                .connect_network(&network, request)
                .await
                .map_err(|e| {
                    DockerError::from_bollard(
                        e,
                        host,
                        &format!("connecting {label} to network {network}"),
                    )
                })?;
        }
        for (dir, tar) in archives {
            let options = UploadToContainerOptionsBuilder::new().path(&dir).build();
            docker
                .upload_to_container(&id, Some(options), bollard::body_full(tar.into()))
                .await
                .map_err(|e| {
                    DockerError::from_bollard(
                        e,
                        host,
                        &format!("copying secret files into {label}"),
                    )
                })?;
        }
        Ok::<(), DockerError>(())
    };
    if let Err(e) = finish.await {
        let _ = remove(docker, host, &id).await;
        return Err(e);
    }
    Ok(id)
}

/// Create the new container under a temporary name, then stop and remove the old one, rename the new one
/// and start it: a failed create leaves the old container untouched.
async fn replace_container(
    client: &DockerClient,
    host: &str,
    target: &ContainerTarget,
    old: &str,
    opts: &ExecOptions,
    progress: images::Progress<'_>,
) -> Result<String, DockerError> {
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(8)
        .collect();
    let temporary = format!("{}-replacing-{suffix}", target.name);
    let docker = &client.api;
    let id = create_configured(client, host, target, &temporary, opts).await?;
    progress(format!("created replacement {temporary} ({})", short(&id)));
    if let Err(e) = delete_container(docker, host, old).await {
        let _ = remove(docker, host, &id).await;
        return Err(e);
    }
    progress(format!("removed the old container {old}", old = short(old)));
    docker
        .rename_container(
            &id,
            RenameContainerOptionsBuilder::new()
                .name(&target.name)
                .build(),
        )
        .await
        .map_err(|e| {
            DockerError::from_bollard(e, host, &format!("renaming {temporary} to {}", target.name))
        })?;
    start(docker, host, &id).await?;
    healthy_if_gated(docker, host, target, opts, progress).await?;
    Ok(id)
}

/// Under [`HealthGate::ReplacedMustBeHealthy`], waits for the replacement's own healthcheck to pass.
async fn healthy_if_gated(
    docker: &Docker,
    host: &str,
    target: &ContainerTarget,
    opts: &ExecOptions,
    progress: images::Progress<'_>,
) -> Result<(), DockerError> {
    let check = match (&target.spec.healthcheck, opts.health_gate) {
        (Some(check), HealthGate::ReplacedMustBeHealthy) if wait::probes(check) => check,
        _ => return Ok(()),
    };
    let window = wait::health_window(check, opts.dependency_timeout);
    progress(format!(
        "waiting up to {}s for {} to pass its healthcheck",
        window.as_secs(),
        target.name
    ));
    wait::wait_healthy(
        docker,
        host,
        &target.name,
        check,
        opts.dependency_timeout,
        &opts.cancel,
    )
    .await
}

pub(crate) async fn start(docker: &Docker, host: &str, container: &str) -> Result<(), DockerError> {
    super::bind_guard::check_before_start(docker, host, container).await?;
    match docker
        .start_container(container, None::<StartContainerOptions>)
        .await
    {
        Ok(()) => Ok(()),
        // 304: already running.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(DockerError::from_bollard(
            e,
            host,
            &format!("starting container {container}"),
        )),
    }
}

/// Restarts a running container with its own grace period (its StopTimeout), keeping the container and its
/// id. The bind guard checks it first, as before any start.
async fn restart(docker: &Docker, host: &str, container: &str) -> Result<(), DockerError> {
    super::bind_guard::check_before_start(docker, host, container).await?;
    docker
        .restart_container(container, None::<RestartContainerOptions>)
        .await
        .map_err(|e| {
            DockerError::from_bollard(e, host, &format!("restarting container {container}"))
        })
}

/// Stops with the container's own grace period (its StopTimeout), then removes it; gone already is fine.
pub(crate) async fn delete_container(
    docker: &Docker,
    host: &str,
    container: &str,
) -> Result<(), DockerError> {
    match docker
        .stop_container(container, None::<StopContainerOptions>)
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(e) => {
            let err =
                DockerError::from_bollard(e, host, &format!("stopping container {container}"));
            if err.is_not_found() {
                return Ok(());
            }
            return Err(err);
        }
    }
    remove(docker, host, container).await
}

pub(crate) async fn remove(
    docker: &Docker,
    host: &str,
    container: &str,
) -> Result<(), DockerError> {
    // `v` removes anonymous volumes only (the secrets volume of read-only containers); named ones stay.
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err =
                DockerError::from_bollard(e, host, &format!("removing container {container}"));
            if err.is_not_found() {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

async fn delete_network(docker: &Docker, host: &str, network: &str) -> Result<(), DockerError> {
    match remove_network(docker, host, network).await {
        Err(err) => ignore_missing(err),
        ok => ok,
    }
}

/// How long a network removal keeps retrying while the engine still counts endpoints of containers that
/// were just removed.
const ENDPOINT_SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// Removes a network. Docker 20.10 releases a removed container's endpoint asynchronously, so removing its
/// network right after can fail with "has active endpoints"; that one error is retried with backoff for up
/// to `ENDPOINT_SETTLE_LIMIT`, after which it is returned as is (a container really is still attached).
pub(crate) async fn remove_network(
    docker: &Docker,
    host: &str,
    network: &str,
) -> Result<(), DockerError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let err = match docker.remove_network(network).await {
            Ok(()) => return Ok(()),
            Err(e) => DockerError::from_bollard(e, host, &format!("removing network {network}")),
        };
        let elapsed = started.elapsed();
        if !has_active_endpoints(&err) || elapsed >= ENDPOINT_SETTLE_LIMIT {
            return Err(err);
        }
        tracing::debug!(%network, "network still has endpoints; retrying its removal");
        tokio::time::sleep(pause.min(ENDPOINT_SETTLE_LIMIT - elapsed)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// True for the engine's "network ... has active endpoints" refusal.
pub(crate) fn has_active_endpoints(err: &DockerError) -> bool {
    matches!(err, DockerError::Api { message, .. } if message.contains("has active endpoints"))
}

async fn delete_volume(docker: &Docker, host: &str, volume: &str) -> Result<(), DockerError> {
    let options = RemoveVolumeOptionsBuilder::new().build();
    match docker.remove_volume(volume, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => ignore_missing(DockerError::from_bollard(
            e,
            host,
            &format!("removing volume {volume}"),
        )),
    }
}

async fn delete_image(docker: &Docker, host: &str, image: &str) -> Result<(), DockerError> {
    match docker
        .remove_image(
            image,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => ignore_missing(DockerError::from_bollard(
            e,
            host,
            &format!("removing image {image}"),
        )),
    }
}

fn ignore_missing(err: DockerError) -> Result<(), DockerError> {
    if err.is_not_found() {
        Ok(())
    } else {
        Err(err)
    }
}

/// Restart policy and limits, the settings Docker changes on a live container.
async fn update_container(
    docker: &Docker,
    host: &str,
    container: &str,
    target: &ContainerTarget,
) -> Result<(), DockerError> {
    let r = &target.spec.resources;
    let body = ContainerUpdateBody {
        restart_policy: Some(restart_policy(&target.spec.restart)),
        memory: r.memory_bytes,
        // Docker refuses a memory limit above the current swap limit; keep `docker run -m`'s default of 2x.
        memory_swap: r.memory_bytes.map(|m| m.saturating_mul(2)),
        memory_reservation: r.memory_reservation_bytes,
        nano_cpus: r.nano_cpus,
        cpu_shares: r.cpu_shares,
        // For pids the API has an explicit "unlimited" (0), so dropping the limit from the spec lifts it.
        pids_limit: Some(r.pids_limit.unwrap_or(0)),
        ..Default::default()
    };
    docker
        .update_container(container, body)
        .await
        .map(|_| ())
        .map_err(|e| DockerError::from_bollard(e, host, &format!("updating container {container}")))
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
