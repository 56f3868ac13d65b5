//! Import: take over a project that `docker compose up` started, given its compose file, without touching it.
//!
//! Each compose resource the spec would create under the same name is adopted: recorded as the project's own
//! with the spec's config hash when it matches field by field, or with a hash no spec has when it differs, so
//! the next plan reads "No changes" for the first and replaces the second. Import executes nothing; it only
//! writes the record, a plan marked applied (so `rollback` can return to it) and a history entry. Only
//! resources labelled with the compose project the client names are adopted (`planner::adopt`).

use planner::adopt::{self, Decision};
use planner::observed::ObservedState;
use planner::plan::{PlanOptions, Summary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{new_plan_id, secrets, validate_project_name, Engine, EngineError, PlanRequest};
use crate::state::store::now_rfc3339;
use crate::state::{
    HistoryEntry, HistoryKind, PlanStatus, ProjectRecord, ResourceRecord, StoredPlan,
};

/// What an import adopted, what differs, and what the next plan of the same spec would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImportOutcome {
    pub project: String,
    /// The import's id in the project history (`rollback` can return to it).
    pub plan_id: String,
    /// Adopted as they are: they match the spec.
    pub adopted: Vec<String>,
    /// Adopted but different from the spec, with the fields; the next plan replaces them.
    pub differing: Vec<String>,
    /// Compose resources left alone, with the reason.
    pub left_alone: Vec<String>,
    /// The next plan of this spec, rendered (not stored: run plan for an id).
    pub next_plan: String,
    pub summary: Summary,
    pub has_changes: bool,
}

impl ImportOutcome {
    /// What was adopted, what differs and the next plan, for people.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Imported compose project {} (history id {}); nothing in Docker was changed.",
            self.project, self.plan_id
        );
        let sections = [
            ("adopted as it is", &self.adopted),
            ("adopted, differs from the spec", &self.differing),
            ("left alone", &self.left_alone),
        ];
        for (word, lines) in sections {
            for line in lines {
                text.push_str(&format!("\n{word}: {line}"));
            }
        }
        text.push_str(&format!(
            "\nThe next plan of this spec:\n{}",
            self.next_plan.trim_end()
        ));
        text
    }
}

/// Why a project cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("project {0:?} is already managed by this server (fix: use plan; import only takes over a project that docker compose started)")]
    AlreadyManaged(String),
    #[error("nothing carries the label com.docker.compose.project={0} (fix: pass the name compose used, as `docker compose ls` shows it)")]
    NotComposed(String),
}

impl Engine {
    /// Adopts the compose project `req.project` as it runs, judged against `req.spec`; executes nothing.
    pub async fn import(&self, req: PlanRequest) -> Result<ImportOutcome, EngineError> {
        self.refuse_read_only("import")?;
        validate_project_name(&req.project)?;
        let project = req.project.clone();
        let _lock = self.lock(&project).await?;
        let name = project.clone();
        if self.state(move |s| s.last_applied(&name)).await?.is_some() {
            return Err(ImportError::AlreadyManaged(project).into());
        }
        let (desired, source) = self.load_request(&req)?;
        self.check_engine_binds(&desired).await?;
        let values = secrets::resolve(&desired, &self.host, &self.config)?;
        let mut digests = values.digests();
        digests.builds = self.build_digests(&desired).await?;
        let ours = self.observe(&project, Some(&desired), &[]).await?;
        if !ours.containers.is_empty() {
            return Err(ImportError::AlreadyManaged(project).into());
        }
        let options = PlanOptions {
            remove_orphans: false,
            remove_volumes: false,
        };
        let nothing = ObservedState {
            project: project.clone(),
            ..ObservedState::default()
        };
        let creating = planner::diff::plan(&desired, &nothing, None, &digests, options);
        let found = self
            .runtime
            .compose_resources(&project, &creating, &values.secrets)
            .await?;
        if found.is_empty() {
            return Err(ImportError::NotComposed(project).into());
        }
        let decision = adopt::decide(&creating, &found);
        let mut observed = ours;
        let adopted = self
            .runtime
            .observe_adopted(&project, &decision.adopted)
            .await?;
        adopt::merge(&mut observed, adopted);
        let next = planner::diff::plan(&desired, &observed, Some(&desired), &digests, options);
        let rendering = planner::render::render(&next);

        let at = now_rfc3339();
        let plan_id = new_plan_id();
        let history = HistoryEntry {
            at: at.clone(),
            kind: HistoryKind::Import,
            plan_id: plan_id.clone(),
            summary: summary_line(&decision),
        };
        let record = ProjectRecord {
            project: project.clone(),
            spec: desired.clone(),
            source: source.clone(),
            applied_at: at.clone(),
            plan_id: plan_id.clone(),
            complete: true,
            resources: decision.adopted.iter().map(resource_record).collect(),
            failure: None,
            adopted: decision.adopted.clone(),
            swarm: None,
        };
        let stored = StoredPlan {
            id: plan_id.clone(),
            project: project.clone(),
            spec: desired,
            source,
            rendering: rendering.clone(),
            fingerprint: next.fingerprint.clone(),
            created_at: at,
            // Nothing ran, and nothing may: the import is done once recorded.
            status: PlanStatus::Applied,
            options,
            destroy: false,
            digests,
            plan: next.clone(),
            swarm: None,
        };
        self.state_write(move |s| s.record_import(&stored, &record, &history))
            .await?;
        Ok(ImportOutcome {
            project,
            plan_id,
            adopted: decision.matching,
            differing: decision.differing,
            left_alone: decision.left_alone,
            next_plan: rendering,
            summary: next.summary,
            has_changes: next.has_changes(),
        })
    }
}

/// `imported from docker compose: 3 adopted as they are, 1 differs (the next plan changes it)`.
fn summary_line(decision: &Decision) -> String {
    let mut line = format!(
        "imported from docker compose: {} adopted as they are",
        decision.matching.len()
    );
    if !decision.differing.is_empty() {
        line.push_str(&format!(
            ", {} differ (the next plan changes them)",
            decision.differing.len()
        ));
    }
    line
}

fn resource_record(adopted: &adopt::Adopted) -> ResourceRecord {
    ResourceRecord {
        kind: adopted.kind,
        name: adopted.name.clone(),
        key: adopted.key.clone(),
        id: Some(adopted.id.clone()),
        config_hash: Some(adopted.config_hash.clone()),
    }
}
