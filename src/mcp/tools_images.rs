//! Image tools: list, pull, push, build (from a context directory on the server's machine), remove.
//!
//! Pull and push use the credentials of the user's Docker config when it has any for the registry
//! (`docker::auth`). Pull, push and build stream progress notifications when the client asked for them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bollard::query_parameters::{
    BuildImageOptions, CreateImageOptions, ListImagesOptions, PushImageOptions, RemoveImageOptions,
};
use futures_util::StreamExt;
use planner::model::BuildSpec;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::Parameters;
use super::compact::{human_bytes, short_id, Table};
use super::output::{Json, ToolError};
use super::progress::Progress;
use super::server::DockerServer;
use crate::docker::{auth, build_context};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListImagesArgs {
    /// Reference filter such as `busybox` or `myrepo/*:1.*`.
    #[serde(default)]
    pub name: Option<String>,
    /// Label filters, `key` or `key=value`.
    #[serde(default)]
    pub label: Vec<String>,
    /// Only images built for this plan project.
    #[serde(default)]
    pub project: Option<String>,
    /// Only untagged (`true`) or only tagged (`false`) images.
    #[serde(default)]
    pub dangling: Option<bool>,
    /// Most rows to return (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRef {
    /// Image reference, e.g. `busybox:latest` or `127.0.0.1:5000/team/app:1.2`.
    pub image: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullImageArgs {
    /// Image reference; `:latest` when no tag is given.
    pub image: String,
    /// Platform such as `linux/amd64`.
    #[serde(default)]
    pub platform: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveImageArgs {
    /// Image reference or id.
    pub image: String,
    /// Remove even when containers use it, or when it has several tags.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildImageArgs {
    /// Absolute path of the build context directory on the server's machine.
    pub context: String,
    /// Tag for the result, e.g. `myapp:dev`.
    pub tag: String,
    /// Dockerfile path relative to the context (default `Dockerfile`).
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// Build arguments (`ARG`).
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Target stage of a multi-stage Dockerfile.
    #[serde(default)]
    pub target: Option<String>,
    /// Labels for the image.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Ignore the build cache.
    #[serde(default)]
    pub no_cache: bool,
    /// Always try to pull newer base images.
    #[serde(default)]
    pub pull: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImageOutcome {
    pub image: String,
    /// Short image id, when the engine reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Last status line from the engine (`Downloaded newer image ...`, `digest: sha256:...`).
    pub status: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RemovedImage {
    pub image: String,
    /// Tags removed.
    pub untagged: Vec<String>,
    /// Short ids of deleted layers/images.
    pub deleted: Vec<String>,
}

#[tool_router(router = image_tools, vis = "pub(crate)")]
impl DockerServer {
    /// List images compactly: short id, tags, size, age, containers using it.
    #[tool(annotations(
        title = "List images",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_images(
        &self,
        Parameters(args): Parameters<ListImagesArgs>,
    ) -> Result<Json<Table>, ToolError> {
        let docker = self.docker().await?;
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        let mut labels = args.label.clone();
        if let Some(project) = &args.project {
            labels.push(format!("{}={project}", planner::naming::LABEL_PROJECT));
        }
        if !labels.is_empty() {
            filters.insert("label".into(), labels);
        }
        if let Some(name) = &args.name {
            filters.insert("reference".into(), vec![name.clone()]);
        }
        if let Some(dangling) = args.dangling {
            filters.insert("dangling".into(), vec![dangling.to_string()]);
        }
        let options = ListImagesOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let mut images = docker
            .list_images(Some(options))
            .await
            .map_err(|e| self.docker_failure(e, "listing images", "check the filters"))?;
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        let total = images.len();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let rows = images
            .iter()
            .take(args.limit.unwrap_or(100).max(1))
            .map(|i| {
                let tags: Vec<&String> = i
                    .repo_tags
                    .iter()
                    .filter(|t| t.as_str() != "<none>:<none>")
                    .collect();
                vec![
                    short_id(&i.id),
                    if tags.is_empty() {
                        "<none>".to_string()
                    } else {
                        tags.iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    },
                    human_bytes(i.size),
                    age(now - i.created),
                ]
            })
            .collect();
        let table = Table::new(&["id", "tags", "size", "created"], rows, total);
        let text = table.render("images");
        Ok(Json::new(table, text))
    }

    /// Pull an image from its registry (credentials from the user's Docker config when present).
    #[tool(annotations(
        title = "Pull image",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn pull_image(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<PullImageArgs>,
    ) -> Result<Json<ImageOutcome>, ToolError> {
        let (repo, tag) = split_reference(&args.image).map_err(|e| {
            ToolError::invalid(
                "image",
                e,
                "use a reference such as busybox:1.36 or 127.0.0.1:5000/app:dev",
            )
        })?;
        let progress = Progress::for_request(&context);
        let docker = self.docker().await?;
        let options = CreateImageOptions {
            from_image: Some(repo.clone()),
            tag: Some(tag.clone()),
            platform: args.platform.clone().unwrap_or_default(),
            ..Default::default()
        };
        let reference = format!("{repo}:{tag}");
        let mut stream =
            docker.create_image(Some(options), None, auth::registry_credentials(&reference));
        let mut status = String::new();
        while let Some(item) = stream.next().await {
            if context.ct.is_cancelled() {
                return Err(ToolError(format!(
                    "pull of {reference} cancelled by the client"
                )));
            }
            let info = item.map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("pulling {reference}"),
                    "check the reference and that the registry is reachable",
                )
            })?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(ToolError(format!("pulling {reference}: {detail}")));
            }
            if let Some(line) = info.status {
                let line = match info.id {
                    Some(id) => format!("{id}: {line}"),
                    None => line,
                };
                progress.step(None, line.clone());
                status = line;
            }
        }
        let id = docker
            .inspect_image(&reference)
            .await
            .ok()
            .and_then(|i| i.id)
            .map(|id| short_id(&id));
        let outcome = ImageOutcome {
            image: reference,
            id,
            status,
        };
        let text = format!(
            "Pulled {} ({}): {}",
            outcome.image,
            outcome.id.clone().unwrap_or_default(),
            outcome.status
        );
        Ok(Json::new(outcome, text))
    }

    /// Push a local image to its registry (credentials from the user's Docker config when present).
    #[tool(annotations(
        title = "Push image",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn push_image(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ImageRef>,
    ) -> Result<Json<ImageOutcome>, ToolError> {
        let (repo, tag) = split_reference(&args.image).map_err(|e| {
            ToolError::invalid("image", e, "use a reference such as 127.0.0.1:5000/app:dev")
        })?;
        let progress = Progress::for_request(&context);
        let docker = self.docker().await?;
        let reference = format!("{repo}:{tag}");
        let id = docker
            .inspect_image(&reference)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("image {reference:?}"),
                    "tag or build the image under this reference first",
                )
            })?
            .id
            .map(|id| short_id(&id));
        let options = PushImageOptions {
            tag: Some(tag.clone()),
            ..Default::default()
        };
        let mut stream =
            docker.push_image(&repo, Some(options), auth::registry_credentials(&reference));
        let mut status = String::new();
        while let Some(item) = stream.next().await {
            if context.ct.is_cancelled() {
                return Err(ToolError(format!(
                    "push of {reference} cancelled by the client"
                )));
            }
            let info = item.map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("pushing {reference}"),
                    "check that the registry is reachable and you are logged in",
                )
            })?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(ToolError(format!("pushing {reference}: {detail} (fix: check the registry address and your `docker login`)")));
            }
            if let Some(line) = info.status {
                progress.step(None, line.clone());
                status = line;
            }
        }
        let outcome = ImageOutcome {
            image: reference,
            id,
            status,
        };
        let text = format!("Pushed {}: {}", outcome.image, outcome.status);
        Ok(Json::new(outcome, text))
    }

    /// Build an image from a context directory on the server's machine (subject to the server's path policy).
    #[tool(annotations(
        title = "Build image",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    pub async fn build_image(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<BuildImageArgs>,
    ) -> Result<Json<ImageOutcome>, ToolError> {
        let spec = self.build_spec(&args)?;
        split_reference(&args.tag)
            .map_err(|e| ToolError::invalid("tag", e, "use a reference such as myapp:dev"))?;
        let tar =
            build_context::context_tar(&spec).map_err(|e| ToolError(format!("`context`: {e}")))?;
        let progress = Progress::for_request(&context);
        let docker = self.docker().await?;
        let options = BuildImageOptions {
            dockerfile: spec.dockerfile.clone(),
            t: Some(args.tag.clone()),
            buildargs: (!spec.args.is_empty()).then(|| spec.args.clone().into_iter().collect()),
            labels: (!spec.labels.is_empty()).then(|| spec.labels.clone().into_iter().collect()),
            target: spec.target.clone().unwrap_or_default(),
            nocache: spec.no_cache,
            pull: spec.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
        let mut last = String::new();
        let mut id = None;
        while let Some(item) = stream.next().await {
            if context.ct.is_cancelled() {
                return Err(ToolError(format!(
                    "build of {} cancelled by the client",
                    args.tag
                )));
            }
            let info = item.map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("building {}", args.tag),
                    "fix the Dockerfile or the context",
                )
            })?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(ToolError(format!(
                    "building {}: {detail} (fix: correct the Dockerfile; last output: {last})",
                    args.tag
                )));
            }
            if let Some(aux) = info.aux.and_then(|a| a.id) {
                id = Some(short_id(&aux));
            }
            if let Some(line) = info.stream.or(info.status) {
                let line = line.trim_end().to_string();
                if !line.is_empty() {
                    progress.step(None, line.clone());
                    last = line;
                }
            }
        }
        if id.is_none() {
            id = docker
                .inspect_image(&args.tag)
                .await
                .ok()
                .and_then(|i| i.id)
                .map(|i| short_id(&i));
        }
        let outcome = ImageOutcome {
            image: args.tag.clone(),
            id,
            status: last,
        };
        let text = format!(
            "Built {} ({}).",
            outcome.image,
            outcome.id.clone().unwrap_or_default()
        );
        Ok(Json::new(outcome, text))
    }

    /// Remove an image (untag, and delete it when no tag is left).
    #[tool(annotations(
        title = "Remove image",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_image(
        &self,
        Parameters(args): Parameters<RemoveImageArgs>,
    ) -> Result<Json<RemovedImage>, ToolError> {
        let docker = self.docker().await?;
        let options = RemoveImageOptions {
            force: args.force,
            ..Default::default()
        };
        let items = docker
            .remove_image(&args.image, Some(options), None)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    &format!("removing image {:?}", args.image),
                    "check list_images; remove containers using it or pass force: true",
                )
            })?;
        let removed = RemovedImage {
            image: args.image.clone(),
            untagged: items.iter().filter_map(|i| i.untagged.clone()).collect(),
            deleted: items
                .iter()
                .filter_map(|i| i.deleted.as_deref().map(short_id))
                .collect(),
        };
        let text = format!(
            "Removed {}: {} untagged, {} deleted.",
            removed.image,
            removed.untagged.len(),
            removed.deleted.len()
        );
        Ok(Json::new(removed, text))
    }
}

