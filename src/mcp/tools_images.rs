//! Image tools: list, pull, push, build (from a context directory on the server's machine), remove.
//!
//! Each tool is an adapter over `docker::images`: pull and build are the very functions a plan's pull and build
//! use (registry credentials from the user's Docker config, credential helpers and the context tar off the
//! async workers). Pull, push and build stream progress notifications when the client asked for them, and stop
//! when the client cancels. Pull and build run as MCP tasks for a client that declared the tasks extension;
//! removing an image this server does not own asks the human first.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use planner::model::BuildSpec;
use rmcp::handler::server::tool::{schema_for_output, InputResponses as Answers, RequestState};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::approval::{Act, Foreign, Gate, Round};
use super::args::Parameters;
use super::compact::{human_bytes, short_id, Table};
use super::output::{Json, Reply, ToolError};
use super::progress::Progress;
use super::server::DockerServer;
use crate::docker::images;
use crate::docker::DockerClient;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListImagesArgs {
    /// Reference filter (`busybox`, `repo/*:1.*`).
    #[serde(default)]
    pub name: Option<String>,
    /// `key` or `key=value`.
    #[serde(default)]
    pub label: Vec<String>,
    /// Only this project's.
    #[serde(default)]
    pub project: Option<String>,
    /// Only untagged (true) or tagged (false).
    #[serde(default)]
    pub dangling: Option<bool>,
    /// Most rows (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRef {
    /// Image reference (`registry/repo:tag`).
    pub image: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullImageArgs {
    /// Image reference (default tag `latest`).
    pub image: String,
    /// e.g. `linux/amd64`.
    #[serde(default)]
    pub platform: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveImageArgs {
    /// Image reference or id.
    pub image: String,
    /// Even if used or multi-tagged.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildImageArgs {
    /// Context dir on the server.
    pub context: String,
    /// Tag, e.g. `app:dev`.
    pub tag: String,
    /// Default `Dockerfile`.
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// `ARG` values.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Build stage.
    #[serde(default)]
    pub target: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// No cache.
    #[serde(default)]
    pub no_cache: bool,
    /// Pull base images.
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
    /// List images.
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
        let mut labels = args.label.clone();
        if let Some(project) = &args.project {
            labels.push(format!("{}={project}", planner::naming::LABEL_PROJECT));
        }
        let filter = images::ImageFilter {
            labels,
            reference: args.name.clone(),
            dangling: args.dangling,
        };
        let images = images::list(&docker, &filter)
            .await
            .map_err(|e| self.docker_failure(e, "check the filters"))?;
        let total = images.len();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let rows = images
            .iter()
            .take(args.limit.unwrap_or(100).max(1))
            .map(|i| {
                vec![
                    short_id(&i.id),
                    if i.tags.is_empty() {
                        "<none>".to_string()
                    } else {
                        i.tags.join(",")
                    },
                    human_bytes(i.size_bytes),
                    age(now - i.created),
                ]
            })
            .collect();
        let table = Table::new(&["id", "tags", "size", "created"], rows, total);
        let text = table.render("images");
        Ok(Json::new(table, text))
    }

    /// Pull an image (credentials from the Docker config).
    #[tool(output_schema = schema_for_output::<ImageOutcome>(), annotations(
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
    ) -> Result<Reply<ImageOutcome>, ToolError> {
        let image = planner::image_ref::ImageRef::parse(&args.image).map_err(|e| {
            ToolError::invalid(
                "image",
                e,
                "use a reference such as busybox:1.36 or 127.0.0.1:5000/app:dev",
            )
        })?;
        let reference = image.pulled_reference();
        let platform = args.platform.unwrap_or_default();
        let progress = Progress::for_request(&context);
        let server = self.clone();
        self.shared()
            .tasks
            .run(&context, progress, move |progress, cancel| async move {
                server.run_pull(reference, platform, progress, cancel).await
            })
            .await
    }

    /// Push a local image (credentials from the Docker config).
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
        let (repo, tag) = push_target(&args.image)?;
        let progress = Progress::for_request(&context);
        let docker = self.docker().await?;
        let reference = format!("{repo}:{tag}");
        let report = |line: String| progress.step(None, line);
        let pushed = until_cancelled(
            &context.ct,
            &format!("push of {reference}"),
            images::push_image(&docker, &repo, &tag, &report),
        )
        .await?
        .map_err(|e| {
            self.docker_failure(
                e,
                "tag or build the image under this reference first, and check the registry address and your \
                 `docker login`",
            )
        })?;
        let id = pushed.id.map(|id| short_id(&id));
        let status = pushed.last_status;
        let outcome = ImageOutcome {
            image: reference,
            id,
            status,
        };
        let text = format!("Pushed {}: {}", outcome.image, outcome.status);
        Ok(Json::new(outcome, text))
    }

    /// Build an image from a directory on the server.
    #[tool(output_schema = schema_for_output::<ImageOutcome>(), annotations(
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
    ) -> Result<Reply<ImageOutcome>, ToolError> {
        let spec = self.build_spec(&args)?;
        planner::image_ref::ImageRef::parse(&args.tag)
            .map_err(|e| ToolError::invalid("tag", e, "use a reference such as myapp:dev"))?;
        let progress = Progress::for_request(&context);
        let tag = args.tag;
        let server = self.clone();
        self.shared()
            .tasks
            .run(&context, progress, move |progress, cancel| async move {
                server.run_build(tag, spec, progress, cancel).await
            })
            .await
    }

    /// Untag an image; deleted when no tag is left.
    #[tool(output_schema = schema_for_output::<RemovedImage>(), annotations(
        title = "Remove image",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_image(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RemoveImageArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<RemovedImage>, ToolError> {
        let docker = self.docker().await?;
        let image = images::inspect(&docker, &args.image)
            .await
            .map_err(|e| self.docker_failure(e, "list_images shows the local images"))?;
        let target = Foreign {
            act: Act::Remove,
            kind: "image",
            name: &args.image,
            id: &image.id,
            image: None,
            labels: &image.labels,
            command: None,
        };
        let round = Round { state, responses };
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        self.still_points_to(&docker, &args.image, &image.id)
            .await?;
        let removed = images::remove_image(&docker, &args.image, args.force)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    "check list_images; remove containers using it or pass force: true",
                )
            })?;
        let removed = RemovedImage {
            image: args.image.clone(),
            untagged: removed.untagged,
            deleted: removed.deleted.iter().map(|id| short_id(id)).collect(),
        };
        let text = format!(
            "Removed {}: {} untagged, {} deleted.",
            removed.image,
            removed.untagged.len(),
            removed.deleted.len()
        );
        Ok(Json::new(removed, text).into())
    }
}

