//! The swarm target on the engine's side: plan, destroy-plan and apply of a project whose services run on
//! the swarm manager the operator named (`--swarm-host`), beside the engine target's containers.
//!
//! The decisions are `planner::swarm`'s and the engine calls `docker::swarm*`'s; this module loads, observes,
//! stores and records, as `engine.rs` does for containers. A project keeps its target: planning it onto the
//! other one is refused with the way to move it.

use std::collections::BTreeMap;

use planner::load::{LoadOptions, Resolved};
use planner::observed::ObservedState;
use planner::plan::{ExternalDigests, Op, Plan, PlanOptions, ResourceKind};
use planner::swarm::plan::{self as swarm_plan, ObservedSwarm, SwarmPlan};
use planner::swarm::Target;
use tokio_util::sync::CancellationToken;

use super::{
    outcome, secrets, ApplyOutcome, Engine, EngineError, EventSink, PlanOutcome, PlanPurpose,
    PlanRecord, PlanRequest, Planned, SpecSource,
};
use crate::docker::swarm::{swarm_role, SwarmRole};
use crate::docker::swarm_execute::{self, SwarmExecOptions};
use crate::docker::{swarm_project, DockerClient};
use crate::state::store::now_rfc3339;
use crate::state::{
    ApplyFailure, HistoryEntry, HistoryKind, PlanStatus, ProjectRecord, RecordChange, StoredPlan,
    SwarmApplied,
};

/// Why a swarm plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error(
        "project {project:?} runs on target {recorded:?}, not {asked:?} (fix: destroy it, then plan it with \
         target {asked:?}; or plan with target {recorded:?})"
    )]
    TargetMismatch {
        project: String,
        recorded: &'static str,
        asked: &'static str,
    },
    #[error(
        "target swarm: the engine at {host} is {role}, not a swarm manager (fix: the operator points \
         --swarm-host or MCP_DOCKER_SWARM_HOST at a manager node; or plan with target \"engine\")"
    )]
    NotManager { host: String, role: &'static str },
}

/// Refuses to plan `project` onto `asked` when its record says it runs on the other target.
pub(super) fn check_target(
    project: &str,
    record: Option<&ProjectRecord>,
    asked: Target,
) -> Result<(), EngineError> {
    match record.map(ProjectRecord::target) {
        Some(recorded) if recorded != asked => Err(SwarmError::TargetMismatch {
            project: project.to_string(),
            recorded: recorded.as_str(),
            asked: asked.as_str(),
        }
        .into()),
        _ => Ok(()),
    }
}

impl Engine {
    /// The swarm manager, refusing an engine that is not one.
    pub(super) async fn swarm_manager(&self) -> Result<DockerClient, EngineError> {
        let client = self.swarm.client().await?;
        let role = match swarm_role(&client).await {
            Ok(role) => role,
            Err(e) => return Err(self.swarm.note_error(e).await.into()),
        };
        let role = match role {
            SwarmRole::Manager => return Ok(client),
            SwarmRole::Worker => "a worker",
            SwarmRole::NotInSwarm => "not in a swarm",
        };
        Err(SwarmError::NotManager {
            host: self.swarm.host_description(),
            role,
        }
        .into())
    }

    async fn observe_swarm(
        &self,
        client: &DockerClient,
        project: &str,
    ) -> Result<ObservedSwarm, EngineError> {
        match swarm_project::observe(client, project).await {
            Ok(observed) => Ok(observed),
            Err(e) => Err(self.swarm.note_error(e).await.into()),
        }
    }

