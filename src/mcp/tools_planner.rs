//! Plan/apply tools: plan a compose spec, apply a reviewed plan, destroy, status, list, export.
//!
//! The loop the prompt teaches: `plan` returns a plan id and a rendering for the human to review; only
//! `apply` with that id changes anything, and the engine refuses it if the world moved since the plan.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::tool::{InputResponses as Answers, RequestState};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::approval::{Gate, Round};
use super::args::Parameters;
use super::output::{Json, Reply, ToolError};
use super::progress::Progress;
use super::server::DockerServer;
use super::{spec_hints, stale_plan};
use crate::docker::execute::{step_label, ApplyReport, EventSink, StepEvent};
use crate::engine::{
    ApplyOutcome, EngineError, PlanOutcome, PlanRequest, ProjectStatus, ProjectSummary, SpecSource,
    StepMeter,
};
use crate::state::{PlanStatus, StoredPlan};
use planner::swarm::Target;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanArgs {
    /// Project name.
    pub project: String,
    /// Compose as JSON.
    #[serde(default)]
    #[schemars(extend("type" = "object"))]
    pub spec: Option<serde_json::Value>,
    /// Compose YAML.
    #[serde(default)]
    pub compose_yaml: Option<String>,
    /// Dir of relative paths.
    #[serde(default)]
    pub project_dir: Option<String>,
    /// Delete orphaned resources.
    #[serde(default)]
    pub remove_orphans: bool,
    /// Profiles to enable.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Default engine.
    #[serde(default)]
    #[schemars(schema_with = "target_schema")]
    pub target: Target,
}

/// `target` as a bare enum: the type's documented variants would cost the tool list 300 bytes.
fn target_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"enum": ["engine", "swarm"]})
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// Project name.
    pub project: String,
    /// Id from plan/destroy, once approved.
    pub plan_id: String,
    /// On failure, revert to the previous spec.
    #[serde(default)]
    pub revert_on_failure: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestroyArgs {
    /// The project to remove.
    pub project: String,
    /// Also delete its named volumes (data is lost).
    #[serde(default)]
    pub volumes: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRef {
    /// Project name (see `list_projects`).
    pub project: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExportedProject {
    pub project: String,
    /// The last-applied spec as compose YAML (secret values are never included).
    pub compose_yaml: String,
}

pub(crate) fn plan_text(outcome: &PlanOutcome) -> String {
    let mut text = format!(
        "Plan {} for project {}:\n{}",
        outcome.plan_id,
        outcome.project,
        outcome.rendering.trim_end()
    );
    // The rendering lists the load's warnings; those added after it (spec hints, drift) go once, here.
    for warning in &outcome.warnings {
        if !outcome.rendering.contains(warning.as_str()) {
            text.push_str(&format!("\nwarning: {warning}"));
        }
    }
    if outcome.has_changes {
        text.push_str(&format!(
            "\nShow this plan to the user; after they approve, call apply with plan_id \"{}\".",
            outcome.plan_id
        ));
    }
    text
}

/// The spec a tool call carries: JSON in `spec` or YAML text in `compose_yaml`, exactly one of them (plan and
/// import take the same two parameters).
pub(crate) fn spec_source(
    spec: Option<serde_json::Value>,
    compose_yaml: Option<String>,
) -> Result<SpecSource, ToolError> {
    match (spec, compose_yaml) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "spec",
            "both `spec` and `compose_yaml` were given",
            "give only one of them",
        )),
        (Some(serde_json::Value::String(_)), None) => Err(ToolError::invalid(
            "spec",
            "it is a string, and `spec` takes the compose document as a JSON object",
            "pass YAML text in `compose_yaml` instead, or `spec` as an object like {\"services\": {...}}",
        )),
        (Some(value), None) => Ok(SpecSource::Json(value)),
        (None, Some(yaml)) => Ok(SpecSource::Yaml(yaml)),
        (None, None) => Err(ToolError::invalid(
            "spec",
            "no spec was given",
            "pass the compose document as `spec` (JSON object) or `compose_yaml` (text)",
        )),
    }
}

