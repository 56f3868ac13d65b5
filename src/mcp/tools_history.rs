//! History tools: a project's recorded plans and applies, rollback to an earlier apply as a plan, and import
//! of a project `docker compose` started, which begins its history.
//!
//! `rollback` only plans: its result is a plan id and rendering that the human reviews and `apply` executes,
//! exactly like the result of `plan`. `import_project` changes nothing in Docker: it records what it adopts.

use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::Parameters;
use super::output::{Json, ToolError};
use super::server::DockerServer;
use super::tools_planner::{plan_text, spec_source};
use crate::engine::{ImportOutcome, PlanOutcome, PlanRequest};
use crate::state::HistoryEntry;

/// Entries returned when the caller gives no `limit`.
const DEFAULT_HISTORY_LIMIT: usize = 50;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// Project name.
    pub project: String,
    /// Newest entries to return (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackArgs {
    /// Project name.
    pub project: String,
    /// The plan id of an earlier completed apply (from project_history).
    pub plan_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportArgs {
    /// Compose project name.
    pub project: String,
    /// Compose JSON.
    #[serde(default)]
    #[schemars(extend("type" = "object"))]
    pub spec: Option<serde_json::Value>,
    /// Compose YAML.
    #[serde(default)]
    pub compose_yaml: Option<String>,
    /// Base dir for relative paths.
    #[serde(default)]
    pub project_dir: Option<String>,
    /// Profiles to enable.
    #[serde(default)]
    pub profiles: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectHistory {
    pub project: String,
    /// Oldest first.
    pub entries: Vec<HistoryEntry>,
}

#[tool_router(router = history_tools, vis = "pub(crate)")]
impl DockerServer {
    /// A project's plans, applies and destroys: time, plan id, outcome.
    #[tool(annotations(
        title = "Project history",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn project_history(
        &self,
        Parameters(args): Parameters<HistoryArgs>,
    ) -> Result<Json<ProjectHistory>, ToolError> {
        let limit = args.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
        let entries = self.engine.recent_history(&args.project, limit).await?;
        let text = history_text(&args.project, &entries);
        Ok(Json::new(
            ProjectHistory {
                project: args.project,
                entries,
            },
            text,
        ))
    }

    /// Plan a return to the spec an earlier apply left (removes what was added since; keeps volumes).
    /// Show the plan to the user, then `apply` it.
    #[tool(annotations(
        title = "Plan rollback",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn rollback(
        &self,
        Parameters(args): Parameters<RollbackArgs>,
    ) -> Result<Json<PlanOutcome>, ToolError> {
        let outcome = self
            .engine
            .rollback_plan(&args.project, &args.plan_id)
            .await?;
        let text = format!(
            "Rollback to the spec applied by plan {}.\n{}",
            args.plan_id,
            plan_text(&outcome)
        );
        Ok(Json::new(outcome, text))
    }

    /// Adopt a project `docker compose up` started, given its file: matching containers are kept as they
    /// are, the rest become updates in the next plan. Changes nothing in Docker.
    #[tool(
        output_schema = import_output_schema(),
        annotations(
        title = "Import compose project",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn import_project(
        &self,
        Parameters(args): Parameters<ImportArgs>,
    ) -> Result<Json<ImportOutcome>, ToolError> {
        let request = PlanRequest {
            project: args.project,
            spec: spec_source(args.spec, args.compose_yaml)?,
            project_dir: args.project_dir.map(std::path::PathBuf::from),
            remove_orphans: false,
            profiles: args.profiles,
            // Compose started the project on this engine: import adopts containers, never swarm services.
            target: planner::swarm::Target::Engine,
        };
        let outcome = self.engine.import(request).await?;
        let text = outcome.describe();
        Ok(Json::new(outcome, text))
    }
}

/// `import_project`'s output schema, written by hand to stay under the per-tool byte budget: the fields a
/// client acts on. The `import_output_schema_names_real_fields` test keeps it true to `ImportOutcome`.
fn import_output_schema() -> std::sync::Arc<rmcp::model::JsonObject> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "plan_id": {"type": "string"},
            "has_changes": {"type": "boolean"},
            "adopted": {"type": "array"},
            "differing": {"type": "array"},
            "next_plan": {"type": "string"}
        }
    });
    std::sync::Arc::new(schema.as_object().cloned().unwrap_or_default())
}

/// `2026-11-30T07:00:00Z apply 1a2b3c4d5e6f Apply complete! ...`, one line per entry.
fn history_text(project: &str, entries: &[HistoryEntry]) -> String {
    let mut text = format!("History of {project}: {} entries", entries.len());
    for entry in entries {
        let kind = entry.kind.as_str();
        text.push_str(&format!(
            "\n{} {kind} {} {}",
            entry.at, entry.plan_id, entry.summary
        ));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn import_output_schema_names_real_fields() {
        let outcome = ImportOutcome {
            project: "p".into(),
            plan_id: "x".into(),
            adopted: vec![],
            differing: vec![],
            left_alone: vec![],
            next_plan: String::new(),
            summary: Default::default(),
            has_changes: false,
        };
        let value = serde_json::to_value(&outcome).unwrap();
        let schema = import_output_schema();
        for name in schema["properties"].as_object().unwrap().keys() {
            assert!(
                value.get(name).is_some(),
                "schema names {name}, which the output lacks"
            );
        }
    }
}
