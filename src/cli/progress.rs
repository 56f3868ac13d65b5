//! Apply progress on stderr: a spinner per running step on a terminal, plain lines otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use planner::plan::{Op, ResourceRef};

use crate::engine::{EventSink, StepEvent};

fn verb(op: Op) -> (&'static str, &'static str) {
    match op {
        Op::Create => ("creating", "created"),
        Op::UpdateInPlace => ("updating", "updated"),
        Op::Replace => ("replacing", "replaced"),
        Op::Start => ("starting", "started"),
        Op::Restart => ("restarting", "restarted"),
        Op::Delete => ("deleting", "deleted"),
        Op::NoOp => ("checking", "kept"),
        Op::Pull => ("pulling", "pulled"),
        Op::Build => ("building", "built"),
    }
}

fn what(resource: &ResourceRef) -> String {
    format!("{} {}", resource.kind.as_str(), resource.name)
}

/// A sink that shows each step's life on stderr.
pub fn sink() -> EventSink {
    if std::io::stderr().is_terminal() {
        spinners()
    } else {
        lines()
    }
}

fn lines() -> EventSink {
    let started: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    Arc::new(move |event| {
        let mut started = started.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            StepEvent::Started {
                action_id,
                resource,
                op,
            } => {
                started.insert(action_id, Instant::now());
                eprintln!("  {} {}...", verb(op).0, what(&resource));
            }
            StepEvent::Progress { .. } => {}
            StepEvent::Done {
                action_id,
                resource,
                op,
                ..
            } => {
                let secs = started
                    .remove(&action_id)
                    .map(|t| t.elapsed().as_secs_f64())
                    .unwrap_or(0.0);
                eprintln!("  {} {} ({secs:.1}s)", verb(op).1, what(&resource));
            }
            StepEvent::Failed {
                resource,
                op,
                error,
                ..
            } => {
                eprintln!("  FAILED {} {}: {error}", verb(op).0, what(&resource));
            }
            StepEvent::Skipped {
                resource,
                op,
                reason,
                ..
            } => {
                eprintln!("  skipped {} {}: {reason}", verb(op).0, what(&resource));
            }
        }
    })
}

fn spinners() -> EventSink {
    let multi = MultiProgress::new();
    let bars: Arc<Mutex<HashMap<usize, (ProgressBar, String)>>> = Arc::default();
    let style = ProgressStyle::with_template("  {spinner} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    Arc::new(move |event| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            StepEvent::Started {
                action_id,
                resource,
                op,
            } => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                let label = format!("{} {}", verb(op).0, what(&resource));
                bar.set_message(label.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(action_id, (bar, label));
            }
            StepEvent::Progress { action_id, message } => {
                if let Some((bar, label)) = bars.get(&action_id) {
                    bar.set_message(format!("{label}: {message}"));
                }
            }
            StepEvent::Done {
                action_id,
                resource,
                op,
                ..
            } => {
                if let Some((bar, _)) = bars.remove(&action_id) {
                    let secs = bar.elapsed().as_secs_f64();
                    bar.finish_and_clear();
                    let _ = multi.println(format!(
                        "  ✓ {} {} ({secs:.1}s)",
                        verb(op).1,
                        what(&resource)
                    ));
                }
            }
            StepEvent::Failed {
                action_id,
                resource,
                op,
                error,
            } => {
                if let Some((bar, _)) = bars.remove(&action_id) {
                    bar.finish_and_clear();
                }
                let _ = multi.println(format!("  ✗ {} {}: {error}", verb(op).0, what(&resource)));
            }
            StepEvent::Skipped {
                action_id,
                resource,
                op,
                reason,
            } => {
                if let Some((bar, _)) = bars.remove(&action_id) {
                    bar.finish_and_clear();
                }
                let _ = multi.println(format!(
                    "  - skipped {} {}: {reason}",
                    verb(op).0,
                    what(&resource)
                ));
            }
        }
    })
}