/// `create container demo-web-1: done`, for progress messages.
fn describe_event(event: &StepEvent) -> String {
    match event {
        StepEvent::Started { resource, op, .. } => {
            format!("{}: started", step_label(resource, *op))
        }
        StepEvent::Progress { message, .. } => message.clone(),
        StepEvent::Done { resource, op, .. } => format!("{}: done", step_label(resource, *op)),
        StepEvent::Failed {
            resource,
            op,
            error,
            ..
        } => format!("{}: failed: {error}", step_label(resource, *op)),
        StepEvent::Skipped {
            resource,
            op,
            reason,
            ..
        } => format!("{}: skipped ({reason})", step_label(resource, *op)),
    }
}

/// `Apply complete! ... (2 done, 0 failed, 0 skipped)` and one line per step.
fn apply_text(outcome: &ApplyOutcome) -> String {
    let mut text = format!(
        "{} ({} done, {} failed, {} skipped{})",
        outcome.message,
        outcome.report.done.len(),
        outcome.report.failed.len(),
        outcome.report.skipped.len(),
        if outcome.report.cancelled {
            ", cancelled"
        } else {
            ""
        }
    );
    text.push_str(&report_text(&outcome.report));
    text
}

/// One line per step that failed or was skipped, then the ones done:
/// `failed: create container demo-web-1: <Docker's message>`.
fn report_text(report: &ApplyReport) -> String {
    let mut text = String::new();
    let sections = [
        ("failed", &report.failed),
        ("skipped", &report.skipped),
        ("done", &report.done),
    ];
    for (word, steps) in sections {
        for step in steps {
            text.push_str(&format!(
                "\n{word}: {}: {}",
                step_label(&step.resource, step.op),
                step.message
            ));
        }
    }
    text
}

