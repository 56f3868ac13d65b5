//! Executes a `planner::Plan` against the engine: waves in order, actions of a wave in parallel under a bound.
//!
//! A failed step does not stop the apply: everything that (transitively) depends on it is skipped with a
//! reason naming the failure, and independent steps still run, so one report shows all that happened.
//! Cancellation is honoured between steps; the step in flight finishes (or its dependency wait ends).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use planner::plan::{Action, Op, ResourceRef};
use planner::Plan;

use super::client::DockerClient;
use super::steps::run_action;

/// Secret and config contents by name, resolved by the engine layer; never logged or returned.
pub type SecretValues = BTreeMap<String, Vec<u8>>;

pub use super::wait::HealthGate;
pub use planner::report::{ApplyReport, EventSink, StepEvent, StepOutcome};

pub struct ExecOptions {
    /// The engine's address as the connector describes it (`unix:///var/run/docker.sock`), named in errors
    /// when the engine stops answering mid-apply.
    pub engine_host: String,
    /// Most actions running at once inside one wave.
    pub concurrency: usize,
    /// How long to wait for a `depends_on` condition.
    pub dependency_timeout: Duration,
    /// Values for `{secret: NAME}` env references and compose secrets/configs.
    pub secrets: SecretValues,
    pub configs: SecretValues,
    /// Checked between steps: once cancelled, remaining steps are skipped with reason "cancelled".
    pub cancel: tokio_util::sync::CancellationToken,
    pub events: EventSink,
    /// Whether a replaced container must pass its healthcheck before its step counts as done.
    pub health_gate: HealthGate,
}

/// Why an action did not run: the step that failed first along its dependencies, or cancellation.
#[derive(Debug, Clone)]
enum Blocked {
    Failed(String),
    Cancelled,
}

/// Runs `plan` against the engine and reports every step; never fails as a whole.
pub async fn execute_plan(client: &DockerClient, plan: &Plan, opts: &ExecOptions) -> ApplyReport {
    let mut report = ApplyReport::default();
    let actions: HashMap<usize, &Action> = plan.actions.iter().map(|a| (a.id, a)).collect();
    let mut blocked: HashMap<usize, Blocked> = HashMap::new();
    for wave in &plan.waves {
        let mut runnable = Vec::new();
        for id in wave {
            let Some(action) = actions.get(id).copied() else {
                continue;
            };
            if action.op == Op::NoOp {
                continue;
            }
            let cause = if opts.cancel.is_cancelled() {
                Some(Blocked::Cancelled)
            } else {
                action
                    .depends_on
                    .iter()
                    .find_map(|dep| blocked.get(dep).cloned())
            };
            match cause {
                Some(cause) => {
                    skip(&mut report, opts, action, &cause);
                    blocked.insert(action.id, cause);
                }
                None => runnable.push(action),
            }
        }
        // Steps take their action by value: a closure over `&Action` inside the stream combinators keeps
        // rustc from proving the apply future `Send`, and it must be to run as a server task.
        let steps = runnable.into_iter().cloned().map(|action| async move {
            let result = run_step(client, &action, opts).await;
            (action, result)
        });
        let results: Vec<(Action, StepResult)> = stream::iter(steps)
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        for (action, result) in results {
            let action = &action;
            match result {
                StepResult::Done(engine_id) => report.done.push(StepOutcome {
                    action_id: action.id,
                    resource: action.resource.clone(),
                    op: action.op,
                    message: format!("{} {}", op_verb(action.op), action.resource.name),
                    engine_id,
                }),
                StepResult::Failed(error) => {
                    report.failed.push(StepOutcome {
                        action_id: action.id,
                        resource: action.resource.clone(),
                        op: action.op,
                        message: error,
                        engine_id: None,
                    });
                    blocked.insert(action.id, Blocked::Failed(describe(action)));
                }
                StepResult::Cancelled => {
                    skip(&mut report, opts, action, &Blocked::Cancelled);
                    blocked.insert(action.id, Blocked::Cancelled);
                }
            }
        }
    }
    report.done.sort_by_key(|s| s.action_id);
    report.failed.sort_by_key(|s| s.action_id);
    report.skipped.sort_by_key(|s| s.action_id);
    report
}

enum StepResult {
    Done(Option<String>),
    Failed(String),
    Cancelled,
}

async fn run_step(client: &DockerClient, action: &Action, opts: &ExecOptions) -> StepResult {
    // Wave members queue behind the concurrency bound; a cancel while queued still counts.
    if opts.cancel.is_cancelled() {
        return StepResult::Cancelled;
    }
    tracing::debug!(action = action.id, op = ?action.op, resource = %action.resource.name, "apply step started");
    (opts.events)(StepEvent::Started {
        action_id: action.id,
        resource: action.resource.clone(),
        op: action.op,
    });
    let events = opts.events.clone();
    let action_id = action.id;
    let progress = move |message: String| (events)(StepEvent::Progress { action_id, message });
    match run_action(client, action, opts, &progress).await {
        Ok(engine_id) => {
            (opts.events)(StepEvent::Done {
                action_id: action.id,
                resource: action.resource.clone(),
                op: action.op,
                engine_id: engine_id.clone(),
            });
            StepResult::Done(engine_id)
        }
        Err(_) if opts.cancel.is_cancelled() => StepResult::Cancelled,
        Err(err) => {
            let error = err.to_string();
            tracing::warn!(action = action.id, resource = %action.resource.name, %error, "apply step failed");
            (opts.events)(StepEvent::Failed {
                action_id: action.id,
                resource: action.resource.clone(),
                op: action.op,
                error: error.clone(),
            });
            StepResult::Failed(error)
        }
    }
}

fn skip(report: &mut ApplyReport, opts: &ExecOptions, action: &Action, cause: &Blocked) {
    let reason = match cause {
        Blocked::Cancelled => {
            report.cancelled = true;
            "cancelled".to_string()
        }
        Blocked::Failed(step) => format!("skipped because {step} failed"),
    };
    (opts.events)(StepEvent::Skipped {
        action_id: action.id,
        resource: action.resource.clone(),
        op: action.op,
        reason: reason.clone(),
    });
    report.skipped.push(StepOutcome {
        action_id: action.id,
        resource: action.resource.clone(),
        op: action.op,
        message: reason,
        engine_id: None,
    });
}

/// `step #3 (create container demo-db-1)`.
fn describe(action: &Action) -> String {
    format!(
        "step #{} ({})",
        action.id,
        step_label(&action.resource, action.op)
    )
}

/// `create container demo-web-1`: what a step does, in the words people use (reports, progress, errors).
pub fn step_label(resource: &ResourceRef, op: Op) -> String {
    format!(
        "{} {} {}",
        op_verb(op),
        resource.kind.as_str(),
        resource.name
    )
}

/// The verb people use for `op`.
pub fn op_verb(op: Op) -> &'static str {
    match op {
        Op::Create => "create",
        Op::UpdateInPlace => "update",
        Op::Replace => "replace",
        Op::Start => "start",
        Op::Restart => "restart",
        Op::Delete => "delete",
        Op::NoOp => "keep",
        Op::Pull => "pull",
        Op::Build => "build",
    }
}
