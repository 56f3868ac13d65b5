//! Engine-free tests of plan/apply logic: staleness, the apply lock and records, against a scripted runtime.
//!
//! The real-engine tests in `tests/` cover the same paths end to end; these pin the engine's own decisions and
//! run in milliseconds.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use planner::model::Protocol;
use planner::observed::{ContainerState, ObservedContainer, ObservedState};
use planner::plan::{Op, ResourceKind};
use planner::preflight::{HostFacts, PublishedPort};
use planner::report::{ApplyReport, StepOutcome};
use planner::{Plan, Project};
use tokio_util::sync::CancellationToken;

use super::runtime::{ExecRequest, Runtime};
use super::{Engine, EngineError, PlanRequest, SpecSource};
use crate::config::ServerConfig;
use crate::docker::DockerConnector;
use crate::state::PlanStatus;

/// A runtime that reports a scripted world and records how it was asked to execute.
#[derive(Default)]
struct ScriptedRuntime {
    observed: Mutex<ObservedState>,
    host: Mutex<HostFacts>,
    /// Fail every step instead of doing it.
    fail_steps: Mutex<bool>,
    executions: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Runtime for ScriptedRuntime {
    fn observe<'a>(
        &'a self,
        _project: &'a str,
        _desired: Option<&'a Project>,
    ) -> BoxFuture<'a, Result<ObservedState, EngineError>> {
        let observed = self.observed.lock().unwrap().clone();
        Box::pin(async move { Ok(observed) })
    }

    fn host_facts<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, Result<HostFacts, EngineError>> {
        let facts = self.host.lock().unwrap().clone();
        Box::pin(async move { Ok(facts) })
    }

    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        _request: ExecRequest,
    ) -> BoxFuture<'a, Result<ApplyReport, EngineError>> {
        Box::pin(async move {
            self.executions.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(self.report(plan))
        })
    }
}

impl ScriptedRuntime {
    fn report(&self, plan: &Plan) -> ApplyReport {
        let steps = plan
            .actions
            .iter()
            .filter(|a| a.op != Op::NoOp)
            .map(|a| StepOutcome {
                action_id: a.id,
                resource: a.resource.clone(),
                op: a.op,
                message: "scripted".into(),
                engine_id: Some(format!("id-{}", a.id)),
            })
            .collect();
        if *self.fail_steps.lock().unwrap() {
            ApplyReport {
                failed: steps,
                ..ApplyReport::default()
            }
        } else {
            ApplyReport {
                done: steps,
                ..ApplyReport::default()
            }
        }
    }

    /// Something appears under the project's label behind the plan's back.
    fn add_container(&self, name: &str) {
        self.observed
            .lock()
            .unwrap()
            .containers
            .push(ObservedContainer {
                id: format!("id-{name}"),
                name: name.into(),
                service: "other".into(),
                number: 1,
                config_hash: None,
                state: ContainerState::Running,
                health: None,
                image: "busybox".into(),
                restart: Default::default(),
                resources: Default::default(),
                labels: Default::default(),
            });
    }
}

fn engine(dir: &tempfile::TempDir) -> (Arc<Engine>, Arc<ScriptedRuntime>) {
    let runtime = Arc::new(ScriptedRuntime::default());
    let mut config = ServerConfig::with_state_dir(dir.path().to_path_buf());
    // The specs' project directory is the temp dir: make it the workspace, as an operator would.
    config.workspace_roots = vec![std::env::temp_dir()];
    // Never contacted: the scripted runtime stands in for every engine call these tests make.
    let docker = DockerConnector::from_env(Some("tcp://127.0.0.1:1".into()));
    let engine = Engine::with_runtime(config, docker, runtime.clone());
    (Arc::new(engine), runtime)
}

fn request(project: &str, image: &str) -> PlanRequest {
    PlanRequest {
        target: planner::swarm::Target::Engine,
        project: project.into(),
        spec: SpecSource::Yaml(format!("services:\n  web:\n    image: {image}\n")),
        project_dir: None,
        remove_orphans: false,
        profiles: Vec::new(),
    }
}

fn no_events() -> super::EventSink {
    Arc::new(|_| {})
}

async fn status_of(engine: &Engine, project: &str, plan_id: &str) -> PlanStatus {
    engine.fetch_plan(project, plan_id).await.unwrap().status
}

