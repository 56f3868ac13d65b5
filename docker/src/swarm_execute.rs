//! Executes a `planner::swarm::plan::SwarmPlan` on a manager: images built on the manager, pushed to the
//! operator's registry and pinned by the pushed digest first (each service spec sent names its image
//! `repository:tag@sha256:…`, so every node runs the same image); networks, secrets and configs next, then the
//! services wave by wave (`depends_on` order, which Swarm itself ignores), each wave converged before the
//! next, then removals: services, the secrets and configs no service uses any more (the old side of a
//! rotation), and networks.
//!
//! A failed step skips every later service wave and removal (they may depend on it) and says why; a rolled
//! back or paused update reports the engine's message and the tasks' errors. Cancellation is honoured
//! between steps.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use planner::plan::{Op, ResourceKind, ResourceRef};
use planner::report::{ApplyReport, EventSink, StepEvent, StepOutcome};
use planner::swarm::build::{self as swarm_build, SwarmBuild};
use planner::swarm::diff::ServiceChange;
use planner::swarm::plan::{ServiceStep, SwarmPlan};
use planner::swarm::spec::{FileObjectSpec, ServiceSpec};
use tokio_util::sync::CancellationToken;

use crate::execute::SecretValues;
use crate::swarm::{self, ServiceHandle};
use crate::swarm_project::{self, ObjectKind};
use crate::swarm_spec::ObjectIds;
use crate::swarm_wait::{poll_services, timed_out, Convergence, POLL};
use crate::{images, DockerClient, DockerError};

pub struct SwarmExecOptions {
    pub project: String,
    /// Secret and config contents by compose key; never logged or returned.
    pub secrets: SecretValues,
    pub configs: SecretValues,
    /// How long one service may take to converge.
    pub converge_timeout: Duration,
    pub cancel: CancellationToken,
    pub events: EventSink,
}

/// Runs `plan` and reports every step; never fails as a whole.
pub async fn execute(
    client: &DockerClient,
    plan: &SwarmPlan,
    opts: &SwarmExecOptions,
) -> ApplyReport {
    let mut run = Run {
        client,
        opts,
        report: ApplyReport::default(),
        next_id: 0,
        blocked: None,
        pins: BTreeMap::new(),
    };
    run.build_images(&plan.builds).await;
    for network in &plan.create_networks {
        let step = run.step(
            ResourceKind::Network,
            &network.name,
            &network.name,
            Op::Create,
        );
        if let Some(step) = step {
            let created = swarm::create_network(client, network).await;
            run.finish(step, created.map(|id| format!("created {id}")));
        }
    }
    run.create_files(ResourceKind::Secret, &plan.create_secrets, &opts.secrets)
        .await;
    run.create_files(ResourceKind::Config, &plan.create_configs, &opts.configs)
        .await;
    for wave in &plan.waves {
        run.service_wave(wave).await;
    }
    for removal in &plan.remove_services {
        let name = &removal.plan.name;
        if let Some(step) = run.step(ResourceKind::Service, name, name, Op::Delete) {
            let removed = swarm::remove_service(client, name).await;
            run.finish(step, removed.map(|()| "removed".into()));
        }
    }
    for name in &plan.remove_secrets {
        if let Some(step) = run.step(ResourceKind::Secret, name, name, Op::Delete) {
            let removed = swarm::remove_secret(client, name).await;
            run.finish(step, removed.map(|()| "removed".into()));
        }
    }
    for name in &plan.remove_configs {
        if let Some(step) = run.step(ResourceKind::Config, name, name, Op::Delete) {
            let removed = swarm::remove_config(client, name).await;
            run.finish(step, removed.map(|()| "removed".into()));
        }
    }
    for name in &plan.remove_networks {
        if let Some(step) = run.step(ResourceKind::Network, name, name, Op::Delete) {
            let removed = swarm_project::remove_network_when_free(client, name).await;
            run.finish(step, removed.map(|()| "removed".into()));
        }
    }
    run.report
}

/// One step under way: its id, what it is about and what it does.
struct Step {
    id: usize,
    resource: ResourceRef,
    op: Op,
}

/// Why the remaining steps do not run.
#[derive(Debug, Clone)]
enum Blocked {
    Failed(String),
    Cancelled,
}

struct Run<'a> {
    client: &'a DockerClient,
    opts: &'a SwarmExecOptions,
    report: ApplyReport,
    next_id: usize,
    blocked: Option<Blocked>,
    /// The pinned image (`repository:tag@sha256:…`) of each service built in this run, by Swarm name.
    pins: BTreeMap<String, String>,
}

