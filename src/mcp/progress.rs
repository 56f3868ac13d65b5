//! MCP progress notifications for long tools (pull, push, build, apply), sent only when the client asked.
//!
//! A request opts in by carrying `_meta.progressToken`. Docker streams and apply's step events arrive from
//! synchronous callbacks, so notifications go through a channel to one task that sends them in order; the
//! progress value only ever grows, as the spec requires. Work that runs as an MCP task also puts each message
//! in the task's status line, which `tasks/get` shows.

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::task_manager::TaskContext;
use rmcp::{Peer, RoleServer};
use tokio::sync::mpsc;

/// Sends progress for one request; a no-op when the request carried no progress token.
#[derive(Clone)]
pub struct Progress {
    sender: Option<mpsc::UnboundedSender<Report>>,
    task: Option<TaskContext>,
}

/// One notification: `value` is absolute when the caller measures progress itself, else one more than the last.
struct Report {
    value: Option<f64>,
    total: Option<f64>,
    message: String,
}

impl Progress {
    /// Starts the sender task when the request has a progress token.
    pub fn for_request(context: &RequestContext<RoleServer>) -> Self {
        match context.meta.get_progress_token() {
            Some(token) => Progress {
                sender: Some(spawn_sender(context.peer.clone(), token)),
                task: None,
            },
            None => Progress {
                sender: None,
                task: None,
            },
        }
    }

    /// Also shows each message as the status line of `task`.
    pub fn with_task(self, task: TaskContext) -> Self {
        Progress {
            task: Some(task),
            ..self
        }
    }

    /// Reports one more step; `total` is the number of steps when known.
    pub fn step(&self, total: Option<f64>, message: impl Into<String>) {
        let message = message.into();
        if let Some(task) = &self.task {
            task.set_status_message(message.clone());
        }
        if let Some(sender) = &self.sender {
            // The receiver lives as long as the request; a closed channel only means the client went away.
            let _ = sender.send(Report {
                value: None,
                total,
                message,
            });
        }
    }

    /// Reports progress measured by the caller (`value` of `total`, both known before the first step).
    pub fn at(&self, value: f64, total: f64, message: impl Into<String>) {
        let message = message.into();
        if let Some(task) = &self.task {
            // The meter moves halfway into a step when it starts; the status counts whole steps only.
            let done = value.floor() as u64;
            task.set_status_message(format!("{done} of {} steps done: {message}", total as u64));
        }
        if let Some(sender) = &self.sender {
            let _ = sender.send(Report {
                value: Some(value),
                total: Some(total),
                message,
            });
        }
    }

    pub fn enabled(&self) -> bool {
        self.sender.is_some() || self.task.is_some()
    }
}

fn spawn_sender(peer: Peer<RoleServer>, token: ProgressToken) -> mpsc::UnboundedSender<Report> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<Report>();
    tokio::spawn(async move {
        let mut count = 0.0_f64;
        while let Some(report) = receiver.recv().await {
            let value = report.value.unwrap_or(count + 1.0);
            if value <= count {
                continue;
            }
            count = value;
            let mut param =
                ProgressNotificationParam::new(token.clone(), count).with_message(report.message);
            if let Some(total) = report.total {
                param = param.with_total(total.max(count));
            }
            if let Err(err) = peer.notify_progress(param).await {
                tracing::debug!(%err, "progress notification not delivered");
                break;
            }
        }
    });
    sender
}
