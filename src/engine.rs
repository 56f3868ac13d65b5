//! The engine: ties the planner, Docker and the state store into plan, apply, status and export.
//!
//! Both surfaces (MCP tools and the CLI) call these methods, so an LLM and a person drive exactly the same
//! code. A plan is computed from the spec, the live engine and the last-applied record, stored, and only a
//! stored plan can be applied; apply re-observes first and refuses a plan whose world has moved.

mod binds;
mod drift_events;
mod export;
mod history;
mod import;
mod journal;
mod outcome;
mod progress;
mod project_list;
mod revert;
pub mod runtime;
#[cfg(test)]
mod seam_tests;
mod secrets;
mod status;
mod swarm;
mod swarm_status;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use planner::adopt::Adopted;
use planner::load::LoadOptions;
use planner::model::{Project, ServiceSpec};
use planner::observed::ObservedState;
use planner::plan::{ExternalDigests, PlanOptions, Summary};
use planner::report::ApplyReport;
use planner::swarm::Target;
use planner::SpecErrors;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::docker::execute::HealthGate;
use crate::docker::{DockerConnector, DockerError};
use crate::host::ServerHost;
use crate::state::store::now_rfc3339;
use crate::state::{
    ApplyFailure, HistoryEntry, HistoryKind, PlanStatus, ProjectLock, RecordChange, StateError,
    Store, StoredPlan,
};
use runtime::{DockerRuntime, ExecRequest, Runtime};

pub use export::project_to_compose_yaml;
pub use history::{RollbackError, HISTORY_LIMIT_MAX};
pub use import::{ImportError, ImportOutcome};
pub use planner::report::{EventSink, StepEvent};
pub use progress::StepMeter;
pub use revert::{AppliedWithRevert, Revert};
pub use secrets::parse_secrets_file;
pub use swarm::SwarmError;

/// What to plan: a project name and its spec.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub project: String,
    pub spec: SpecSource,
    /// Where relative paths (build contexts, binds, env files, `.env`) resolve; default: the current directory.
    pub project_dir: Option<PathBuf>,
    pub remove_orphans: bool,
    pub profiles: Vec<String>,
    /// Where the project runs; a project keeps the target of its first apply.
    pub target: Target,
}