#[tool_router(router = planner_tools, vis = "pub(crate)")]
impl DockerServer {
    /// Plan a project: a plan id and a rendering to show the user.
    #[tool(
        output_schema = plan_output_schema(),
        annotations(
        title = "Plan project",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn plan(
        &self,
        Parameters(args): Parameters<PlanArgs>,
    ) -> Result<Json<PlanOutcome>, ToolError> {
        let spec = spec_source(args.spec, args.compose_yaml)?;
        let sent = spec.clone();
        let request = PlanRequest {
            project: args.project,
            spec,
            project_dir: args.project_dir.map(PathBuf::from),
            remove_orphans: args.remove_orphans,
            profiles: args.profiles,
            target: args.target,
        };
        let mut outcome = self.engine.plan(request).await?;
        // Read the document again only now: the engine accepted it, so its YAML node count is bounded.
        let document = match sent {
            SpecSource::Json(value) => Some(value),
            SpecSource::Yaml(text) => spec_hints::parse_yaml(&text),
        };
        if let Some(document) = &document {
            outcome
                .warnings
                .extend(spec_hints::literal_secret_warnings(document));
        }
        let text = plan_text(&outcome);
        Ok(Json::new(outcome, text))
    }

    /// Apply a plan the user approved; refused if the project moved since (plan again).
    #[tool(
        output_schema = apply_output_schema(),
        annotations(
        title = "Apply plan",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn apply(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ApplyArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ApplyOutcome>, ToolError> {
        let progress = Progress::for_request(&context);
        let stored = self.engine.fetch_plan(&args.project, &args.plan_id).await?;
        if stored.status == PlanStatus::Pending && stored.has_changes() {
            let round = Round { state, responses };
            if let Gate::AskFirst(question) = self.approve_plan(&context, &stored, round).await? {
                return Ok(Reply::InputRequired(question));
            }
        }
        let server = self.clone();
        self.shared()
            .tasks
            .run(&context, progress, move |progress, cancel| async move {
                server.run_apply(args, &stored, progress, cancel).await
            })
            .await
    }

    /// Plan removing a project (volumes only if asked); show the plan, then `apply` it.
    #[tool(
        output_schema = plan_output_schema(),
        annotations(
        title = "Plan destroy",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn destroy(
        &self,
        Parameters(args): Parameters<DestroyArgs>,
    ) -> Result<Json<PlanOutcome>, ToolError> {
        let outcome = self
            .engine
            .destroy_plan(&args.project, args.volumes)
            .await?;
        let text = plan_text(&outcome);
        Ok(Json::new(outcome, text))
    }

    /// A project's resources: state, health, drift from the last apply.
    #[tool(
        output_schema = status_output_schema(),
        annotations(
        title = "Project status",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn project_status(
        &self,
        Parameters(args): Parameters<ProjectRef>,
    ) -> Result<Json<ProjectStatus>, ToolError> {
        let status = self.engine.status(&args.project).await?;
        let text = status_text(&status);
        Ok(Json::new(status, text))
    }

    /// Projects applied here or running with compose labels, with container counts.
    #[tool(annotations(
        title = "List projects",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_projects(&self) -> Result<Json<ProjectList>, ToolError> {
        let projects = self.engine.list_projects().await?;
        let mut text = format!("{} projects", projects.len());
        for p in &projects {
            text.push_str(&format!(
                "\n{}: {}/{} running{}",
                p.name,
                p.containers_running,
                p.containers_total,
                p.last_applied_at
                    .as_deref()
                    .map(|t| format!(", applied {t}"))
                    .unwrap_or_default()
            ));
        }
        Ok(Json::new(ProjectList { projects }, text))
    }

    /// The last-applied spec of a project as compose YAML.
    #[tool(annotations(
        title = "Export project",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn export_project(
        &self,
        Parameters(args): Parameters<ProjectRef>,
    ) -> Result<Json<ExportedProject>, ToolError> {
        let yaml = self.engine.export(&args.project).await?;
        let exported = ExportedProject {
            project: args.project,
            compose_yaml: yaml.clone(),
        };
        Ok(Json::new(exported, yaml))
    }
}

/// `plan`'s and `destroy`'s output schema, written by hand to keep `plan` under the per-tool byte budget:
/// the fields a client acts on (the output also holds `summary`, whose counts are in the rendering too). The
/// `plan_output_schema_names_real_fields` test keeps it true to `PlanOutcome`.
impl DockerServer {
    /// Executes an approved plan (reverting on failure when asked), reporting each step to `progress`.
    async fn run_apply(
        &self,
        args: ApplyArgs,
        stored: &StoredPlan,
        progress: Progress,
        cancel: CancellationToken,
    ) -> Result<Json<ApplyOutcome>, ToolError> {
        // The total is the plan's step count, known before the first step; each event moves toward it.
        let meter = std::sync::Mutex::new(StepMeter::for_stored(stored));
        let events: EventSink = Arc::new(move |event: StepEvent| {
            let mut meter = meter.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(value) = meter.advance(&event) {
                progress.at(value, meter.total(), describe_event(&event));
            }
        });
        let revert = args
            .revert_on_failure
            .unwrap_or(self.engine.config().revert_on_failure);
        let applied = if revert {
            self.engine
                .apply_or_revert(&args.project, &args.plan_id, events, cancel)
                .await
                .map(|done| (done.applied, done.revert))
        } else {
            self.engine
                .apply(&args.project, &args.plan_id, events, cancel)
                .await
                .map(|applied| (applied, None))
        };
        let (outcome, reverted) = match applied {
            Err(EngineError::StalePlan) => {
                return Err(self.stale_refusal(&args.project, &args.plan_id).await)
            }
            other => other?,
        };
        let mut text = apply_text(&outcome);
        if outcome.succeeded {
            return Ok(Json::new(outcome, text));
        }
        if let Some(revert) = reverted {
            text.push_str(&format!(
                "\nReverted to the previous spec with plan {}: {}",
                revert.plan.plan_id,
                apply_text(&revert.applied)
            ));
        }
        // The per-step report stays structured: an error result that still carries structuredContent.
        let text = format!("apply of plan {} did not complete: {text}", args.plan_id);
        Ok(Json::failure(outcome, text))
    }
}

fn plan_output_schema() -> Arc<rmcp::model::JsonObject> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "plan_id": {"type": "string"},
            "has_changes": {"type": "boolean"},
            "rendering": {"type": "string"},
            "warnings": {"type": "array"},
            "impact": {"type": "array"}
        }
    });
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}

/// `project_status`'s output schema, written by hand to stay under the per-tool budget: the fields a client
/// reads, with the failure kept as one object. The `status_output_schema_names_real_fields` test keeps it true.
fn status_output_schema() -> Arc<rmcp::model::JsonObject> {
    let optional = serde_json::json!({"type": ["string", "null"]});
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "project": {"type": "string"},
            "target": {"type": "string"},
            "known": {"type": "boolean"},
            "last_applied_at": optional,
            "last_applied_yaml": optional,
            "last_apply_failure": {"type": "object"},
            "resources": {"type": "array", "items": {"type": "object", "properties": {
                "kind": {"type": "string"},
                "name": {"type": "string"},
                "service": optional,
                "state": {"type": "string"},
                "health": optional,
                "drift": optional
            }}},
            "drift": {"type": "array"}
        }
    });
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}