#[tokio::test]
async fn applying_records_the_project_and_supersedes_other_plans() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    let first = engine.plan(request("seam", "busybox:1")).await.unwrap();
    let second = engine.plan(request("seam", "busybox:2")).await.unwrap();
    let applied = engine
        .apply(
            "seam",
            &first.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(applied.succeeded, "{}", applied.message);
    assert_eq!(runtime.executions.load(Ordering::SeqCst), 1);
    assert_eq!(
        status_of(&engine, "seam", &first.plan_id).await,
        PlanStatus::Applied
    );
    assert_eq!(
        status_of(&engine, "seam", &second.plan_id).await,
        PlanStatus::Stale
    );
    let late = engine
        .apply(
            "seam",
            &second.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(late, EngineError::StalePlan), "{late}");
    let record = engine.store.last_applied("seam").unwrap().unwrap();
    assert!(record.complete);
    assert!(record
        .resources
        .iter()
        .any(|r| r.kind == ResourceKind::Container && r.name == "seam-web-1"));
}

#[tokio::test]
async fn a_plan_whose_world_moved_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    let planned = engine.plan(request("moved", "busybox")).await.unwrap();
    runtime.add_container("moved-other-1");
    let err = engine
        .apply(
            "moved",
            &planned.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StalePlan), "{err}");
    assert_eq!(runtime.executions.load(Ordering::SeqCst), 0);
    assert_eq!(
        status_of(&engine, "moved", &planned.plan_id).await,
        PlanStatus::Stale
    );
    assert!(engine.store.last_applied("moved").unwrap().is_none());
}

#[tokio::test]
async fn applies_of_one_project_run_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    let on_plan = |_: &super::PlanOutcome| {};
    let runs = (0..3).map(|_| {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .plan_and_apply(
                    request("locked", "busybox"),
                    &on_plan,
                    no_events(),
                    CancellationToken::new(),
                )
                .await
                .map(|(_, applied)| applied.succeeded)
        })
    });
    for run in futures_util::future::join_all(runs).await {
        assert!(run.unwrap().unwrap());
    }
    assert_eq!(runtime.executions.load(Ordering::SeqCst), 3);
    assert_eq!(runtime.most_in_flight.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_apply_records_what_its_steps_did_and_why_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    let first = engine.plan(request("partial", "busybox:1")).await.unwrap();
    engine
        .apply(
            "partial",
            &first.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let before = engine.store.last_applied("partial").unwrap().unwrap();
    *runtime.fail_steps.lock().unwrap() = true;
    let second = engine.plan(request("partial", "busybox:2")).await.unwrap();
    let applied = engine
        .apply(
            "partial",
            &second.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(!applied.succeeded);
    assert_eq!(
        status_of(&engine, "partial", &second.plan_id).await,
        PlanStatus::Failed
    );
    let record = engine.store.last_applied("partial").unwrap().unwrap();
    assert!(!record.complete);
    // The failed replace did not happen: the service is recorded as it was, and the failure is kept.
    assert_eq!(record.spec.services["web"], before.spec.services["web"]);
    let failure = record.failure.unwrap();
    assert_eq!(failure.plan_id, second.plan_id);
    assert!(
        failure.steps.iter().any(|s| s.error == "scripted"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn a_failed_create_of_a_new_service_is_not_recorded_as_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    *runtime.fail_steps.lock().unwrap() = true;
    let planned = engine.plan(request("fresh", "busybox")).await.unwrap();
    let applied = engine
        .apply(
            "fresh",
            &planned.plan_id,
            no_events(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(!applied.succeeded);
    let record = engine.store.last_applied("fresh").unwrap().unwrap();
    assert!(record.spec.services.is_empty(), "{:?}", record.spec);
    assert!(record.failure.is_some());
}

#[tokio::test]
async fn a_host_port_another_container_publishes_refuses_the_plan_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, runtime) = engine(&dir);
    runtime.host.lock().unwrap().published.push(PublishedPort {
        container: "someone-else-1".into(),
        project: None,
        host_ip: Some("0.0.0.0".into()),
        port: 18080,
        protocol: Protocol::Tcp,
    });
    let mut request = request("ported", "busybox");
    request.spec = SpecSource::Yaml(
        "services:\n  web:\n    image: busybox\n    ports: [\"18080:80\"]\n".into(),
    );
    let err = engine.plan(request).await.unwrap_err().to_string();
    assert!(err.contains("services.web.ports[0]"), "{err}");
    assert!(err.contains("`someone-else-1`"), "{err}");
    assert!(engine.store.last_applied("ported").unwrap().is_none());
}