impl Run<'_> {
    /// Starts a step, or records it as skipped when an earlier step failed or the apply was cancelled.
    fn step(&mut self, kind: ResourceKind, name: &str, key: &str, op: Op) -> Option<Step> {
        let step = Step {
            id: self.next_id,
            resource: ResourceRef {
                kind,
                name: name.to_string(),
                key: key.to_string(),
                number: None,
            },
            op,
        };
        self.next_id += 1;
        if self.blocked.is_none() && self.opts.cancel.is_cancelled() {
            self.blocked = Some(Blocked::Cancelled);
        }
        if let Some(blocked) = self.blocked.clone() {
            self.skip(step, &blocked);
            return None;
        }
        (self.opts.events)(StepEvent::Started {
            action_id: step.id,
            resource: step.resource.clone(),
            op,
        });
        Some(step)
    }

    fn skip(&mut self, step: Step, blocked: &Blocked) {
        let reason = match blocked {
            Blocked::Cancelled => {
                self.report.cancelled = true;
                "cancelled".to_string()
            }
            Blocked::Failed(what) => format!("an earlier step failed: {what}"),
        };
        (self.opts.events)(StepEvent::Skipped {
            action_id: step.id,
            resource: step.resource.clone(),
            op: step.op,
            reason: reason.clone(),
        });
        self.report.skipped.push(outcome(step, reason, None));
    }

    fn finish(&mut self, step: Step, result: Result<String, DockerError>) {
        self.finish_with(step, result.map_err(|e| e.to_string()));
    }

    fn finish_with(&mut self, step: Step, result: Result<String, String>) {
        match result {
            Ok(message) => {
                (self.opts.events)(StepEvent::Done {
                    action_id: step.id,
                    resource: step.resource.clone(),
                    op: step.op,
                    engine_id: None,
                });
                self.report.done.push(outcome(step, message, None));
            }
            Err(error) => {
                let label = format!("{} {}", step.resource.kind.as_str(), step.resource.name);
                self.blocked = Some(Blocked::Failed(label));
                (self.opts.events)(StepEvent::Failed {
                    action_id: step.id,
                    resource: step.resource.clone(),
                    op: step.op,
                    error: error.clone(),
                });
                self.report.failed.push(outcome(step, error, None));
            }
        }
    }

    /// Builds each image on the manager, pushes it and remembers the pinned reference for its service.
    async fn build_images(&mut self, builds: &[SwarmBuild]) {
        for build in builds {
            let reference = build.reference();
            let Some(step) = self.step(ResourceKind::Image, &reference, &build.key, Op::Build)
            else {
                continue;
            };
            match self.build_and_push(step.id, build).await {
                Ok(pinned) => {
                    let message = format!("built, pushed and pinned {pinned}");
                    self.pins.insert(build.service.clone(), pinned);
                    self.finish(step, Ok(message));
                }
                Err(e) => self.finish(step, Err(e)),
            }
        }
    }

    /// The build and push of one image, each engine line a progress event; returns the pinned reference.
    async fn build_and_push(
        &self,
        action_id: usize,
        build: &SwarmBuild,
    ) -> Result<String, DockerError> {
        let events = &self.opts.events;
        let progress = |message: String| events(StepEvent::Progress { action_id, message });
        let reference = build.reference();
        images::build_image(self.client, &reference, &build.build, &progress).await?;
        let digest =
            images::push_for_digest(self.client, &build.repository, &build.tag, &progress).await?;
        Ok(swarm_build::pinned(&reference, &digest))
    }

    /// The spec as sent: a service built in this run names its image pinned by the pushed digest. The spec
    /// hash label stays the plan's, which names the content digest's tag.
    fn pinned<'s>(&self, spec: &'s ServiceSpec) -> Cow<'s, ServiceSpec> {
        match self.pins.get(&spec.name) {
            Some(pinned) => {
                let mut sent = spec.clone();
                sent.container.image = pinned.clone();
                Cow::Owned(sent)
            }
            None => Cow::Borrowed(spec),
        }
    }

    async fn create_files(
        &mut self,
        kind: ResourceKind,
        specs: &[FileObjectSpec],
        values: &SecretValues,
    ) {
        for spec in specs {
            let Some(step) = self.step(kind, &spec.name, &spec.key, Op::Create) else {
                continue;
            };
            let Some(content) = values.get(&spec.key) else {
                let missing = DockerError::MissingSecret {
                    kind: kind.as_str().into(),
                    name: spec.key.clone(),
                };
                self.finish(step, Err(missing));
                continue;
            };
            let created = match kind {
                ResourceKind::Config => swarm::create_config(self.client, spec, content).await,
                _ => swarm::create_secret(self.client, spec, content).await,
            };
            self.finish(step, created.map(|id| format!("created {id}")));
        }
    }

    /// Sends every service change of the wave at once (the manager schedules the tasks, so the local
    /// engine's `--concurrency` bound does not apply: a wave is bounded by the spec's service count), then
    /// waits until each has converged.
    async fn service_wave(&mut self, wave: &[ServiceStep]) {
        let ids = match self.object_ids().await {
            Ok(ids) => ids,
            Err(e) => {
                self.blocked = Some(Blocked::Failed(format!("listing secrets: {e}")));
                ObjectIds::new()
            }
        };
        let mut started = Vec::new();
        for service in wave {
            let op = op_of(&service.plan.change);
            let name = &service.plan.name;
            if let Some(step) = self.step(ResourceKind::Service, name, name, op) {
                started.push((step, service));
            }
        }
        let sent = join_all(started.iter().map(|(_, s)| self.send(s, &ids))).await;
        let mut sent_ok = Vec::new();
        for ((step, service), result) in started.into_iter().zip(sent) {
            match result {
                Ok(()) => sent_ok.push((step, service)),
                Err(e) => self.finish_with(step, Err(e)),
            }
        }
        for (step, _) in &sent_ok {
            (self.opts.events)(StepEvent::Progress {
                action_id: step.id,
                message: format!("service {}: waiting until it converges", step.resource.name),
            });
        }
        let pending = sent_ok
            .into_iter()
            .map(|(step, s)| (step, s.plan.name.clone()));
        self.converge_wave(pending.collect()).await;
    }

    /// Waits until every service of the wave converges, reporting each as soon as it does; one poll of
    /// the manager covers the whole wave.
    async fn converge_wave(&mut self, mut pending: Vec<(Step, String)>) {
        let deadline = tokio::time::Instant::now() + self.opts.converge_timeout;
        while !pending.is_empty() {
            let names: Vec<String> = pending.iter().map(|(_, n)| n.clone()).collect();
            let mut found = match poll_services(self.client, &names).await {
                Ok(found) => found,
                Err(e) => return self.fail_all(pending, &e.to_string()),
            };
            let mut waiting = Vec::new();
            for (step, name) in pending {
                match found.remove(&name).flatten() {
                    Some(ended) => self.finish_with(step, outcome_of(ended)),
                    None => waiting.push((step, name)),
                }
            }
            pending = waiting;
            if pending.is_empty() {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                for (step, name) in pending {
                    let timeout = self.opts.converge_timeout;
                    let error = timed_out(self.client, &name, timeout).await;
                    self.finish_with(step, Err(error.to_string()));
                }
                return;
            }
            tokio::select! {
                () = self.opts.cancel.cancelled() => {
                    return self.fail_all(pending, "cancelled while waiting for convergence");
                }
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    fn fail_all(&mut self, steps: Vec<(Step, String)>, error: &str) {
        for (step, _) in steps {
            self.finish_with(step, Err(error.to_string()));
        }
    }

    async fn object_ids(&self) -> Result<ObjectIds, DockerError> {
        let project = &self.opts.project;
        let mut ids = swarm_project::object_ids(self.client, project, ObjectKind::Secret).await?;
        ids.extend(swarm_project::object_ids(self.client, project, ObjectKind::Config).await?);
        Ok(ids)
    }

    /// Creates the service, or updates it at the version the plan saw (the engine refuses another).
    async fn send(&self, step: &ServiceStep, ids: &ObjectIds) -> Result<(), String> {
        let Some(spec) = &step.spec else {
            return Err("the plan holds no spec for this service".into());
        };
        let spec = &*self.pinned(spec);
        if step.plan.change == ServiceChange::Create {
            let created = swarm::create_service(self.client, spec, ids).await;
            return created.map(|_| ()).map_err(|e| e.to_string());
        }
        let handle = swarm::service_handle(self.client, &spec.name).await;
        let handle = handle.map_err(|e| e.to_string())?;
        let Some(handle) = handle else {
            return Err("the service was removed since the plan (run plan again)".into());
        };
        let seen = ServiceHandle {
            id: handle.id,
            version: step.plan.seen_version.unwrap_or(handle.version),
        };
        let updated = swarm::update_service(self.client, spec, ids, &seen).await;
        updated.map_err(|e| format!("{e} (the service changed since the plan: run plan again)"))
    }
}

/// How a wait ended, as a step result: an update the engine rolled back or paused is an error with its
/// message and the tasks' errors.
fn outcome_of(ended: Convergence) -> Result<String, String> {
    match ended {
        Convergence::Converged => Ok("converged".into()),
        Convergence::Cancelled => Err("cancelled while waiting for convergence".into()),
        Convergence::RolledBack {
            message,
            task_errors,
        } => Err(format!(
            "the update failed and the engine rolled it back ({message}); task errors: {}",
            joined(&task_errors)
        )),
        Convergence::Paused {
            message,
            task_errors,
        } => Err(format!(
            "the engine paused the update ({message}); task errors: {}",
            joined(&task_errors)
        )),
    }
}

fn joined(errors: &[String]) -> String {
    if errors.is_empty() {
        "none".into()
    } else {
        errors.join("; ")
    }
}

fn op_of(change: &ServiceChange) -> Op {
    match change {
        ServiceChange::Create => Op::Create,
        ServiceChange::RollingUpdate { .. } | ServiceChange::Scale { .. } => Op::UpdateInPlace,
        ServiceChange::Remove => Op::Delete,
    }
}

fn outcome(step: Step, message: String, engine_id: Option<String>) -> StepOutcome {
    StepOutcome {
        action_id: step.id,
        resource: step.resource,
        op: step.op,
        message,
        engine_id,
    }
}
