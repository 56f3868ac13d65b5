//! Plan/apply tools: plan a compose spec, apply a reviewed plan, destroy, status, list, export.
//!
//! The loop the prompt teaches: `plan` returns a plan id and a rendering for the human to review; only
//! `apply` with that id changes anything, and the engine refuses it if the world moved since the plan.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::approval;
use super::args::Parameters;
use super::output::{Json, ToolError};
use super::progress::Progress;
use super::server::DockerServer;
use crate::docker::execute::{step_label, ApplyReport, EventSink, StepEvent};
use crate::engine::{
    ApplyOutcome, PlanOutcome, PlanRequest, ProjectStatus, ProjectSummary, SpecSource,
};
use crate::state::PlanStatus;
use planner::plan::Op;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanArgs {
    /// Project name: prefixes every resource (`{project}-{service}-1`).
    pub project: String,
    /// The compose document as a JSON object (`{"services": {...}}`). Give this or `compose_yaml`.
    #[serde(default)]
    pub spec: Option<serde_json::Value>,
    /// The compose document as YAML text. Give this or `spec`.
    #[serde(default)]
    pub compose_yaml: Option<String>,
    /// Directory on the server that relative paths (build contexts, binds, `.env`) resolve against.
    #[serde(default)]
    pub project_dir: Option<String>,
    /// Also plan removal of project containers no longer in the spec.
    #[serde(default)]
    pub remove_orphans: bool,
    /// Compose profiles to enable.
    #[serde(default)]
    pub profiles: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    pub project: String,
    /// The id `plan` or `destroy` returned, after the human approved the rendering.
    pub plan_id: String,
    /// On failure, plan and apply the return to the previous spec (default: the operator's setting).
    #[serde(default)]
    pub revert_on_failure: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestroyArgs {
    pub project: String,
    /// Also delete the project's named volumes (their data is lost).
    #[serde(default)]
    pub volumes: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRef {
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
    for warning in &outcome.warnings {
        text.push_str(&format!("\nwarning: {warning}"));
    }
    if outcome.has_changes {
        text.push_str(&format!(
            "\nShow this plan to the user; after they approve, call apply with plan_id \"{}\".",
            outcome.plan_id
        ));
    }
    text
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
    /// Plan a compose project (Terraform-style): validates the spec, compares it with what runs, and returns a
    /// plan id plus a rendering to show the user. Changes nothing.
    #[tool(annotations(
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
        let spec =
            match (args.spec, args.compose_yaml) {
                (Some(_), Some(_)) => {
                    return Err(ToolError::invalid(
                        "spec",
                        "both `spec` and `compose_yaml` were given",
                        "give only one of them",
                    ))
                }
                (Some(value), None) => SpecSource::Json(value),
                (None, Some(yaml)) => SpecSource::Yaml(yaml),
                (None, None) => return Err(ToolError::invalid(
                    "spec",
                    "no spec was given",
                    "pass the compose document as `spec` (JSON object) or `compose_yaml` (text)",
                )),
            };
        let request = PlanRequest {
            project: args.project,
            spec,
            project_dir: args.project_dir.map(PathBuf::from),
            remove_orphans: args.remove_orphans,
            profiles: args.profiles,
        };
        let outcome = self.engine.plan(request).await?;
        let text = plan_text(&outcome);
        Ok(Json::new(outcome, text))
    }

    /// Apply a plan the user approved. Refused when the project changed since the plan (plan again then).
    /// Sends progress notifications per step; cancelling the request stops between steps.
    #[tool(annotations(
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
    ) -> Result<Json<ApplyOutcome>, ToolError> {
        let progress = Progress::for_request(&context);
        let stored = self.engine.fetch_plan(&args.project, &args.plan_id).await?;
        if stored.status == PlanStatus::Pending && stored.plan.has_changes() {
            let mode = self.engine.config().approval;
            approval::approve_plan(&context.peer, mode, &stored).await?;
        }
        // Each action reports its start and its end; the total lets clients draw a bar.
        let steps = stored
            .plan
            .actions
            .iter()
            .filter(|a| a.op != Op::NoOp)
            .count();
        let total = Some((steps * 2) as f64);
        let events: EventSink =
            Arc::new(move |event: StepEvent| progress.step(total, describe_event(&event)));
        let revert = args
            .revert_on_failure
            .unwrap_or(self.engine.config().revert_on_failure);
        let cancel = context.ct.clone();
        let (outcome, reverted) = if revert {
            let done = self
                .engine
                .apply_or_revert(&args.project, &args.plan_id, events, cancel)
                .await?;
            (done.applied, done.revert)
        } else {
            let applied = self
                .engine
                .apply(&args.project, &args.plan_id, events, cancel)
                .await?;
            (applied, None)
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
        Err(ToolError(format!(
            "apply of plan {} did not complete: {text}",
            args.plan_id
        )))
    }

    /// Plan the removal of everything the project owns (containers and networks; volumes only when asked).
    /// Returns a plan to show the user and then `apply`.
    #[tool(annotations(
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

    /// Live status of a project: each resource's state and health, drift from the last apply.
    #[tool(annotations(
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

    /// Projects this server applied or that run with compose labels, with container counts.
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

/// One line per resource, for people.
pub fn status_text(status: &ProjectStatus) -> String {
    let mut text = format!(
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
    );
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
    use planner::plan::{ResourceKind, ResourceRef};

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
