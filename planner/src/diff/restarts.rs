//! `depends_on.<dependency>.restart: true`: when the plan replaces or restarts a dependency, the running
//! containers of the services that ask for it are restarted after it, as compose does. Their config still
//! matches, so they keep their container (and id); only the process restarts.

use std::collections::BTreeMap;

use super::Planner;
use crate::plan::{Op, ResourceKind};

impl Planner<'_> {
    /// Turns the no-op containers of dependents with `restart: true` into restarts when a dependency is
    /// replaced or restarted. A restart can cascade to its own dependents, so this runs to a fixed point;
    /// each pass turns at least one no-op into a restart, so it ends within one pass per container.
    pub(super) fn restart_dependents(&mut self) {
        let desired = self.desired;
        loop {
            let bounced = self.bounced_services();
            let mut changed = false;
            for index in 0..self.actions.len() {
                let action = &self.actions[index];
                if action.op != Op::NoOp || action.resource.kind != ResourceKind::Container {
                    continue;
                }
                let Some(spec) = desired.services.get(&action.resource.key) else {
                    continue;
                };
                let cause = spec
                    .depends_on
                    .iter()
                    .filter(|(_, link)| link.restart)
                    .find_map(|(dependency, _)| bounced.get(dependency.as_str()).cloned());
                let Some(cause) = cause else {
                    continue;
                };
                let Some(target) = self.restartable.remove(&index) else {
                    continue;
                };
                let action = &mut self.actions[index];
                action.op = Op::Restart;
                action.reason = Some(cause);
                action.target = Some(target);
                changed = true;
            }
            if !changed {
                return;
            }
        }
    }

    /// Services with a container being replaced or restarted -> the reason a dependent gives for its restart.
    fn bounced_services(&self) -> BTreeMap<String, String> {
        let mut bounced = BTreeMap::new();
        for action in &self.actions {
            let verb = match (action.resource.kind, action.op) {
                (ResourceKind::Container, Op::Replace) => "replaced",
                (ResourceKind::Container, Op::Restart) => "restarted",
                _ => continue,
            };
            let service = &action.resource.key;
            bounced
                .entry(service.clone())
                .or_insert_with(|| format!("restart: its dependency {service} is {verb}"));
        }
        bounced
    }
}