impl DockerServer {
    /// The planner's build spec for a `build_image` call, after the server's path policy.
    fn build_spec(&self, args: &BuildImageArgs) -> Result<BuildSpec, ToolError> {
        let context = Path::new(&args.context);
        if !context.is_absolute() {
            return Err(ToolError::invalid(
                "context",
                format!("{:?} is not an absolute path", args.context),
                "give the absolute path of a directory on the server's machine",
            ));
        }
        let canonical = std::fs::canonicalize(context).map_err(|e| {
            ToolError::invalid(
                "context",
                format!("{:?} cannot be opened: {e}", args.context),
                "give an existing directory",
            )
        })?;
        if !canonical.is_dir() {
            return Err(ToolError::invalid(
                "context",
                format!("{:?} is not a directory", args.context),
                "give the directory that holds the Dockerfile",
            ));
        }
        let policy = self.policy();
        for path in [context, canonical.as_path()] {
            planner::policy::check_host_path(path, &policy, "context")
                .map_err(|e| ToolError(e.to_string()))?;
        }
        // A context holding `.ssh` (or another credential folder) would be built into the image.
        for folder in planner::policy::sensitive_folders() {
            if canonical.join(folder).exists() {
                planner::policy::check_contained_folder(&canonical, folder, &policy, "context")
                    .map_err(|e| ToolError(e.to_string()))?;
            }
        }
        let dockerfile = args
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".into());
        let dockerfile_path = Path::new(&dockerfile);
        if dockerfile_path.is_absolute()
            || dockerfile_path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(ToolError::invalid(
                "dockerfile",
                format!("{dockerfile:?} leaves the context"),
                "give a path inside the context, such as Dockerfile or docker/Dockerfile.dev",
            ));
        }
        let resolved = std::fs::canonicalize(canonical.join(dockerfile_path)).map_err(|e| {
            ToolError::invalid(
                "dockerfile",
                format!("{dockerfile:?} cannot be read in the context: {e}"),
                "create it or name the right file",
            )
        })?;
        if !resolved.starts_with(&canonical) {
            return Err(ToolError::invalid(
                "dockerfile",
                format!("{dockerfile:?} is a link out of the context"),
                "use a Dockerfile inside the context",
            ));
        }
        Ok(BuildSpec {
            context: canonical.to_string_lossy().into_owned(),
            dockerfile,
            target: args.target.clone(),
            args: args.build_args.clone(),
            labels: args.labels.clone(),
            no_cache: args.no_cache,
            pull: args.pull,
        })
    }
}