    /// Loads the spec with its swarm-only keys, observes the manager and stores a swarm plan.
    pub(super) async fn plan_swarm(
        &self,
        req: &PlanRequest,
        options: LoadOptions,
    ) -> Result<Planned, EngineError> {
        let (resolved, source) = match &req.spec {
            SpecSource::Yaml(text) => (
                planner::load::load_yaml_resolved(text, &options, &self.host)?,
                text.clone(),
            ),
            SpecSource::Json(value) => (
                planner::load::load_json_resolved(value, &options, &self.host)?,
                serde_json::to_string_pretty(value).unwrap_or_default(),
            ),
        };
        let Resolved {
            project: mut desired,
            document,
        } = resolved;
        desired.name = req.project.clone();
        let name = req.project.clone();
        let last = self.state(move |s| s.last_applied(&name)).await?;
        check_target(&req.project, last.as_ref(), Target::Swarm)?;
        let values = secrets::resolve(&desired, &self.host, &self.config)?;
        let digests = self.swarm_digests(&desired, &values).await?;
        let registry = self.config.swarm_registry.as_deref();
        let wanted = planner::swarm::desired::desired(&desired, &document, &digests, registry)?;
        let client = self.swarm_manager().await?;
        let observed = self.observe_swarm(&client, &req.project).await?;
        self.refuse_port_clashes(&client, &req.project, &wanted.services)
            .await?;
        let applied = applied_services(last.as_ref());
        let plan = swarm_plan::plan(&wanted, &observed, &applied);
        let draft = Draft {
            spec: desired,
            source,
            digests,
            options: PlanOptions {
                remove_orphans: req.remove_orphans,
                remove_volumes: false,
            },
            purpose: PlanPurpose::Converge,
        };
        self.store_swarm_plan(draft, plan, &observed, last).await
    }

    /// The secrets', configs' and, when the operator named a registry, build inputs' content digests (a
    /// build is tagged with its digest, so a changed context is a changed spec; without a registry
    /// `build:` is refused by name before any context is read).
    async fn swarm_digests(
        &self,
        project: &planner::model::Project,
        values: &secrets::Resolved,
    ) -> Result<ExternalDigests, EngineError> {
        let mut digests = values.digests();
        if self.config.swarm_registry.is_some() {
            digests.builds = self.build_digests(project).await?;
        }
        Ok(digests)
    }

    /// Refuses a plan publishing a port another stack's service holds (which clash is certain depends on
    /// the publish modes: `planner::swarm::preflight`).
    async fn refuse_port_clashes(
        &self,
        client: &DockerClient,
        project: &str,
        services: &[planner::swarm::spec::ServiceSpec],
    ) -> Result<(), EngineError> {
        let others = swarm_project::ports_published_elsewhere(client, project).await;
        let others = match others {
            Ok(others) => others,
            Err(e) => return Err(self.swarm.note_error(e).await.into()),
        };
        let clashes = planner::swarm::preflight::port_clashes(services, &others);
        if clashes.is_empty() {
            Ok(())
        } else {
            Err(planner::SpecErrors(clashes).into())
        }
    }

    /// A rollback on a swarm: the earlier apply's spec text planned again (the swarm-only keys live only in
    /// the text), with today's secret values.
    pub(super) async fn rollback_plan_swarm(
        &self,
        earlier: StoredPlan,
    ) -> Result<PlanOutcome, EngineError> {
        let request = PlanRequest {
            project: earlier.project,
            spec: SpecSource::Yaml(earlier.source),
            project_dir: None,
            remove_orphans: true,
            profiles: Vec::new(),
            target: Target::Swarm,
        };
        self.plan(request).await
    }

    /// A plan that removes every service, network, secret and config of the project from the swarm.
    pub(super) async fn destroy_plan_swarm(
        &self,
        project: &str,
        volumes: bool,
        last: Option<ProjectRecord>,
    ) -> Result<Planned, EngineError> {
        let client = self.swarm_manager().await?;
        let observed = self.observe_swarm(&client, project).await?;
        let mut plan = swarm_plan::destroy(&observed);
        if volumes {
            plan.warnings.push(
                "volumes stay on the nodes that ran the tasks: remove them there (docker volume rm)"
                    .into(),
            );
        }
        let draft = Draft {
            spec: planner::model::Project {
                name: project.to_string(),
                ..Default::default()
            },
            source: String::new(),
            digests: ExternalDigests::default(),
            options: PlanOptions {
                remove_orphans: true,
                remove_volumes: volumes,
            },
            purpose: PlanPurpose::Destroy,
        };
        self.store_swarm_plan(draft, plan, &observed, last).await
    }

