//! MCP tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663) for the long tools: `apply`,
//! `build_image` and `pull_image`. When a request declares the extension, the tool answers at once with a
//! task; the client polls `tasks/get` for its status (the latest progress line) and its result, and
//! `tasks/cancel` stops the work: an apply between steps, a pull or build by closing its engine stream.
//! Without the extension the tools hold the request open as before, and so they do when `MAX_TASKS` tasks
//! are kept: a client that fills the tasks (quick failing pulls, say) cannot stop the long tools serving.
//!
//! rmcp's `TaskManager` keeps the tasks. Its TTL aborts a task that runs too long; the work itself runs in
//! a task of its own, so such an abort never drops an apply between two halves of a step. `tasks/get`
//! passes through `redaction` like any tool reply.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, CreateTaskResult, DetailedTask, ErrorData};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskContext, TaskExit, TaskManager, TaskOptions};
use rmcp::RoleServer;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::output::{Json, Reply, ToolError};
use super::progress::Progress;

/// How long a task may run before the manager gives up on it, and how long a finished one stays readable.
const TASK_TTL: Duration = Duration::from_secs(3600);
/// How often a client should poll `tasks/get`.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Most tasks kept at once (running, or finished and still readable); beyond it the work runs in its request.
const MAX_TASKS: usize = 64;

/// Whether this request declared the tasks extension, so a long tool may answer with a task.
fn negotiated(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .is_some_and(|c| c.supports_tasks())
}

/// The tasks of this process, shared by every session.
#[derive(Clone, Default)]
pub struct Tasks {
    manager: TaskManager,
    /// When each kept task started, oldest first: the bound on how many the manager holds.
    started: Arc<Mutex<VecDeque<Instant>>>,
}

/// Room for one more task, taken by [`Tasks::admit`]; [`Tasks::start`] needs it.
#[derive(Debug)]
pub struct Admission(());

/// How a task's work ended.
#[derive(Debug)]
enum Ending {
    /// Its result, success or tool error, is the task's result.
    Finished(CallToolResult),
    /// Cancelled before it completed; the message says what ran and what did not.
    Cancelled(String),
}

impl Tasks {
    /// Room for one task when this request declared the tasks extension and fewer than `MAX_TASKS` are
    /// kept; `None` otherwise, and the tool does its work within the request.
    fn admit(&self, context: &RequestContext<RoleServer>) -> Option<Admission> {
        if !negotiated(context) {
            return None;
        }
        if !self.take_room() {
            tracing::warn!(
                "{MAX_TASKS} tasks are kept; this call runs within its request instead of as a task"
            );
            return None;
        }
        Some(Admission(()))
    }

    /// Starts `work` as a task. `work` gets `progress` (which now also sets the task's status line) and
    /// the token that `tasks/cancel` fires.
    fn start<T, W, F>(&self, _room: Admission, progress: Progress, work: W) -> CreateTaskResult
    where
        T: Serialize + schemars::JsonSchema + Send + 'static,
        W: FnOnce(Progress, CancellationToken) -> F,
        F: Future<Output = Result<Json<T>, ToolError>> + Send + 'static,
    {
        let options = TaskOptions::new()
            .with_ttl_ms(millis(TASK_TTL))
            .with_poll_interval_ms(millis(POLL_INTERVAL))
            .with_status_message("started");
        let task = self.manager.spawn(options, move |task| {
            let cancel = CancellationToken::new();
            let work = work(progress.with_task(task.clone()), cancel.clone());
            Box::pin(async move {
                let watcher = tokio::spawn(cancel_on_request(task.clone(), cancel.clone()));
                let result = tokio::spawn(work).await;
                watcher.abort();
                settle(&task, result, cancel.is_cancelled())
            })
        });
        CreateTaskResult::new(task)
    }

    /// Runs `work` as a task when the client declared tasks and there is room, else inside the request,
    /// cancelled with it: the one place a long tool chooses between the two.
    pub async fn run<T, W, F>(
        &self,
        context: &RequestContext<RoleServer>,
        progress: Progress,
        work: W,
    ) -> Result<Reply<T>, ToolError>
    where
        T: Serialize + schemars::JsonSchema + Send + 'static,
        W: FnOnce(Progress, CancellationToken) -> F,
        F: Future<Output = Result<Json<T>, ToolError>> + Send + 'static,
    {
        if let Some(room) = self.admit(context) {
            return Ok(Reply::Task(self.start(room, progress, work)));
        }
        let done = work(progress, context.ct.clone()).await?;
        Ok(Reply::Done(done))
    }

