//! Pull and build, streaming the engine's progress as step events.
//!
//! Pull runs only when the image is missing, with the user's registry credentials. Build sends the context
//! tar (after `.dockerignore`) to the classic builder, so the engine's layer cache is reused across applies.

use std::collections::{HashMap, HashSet};

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use planner::image_ref::ImageRef;
use planner::model::BuildSpec;

use super::auth::{all_registry_credentials, registry_credentials};
use super::build_context::context_tar;
use super::error::DockerError;

/// Progress callback: one human line per call.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

/// True when `reference` exists locally. `host` (the connector's `host_description()`) is named in errors.
pub async fn image_present(
    docker: &Docker,
    host: &str,
    reference: &str,
) -> Result<bool, DockerError> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = DockerError::from_bollard(e, host, &format!("inspecting image {reference}"));
            if err.is_not_found() {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

/// Pulls `reference` unless it is present; returns the image id.
pub async fn pull_if_missing(
    docker: &Docker,
    host: &str,
    reference: &str,
    progress: Progress<'_>,
) -> Result<Option<String>, DockerError> {
    if image_present(docker, host, reference).await? {
        progress(format!("{reference} is already present"));
        return Ok(image_id(docker, reference).await);
    }
    pull(docker, host, reference, progress).await?;
    Ok(image_id(docker, reference).await)
}

/// Pulls `reference`, reporting each layer's status changes.
pub async fn pull(
    docker: &Docker,
    host: &str,
    reference: &str,
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    // Docker answers a malformed reference with 400 too; refusing it here gives the parse's reason.
    let image = ImageRef::parse(reference).map_err(|e| DockerError::Api {
        context: format!("pulling {reference}"),
        status: 400,
        message: e.to_string(),
    })?;
    let options = CreateImageOptionsBuilder::new()
        .from_image(&image.repository())
        .tag(image.pull_tag())
        .build();
    // Credential helpers are processes; keep them off the async workers.
    let owned = reference.to_string();
    let credentials = tokio::task::spawn_blocking(move || registry_credentials(&owned))
        .await
        .unwrap_or_default();
    let mut stream = docker.create_image(Some(options), None, credentials);
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let context = format!("pulling {reference}");
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| DockerError::from_bollard(e, host, &context))?;
        if let Some(detail) = info.error_detail {
            return Err(DockerError::Api {
                context,
                status: 0,
                message: detail.message.unwrap_or_default(),
            });
        }
        let status = info.status.unwrap_or_default();
        let id = info.id.unwrap_or_default();
        // One event per layer state ("Downloading", "Pull complete"), not one per byte count.
        if !status.is_empty() && seen.insert((id.clone(), status.clone())) {
            progress(if id.is_empty() {
                status
            } else {
                format!("{id}: {status}")
            });
        }
    }
    Ok(())
}

/// The engine id of a local image, if it exists.
pub async fn image_id(docker: &Docker, reference: &str) -> Option<String> {
    docker
        .inspect_image(reference)
        .await
        .ok()
        .and_then(|i| i.id)
}

/// Builds `build` and tags it `reference`; returns the image id.
pub async fn build(
    docker: &Docker,
    host: &str,
    reference: &str,
    build: &BuildSpec,
    progress: Progress<'_>,
) -> Result<Option<String>, DockerError> {
    let spec = build.clone();
    let tar = tokio::task::spawn_blocking(move || context_tar(&spec))
        .await
        .map_err(|e| DockerError::BuildContext {
            path: build.context.clone(),
            message: e.to_string(),
        })??;
    progress(format!("sending build context ({} KiB)", tar.len() / 1024));
    let args: HashMap<String, String> = build
        .args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let labels: HashMap<String, String> = build
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut options = BuildImageOptionsBuilder::new()
        .t(reference)
        .dockerfile(&build.dockerfile)
        .buildargs(&args)
        .labels(&labels)
        .nocache(build.no_cache)
        .rm(true)
        .forcerm(true);
    if build.pull {
        options = options.pull("1");
    }
    if let Some(target) = &build.target {
        options = options.target(target);
    }
    let credentials = tokio::task::spawn_blocking(all_registry_credentials)
        .await
        .unwrap_or_default();
    let mut stream = docker.build_image(
        options.build(),
        Some(credentials).filter(|c| !c.is_empty()),
        Some(bollard::body_full(tar.into())),
    );
    let context = format!("building {reference}");
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| DockerError::from_bollard(e, host, &context))?;
        if let Some(detail) = info.error_detail {
            return Err(DockerError::Api {
                context,
                status: 0,
                message: detail.message.unwrap_or_default(),
            });
        }
        if let Some(id) = info.aux {
            image_id = id.id.or(image_id);
        }
        for line in info
            .stream
            .iter()
            .chain(info.status.iter())
            .flat_map(|s| s.lines())
        {
            let line = line.trim();
            if !line.is_empty() {
                progress(line.to_string());
            }
        }
    }
    Ok(image_id)
}