    async fn store_swarm_plan(
        &self,
        draft: Draft,
        plan: SwarmPlan,
        observed: &ObservedSwarm,
        last: Option<ProjectRecord>,
    ) -> Result<Planned, EngineError> {
        let project = draft.spec.name.clone();
        let destroy = draft.purpose == PlanPurpose::Destroy;
        let rendering = swarm_plan::render(&plan);
        let fingerprint = observed.fingerprint();
        let summary = plan.summary();
        let stored = StoredPlan {
            id: super::new_plan_id(),
            project: project.clone(),
            spec: draft.spec,
            source: draft.source,
            rendering: rendering.clone(),
            fingerprint: fingerprint.clone(),
            created_at: now_rfc3339(),
            status: PlanStatus::Pending,
            options: draft.options,
            destroy,
            digests: draft.digests,
            plan: Plan {
                project: project.clone(),
                actions: Vec::new(),
                waves: Vec::new(),
                fingerprint,
                summary,
                warnings: plan.warnings.clone(),
                orphans: Vec::new(),
                kept_volumes: Vec::new(),
            },
            swarm: Some(plan),
        };
        let has_changes = stored.has_changes();
        let outcome = PlanOutcome {
            plan_id: stored.id.clone(),
            project,
            summary,
            has_changes,
            rendering,
            warnings: stored.plan.warnings.clone(),
            // A swarm service changes by rolling update under its update_config: the rendering names each.
            impact: Vec::new(),
        };
        let history = HistoryEntry {
            at: stored.created_at.clone(),
            kind: if destroy {
                HistoryKind::Destroy
            } else {
                HistoryKind::Plan
            },
            plan_id: stored.id.clone(),
            summary: outcome::summary_text(summary, has_changes),
        };
        Ok(Planned {
            outcome,
            stored,
            history,
            observed: ObservedState::default(),
            last,
        })
    }

