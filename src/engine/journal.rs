//! Journals an apply's step events to the store without slowing the apply down.
//!
//! The store opens sled per operation, which costs milliseconds; writing each event on its own would put that
//! cost on every step. Events go through a channel instead, and a writer task stores whatever has queued up
//! each time it gets the database, so a burst of events becomes one write while the order is kept.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::state::store::now_rfc3339;
use crate::state::{JournalEntry, Store};
use planner::report::{EventSink, StepEvent};

pub struct JournalWriter {
    tx: mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
    plan_id: String,
}

enum Message {
    Entry(JournalEntry),
    /// Store everything queued before this, then stop.
    Finish,
}

impl JournalWriter {
    pub fn start(store: Arc<Store>, project: &str, plan_id: &str) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let project = project.to_string();
        let task = tokio::spawn(async move {
            let mut seq: u64 = 0;
            let mut finished = false;
            while !finished {
                let Some(first) = rx.recv().await else { break };
                let mut batch = Vec::new();
                let mut next = Some(first);
                while let Some(message) = next {
                    match message {
                        Message::Entry(entry) => batch.push(entry),
                        Message::Finish => {
                            finished = true;
                            break;
                        }
                    }
                    next = rx.try_recv().ok();
                }
                if batch.is_empty() {
                    continue;
                }
                let count = batch.len() as u64;
                let (store, project) = (store.clone(), project.clone());
                let first_seq = seq;
                let written = tokio::task::spawn_blocking(move || {
                    store.append_journal(&project, first_seq, &batch)
                })
                .await;
                match written {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "could not journal apply steps"),
                    Err(e) => tracing::warn!(error = %e, "journal writer failed"),
                }
                seq += count;
            }
        });
        JournalWriter {
            tx,
            task,
            plan_id: plan_id.to_string(),
        }
    }

    /// A sink that journals step boundaries and forwards every event to `forward`.
    pub fn sink(&self, forward: EventSink) -> EventSink {
        let tx = self.tx.clone();
        let plan_id = self.plan_id.clone();
        Arc::new(move |event: StepEvent| {
            if !matches!(event, StepEvent::Progress { .. }) {
                let entry = JournalEntry {
                    plan_id: plan_id.clone(),
                    at: now_rfc3339(),
                    event: event.clone(),
                };
                let _ = tx.send(Message::Entry(entry));
            }
            forward(event);
        })
    }

    /// Waits until every event sent so far is stored.
    pub async fn finish(self) {
        let _ = self.tx.send(Message::Finish);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "journal writer stopped early");
        }
    }
}
