//! Cancelling an apply through the engine API (what the CLI's Ctrl-C and MCP cancellation do), against the
//! real engine: the apply stops between steps, the plan and history record it, and the next plan converges.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;

use common::engine::ProjectGuard;
use mcp_docker_server::config::ServerConfig;
use mcp_docker_server::engine::{Engine, EventSink, PlanRequest, SpecSource, StepEvent};
use mcp_docker_server::state::PlanStatus;
use tokio_util::sync::CancellationToken;

const SPEC: &str = r#"
services:
  first:
    image: mcp-docker-test/busybox:latest
    init: true
    command: ["sleep", "3600"]
  second:
    image: mcp-docker-test/busybox:latest
    init: true
    command: ["sleep", "3600"]
    depends_on: [first]
  third:
    image: mcp-docker-test/busybox:latest
    init: true
    command: ["sleep", "3600"]
    depends_on: [second]
"#;

fn request(project: &str) -> PlanRequest {
    PlanRequest {
        target: planner::swarm::Target::Engine,
        project: project.to_string(),
        spec: SpecSource::Yaml(SPEC.to_string()),
        project_dir: Some(std::env::temp_dir()),
        remove_orphans: false,
        profiles: vec![],
    }
}

fn quiet() -> EventSink {
    Arc::new(|_| {})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_apply_is_recorded_and_the_next_plan_converges() {
    let state = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::with_state_dir(state.path().to_path_buf());
    config.workspace_roots = vec![std::env::temp_dir()];
    let engine = Engine::new(config);
    let project = common::unique("cli-cancel-");
    let _cleanup = ProjectGuard::new(&project);

    async {
        let planned = engine.plan(request(&project)).await.unwrap();
        assert!(planned.has_changes);

        // Cancel as soon as the first step finishes: later waves must not run.
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let fired = Arc::new(AtomicBool::new(false));
        let seen = fired.clone();
        let events: EventSink = Arc::new(move |event| {
            if matches!(event, StepEvent::Done { .. }) && !seen.swap(true, Ordering::SeqCst) {
                trigger.cancel();
            }
        });
        let applied = engine
            .apply(&project, &planned.plan_id, events, cancel)
            .await
            .unwrap();
        assert!(!applied.succeeded);
        assert!(applied.report.cancelled, "{:?}", applied.report);
        assert!(!applied.report.skipped.is_empty(), "{:?}", applied.report);
        assert!(applied.message.contains("cancelled"), "{}", applied.message);
        let stored = engine.fetch_plan(&project, &planned.plan_id).await.unwrap();
        assert_eq!(stored.status, PlanStatus::Cancelled);
        let history = engine.history(&project).await.unwrap();
        assert!(
            history.last().unwrap().summary.contains("cancelled"),
            "{history:?}"
        );
        let journal = engine.journal(&project, &planned.plan_id).await.unwrap();
        assert!(
            journal
                .iter()
                .any(|j| matches!(j.event, StepEvent::Skipped { .. })),
            "{journal:?}"
        );

        // The cancelled plan cannot be applied again; a new plan finishes the job.
        assert!(engine
            .apply(
                &project,
                &planned.plan_id,
                quiet(),
                CancellationToken::new()
            )
            .await
            .is_err());
        let rest = engine.plan(request(&project)).await.unwrap();
        assert!(rest.has_changes);
        let done = engine
            .apply(&project, &rest.plan_id, quiet(), CancellationToken::new())
            .await
            .unwrap();
        assert!(done.succeeded, "{}", done.message);
        let again = engine.plan(request(&project)).await.unwrap();
        assert!(!again.has_changes, "{}", again.rendering);
        let status = engine.status(&project).await.unwrap();
        assert!(status.drift.is_empty(), "{:?}", status.drift);
        assert_eq!(
            status
                .resources
                .iter()
                .filter(|r| r.kind == "container")
                .count(),
            3
        );
    }
    .await;

    let (_, destroyed) = engine
        .destroy_and_apply(&project, true, &|_| {}, quiet(), CancellationToken::new())
        .await
        .unwrap();
    assert!(destroyed.succeeded, "{}", destroyed.message);
}