impl DockerServer {
    /// Refuses when `reference` no longer names image `id`: the removal was approved (or found ours) for
    /// that image, and a retag while the human was asked must not make it remove another.
    async fn still_points_to(
        &self,
        docker: &DockerClient,
        reference: &str,
        id: &str,
    ) -> Result<(), ToolError> {
        let now = images::inspect(docker, reference)
            .await
            .map_err(|e| self.docker_failure(e, "list_images shows the local images"))?;
        if now.id == id {
            return Ok(());
        }
        Err(ToolError(format!(
            "{reference} now names image {} instead of {}, the image this removal was for; nothing was \
             removed (fix: check list_images and call remove_image again)",
            short_id(&now.id),
            short_id(id)
        )))
    }

    /// Pulls `reference`, reporting the engine's lines to `progress`, until `cancel` fires.
    async fn run_pull(
        &self,
        reference: String,
        platform: String,
        progress: Progress,
        cancel: CancellationToken,
    ) -> Result<Json<ImageOutcome>, ToolError> {
        let docker = self.docker().await?;
        let report = |line: String| progress.step(None, line);
        let pulled = until_cancelled(
            &cancel,
            &format!("pull of {reference}"),
            images::pull_image(&docker, &reference, &platform, &report),
        )
        .await?
        .map_err(|e| {
            self.docker_failure(e, "check the reference and that the registry is reachable")
        })?;
        let outcome = ImageOutcome {
            image: reference,
            id: pulled.id.map(|id| short_id(&id)),
            status: pulled.last_status,
        };
        let text = format!(
            "Pulled {} ({}): {}",
            outcome.image,
            outcome.id.clone().unwrap_or_default(),
            outcome.status
        );
        Ok(Json::new(outcome, text))
    }

    /// Builds `spec` as `tag`, reporting the engine's lines to `progress`, until `cancel` fires.
    async fn run_build(
        &self,
        tag: String,
        spec: BuildSpec,
        progress: Progress,
        cancel: CancellationToken,
    ) -> Result<Json<ImageOutcome>, ToolError> {
        let docker = self.docker().await?;
        let report = |line: String| progress.step(None, line);
        let built = until_cancelled(
            &cancel,
            &format!("build of {tag}"),
            images::build_image(&docker, &tag, &spec, &report),
        )
        .await?
        .map_err(|e| self.docker_failure(e, "fix the Dockerfile or the context"))?;
        let outcome = ImageOutcome {
            image: tag,
            id: built.id.map(|id| short_id(&id)),
            status: built.last_status,
        };
        let text = format!(
            "Built {} ({}).",
            outcome.image,
            outcome.id.clone().unwrap_or_default()
        );
        Ok(Json::new(outcome, text))
    }

    /// The planner's build spec for a `build_image` call, after the server's path policy.
    fn build_spec(&self, args: &BuildImageArgs) -> Result<BuildSpec, ToolError> {
        super::tools_networks::check_labels(&args.labels)?;
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

/// The repository and tag a push sends; a push names a tag, so a digest is refused.
fn push_target(reference: &str) -> Result<(String, String), ToolError> {
    let fix = "use a reference such as 127.0.0.1:5000/app:dev";
    let image = planner::image_ref::ImageRef::parse(reference)
        .map_err(|e| ToolError::invalid("image", e, fix))?;
    if image.digest.is_some() {
        return Err(ToolError::invalid(
            "image",
            format!("`{reference}` pins a digest, and a push sends a tag"),
            fix,
        ));
    }
    Ok((image.repository(), image.tag_or_latest().to_string()))
}

/// Runs `work` unless the client cancels first (the request, or its task); dropping the work stops its
/// engine stream.
async fn until_cancelled<T>(
    cancel: &CancellationToken,
    what: &str,
    work: impl Future<Output = T>,
) -> Result<T, ToolError> {
    tokio::select! {
        done = work => Ok(done),
        () = cancel.cancelled() => Err(ToolError(format!("{what} cancelled by the client"))),
    }
}

fn age(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{}m", s.max(0) / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