    /// Applies a stored swarm plan after checking that the swarm still looks as it did at plan time; the
    /// caller holds the project lock.
    pub(super) async fn apply_swarm(
        &self,
        stored: StoredPlan,
        previous: Option<ProjectRecord>,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<ApplyOutcome, EngineError> {
        let plan = stored.swarm.clone().unwrap_or_default();
        let (project, plan_id) = (stored.project.clone(), stored.id.clone());
        let client = self.swarm_manager().await?;
        let values = secrets::resolve(&stored.spec, &self.host, &self.config)?;
        let observed = self.observe_swarm(&client, &project).await?;
        let digests = self.swarm_digests(&stored.spec, &values).await?;
        if observed.fingerprint() != stored.fingerprint || digests != stored.digests {
            return Err(self.refuse_stale(&project, &plan_id).await);
        }
        let report = if plan.has_changes() {
            let journal =
                super::journal::JournalWriter::start(self.store.clone(), &project, &plan_id);
            let options = SwarmExecOptions {
                project: project.clone(),
                secrets: values.secrets,
                configs: values.configs,
                converge_timeout: self.config.dependency_timeout,
                cancel,
                events: journal.sink(events),
            };
            let report = swarm_execute::execute(&client, &plan, &options).await;
            journal.finish().await;
            report
        } else {
            Default::default()
        };
        let assessment = outcome::assess(&stored, &report);
        let change = swarm_record(&stored, &plan, &report, previous, &assessment);
        // A swarm plan is always stored before its apply (see `apply_planned`).
        self.record_apply(&stored, PlanRecord::Stored, report, assessment, change)
            .await
    }
}

/// What a swarm plan is made from besides the plan itself.
struct Draft {
    spec: planner::model::Project,
    source: String,
    digests: ExternalDigests,
    options: PlanOptions,
    purpose: PlanPurpose,
}

/// The services the last apply left, by Swarm name.
pub(super) fn applied_services(
    record: Option<&ProjectRecord>,
) -> BTreeMap<String, planner::swarm::spec::ServiceSpec> {
    let services = record.and_then(|r| r.swarm.as_ref()).map(|s| &s.services);
    services.cloned().unwrap_or_default()
}

/// After a partial apply: the previous record's services, with each service step that finished applied.
fn services_as_applied(
    plan: &SwarmPlan,
    report: &planner::report::ApplyReport,
    previous: Option<&ProjectRecord>,
) -> BTreeMap<String, planner::swarm::spec::ServiceSpec> {
    let mut services = applied_services(previous);
    let wanted: BTreeMap<&str, &planner::swarm::spec::ServiceSpec> =
        plan.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let finished = report
        .done
        .iter()
        .filter(|s| s.resource.kind == ResourceKind::Service);
    for step in finished {
        let name = step.resource.name.as_str();
        match (step.op, wanted.get(name)) {
            (Op::Delete, _) => {
                services.remove(name);
            }
            (_, Some(spec)) => {
                services.insert(name.to_string(), (*spec).clone());
            }
            _ => {}
        }
    }
    services
}

/// The record after a swarm apply: the services as they now are (a failed step keeps the service's previous
/// spec), or none after a destroy that succeeded.
fn swarm_record(
    stored: &StoredPlan,
    plan: &SwarmPlan,
    report: &planner::report::ApplyReport,
    previous: Option<ProjectRecord>,
    assessment: &outcome::Assessment,
) -> RecordChange {
    let succeeded = assessment.status == PlanStatus::Applied;
    if succeeded && stored.destroy {
        return RecordChange::Remove;
    }
    let services = if succeeded {
        let all = plan.services.iter();
        all.map(|s| (s.name.clone(), s.clone())).collect()
    } else {
        services_as_applied(plan, report, previous.as_ref())
    };
    let applied_at = now_rfc3339();
    let failure = (!succeeded).then(|| ApplyFailure {
        at: applied_at.clone(),
        plan_id: stored.id.clone(),
        steps: report.failed.iter().map(outcome::failed_step).collect(),
    });
    let spec = match (&previous, succeeded) {
        (Some(p), false) => p.spec.clone(),
        _ => stored.spec.clone(),
    };
    RecordChange::Write(Box::new(ProjectRecord {
        project: stored.project.clone(),
        spec,
        source: stored.source.clone(),
        applied_at,
        plan_id: stored.id.clone(),
        complete: succeeded,
        resources: Vec::new(),
        failure,
        adopted: Vec::new(),
        swarm: Some(SwarmApplied { services }),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use planner::plan::{ResourceRef, Summary};
    use planner::report::{ApplyReport, StepOutcome};
    use planner::swarm::diff::{ServiceChange, ServicePlan};
    use planner::swarm::plan::ServiceStep;
    use planner::swarm::spec::{ContainerSpec, ServiceMode, ServiceSpec};

    use super::*;

    fn service(name: &str, image: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            labels: Default::default(),
            container: ContainerSpec {
                image: image.into(),
                ..ContainerSpec::default()
            },
            resources: Default::default(),
            restart: Default::default(),
            placement: Default::default(),
            mode: ServiceMode::Replicated { replicas: 1 },
            update: None,
            rollback: None,
            endpoint: Default::default(),
            networks: Vec::new(),
        }
    }

    fn record(services: &[ServiceSpec]) -> ProjectRecord {
        ProjectRecord {
            project: "shop".into(),
            spec: planner::model::Project::default(),
            source: String::new(),
            applied_at: "then".into(),
            plan_id: "p0".into(),
            complete: true,
            resources: Vec::new(),
            failure: None,
            adopted: Vec::new(),
            swarm: Some(SwarmApplied {
                services: services
                    .iter()
                    .map(|s| (s.name.clone(), s.clone()))
                    .collect(),
            }),
        }
    }

    fn stored(plan: SwarmPlan) -> StoredPlan {
        StoredPlan {
            id: "p1".into(),
            project: "shop".into(),
            spec: planner::model::Project::default(),
            source: String::new(),
            rendering: String::new(),
            fingerprint: String::new(),
            created_at: String::new(),
            status: PlanStatus::Pending,
            options: PlanOptions::default(),
            destroy: false,
            digests: ExternalDigests::default(),
            plan: Plan {
                project: "shop".into(),
                actions: Vec::new(),
                waves: Vec::new(),
                fingerprint: String::new(),
                summary: Summary::default(),
                warnings: Vec::new(),
                orphans: Vec::new(),
                kept_volumes: Vec::new(),
            },
            swarm: Some(plan),
        }
    }

    fn step(name: &str, change: ServiceChange, spec: &ServiceSpec) -> ServiceStep {
        ServiceStep {
            plan: ServicePlan {
                name: name.into(),
                change,
                seen_version: Some(1),
            },
            spec: Some(spec.clone()),
        }
    }

    fn done(name: &str, op: Op) -> StepOutcome {
        StepOutcome {
            action_id: 0,
            resource: ResourceRef {
                kind: ResourceKind::Service,
                name: name.into(),
                key: name.into(),
                number: None,
            },
            op,
            message: "converged".into(),
            engine_id: None,
        }
    }

    #[test]
    fn a_project_keeps_its_target() {
        let swarm = record(&[]);
        let mut engine = record(&[]);
        engine.swarm = None;
        assert!(check_target("shop", None, Target::Swarm).is_ok());
        assert!(check_target("shop", Some(&swarm), Target::Swarm).is_ok());
        let refused = check_target("shop", Some(&engine), Target::Swarm).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "project \"shop\" runs on target \"engine\", not \"swarm\" (fix: destroy it, then plan it with \
             target \"swarm\"; or plan with target \"engine\")"
        );
        assert!(check_target("shop", Some(&swarm), Target::Engine).is_err());
    }

    #[test]
    fn a_partial_apply_records_only_the_services_whose_steps_finished() {
        let (api_old, web_old) = (service("shop_api", "api:1"), service("shop_web", "web:1"));
        let (api_new, web_new) = (service("shop_api", "api:2"), service("shop_web", "web:2"));
        let update = ServiceChange::RollingUpdate {
            fields: vec!["container.image".into()],
            parallelism: 1,
        };
        let plan = SwarmPlan {
            waves: vec![vec![
                step("shop_api", update.clone(), &api_new),
                step("shop_web", update, &web_new),
            ]],
            services: vec![api_new.clone(), web_new.clone()],
            ..SwarmPlan::default()
        };
        let report = ApplyReport {
            done: vec![done("shop_api", Op::UpdateInPlace)],
            failed: vec![StepOutcome {
                message: "the update failed and the engine rolled it back".into(),
                ..done("shop_web", Op::UpdateInPlace)
            }],
            ..ApplyReport::default()
        };
        let stored = stored(plan.clone());
        let assessment = outcome::assess(&stored, &report);
        let previous = record(&[api_old, web_old.clone()]);
        let RecordChange::Write(written) =
            swarm_record(&stored, &plan, &report, Some(previous), &assessment)
        else {
            panic!("a failed apply writes a record");
        };
        let services = &written.swarm.as_ref().unwrap().services;
        assert_eq!(services["shop_api"], api_new);
        assert_eq!(
            services["shop_web"], web_old,
            "the failed update keeps the old spec"
        );
        assert!(!written.complete);
        assert!(written
            .failure
            .unwrap()
            .describe()
            .contains("rolled it back"));
    }
}
