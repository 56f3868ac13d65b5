//! Human text for the CLI, and `say`, the one function that writes to stdout.

use crate::engine::{PlanOutcome, ProjectStatus, ProjectSummary, StepEvent};
use crate::state::{HistoryEntry, JournalEntry};

/// Prints a line to stdout: the CLI's human output. The MCP server never calls this.
#[allow(clippy::print_stdout)]
pub fn say(text: &str) {
    println!("{text}");
}

/// The error and its causes, each said once: a wrapper whose message already quotes its source (an engine error
/// around a planner error) would otherwise print the same text twice, as `X: X`.
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

pub fn plan_text(plan: &PlanOutcome) -> String {
    let mut text = plan.rendering.trim_end().to_string();
    for warning in &plan.warnings {
        if !text.contains(warning.as_str()) {
            text.push_str(&format!("\nWarning: {warning}"));
        }
    }
    text
}

pub fn status_text(status: &ProjectStatus) -> String {
    let mut lines = vec![
        match (&status.last_apply_failure, &status.last_applied_at) {
            (Some(failure), _) => format!(
                "Project {} ({}; it holds what the steps did)",
                status.project,
                failure.describe()
            ),
            (None, Some(at)) => format!("Project {} (last applied {at})", status.project),
            (None, None) => format!(
                "Project {} (no recorded apply; found by its labels)",
                status.project
            ),
        },
    ];
    if status.resources.is_empty() {
        lines.push("  no resources on the engine".into());
    }
    let width = status
        .resources
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    for r in &status.resources {
        let health = r
            .health
            .as_deref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        let drift = r
            .drift
            .as_deref()
            .map(|d| format!("  <- {d}"))
            .unwrap_or_default();
        lines.push(format!(
            "  {:<9} {:<width$}  {}{health}{drift}",
            r.kind, r.name, r.state
        ));
    }
    if status.drift.is_empty() {
        lines.push("No drift: the engine matches the last apply.".into());
    } else {
        lines.push("Drift:".into());
        lines.extend(status.drift.iter().map(|d| format!("  - {d}")));
    }
    lines.join("\n")
}

pub fn projects_text(projects: &[ProjectSummary]) -> String {
    if projects.is_empty() {
        return "No projects.".into();
    }
    let width = projects
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![format!(
        "{:<width$}  {:<10}  {:<8}  LAST APPLIED",
        "NAME", "RUNNING", "RECORDED"
    )];
    for p in projects {
        lines.push(format!(
            "{:<width$}  {:<10}  {:<8}  {}",
            p.name,
            format!("{}/{}", p.containers_running, p.containers_total),
            if p.recorded { "yes" } else { "no" },
            p.last_applied_at.as_deref().unwrap_or("-"),
        ));
    }
    lines.join("\n")
}

pub fn history_text(history: &[HistoryEntry]) -> String {
    if history.is_empty() {
        return "No history.".into();
    }
    history
        .iter()
        .map(|h| {
            let kind = h.kind.as_str();
            format!("{}  {kind:<7}  {}  {}", h.at, h.plan_id, h.summary)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn journal_text(journal: &[JournalEntry]) -> String {
    if journal.is_empty() {
        return "No steps journaled for this plan.".into();
    }
    journal
        .iter()
        .map(|j| {
            let line = match &j.event {
                StepEvent::Started { resource, op, .. } => {
                    format!("started  {op:?} {}", resource.name)
                }
                StepEvent::Progress { message, .. } => format!("progress {message}"),
                StepEvent::Done { resource, op, .. } => {
                    format!("done     {op:?} {}", resource.name)
                }
                StepEvent::Failed {
                    resource,
                    op,
                    error,
                    ..
                } => {
                    format!("failed   {op:?} {}: {error}", resource.name)
                }
                StepEvent::Skipped {
                    resource,
                    op,
                    reason,
                    ..
                } => {
                    format!("skipped  {op:?} {}: {reason}", resource.name)
                }
            };
            format!("{}  {line}", j.at)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("invalid spec: services.a.bogus: unknown key")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Quoting(#[source] Inner);

    #[test]
    fn a_wrapper_that_quotes_its_source_is_said_once() {
        let error = anyhow::Error::new(Quoting(Inner));
        assert_eq!(
            error_text(&error),
            "invalid spec: services.a.bogus: unknown key"
        );
    }

    #[test]
    fn context_and_a_distinct_cause_both_appear() {
        let error = anyhow::Error::new(std::io::Error::other("no such file"))
            .context("cannot read the compose file x.yml");
        assert_eq!(
            error_text(&error),
            "cannot read the compose file x.yml: no such file"
        );
    }
}