/// `apply`'s output schema, written by hand: schemars' one for `ApplyOutcome` spells out every step field
/// three times over, and the tool list is paid in every chat. It names the fields a client reads; the
/// `apply_output_schema_names_real_fields` test keeps it true to the type.
fn apply_output_schema() -> Arc<rmcp::model::JsonObject> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "succeeded": {"type": "boolean"},
            "message": {"type": "string"},
            "report": {"type": "object", "properties": {
                "done": {"$ref": "#/$defs/steps"},
                "failed": {"$ref": "#/$defs/steps"},
                "skipped": {"$ref": "#/$defs/steps"},
                "cancelled": {"type": "boolean"}
            }}
        },
        "$defs": {"steps": {"type": "array", "items": {"type": "object", "properties": {
            "resource": {"type": "object"},
            "op": {"type": "string"},
            "message": {"type": "string"}
        }}}}
    });
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}

impl DockerServer {
    /// The stale-plan refusal with what moved, read from the stored plan and the project's live status.
    async fn stale_refusal(&self, project: &str, plan_id: &str) -> ToolError {
        let stored = self.engine.fetch_plan(project, plan_id).await.ok();
        let status = self.engine.status(project).await.ok();
        let moved = match (&stored, &status) {
            (Some(stored), Some(status)) => stale_plan::what_moved(&stored.plan, status),
            _ => Vec::new(),
        };
        let is_destroy = stored.as_ref().is_some_and(|s| s.destroy);
        ToolError(stale_plan::refusal(plan_id, is_destroy, &moved))
    }
}

