//! Images: pull and build (for plans and for the primitive tools alike), push, list, remove.
//!
//! Progress streams out one human line at a time.
//!
//! Pull runs only when the image is missing, with the user's registry credentials. Build sends the context
//! tar (after `.dockerignore`) to the classic builder, so the engine's layer cache is reused across applies.

use std::collections::{HashMap, HashSet};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
    PushImageOptionsBuilder, RemoveImageOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use planner::image_ref::ImageRef;
use planner::model::BuildSpec;

use super::auth::{all_registry_credentials, registry_credentials};
use super::build_context::context_tar;
use super::client::DockerClient;
use super::error::{api, DockerError};

/// Progress callback: one human line per call.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

/// True when `reference` exists locally. `host` (the connector's `host_description()`) is named in errors.
pub(crate) async fn image_present(
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
pub(crate) async fn pull_if_missing(
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
pub(crate) async fn pull(
    docker: &Docker,
    host: &str,
    reference: &str,
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    pull_for_platform(docker, host, reference, "", progress).await
}

/// Relays progress lines to the caller and keeps the last one, for an outcome's `last_status`.
#[derive(Default)]
struct LastLine(std::sync::Mutex<String>);

impl LastLine {
    fn relay(&self, progress: Progress<'_>, line: String) {
        progress(line.clone());
        if let Ok(mut last) = self.0.lock() {
            *last = line;
        }
    }

    fn into_string(self) -> String {
        self.0.into_inner().unwrap_or_default()
    }
}

/// Pulls `reference` for `platform` (`""` is the engine's own), reporting each layer's status changes.
async fn pull_for_platform(
    docker: &Docker,
    host: &str,
    reference: &str,
    platform: &str,
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
        .platform(platform)
        .build();
    let credentials = credentials_for(reference).await;
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

/// The user's credentials for the registry of `reference`. Credential helpers are processes, so they run
/// off the async workers.
pub(crate) async fn credentials_for(reference: &str) -> Option<DockerCredentials> {
    let owned = reference.to_string();
    tokio::task::spawn_blocking(move || registry_credentials(&owned))
        .await
        .unwrap_or_default()
}

/// The engine id of a local image, if it exists.
pub(crate) async fn image_id(docker: &Docker, reference: &str) -> Option<String> {
    docker
        .inspect_image(reference)
        .await
        .ok()
        .and_then(|i| i.id)
}

/// The file's bytes as a stream of chunks, read as the engine takes them.
fn file_chunks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    const CHUNK: usize = 256 * 1024;
    let file = tokio::fs::File::from_std(file);
    futures_util::stream::try_unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; CHUNK];
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.truncate(read);
        Ok(Some((bytes::Bytes::from(buffer), file)))
    })
}

/// Builds `build` and tags it `reference`; returns the image id.
pub(crate) async fn build(
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
    let size = tar.metadata().map(|m| m.len()).unwrap_or_default();
    progress(format!("sending build context ({} KiB)", size / 1024));
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
        Some(bollard::body_try_stream(file_chunks(tar))),
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

/// One local image as the list tool shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Full image id (`sha256:…`).
    pub id: String,
    /// Tags, without Docker's `<none>:<none>` placeholder.
    pub tags: Vec<String>,
    pub size_bytes: i64,
    /// Unix seconds.
    pub created: i64,
}

/// Which images to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct ImageFilter {
    /// `key` or `key=value` label filters.
    pub labels: Vec<String>,
    /// A reference pattern (`busybox`, `app:*`).
    pub reference: Option<String>,
    pub dangling: Option<bool>,
}

/// What a primitive pull, push or build left: the image id (when known) and the engine's last status line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageOutcome {
    pub id: Option<String>,
    pub last_status: String,
}

/// What removing an image did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemovedImage {
    pub untagged: Vec<String>,
    /// Full ids of deleted images and layers.
    pub deleted: Vec<String>,
}

/// Local images matching `filter`, newest first.
pub async fn list(
    client: &DockerClient,
    filter: &ImageFilter,
) -> Result<Vec<ImageSummary>, DockerError> {
    let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
    if !filter.labels.is_empty() {
        filters.insert("label", filter.labels.clone());
    }
    if let Some(reference) = &filter.reference {
        filters.insert("reference", vec![reference.clone()]);
    }
    if let Some(dangling) = filter.dangling {
        filters.insert("dangling", vec![dangling.to_string()]);
    }
    let options = ListImagesOptionsBuilder::new().filters(&filters).build();
    let mut images: Vec<ImageSummary> = client
        .api
        .list_images(Some(options))
        .await
        .map_err(api(&client.host, "listing images"))?
        .into_iter()
        .map(|i| ImageSummary {
            id: i.id,
            tags: i
                .repo_tags
                .into_iter()
                .filter(|t| t != "<none>:<none>")
                .collect(),
            size_bytes: i.size,
            created: i.created,
        })
        .collect();
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
    Ok(images)
}