/// A compose-shaped spec as YAML text or as a JSON value.
#[derive(Debug, Clone)]
pub enum SpecSource {
    Yaml(String),
    Json(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanOutcome {
    pub plan_id: String,
    pub project: String,
    pub summary: Summary,
    pub has_changes: bool,
    /// Terraform-style text of the plan.
    pub rendering: String,
    pub warnings: Vec<String>,
    /// What the steps cost (downtime, data loss, new exposure), as the rendering's `Impact:` block says it.
    pub impact: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyOutcome {
    pub project: String,
    pub plan_id: String,
    pub succeeded: bool,
    /// One human paragraph: what was done, what failed and what to do next.
    pub message: String,
    pub report: ApplyReport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectStatus {
    pub project: String,
    /// Where the project runs: `engine` (containers) or `swarm` (services).
    pub target: Target,
    /// True when an apply of this project is recorded.
    pub known: bool,
    /// The last-applied spec as compose YAML (secret references only, never values).
    pub last_applied_yaml: Option<String>,
    pub last_applied_at: Option<String>,
    /// Set when the last apply did not complete: each failed step and its error. The record then holds
    /// what the steps did, not what that plan intended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_apply_failure: Option<ApplyFailure>,
    pub resources: Vec<ResourceStatus>,
    /// Differences between the record and the engine: missing, stopped, changed, orphans, look-alikes.
    pub drift: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceStatus {
    /// `container`, `network` or `volume`.
    pub kind: String,
    pub name: String,
    pub service: Option<String>,
    /// Container state (`running`, `exited` ...), `present`, or `missing`.
    pub state: String,
    pub health: Option<String>,
    pub drift: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectSummary {
    pub name: String,
    /// True when an apply of this project is recorded in the state store.
    pub recorded: bool,
    pub containers_running: usize,
    pub containers_total: usize,
    pub last_applied_at: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Spec(#[from] SpecErrors),
    #[error("{0}")]
    Docker(#[from] DockerError),
    #[error("plan is stale: run plan again")]
    StalePlan,
    #[error(
        "plan {plan_id:?} not found for project {project:?} (fix: run plan for project {project:?} and apply the plan id it returns)"
    )]
    PlanNotFound { project: String, plan_id: String },
    #[error("plan {plan_id:?} of project {project:?} is {status}, not pending (fix: run plan again and apply the new plan id)")]
    PlanNotPending {
        project: String,
        plan_id: String,
        status: String,
    },
    #[error(
        "project {0:?} is unknown: no apply is recorded and no container carries its label (fix: check the name with list_projects)"
    )]
    ProjectNotFound(String),
    #[error("{0}")]
    Secret(String),
    #[error("state store: {0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Busy(String),
    #[error(
        "{0} is disabled: the server runs in read-only mode (fix: restart it without --read-only)"
    )]
    ReadOnly(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Rollback(#[from] RollbackError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Swarm(#[from] SwarmError),
}

/// Most store reads running at once: sled serves concurrent readers from one open database, and a bound
/// keeps a burst of calls from spreading over hundreds of blocking threads (each with its own allocator arena).
const STATE_READERS: usize = 4;
/// Most store writes running at once, in slots of their own so reads never wait behind a write's flush.
const STATE_WRITERS: usize = 2;

/// How long an apply waits for another apply of the same project to finish.
const LOCK_PATIENCE: Duration = Duration::from_secs(900);

/// Plans, applies and remembers projects. `Send + Sync`; share it as `Arc<Engine>`.
pub struct Engine {
    config: ServerConfig,
    docker: DockerConnector,
    /// The swarm manager for `swarm` target projects (the operator's `--swarm-host`, else `docker`).
    swarm: DockerConnector,
    runtime: Arc<dyn Runtime>,
    store: Arc<Store>,
    state_read_slots: Arc<tokio::sync::Semaphore>,
    state_write_slots: Arc<tokio::sync::Semaphore>,
    host: ServerHost,
}

impl Engine {
    /// Never fails: the engine and the state directory are reached lazily, on first use.
    pub fn new(config: ServerConfig) -> Self {
        // The bound is process-wide: the one server configuration sets it for every build it sends.
        crate::docker::build_context::set_max_context_bytes(
            config.runtime_limits.max_build_context_bytes,
        );
        let docker = DockerConnector::from_env(config.docker_host.clone());
        let runtime = Arc::new(DockerRuntime {
            connector: docker.clone(),
            concurrency: config.concurrency,
            dependency_timeout: config.dependency_timeout,
        });
        Self::with_runtime(config, docker, runtime)
    }

    /// An engine that observes and executes through `runtime` (tests use a scripted one).
    pub fn with_runtime(
        config: ServerConfig,
        docker: DockerConnector,
        runtime: Arc<dyn Runtime>,
    ) -> Self {
        let store = Arc::new(Store::new(config.state_dir.clone()));
        let host = ServerHost::new(config.env.clone());
        let swarm = match &config.swarm_host {
            Some(host) => DockerConnector::from_env(Some(host.clone())),
            None => docker.clone(),
        };
        Engine {
            config,
            docker,
            swarm,
            runtime,
            store,
            state_read_slots: Arc::new(tokio::sync::Semaphore::new(STATE_READERS)),
            state_write_slots: Arc::new(tokio::sync::Semaphore::new(STATE_WRITERS)),
            host,
        }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub fn docker(&self) -> &DockerConnector {
        &self.docker
    }

    /// Loads the spec, observes the engine, and stores a plan that `apply` can execute.
    pub async fn plan(&self, req: PlanRequest) -> Result<PlanOutcome, EngineError> {
        let planned = self.plan_inner(req).await?;
        self.store_plan(&planned).await?;
        Ok(planned.outcome)
    }

    async fn plan_inner(&self, req: PlanRequest) -> Result<Planned, EngineError> {
        validate_project_name(&req.project)?;
        if req.target == Target::Swarm {
            let options = self.load_options(&req)?;
            return self.plan_swarm(&req, options).await;
        }
        let (desired, source) = self.load_request(&req)?;
        self.check_engine_binds(&desired).await?;
        let digests = self.digests(&desired).await?;
        let plan_options = PlanOptions {
            remove_orphans: req.remove_orphans,
            remove_volumes: false,
        };
        self.compute_plan(
            desired,
            source,
            digests,
            plan_options,
            PlanPurpose::Converge,
        )
        .await
    }

    /// How the request's spec loads: under the operator's policy, from its project directory. A client's
    /// `project_dir` must lie in the workspace; without one, relative paths resolve from the working directory.
    fn load_options(&self, req: &PlanRequest) -> Result<LoadOptions, EngineError> {
        let project_dir = match req.project_dir.clone() {
            // A client's project_dir must lie in the operator's workspace; the working directory is the
            // operator's own choice.
            Some(dir) => {
                let real = std::fs::canonicalize(&dir)
                    .unwrap_or_else(|_| planner::policy::lexical_normalize(&dir));
                let policy = self.config.policy();
                planner::policy::check_in_workspace(
                    &real,
                    &policy,
                    "project_dir",
                    "the project directory",
                )
                .map_err(SpecErrors::from)?;
                dir
            }
            None => std::env::current_dir().map_err(|e| {
                EngineError::Internal(format!("cannot read the current directory: {e}"))
            })?,
        };
        Ok(LoadOptions {
            project_name: Some(req.project.clone()),
            project_dir,
            profiles: req.profiles.clone(),
            policy: self.config.policy(),
        })
    }

    /// The request's spec, loaded under the operator's policy, and the text it was loaded from.
    fn load_request(&self, req: &PlanRequest) -> Result<(Project, String), EngineError> {
        let options = self.load_options(req)?;
        let (mut desired, source) = match &req.spec {
            SpecSource::Yaml(text) => (
                planner::load::load_yaml(text, &options, &self.host)?,
                text.clone(),
            ),
            SpecSource::Json(value) => (
                planner::load::load_json(value, &options, &self.host)?,
                serde_json::to_string_pretty(value).unwrap_or_default(),
            ),
        };
        // The request names the project; a `name:` in the file never redirects a plan to another project.
        desired.name = req.project.clone();
        Ok((desired, source))
    }

    /// A plan that removes the project's containers and networks, and its volumes when `volumes` is set.
    pub async fn destroy_plan(
        &self,
        project: &str,
        volumes: bool,
    ) -> Result<PlanOutcome, EngineError> {
        let planned = self.destroy_plan_inner(project, volumes).await?;
        self.store_plan(&planned).await?;
        Ok(planned.outcome)
    }

    async fn destroy_plan_inner(
        &self,
        project: &str,
        volumes: bool,
    ) -> Result<Planned, EngineError> {
        validate_project_name(project)?;
        let name = project.to_string();
        let last = self.state(move |s| s.last_applied(&name)).await?;
        if last.as_ref().map(crate::state::ProjectRecord::target) == Some(Target::Swarm) {
            return self.destroy_plan_swarm(project, volumes, last).await;
        }
        let desired = Project {
            name: project.to_string(),
            ..Project::default()
        };
        let options = PlanOptions {
            remove_orphans: true,
            remove_volumes: volumes,
        };
        self.compute_plan(
            desired,
            String::new(),
            ExternalDigests::default(),
            options,
            PlanPurpose::Destroy,
        )
        .await
    }

    /// Computes a plan and stores it, pending, for a later `apply`.
    async fn plan_against(
        &self,
        desired: Project,
        source: String,
        digests: ExternalDigests,
        options: PlanOptions,
        purpose: PlanPurpose,
    ) -> Result<Planned, EngineError> {
        let planned = self
            .compute_plan(desired, source, digests, options, purpose)
            .await?;
        self.store_plan(&planned).await?;
        Ok(planned)
    }

    /// Stores a computed plan as pending, with its history entry.
    async fn store_plan(&self, planned: &Planned) -> Result<(), EngineError> {
        let (plan, history) = (planned.stored.clone(), planned.history.clone());
        self.state_write(move |s| s.save_plan(&plan, &history))
            .await
    }

    /// Computes a plan against the engine and the last apply; nothing is stored yet.
    async fn compute_plan(
        &self,
        desired: Project,
        source: String,
        digests: ExternalDigests,
        options: PlanOptions,
        purpose: PlanPurpose,
    ) -> Result<Planned, EngineError> {
        let destroy = purpose == PlanPurpose::Destroy;
        let project = desired.name.clone();
        let name = project.clone();
        // The engine's answers and the store's open (sled reads its log) overlap instead of adding up; what
        // an import adopted is observed once the record names it.
        let (mut observed, last) = tokio::try_join!(
            self.runtime
                .observe(&project, if destroy { None } else { Some(&desired) }),
            self.state(move |s| s.last_applied(&name)),
        )?;
        swarm::check_target(&project, last.as_ref(), Target::Engine)?;
        let adopted = adopted_of(last.as_ref());
        self.observe_adopted(&project, adopted, &mut observed)
            .await?;
        if destroy && last.is_none() && observed_is_empty(&observed) {
            return Err(EngineError::ProjectNotFound(project));
        }
        let mut plan = planner::diff::plan(
            &desired,
            &observed,
            last.as_ref().map(|r| &r.spec),
            &digests,
            options,
        );
        // A plan without changes has no step that could fail: it needs no host facts (a list of every
        // container on the engine), which keeps the no-op re-apply short.
        if !destroy && plan.has_changes() {
            self.preflight(&mut plan).await?;
        }
        let rendering = planner::render::render(&plan);
        // The plan's warnings already hold the load's: each warning once.
        let mut warnings = plan.warnings.clone();
        warnings.extend(planner::adopt::notes(&observed, adopted));
        // Changes to plan may come from outside the tool: say what the engine saw happen, and when.
        if let Some(record) = last.as_ref().filter(|_| plan.has_changes()) {
            let drift = self.drift_explained(record).await;
            warnings.extend(drift.into_iter().map(|line| format!("drift: {line}")));
        }
        let stored = StoredPlan {
            id: new_plan_id(),
            project: project.clone(),
            spec: desired,
            source,
            rendering: rendering.clone(),
            fingerprint: plan.fingerprint.clone(),
            created_at: now_rfc3339(),
            status: PlanStatus::Pending,
            options,
            destroy,
            digests,
            plan,
            swarm: None,
        };
        let outcome = PlanOutcome {
            plan_id: stored.id.clone(),
            project: project.clone(),
            summary: stored.plan.summary,
            has_changes: stored.plan.has_changes(),
            rendering,
            warnings,
            impact: planner::render::impact_lines(&stored.plan),
        };
        let history = HistoryEntry {
            at: stored.created_at.clone(),
            kind: if destroy {
                HistoryKind::Destroy
            } else {
                HistoryKind::Plan
            },
            plan_id: stored.id.clone(),
            summary: outcome::summary_line(&stored.plan),
        };
        Ok(Planned {
            outcome,
            stored,
            history,
            observed,
            last,
        })
    }

    /// Refuses a plan with a step that would certainly fail on the host as it is (a host port another
    /// container publishes), before anything is stored or created, and warns of the steps that likely would.
    async fn preflight(&self, plan: &mut planner::Plan) -> Result<(), EngineError> {
        let facts = self.runtime.host_facts(plan).await?;
        let refused = planner::preflight::certain_failures(plan, &facts);
        if !refused.is_empty() {
            return Err(SpecErrors(refused).into());
        }
        let likely = planner::preflight::likely_failures(plan, &facts);
        plan.warnings.extend(likely);
        Ok(())
    }

    /// Executes a stored plan after checking that the engine still looks as it did when the plan was made.
    pub async fn apply(
        &self,
        project: &str,
        plan_id: &str,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<ApplyOutcome, EngineError> {
        self.apply_gated(project, plan_id, events, cancel, HealthGate::Started)
            .await
    }

    /// `apply`, with `gate` deciding whether a replaced container must pass its healthcheck.
    async fn apply_gated(
        &self,
        project: &str,
        plan_id: &str,
        events: EventSink,
        cancel: CancellationToken,
        gate: HealthGate,
    ) -> Result<ApplyOutcome, EngineError> {
        self.refuse_read_only("apply")?;
        validate_project_name(project)?;
        // Fail fast on a wrong id instead of queueing for the lock first.
        self.fetch_plan(project, plan_id).await?;
        let _lock = self.lock(project).await?;
        // Read again under the lock: another process may have applied or superseded it while we waited.
        let (p, id) = (project.to_string(), plan_id.to_string());
        let (stored, previous) = self
            .state(move |s| Ok((s.plan(&p, &id)?, s.last_applied(&p)?)))
            .await?;
        let stored = stored.ok_or_else(|| EngineError::PlanNotFound {
            project: project.to_string(),
            plan_id: plan_id.to_string(),
        })?;
        let run = Run {
            events,
            cancel,
            gate,
        };
        self.apply_stored(
            stored,
            previous,
            Observation::Recheck,
            PlanRecord::Stored,
            run,
        )
        .await
    }

    /// Plans and applies under one hold of the project lock, so concurrent `apply -f --auto-approve` runs
    /// queue up and each converges instead of the later one finding its plan stale.
    pub async fn plan_and_apply(
        &self,
        req: PlanRequest,
        on_plan: &(dyn Fn(&PlanOutcome) + Send + Sync),
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(PlanOutcome, ApplyOutcome), EngineError> {
        self.refuse_read_only("apply")?;
        validate_project_name(&req.project)?;
        let project = req.project.clone();
        let _lock = self.lock(&project).await?;
        let planned = self.plan_inner(req).await?;
        self.apply_planned(planned, on_plan, events, cancel).await
    }

    /// Destroy-plans and applies under one hold of the project lock.
    pub async fn destroy_and_apply(
        &self,
        project: &str,
        volumes: bool,
        on_plan: &(dyn Fn(&PlanOutcome) + Send + Sync),
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(PlanOutcome, ApplyOutcome), EngineError> {
        self.refuse_read_only("destroy")?;
        validate_project_name(project)?;
        let _lock = self.lock(project).await?;
        let planned = self.destroy_plan_inner(project, volumes).await?;
        self.apply_planned(planned, on_plan, events, cancel).await
    }

    /// Shows `planned` to `on_plan`, then applies it against the observation it was made from; the caller
    /// holds the project lock.
    async fn apply_planned(
        &self,
        planned: Planned,
        on_plan: &(dyn Fn(&PlanOutcome) + Send + Sync),
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(PlanOutcome, ApplyOutcome), EngineError> {
        on_plan(&planned.outcome);
        // A swarm apply re-observes the swarm and may refuse the plan as stale, which needs it stored.
        let record = if planned.stored.has_changes() || planned.stored.target() == Target::Swarm {
            // Stored before anything runs: the journal and other processes see a pending plan meanwhile.
            self.store_plan(&planned).await?;
            PlanRecord::Stored
        } else {
            // Nothing will run: the plan and its outcome go to the store in one write (one flush).
            PlanRecord::Unsaved(planned.history)
        };
        let applied = self
            .apply_stored(
                planned.stored,
                planned.last,
                Observation::Fresh(planned.observed),
                record,
                Run {
                    events,
                    cancel,
                    gate: HealthGate::Started,
                },
            )
            .await?;
        Ok((planned.outcome, applied))
    }

    /// Runs a plan; the caller holds the project lock. A fresh observation was made under that same hold
    /// (the plan was just computed from it), which makes the staleness check's re-observation unnecessary.
    async fn apply_stored(
        &self,
        stored: StoredPlan,
        previous: Option<crate::state::ProjectRecord>,
        observation: Observation,
        record: PlanRecord,
        run: Run,
    ) -> Result<ApplyOutcome, EngineError> {
        let (project, plan_id) = (stored.project.clone(), stored.id.clone());
        match stored.status {
            PlanStatus::Pending => {}
            PlanStatus::Stale => return Err(EngineError::StalePlan),
            other => {
                return Err(EngineError::PlanNotPending {
                    project,
                    plan_id,
                    status: other.as_str().to_string(),
                })
            }
        }
        // A stored plan is re-checked against today's policy: it may predate a stricter operator setting.
        // Both targets: a swarm plan's spec was loaded under the same policy.
        let refused = planner::policy::project::check_stored(&stored.spec, &self.config.policy());
        if !refused.is_empty() {
            return Err(SpecErrors(refused).into());
        }
        if stored.target() == Target::Swarm {
            return self
                .apply_swarm(stored, previous, run.events, run.cancel)
                .await;
        }
        let values = secrets::resolve(&stored.spec, &self.host, &self.config)?;
        let observed = match observation {
            Observation::Fresh(observed) => observed,
            Observation::Recheck => {
                let observed = self
                    .observe(
                        &project,
                        if stored.destroy {
                            None
                        } else {
                            Some(&stored.spec)
                        },
                        adopted_of(previous.as_ref()),
                    )
                    .await?;
                let mut digests_now = values.digests();
                digests_now.builds = self.build_digests(&stored.spec).await?;
                if planner::hash::fingerprint(&observed) != stored.fingerprint
                    || digests_now != stored.digests
                {
                    return Err(self.refuse_stale(&project, &plan_id).await);
                }
                observed
            }
        };

        let report = if stored.plan.has_changes() {
            let journal = journal::JournalWriter::start(self.store.clone(), &project, &plan_id);
            let request = ExecRequest {
                secrets: values.secrets,
                configs: values.configs,
                cancel: run.cancel,
                events: journal.sink(run.events),
                health_gate: run.gate,
            };
            let report = self.runtime.execute(&stored.plan, request).await;
            journal.finish().await;
            report?
        } else {
            ApplyReport::default()
        };

        let outcome = outcome::assess(&stored, &report);
        let change = outcome::new_record(&stored, &report, &observed, previous, &outcome);
        self.record_apply(&stored, record, report, outcome, change)
            .await
    }

    /// Records how an apply ended, on either target: the plan's status, the project record and a history
    /// entry, in one write, then says so.
    async fn record_apply(
        &self,
        stored: &StoredPlan,
        record: PlanRecord,
        report: ApplyReport,
        assessment: outcome::Assessment,
        change: RecordChange,
    ) -> Result<ApplyOutcome, EngineError> {
        let (project, plan_id) = (stored.project.clone(), stored.id.clone());
        let history = HistoryEntry {
            at: now_rfc3339(),
            kind: if stored.destroy {
                HistoryKind::Destroy
            } else {
                HistoryKind::Apply
            },
            plan_id: plan_id.clone(),
            summary: assessment.message.clone(),
        };
        let (p, id, status) = (project.clone(), plan_id.clone(), assessment.status);
        match record {
            PlanRecord::Stored => {
                self.state_write(move |s| s.finish_plan(&p, &id, status, &change, &history))
                    .await?
            }
            PlanRecord::Unsaved(plan_history) => {
                let plan = stored.clone();
                self.state_write(move |s| {
                    s.save_finished_plan(&plan, &plan_history, status, &change, &history)
                })
                .await?
            }
        }
        Ok(ApplyOutcome {
            project,
            plan_id,
            succeeded: report.succeeded(),
            message: assessment.message,
            report,
        })
    }

    /// Marks the plan stale (its target moved since it was made) and returns the error that says so.
    async fn refuse_stale(&self, project: &str, plan_id: &str) -> EngineError {
        let history = HistoryEntry {
            at: now_rfc3339(),
            kind: HistoryKind::Apply,
            plan_id: plan_id.to_string(),
            summary: "refused: plan is stale".into(),
        };
        let (p, id) = (project.to_string(), plan_id.to_string());
        let written = self
            .state_write(move |s| {
                s.finish_plan(&p, &id, PlanStatus::Stale, &RecordChange::Keep, &history)
            })
            .await;
        match written {
            Ok(()) => EngineError::StalePlan,
            Err(e) => e,
        }
    }

    /// The last-applied spec, the live state of each resource, and drift between them.
    pub async fn status(&self, project: &str) -> Result<ProjectStatus, EngineError> {
        validate_project_name(project)?;
        let name = project.to_string();
        let record = self.state(move |s| s.last_applied(&name)).await?;
        let record = match record {
            Some(r) if r.target() == Target::Swarm => return self.swarm_status(r).await,
            other => other,
        };
        let observed = self
            .observe(
                project,
                record.as_ref().map(|r| &r.spec),
                adopted_of(record.as_ref()),
            )
            .await?;
        if record.is_none() && observed_is_empty(&observed) {
            return Err(EngineError::ProjectNotFound(project.to_string()));
        }
        let (resources, mut drift) = status::assess(record.as_ref(), &observed);
        if let Some(record) = &record {
            drift.extend(self.drift_explained(record).await);
        }
        Ok(ProjectStatus {
            project: project.to_string(),
            target: Target::Engine,
            known: record.is_some(),
            last_applied_yaml: match &record {
                Some(r) => Some(project_to_compose_yaml(&r.spec)?),
                None => None,
            },
            last_applied_at: record.as_ref().map(|r| r.applied_at.clone()),
            last_apply_failure: record.as_ref().and_then(|r| r.failure.clone()),
            resources,
            drift,
        })
    }

    /// The last-applied spec as compose YAML.
    pub async fn export(&self, project: &str) -> Result<String, EngineError> {
        validate_project_name(project)?;
        let name = project.to_string();
        match self.state(move |s| s.last_applied(&name)).await? {
            Some(record) => project_to_compose_yaml(&record.spec),
            None => Err(EngineError::ProjectNotFound(project.to_string())),
        }
    }

    /// The project's plan and apply history, oldest first.
    pub async fn history(&self, project: &str) -> Result<Vec<HistoryEntry>, EngineError> {
        validate_project_name(project)?;
        let name = project.to_string();
        self.state(move |s| s.history(&name)).await
    }

    /// Every step event journaled while applying a plan, in order.
    pub async fn journal(
        &self,
        project: &str,
        plan_id: &str,
    ) -> Result<Vec<crate::state::JournalEntry>, EngineError> {
        validate_project_name(project)?;
        let (p, id) = (project.to_string(), plan_id.to_string());
        self.state(move |s| s.journal(&p, &id)).await
    }

    /// One service spec under the server's policy, for the primitive container tools.
    pub fn load_service(
        &self,
        name: &str,
        spec: &serde_json::Value,
    ) -> Result<ServiceSpec, EngineError> {
        let options = LoadOptions {
            project_name: None,
            project_dir: std::env::current_dir().map_err(|e| {
                EngineError::Internal(format!("cannot read the current directory: {e}"))
            })?,
            profiles: Vec::new(),
            policy: self.config.policy(),
        };
        Ok(planner::load::load_service(
            name, spec, &options, &self.host,
        )?)
    }

    // ---- helpers ----

    fn refuse_read_only(&self, what: &str) -> Result<(), EngineError> {
        if self.config.read_only {
            return Err(EngineError::ReadOnly(what.to_string()));
        }
        Ok(())
    }

    async fn lock(&self, project: &str) -> Result<ProjectLock, EngineError> {
        ProjectLock::acquire(&self.config.state_dir, project, LOCK_PATIENCE)
            .await
            .map_err(|e| EngineError::Busy(e.to_string()))
    }

    /// A stored plan of `project`.
    pub async fn fetch_plan(
        &self,
        project: &str,
        plan_id: &str,
    ) -> Result<StoredPlan, EngineError> {
        validate_project_name(project)?;
        let (p, id) = (project.to_string(), plan_id.to_string());
        self.state(move |s| s.plan(&p, &id))
            .await?
            .ok_or_else(|| EngineError::PlanNotFound {
                project: project.to_string(),
                plan_id: plan_id.to_string(),
            })
    }

    /// What the engine holds for the project: resources with its ownership label, and what an import
    /// adopted into it (`adopted`, from the last-applied record).
    async fn observe(
        &self,
        project: &str,
        desired: Option<&Project>,
        adopted: &[Adopted],
    ) -> Result<ObservedState, EngineError> {
        let mut observed = self.runtime.observe(project, desired).await?;
        self.observe_adopted(project, adopted, &mut observed)
            .await?;
        Ok(observed)
    }

    /// Adds what an import adopted (and still qualifies) to `observed`.
    async fn observe_adopted(
        &self,
        project: &str,
        adopted: &[Adopted],
        observed: &mut ObservedState,
    ) -> Result<(), EngineError> {
        if !adopted.is_empty() {
            let found = self.runtime.observe_adopted(project, adopted).await?;
            planner::adopt::merge(observed, found);
        }
        Ok(())
    }

    /// Digests of everything outside the spec that shapes containers: secret and config values, build inputs.
    async fn digests(&self, project: &Project) -> Result<ExternalDigests, EngineError> {
        let values = secrets::resolve(project, &self.host, &self.config)?;
        let mut digests = values.digests();
        digests.builds = self.build_digests(project).await?;
        Ok(digests)
    }

    async fn build_digests(
        &self,
        project: &Project,
    ) -> Result<std::collections::BTreeMap<String, String>, EngineError> {
        let builds: Vec<(String, planner::model::BuildSpec)> = project
            .services
            .iter()
            .filter_map(|(name, service)| service.build.clone().map(|b| (name.clone(), b)))
            .collect();
        if builds.is_empty() {
            return Ok(Default::default());
        }
        // Hashing a context reads every file in it: keep that off the async workers.
        tokio::task::spawn_blocking(move || {
            builds
                .into_iter()
                .map(|(name, build)| {
                    crate::docker::build_context::context_digest(&build).map(|d| (name, d))
                })
                .collect::<Result<_, _>>()
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(EngineError::from)
    }

    /// Runs a store operation that only reads on the blocking pool (sled may wait for another process), at
    /// most [`STATE_READERS`] at once.
    async fn state<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.state_in(&self.state_read_slots, work).await
    }

    /// Runs a store operation that writes, at most [`STATE_WRITERS`] at once.
    async fn state_write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.state_in(&self.state_write_slots, work).await
    }

    async fn state_in<T: Send + 'static>(
        &self,
        slots: &Arc<tokio::sync::Semaphore>,
        work: impl FnOnce(&Store) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work(&store)
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(EngineError::from)
    }

    /// The state directory in use.
    pub fn state_dir(&self) -> &Path {
        self.store.dir()
    }
}

/// What a plan is computed for: converging on a spec, or removing the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanPurpose {
    Converge,
    Destroy,
}

/// How apply learns the engine's state before it executes a plan.
enum Observation {
    /// Observed under the current hold of the project lock, when the plan was just computed from it.
    Fresh(ObservedState),
    /// The plan was computed earlier: observe again and refuse it if the fingerprint moved.
    Recheck,
}

/// How one apply runs: where its step events go, what cancels it, and its health gate.
struct Run {
    events: EventSink,
    cancel: CancellationToken,
    gate: HealthGate,
}

/// Whether the plan an apply runs is in the store yet.
enum PlanRecord {
    /// Stored (pending) before the apply: finishing it updates that record.
    Stored,
    /// Computed and applied under one lock hold without being stored: finishing it stores it, with the
    /// history entry it was planned with.
    Unsaved(HistoryEntry),
}

/// A plan just computed, with what it was computed from.
struct Planned {
    outcome: PlanOutcome,
    stored: StoredPlan,
    /// The history entry the plan is stored with.
    history: HistoryEntry,
    observed: ObservedState,
    last: Option<crate::state::ProjectRecord>,
}

/// The resources an import adopted, as the last-applied record holds them.
fn adopted_of(record: Option<&crate::state::ProjectRecord>) -> &[Adopted] {
    record.map_or(&[], |r| r.adopted.as_slice())
}

fn observed_is_empty(observed: &ObservedState) -> bool {
    observed.containers.is_empty() && observed.networks.is_empty() && observed.volumes.is_empty()
}

/// Short, unique plan ids: the first 12 hex digits of a random UUID.
fn new_plan_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// The planner's project name rule, applied to a tool's `project` argument.
fn validate_project_name(name: &str) -> Result<(), EngineError> {
    planner::validate::check_project_name_at("project", name)
        .map_err(|error| EngineError::Spec(SpecErrors::from(error)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_compose() {
        assert!(validate_project_name("demo_1-a").is_ok());
        for bad in ["", "Demo", "-x", "a/b", "a b", &"x".repeat(64)] {
            assert!(validate_project_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stale_message_is_exact() {
        assert_eq!(
            EngineError::StalePlan.to_string(),
            "plan is stale: run plan again"
        );
    }

    #[test]
    fn plan_ids_are_short_and_distinct() {
        let (a, b) = (new_plan_id(), new_plan_id());
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
    }
}
