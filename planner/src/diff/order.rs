//! Ordering: each action's `depends_on`, the deterministic action order, and the summary counts.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::Planner;
use crate::graph::ResourceNode;
use crate::naming;
use crate::plan::{Action, Op, ResourceKind, Summary};

impl Planner<'_> {
    /// Fills every action's `depends_on`: creations after what they need (from the resource graph),
    /// deletions in reverse (dependents first, containers before the networks and volumes they use).
    pub(super) fn link(
        &self,
        actions: &mut [Action],
        image_services: &HashMap<usize, Vec<String>>,
    ) {
        let mut provides: HashMap<ResourceNode, Vec<usize>> = HashMap::new();
        let mut deletes_by_service: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut deletes_by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        // Container deletes and replaces, with their service: what must finish before a network or volume
        // they may use is deleted.
        let mut teardown: Vec<(usize, &str)> = Vec::new();
        let mut scoped_deletes: HashMap<(ResourceKind, &str), Vec<usize>> = HashMap::new();
        for action in actions.iter() {
            let key = action.resource.key.clone();
            match (action.resource.kind, action.op) {
                (_, Op::NoOp) => {}
                (ResourceKind::Container, Op::Delete) => {
                    deletes_by_service
                        .entry(&action.resource.key)
                        .or_default()
                        .push(action.id);
                    deletes_by_name
                        .entry(&action.resource.name)
                        .or_default()
                        .push(action.id);
                    teardown.push((action.id, &action.resource.key));
                }
                (ResourceKind::Container, op) => {
                    if op == Op::Replace {
                        teardown.push((action.id, &action.resource.key));
                    }
                    provides
                        .entry(ResourceNode::Service(key))
                        .or_default()
                        .push(action.id);
                }
                (kind, Op::Delete) => {
                    scoped_deletes
                        .entry((kind, action.resource.name.as_str()))
                        .or_default()
                        .push(action.id);
                }
                (ResourceKind::Network, _) => provides
                    .entry(ResourceNode::Network(key))
                    .or_default()
                    .push(action.id),
                (ResourceKind::Volume, _) => provides
                    .entry(ResourceNode::Volume(key))
                    .or_default()
                    .push(action.id),
                (ResourceKind::Image, _) => {
                    for service in image_services.get(&action.id).into_iter().flatten() {
                        provides
                            .entry(ResourceNode::Image(service.clone()))
                            .or_default()
                            .push(action.id);
                    }
                }
                // Swarm objects are never in an engine plan.
                (ResourceKind::Service | ResourceKind::Secret | ResourceKind::Config, _) => {}
            }
        }
        let dependents = self.dependents_by_service();
        let mut needs: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
        for action in actions.iter() {
            let found = &mut needs[action.id];
            match (action.resource.kind, action.op) {
                (_, Op::NoOp) | (ResourceKind::Image, _) => {}
                (ResourceKind::Service | ResourceKind::Secret | ResourceKind::Config, _) => {}
                (ResourceKind::Container, Op::Delete) => {
                    for dependent in dependents
                        .get(action.resource.key.as_str())
                        .into_iter()
                        .flatten()
                    {
                        found.extend(
                            deletes_by_service
                                .get(dependent.as_str())
                                .into_iter()
                                .flatten(),
                        );
                    }
                }
                (ResourceKind::Container, _) => {
                    let service = ResourceNode::Service(action.resource.key.clone());
                    for requirement in self.graph.requirements(&service) {
                        found.extend(provides.get(requirement).into_iter().flatten());
                    }
                    // A container may take the name of one being deleted (a renamed service keeping its
                    // `container_name`): the name must be free first.
                    found.extend(
                        deletes_by_name
                            .get(action.resource.name.as_str())
                            .into_iter()
                            .flatten(),
                    );
                }
                (ResourceKind::Network, Op::Delete) => found.extend(
                    teardown
                        .iter()
                        .filter(|(_, service)| self.may_use_network(service, &action.resource.key))
                        .map(|(id, _)| *id),
                ),
                (ResourceKind::Volume, Op::Delete) => {
                    found.extend(teardown.iter().map(|(id, _)| *id))
                }
                (ResourceKind::Network | ResourceKind::Volume, _) => {
                    let key = (action.resource.kind, action.resource.name.as_str());
                    found.extend(scoped_deletes.get(&key).into_iter().flatten());
                }
            }
            found.retain(|&id| id != action.id);
            found.sort_unstable();
            found.dedup();
        }
        for (action, found) in actions.iter_mut().zip(needs) {
            action.depends_on = found;
        }
    }

    /// Service -> services that depend on it, from every record we have: the desired spec, the last-applied
    /// one, and the depends_on labels of the observed containers (the only record of an orphan's links).
    fn dependents_by_service(&self) -> HashMap<&str, BTreeSet<String>> {
        let mut dependents: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for project in std::iter::once(self.desired).chain(self.last_applied) {
            for (service, spec) in &project.services {
                for dependency in spec.depends_on.keys() {
                    dependents
                        .entry(dependency.as_str())
                        .or_default()
                        .insert(service.clone());
                }
            }
        }
        for container in &self.observed.containers {
            if let Some(label) = container.labels.get(naming::LABEL_DEPENDS_ON) {
                for dependency in services_in_depends_label(label) {
                    dependents
                        .entry(dependency)
                        .or_default()
                        .insert(container.service.clone());
                }
            }
        }
        dependents
    }

    /// Warns when a resource we create has the name of one that is not ours: the create would fail.
    pub(super) fn lookalike_warnings(&mut self, actions: &[Action]) {
        if self.observed.unmanaged_lookalikes.is_empty() {
            return;
        }
        let lookalikes: HashSet<&str> = self
            .observed
            .unmanaged_lookalikes
            .iter()
            .map(String::as_str)
            .collect();
        for action in actions.iter().filter(|a| a.op == Op::Create) {
            if lookalikes.contains(action.resource.name.as_str()) {
                self.warnings.push(format!(
                    "a {} named \"{}\" exists without this project's labels: creating ours will fail until it is \
                     removed or renamed",
                    action.resource.kind.as_str(),
                    action.resource.name
                ));
            }
        }
    }
}

/// Deterministic action order: images, networks, volumes, containers; by key, replica number and name;
/// a delete before a create of the same name.
pub(super) fn sort_key(action: &Action) -> (ResourceKind, &str, Option<u32>, &str, u8) {
    let op_rank = match action.op {
        Op::Delete => 0,
        _ => 1,
    };
    // Containers group by service; images, networks and volumes sort by the name people see.
    let group = match action.resource.kind {
        ResourceKind::Container => &action.resource.key,
        _ => &action.resource.name,
    };
    (
        action.resource.kind,
        group,
        action.resource.number,
        &action.resource.name,
        op_rank,
    )
}

/// Terraform-style counts; see the module doc for what counts where.
pub(super) fn summarize(actions: &[Action]) -> Summary {
    let mut summary = Summary::default();
    for action in actions {
        match action.op {
            Op::NoOp => {}
            Op::Create => summary.add += 1,
            Op::Pull | Op::Build if action.existing_id.is_none() => summary.add += 1,
            Op::Delete => summary.destroy += 1,
            Op::UpdateInPlace | Op::Replace | Op::Start | Op::Restart | Op::Pull | Op::Build => {
                summary.change += 1
            }
        }
    }
    summary
}

/// Services named in a `com.docker.compose.depends_on` label.
fn services_in_depends_label(label: &str) -> impl Iterator<Item = &str> {
    label
        .split(',')
        .filter_map(|part| part.split(':').next())
        .filter(|s| !s.is_empty())
}