/// A local image's id, tags and labels (the labels say who owns it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageIdentity {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: HashMap<String, String>,
}

/// The identity of a local image; `NotFound` when it does not exist.
pub async fn inspect(client: &DockerClient, reference: &str) -> Result<ImageIdentity, DockerError> {
    let info = client
        .api
        .inspect_image(reference)
        .await
        .map_err(api(&client.host, format!("image {reference:?}")))?;
    Ok(ImageIdentity {
        id: info.id.unwrap_or_default(),
        tags: info.repo_tags.unwrap_or_default(),
        labels: info.config.and_then(|c| c.labels).unwrap_or_default(),
    })
}

/// The id of a local image; `NotFound` when it does not exist.
pub async fn inspect_id(
    client: &DockerClient,
    reference: &str,
) -> Result<Option<String>, DockerError> {
    let info = client
        .api
        .inspect_image(reference)
        .await
        .map_err(api(&client.host, format!("image {reference:?}")))?;
    Ok(info.id)
}

/// Pulls `reference` for `platform` (`""` is the engine's own) the way a plan's pull does (same credentials,
/// same stream handling); returns the image id and the last status line.
pub async fn pull_image(
    client: &DockerClient,
    reference: &str,
    platform: &str,
    progress: Progress<'_>,
) -> Result<ImageOutcome, DockerError> {
    let last = LastLine::default();
    let report = |line: String| last.relay(progress, line);
    pull_for_platform(&client.api, &client.host, reference, platform, &report).await?;
    Ok(ImageOutcome {
        id: image_id(&client.api, reference).await,
        last_status: last.into_string(),
    })
}

/// Builds `spec` and tags it `reference` exactly like a plan's build (context tar and credential helpers off
/// the async workers, the user's registry credentials sent for `FROM` images).
pub async fn build_image(
    client: &DockerClient,
    reference: &str,
    spec: &BuildSpec,
    progress: Progress<'_>,
) -> Result<ImageOutcome, DockerError> {
    let last = LastLine::default();
    let report = |line: String| last.relay(progress, line);
    let built = build(&client.api, &client.host, reference, spec, &report).await?;
    let id = match built {
        Some(id) => Some(id),
        None => image_id(&client.api, reference).await,
    };
    Ok(ImageOutcome {
        id,
        last_status: last.into_string(),
    })
}

/// Pushes `repository:tag` with the user's credentials for its registry.
pub async fn push_image(
    client: &DockerClient,
    repository: &str,
    tag: &str,
    progress: Progress<'_>,
) -> Result<ImageOutcome, DockerError> {
    let reference = format!("{repository}:{tag}");
    let id = inspect_id(client, &reference).await?;
    let credentials = credentials_for(&reference).await;
    let options = PushImageOptionsBuilder::new().tag(tag).build();
    let mut stream = client
        .api
        .push_image(repository, Some(options), credentials);
    let context = format!("pushing {reference}");
    let mut last_status = String::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(api(&client.host, &context))?;
        if let Some(detail) = info.error_detail {
            return Err(DockerError::Api {
                context,
                status: 0,
                message: detail.message.unwrap_or_default(),
            });
        }
        if let Some(line) = info.status {
            progress(line.clone());
            last_status = line;
        }
    }
    Ok(ImageOutcome { id, last_status })
}

/// Pushes `repository:tag` and returns the digest the registry gave it (`sha256:…`), which the engine
/// records among the image's repo digests once the push is done.
pub async fn push_for_digest(
    client: &DockerClient,
    repository: &str,
    tag: &str,
    progress: Progress<'_>,
) -> Result<String, DockerError> {
    push_image(client, repository, tag, progress).await?;
    let reference = format!("{repository}:{tag}");
    let info = client
        .api
        .inspect_image(&reference)
        .await
        .map_err(api(&client.host, format!("image {reference:?}")))?;
    let prefix = format!("{repository}@");
    let digests = info.repo_digests.unwrap_or_default();
    let found = digests.iter().find_map(|d| d.strip_prefix(&prefix));
    found.map(str::to_string).ok_or_else(|| DockerError::Api {
        context: format!("pushing {reference}"),
        status: 0,
        message: "the engine recorded no digest for the pushed image".into(),
    })
}

/// Untags `image`, deleting it when no tag is left; `force` also removes images that containers use.
pub async fn remove_image(
    client: &DockerClient,
    image: &str,
    force: bool,
) -> Result<RemovedImage, DockerError> {
    let options = RemoveImageOptionsBuilder::new().force(force).build();
    let items = client
        .api
        .remove_image(image, Some(options), None)
        .await
        .map_err(api(&client.host, format!("removing image {image:?}")))?;
    Ok(RemovedImage {
        untagged: items.iter().filter_map(|i| i.untagged.clone()).collect(),
        deleted: items.iter().filter_map(|i| i.deleted.clone()).collect(),
    })
}