/// One line per resource, for people.
pub fn status_text(status: &ProjectStatus) -> String {
    let mut text = match &status.last_apply_failure {
        Some(failure) => format!("Project {}: {}", status.project, failure.describe()),
        None => format!(
            "Project {}: {}{}",
            status.project,
            if status.known {
                "applied"
            } else {
                "not applied by this server"
            },
            status
                .last_applied_at
                .as_deref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default()
        ),
    };
    for r in &status.resources {
        text.push_str(&format!(
            "\n{} {}: {}{}{}",
            r.kind,
            r.name,
            r.state,
            r.health
                .as_deref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default(),
            r.drift
                .as_deref()
                .map(|d| format!(" drift: {d}"))
                .unwrap_or_default()
        ));
    }
    for d in &status.drift {
        text.push_str(&format!("\ndrift: {d}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::execute::StepOutcome;
    use planner::plan::{Op, ResourceKind, ResourceRef};

    fn step(id: usize, kind: ResourceKind, name: &str, op: Op, message: &str) -> StepOutcome {
        StepOutcome {
            action_id: id,
            resource: ResourceRef {
                kind,
                name: name.into(),
                key: name.into(),
                number: None,
            },
            op,
            message: message.into(),
            engine_id: None,
        }
    }

    /// Every property the hand-written schema names exists in a serialized `ApplyOutcome`, at its place.
    #[test]
    fn apply_output_schema_names_real_fields() {
        let step = step(0, ResourceKind::Network, "n", Op::Create, "ok");
        let outcome = ApplyOutcome {
            project: "p".into(),
            plan_id: "x".into(),
            succeeded: true,
            message: "m".into(),
            report: ApplyReport {
                done: vec![step.clone()],
                failed: vec![step.clone()],
                skipped: vec![step],
                cancelled: false,
            },
        };
        let value = serde_json::to_value(&outcome).unwrap_or_default();
        let schema = serde_json::Value::Object((*apply_output_schema()).clone());
        assert_named_fields_exist(&schema, &schema, &value, "");
    }

    #[test]
    fn status_output_schema_names_real_fields() {
        let status = ProjectStatus {
            project: "p".into(),
            target: Target::Engine,
            known: true,
            last_applied_yaml: Some(String::new()),
            last_applied_at: Some(String::new()),
            last_apply_failure: Some(crate::state::ApplyFailure {
                at: String::new(),
                plan_id: "x".into(),
                steps: vec![],
            }),
            resources: vec![crate::engine::ResourceStatus {
                kind: "container".into(),
                name: "p-web-1".into(),
                service: Some("web".into()),
                state: "running".into(),
                health: None,
                drift: None,
            }],
            drift: vec![],
        };
        let value = serde_json::to_value(&status).unwrap_or_default();
        let schema = serde_json::Value::Object((*status_output_schema()).clone());
        assert_named_fields_exist(&schema, &schema, &value, "");
    }

    #[test]
    fn plan_output_schema_names_real_fields() {
        let outcome = PlanOutcome {
            plan_id: "x".into(),
            project: "p".into(),
            summary: planner::plan::Summary::default(),
            has_changes: false,
            rendering: String::new(),
            warnings: vec![],
            impact: vec![],
        };
        let value = serde_json::to_value(&outcome).unwrap_or_default();
        let schema = serde_json::Value::Object((*plan_output_schema()).clone());
        assert_named_fields_exist(&schema, &schema, &value, "");
    }

    fn assert_named_fields_exist(
        root: &serde_json::Value,
        schema: &serde_json::Value,
        value: &serde_json::Value,
        path: &str,
    ) {
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            return assert_named_fields_exist(root, &root["$defs"][name], value, path);
        }
        if let (Some(items), Some(first)) = (schema.get("items"), value.get(0)) {
            assert_named_fields_exist(root, items, first, &format!("{path}[0]"));
        }
        for (key, property) in schema["properties"].as_object().into_iter().flatten() {
            let field = value.get(key);
            assert!(
                field.is_some(),
                "schema names {path}.{key}, which the output lacks"
            );
            if let Some(field) = field {
                assert_named_fields_exist(root, property, field, &format!("{path}.{key}"));
            }
        }
    }

    #[test]
    fn apply_reports_read_as_human_text() {
        let report = ApplyReport {
            done: vec![step(
                0,
                ResourceKind::Network,
                "demo_default",
                Op::Create,
                "create demo_default",
            )],
            failed: vec![step(
                1,
                ResourceKind::Container,
                "demo-web-1",
                Op::Create,
                "creating container demo-web-1: Docker says: port is already allocated",
            )],
            skipped: vec![step(
                2,
                ResourceKind::Container,
                "demo-app-1",
                Op::UpdateInPlace,
                "skipped because step #1 (create container demo-web-1) failed",
            )],
            cancelled: false,
        };
        let text = report_text(&report);
        assert!(
            text.contains(
                "\nfailed: create container demo-web-1: creating container demo-web-1: Docker says: port is \
                 already allocated"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nskipped: update container demo-app-1: skipped because step #1"),
            "{text}"
        );
        assert!(
            text.contains("\ndone: create network demo_default: "),
            "{text}"
        );
        assert!(!text.contains("ResourceRef"), "{text}");
        assert!(!text.contains("Create "), "{text}");
    }
}