/// Splits `repo[:tag][@digest]` into repository and tag (default `latest`); refuses what Docker would refuse.
pub fn split_reference(reference: &str) -> Result<(String, String), String> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err("the reference is empty".into());
    }
    if reference.len() > 255 {
        return Err("the reference is longer than 255 characters".into());
    }
    if let Some(bad) = reference
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:@".contains(*c)))
    {
        return Err(format!(
            "{reference:?} contains {bad:?}, which image references cannot hold"
        ));
    }
    if reference.contains('@') {
        return Ok((reference.to_string(), String::new()));
    }
    let last_slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repo, tag) = match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            &reference[last_slash + i + 1..],
        ),
        None => (reference, "latest"),
    };
    if repo.is_empty() || tag.is_empty() || repo.ends_with('/') || repo.starts_with('/') {
        return Err(format!("{reference:?} is not an image reference"));
    }
    if repo[last_slash.min(repo.len())..]
        .chars()
        .any(|c| c.is_ascii_uppercase())
        || repo
            .split('/')
            .skip(1)
            .any(|p| p.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(format!(
            "{reference:?} has upper-case letters in the repository name"
        ));
    }
    Ok((repo.to_string(), tag.to_string()))
}

fn age(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{}m", s.max(0) / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::split_reference;

    #[test]
    fn splits_references() {
        assert_eq!(
            split_reference("busybox").unwrap(),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/a/b:1").unwrap(),
            ("127.0.0.1:5000/a/b".into(), "1".into())
        );
        assert!(split_reference("Bad Name").is_err());
        assert!(split_reference("").is_err());
    }
}
