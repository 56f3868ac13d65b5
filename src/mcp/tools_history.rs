//! History tools: a project's recorded plans and applies, and rollback to an earlier apply as a plan.
//!
//! `rollback` only plans: its result is a plan id and rendering that the human reviews and `apply` executes,
//! exactly like the result of `plan`.

use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::Parameters;
use super::output::{Json, ToolError};
use super::server::DockerServer;
use super::tools_planner::plan_text;
use crate::engine::PlanOutcome;
use crate::state::{HistoryEntry, HistoryKind};

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
}

/// `2026-11-30T07:00:00Z apply 1a2b3c4d5e6f Apply complete! ...`, one line per entry.
fn history_text(project: &str, entries: &[HistoryEntry]) -> String {
    let mut text = format!("History of {project}: {} entries", entries.len());
    for entry in entries {
        let kind = match entry.kind {
            HistoryKind::Plan => "plan",
            HistoryKind::Apply => "apply",
            HistoryKind::Destroy => "destroy",
        };
        text.push_str(&format!(
            "\n{} {kind} {} {}",
            entry.at, entry.plan_id, entry.summary
        ));
    }
    text
}