    /// `tasks/get`.
    pub fn get(&self, task_id: &str) -> Result<DetailedTask, ErrorData> {
        self.manager.get_task(task_id)
    }

    /// `tasks/cancel`: the work stops at its next safe point.
    pub fn cancel(&self, task_id: &str) -> Result<(), ErrorData> {
        self.manager.cancel_task(task_id)
    }

    /// `tasks/update`: these tools never ask for input inside a task, so answers are accepted and unused.
    pub fn update(
        &self,
        task_id: &str,
        answers: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Result<(), ErrorData> {
        self.manager.update_task(task_id, answers)
    }

    /// Takes room for one more task; false when `MAX_TASKS` are kept.
    fn take_room(&self) -> bool {
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        // A task is kept at most one TTL running and one more TTL finished.
        while started
            .front()
            .is_some_and(|at| at.elapsed() >= TASK_TTL * 2)
        {
            started.pop_front();
        }
        if started.len() >= MAX_TASKS {
            return false;
        }
        started.push_back(Instant::now());
        true
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

async fn cancel_on_request(task: TaskContext, cancel: CancellationToken) {
    task.cancelled().await;
    cancel.cancel();
}

/// The task's terminal state from the work's result.
fn settle<T: Serialize + schemars::JsonSchema + 'static>(
    task: &TaskContext,
    result: Result<Result<Json<T>, ToolError>, tokio::task::JoinError>,
    cancel_requested: bool,
) -> Result<CallToolResult, TaskExit> {
    let result = result.map_err(|e| {
        TaskExit::Error(ErrorData::internal_error(
            format!("the task's work stopped unexpectedly: {e}"),
            None,
        ))
    })?;
    match ending(result, cancel_requested)? {
        Ending::Finished(result) => Ok(result),
        Ending::Cancelled(message) => {
            task.set_status_message(message);
            Err(TaskExit::Cancelled)
        }
    }
}

/// A cancel that came before the work succeeded ends the task cancelled, with the work's own account.
fn ending<T: Serialize + schemars::JsonSchema + 'static>(
    result: Result<Json<T>, ToolError>,
    cancel_requested: bool,
) -> Result<Ending, ErrorData> {
    let succeeded = result.as_ref().is_ok_and(Json::succeeded);
    if cancel_requested && !succeeded {
        let message = match &result {
            Ok(report) => report.text.clone(),
            Err(error) => error.0.clone(),
        };
        return Ok(Ending::Cancelled(message));
    }
    match result.into_call_tool_result()? {
        CallToolResponse::Complete(result) => Ok(Ending::Finished(result)),
        _ => Err(ErrorData::internal_error(
            "a task's work answered with neither a result nor an error",
            None,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_before_success_ends_cancelled_with_the_works_account() {
        let failed: Result<Json<u8>, ToolError> = Ok(Json::failure(1, "2 steps cancelled"));
        match ending(failed, true).unwrap() {
            Ending::Cancelled(message) => assert_eq!(message, "2 steps cancelled"),
            other => panic!("{other:?}"),
        }
        let errored: Result<Json<u8>, ToolError> = Err(ToolError("pull cancelled".into()));
        assert!(matches!(
            ending(errored, true).unwrap(),
            Ending::Cancelled(_)
        ));
    }

    #[test]
    fn a_success_or_an_uncancelled_failure_is_the_result() {
        let done: Result<Json<u8>, ToolError> = Ok(Json::new(1, "done"));
        match ending(done, true).unwrap() {
            Ending::Finished(result) => assert_ne!(result.is_error, Some(true)),
            other => panic!("{other:?}"),
        }
        let failed: Result<Json<u8>, ToolError> = Err(ToolError("no such image".into()));
        match ending(failed, false).unwrap() {
            Ending::Finished(result) => assert_eq!(result.is_error, Some(true)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kept_tasks_are_bounded() {
        let tasks = Tasks::default();
        for _ in 0..MAX_TASKS {
            assert!(tasks.take_room());
        }
        assert!(!tasks.take_room(), "a full store takes no more");
    }
}
