//! Apply progress as a number that only grows toward a total known before the first step.
//!
//! Each step of the plan counts one unit, reached when it ends (done, failed or skipped). A step starting
//! or reporting within itself moves the value halfway to the next unit, so every event moves it forward
//! without ever passing the total (MCP requires progress to increase with each notification).

use planner::plan::{Op, Plan};
use planner::report::StepEvent;

/// Progress over one apply.
#[derive(Debug, Clone)]
pub struct StepMeter {
    total: usize,
    finished: usize,
    value: f64,
}

impl StepMeter {
    /// A meter over the plan's steps (every action but the no-ops).
    pub fn for_plan(plan: &Plan) -> Self {
        let total = plan.actions.iter().filter(|a| a.op != Op::NoOp).count();
        StepMeter {
            total,
            finished: 0,
            value: 0.0,
        }
    }

    /// A meter over a stored plan's steps, on either target.
    pub fn for_stored(stored: &crate::state::StoredPlan) -> Self {
        match &stored.swarm {
            Some(swarm) => StepMeter {
                total: swarm.step_count(),
                finished: 0,
                value: 0.0,
            },
            None => Self::for_plan(&stored.plan),
        }
    }

    /// The total, in steps.
    pub fn total(&self) -> f64 {
        self.total as f64
    }

    /// The progress after `event`, or `None` when it cannot move forward any more.
    pub fn advance(&mut self, event: &StepEvent) -> Option<f64> {
        let next = match event {
            StepEvent::Done { .. } | StepEvent::Failed { .. } | StepEvent::Skipped { .. } => {
                self.finished = (self.finished + 1).min(self.total);
                self.finished as f64
            }
            StepEvent::Started { .. } | StepEvent::Progress { .. } => {
                let ceiling = (self.finished + 1).min(self.total) as f64;
                self.value + (ceiling - self.value) / 2.0
            }
        };
        if next > self.value {
            self.value = next;
            Some(next)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::plan::{ResourceKind, ResourceRef};

    fn resource() -> ResourceRef {
        ResourceRef {
            kind: ResourceKind::Container,
            name: "demo-web-1".into(),
            key: "web".into(),
            number: Some(1),
        }
    }

    fn meter(total: usize) -> StepMeter {
        StepMeter {
            total,
            finished: 0,
            value: 0.0,
        }
    }

    #[test]
    fn progress_grows_with_every_event_and_never_passes_the_total() {
        let mut meter = meter(2);
        let started = StepEvent::Started {
            action_id: 0,
            resource: resource(),
            op: Op::Create,
        };
        let inner = StepEvent::Progress {
            action_id: 0,
            message: "pulling".into(),
        };
        let done = StepEvent::Done {
            action_id: 0,
            resource: resource(),
            op: Op::Create,
            engine_id: None,
        };
        let mut values = Vec::new();
        for event in [&started, &inner, &inner, &done, &started, &done] {
            values.extend(meter.advance(event));
        }
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
        assert_eq!(values.last().copied(), Some(2.0));
        assert!(values.iter().all(|v| *v <= meter.total()), "{values:?}");
        assert_eq!(meter.advance(&done), None, "no step is left to finish");
    }
}
