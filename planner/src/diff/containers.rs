//! Decisions for containers: create, start, update in place, replace or delete, replica by replica, and
//! why. Also the per-service template every container action's `Target` is cut from.

use std::collections::{BTreeMap, HashMap};

use super::{container_ref, fields, Planner};
use crate::hash;
use crate::model::{DependsCondition, EnvValue, Project, ServiceSpec};
use crate::naming;
use crate::observed::{ContainerState, ObservedContainer};
use crate::plan::{ContainerTarget, FieldChange, Op, ResourceKind, ResourceRef, Target, WaitFor};

impl Planner<'_> {
    /// One action per desired replica (plus deletes for surplus replicas, duplicates and, when asked,
    /// orphans), in one pass over the observed containers.
    pub(super) fn containers(&mut self) {
        let project = self.desired;
        // One pass over the observed containers: index by (service, number), so the per-container lookups
        // below are O(1) and 1000-service projects stay linear.
        let mut slots: HashMap<(&str, u32), Vec<&ObservedContainer>> = HashMap::new();
        for container in &self.observed.containers {
            if !self.is_ours("container", &container.name, &container.labels) {
                continue;
            }
            match project.services.get(&container.service) {
                Some(spec) if container.number >= 1 && container.number <= spec.replicas => {
                    slots
                        .entry((container.service.as_str(), container.number))
                        .or_default()
                        .push(container);
                }
                Some(spec) => {
                    let action = self.push(container_ref(container), Op::Delete);
                    action.existing_id = Some(container.id.clone());
                    action.reason = Some(format!(
                        "service \"{}\" is scaled down to {} replica{}",
                        container.service,
                        spec.replicas,
                        if spec.replicas == 1 { "" } else { "s" }
                    ));
                }
                None if self.was_applied(|p| p.services.contains_key(&container.service)) => {
                    let action = self.push(container_ref(container), Op::Delete);
                    action.existing_id = Some(container.id.clone());
                    action.reason = Some(super::REMOVED_FROM_SPEC.into());
                }
                None => {
                    self.orphans.push(container_ref(container));
                    if self.options.remove_orphans {
                        let action = self.push(container_ref(container), Op::Delete);
                        action.existing_id = Some(container.id.clone());
                        action.reason = Some(format!(
                            "orphan: service \"{}\" was never applied from this project's spec",
                            container.service
                        ));
                    }
                }
            }
        }
        let names: HashMap<&str, Vec<String>> = project
            .services
            .iter()
            .map(|(name, spec)| (name.as_str(), replica_names(project, name, spec)))
            .collect();
        for (service, spec) in &project.services {
            let config_hash = hash::service_config_hash(project, service, self.digests);
            let template = ServiceTemplate {
                service,
                spec,
                network_names: hash::service_network_names(project, spec),
                volume_names: hash::service_volume_names(project, spec),
                wait_for: wait_for(spec, &names),
                depends_label: depends_label(spec),
                on_replaced_network: self.recreated_network_of(service),
                config_hash,
            };
            for (index, name) in names[service.as_str()].iter().enumerate() {
                let number = index as u32 + 1;
                let mut candidates = slots
                    .remove(&(service.as_str(), number))
                    .unwrap_or_default();
                let current = take_primary(&mut candidates, name, &template.config_hash);
                for duplicate in candidates {
                    let action = self.push(container_ref(duplicate), Op::Delete);
                    action.existing_id = Some(duplicate.id.clone());
                    action.reason = Some(format!(
                        "duplicate of \"{name}\", left by an interrupted apply"
                    ));
                }
                self.container(&template, number, name, current);
            }
        }
    }

    fn container(
        &mut self,
        template: &ServiceTemplate<'_>,
        number: u32,
        name: &str,
        current: Option<&ObservedContainer>,
    ) {
        let service = template.service;
        let resource = ResourceRef {
            kind: ResourceKind::Container,
            name: name.to_string(),
            key: service.to_string(),
            number: Some(number),
        };
        let (op, reason, changes) = match current {
            None => (
                Op::Create,
                Some(self.missing_reason(service, number)),
                Vec::new(),
            ),
            Some(c) => self.compare(template, name, c),
        };
        if matches!(op, Op::Create | Op::Replace) {
            self.services_needing_image.insert(service.to_string());
        }
        if op == Op::Replace
            && current.is_some_and(|c| c.config_hash.as_deref() != Some(&template.config_hash))
        {
            self.services_with_changed_hash.insert(service.to_string());
        }
        if let (Some(network), Some(old), Op::Replace) =
            (&template.on_replaced_network, current, op)
        {
            // The old container must leave the network before the network can be recreated, so this replace
            // cannot create first: it is a delete, then (after the network) a create.
            let why = format!("network \"{network}\" is recreated");
            let delete = self.push(container_ref(old), Op::Delete);
            delete.existing_id = Some(old.id.clone());
            delete.reason = Some(why.clone());
            delete.changes = changes;
            let target = template.target(&self.desired.name, number, name);
            let create = self.push(resource, Op::Create);
            create.reason = Some(why);
            create.target = Some(target);
            return;
        }
        let target = (op != Op::NoOp).then(|| template.target(&self.desired.name, number, name));
        if op == Op::NoOp && template.spec.depends_on.values().any(|d| d.restart) {
            let restart_target = template.target(&self.desired.name, number, name);
            self.restartable.insert(self.actions.len(), restart_target);
        }
        let action = self.push(resource, op);
        action.reason = reason;
        action.changes = changes;
        action.existing_id = current.map(|c| c.id.clone());
        action.target = target;
    }

    /// Op, reason and field changes for an existing container of a desired service.
    fn compare(
        &self,
        template: &ServiceTemplate<'_>,
        name: &str,
        current: &ObservedContainer,
    ) -> (Op, Option<String>, Vec<FieldChange>) {
        let service = template.service;
        match current.config_hash.as_deref() {
            None => {
                return (
                    Op::Replace,
                    Some("the container has no config-hash label".into()),
                    Vec::new(),
                );
            }
            Some(crate::adopt::DIFFERS_HASH) => {
                return (
                    Op::Replace,
                    Some(
                        "adopted by import, it differs from the spec (the import named the fields)"
                            .into(),
                    ),
                    Vec::new(),
                );
            }
            Some(h) if h != template.config_hash => {
                let (reason, changes) = self.explain_replace(service, template.spec);
                return (Op::Replace, Some(reason), changes);
            }
            Some(_) => {}
        }
        if let Some(network) = &template.on_replaced_network {
            return (
                Op::Replace,
                Some(format!("network \"{network}\" is recreated")),
                Vec::new(),
            );
        }
        if current.name != name {
            return (
                Op::Replace,
                Some(format!(
                    "the container is named \"{}\", not \"{name}\"",
                    current.name
                )),
                Vec::new(),
            );
        }
        let live = live_changes(template.spec, current);
        match current.state {
            ContainerState::Dead | ContainerState::Removing => (
                Op::Replace,
                Some(format!("the container is {}", state_word(current.state))),
                live,
            ),
            // One action per container: rather than a start that would also have to update, recreate it from
            // the target, which carries the new settings.
            state if !state.is_running() && !live.is_empty() => (
                Op::Replace,
                Some("the container is stopped and its restart policy or limits changed".into()),
                live,
            ),
            state if !state.is_running() => (
                Op::Start,
                Some(format!("the container is {}", state_word(state))),
                Vec::new(),
            ),
            _ if !live.is_empty() => (Op::UpdateInPlace, None, live),
            _ => (Op::NoOp, None, Vec::new()),
        }
    }

    /// Whether containers of `service` may be attached to network `key`: it is on it now or was at the last
    /// apply. Without a record of the service (no last-applied spec), assume it may be.
    pub(super) fn may_use_network(&self, service: &str, key: &str) -> bool {
        let on = |project: &Project| {
            project
                .services
                .get(service)
                .map(|spec| hash::service_network_keys(project, spec).contains(&key))
        };
        let now = on(self.desired).unwrap_or(false);
        let before = match self.last_applied {
            Some(last) => on(last).unwrap_or(!self.desired.services.contains_key(service)),
            None => true,
        };
        now || before
    }

    /// A network being recreated that containers of `service` may be on: they must then be deleted before
    /// it and created after it, instead of replaced create-first (which would need the old network gone
    /// while its replacement waits for dependencies that wait for the new network).
    fn recreated_network_of(&self, service: &str) -> Option<String> {
        let mut keys: Vec<&String> = self.replaced_networks.iter().collect();
        keys.sort();
        keys.into_iter()
            .find(|key| self.may_use_network(service, key))
            .cloned()
    }

    fn missing_reason(&self, service: &str, number: u32) -> String {
        match self.last_applied.map(|p| p.services.get(service)) {
            None => "the container does not exist yet".into(),
            Some(None) => format!("service \"{service}\" is new"),
            Some(Some(old)) if number > old.replicas => {
                format!(
                    "service \"{service}\" is scaled up from {} to {}",
                    old.replicas,
                    self.replicas(service)
                )
            }
            Some(Some(_)) => "the container is missing (removed outside this tool?)".into(),
        }
    }

    fn replicas(&self, service: &str) -> u32 {
        self.desired.services.get(service).map_or(0, |s| s.replicas)
    }

    /// Why the config hash moved, field by field when the last-applied record allows it.
    fn explain_replace(&self, service: &str, spec: &ServiceSpec) -> (String, Vec<FieldChange>) {
        let Some(old) = self.last_applied.and_then(|p| p.services.get(service)) else {
            return (
                "the config hash changed (no last-applied record to compare fields with)".into(),
                Vec::new(),
            );
        };
        let changes = fields::changes(old, spec);
        let forcing: Vec<&str> = changes
            .iter()
            .filter(|c| c.forces_replacement)
            .map(|c| c.path.as_str())
            .collect();
        let reason = match forcing.as_slice() {
            [] => {
                let mut inputs = Vec::new();
                if spec.build.is_some() {
                    inputs.push("the build context");
                }
                if !hash::secret_names(spec).is_empty() {
                    inputs.push("a secret's value");
                }
                if !spec.configs.is_empty() {
                    inputs.push("a config's content");
                }
                if inputs.is_empty() {
                    "the config hash changed although the spec did not (created by another version?)".into()
                } else {
                    format!("{} changed", inputs.join(" or "))
                }
            }
            [one] => format!("{one} changed"),
            many => format!("{} fields changed", many.len()),
        };
        (reason, changes)
    }
}

/// Everything about a service's containers that does not depend on the replica number.
struct ServiceTemplate<'a> {
    service: &'a str,
    spec: &'a ServiceSpec,
    config_hash: String,
    network_names: BTreeMap<String, String>,
    volume_names: BTreeMap<String, String>,
    wait_for: Vec<WaitFor>,
    depends_label: Option<String>,
    on_replaced_network: Option<String>,
}

impl ServiceTemplate<'_> {
    fn target(&self, project: &str, number: u32, name: &str) -> Target {
        let mut labels = naming::container_labels(
            project,
            self.service,
            number,
            &self.config_hash,
            &self.spec.labels,
        );
        if let Some(depends) = &self.depends_label {
            labels.insert(naming::LABEL_DEPENDS_ON.into(), depends.clone());
        }
        let secret_env: Vec<&str> = self
            .spec
            .environment
            .iter()
            .filter(|(_, value)| matches!(value, EnvValue::Secret { .. }))
            .map(|(key, _)| key.as_str())
            .collect();
        if !secret_env.is_empty() {
            labels.insert(naming::LABEL_SECRET_ENV.into(), secret_env.join(","));
        }
        Target::Container(ContainerTarget {
            service: self.service.to_string(),
            number,
            name: name.to_string(),
            spec: self.spec.clone(),
            labels,
            config_hash: self.config_hash.clone(),
            network_names: self.network_names.clone(),
            volume_names: self.volume_names.clone(),
            wait_for: self.wait_for.clone(),
        })
    }
}

/// Engine names of a service's replicas; `container_name` names the only replica.
fn replica_names(project: &Project, service: &str, spec: &ServiceSpec) -> Vec<String> {
    match (&spec.container_name, spec.replicas) {
        (Some(name), 1) => vec![name.clone()],
        (_, n) => (1..=n)
            .map(|i| naming::container_name(&project.name, service, i))
            .collect(),
    }
}

/// What each container of `spec` waits for: every replica of each dependency, with its condition.
fn wait_for(spec: &ServiceSpec, names: &HashMap<&str, Vec<String>>) -> Vec<WaitFor> {
    let mut found = Vec::new();
    for (dependency, depends) in &spec.depends_on {
        for container in names.get(dependency.as_str()).into_iter().flatten() {
            found.push(WaitFor {
                service: dependency.clone(),
                container: container.clone(),
                condition: depends.condition,
            });
        }
    }
    found
}

/// Compose's `com.docker.compose.depends_on` label: `db:service_healthy:false,cache:service_started:false`.
/// Deletes read it back to remove dependents before their dependencies.
fn depends_label(spec: &ServiceSpec) -> Option<String> {
    if spec.depends_on.is_empty() {
        return None;
    }
    let parts: Vec<String> = spec
        .depends_on
        .iter()
        .map(|(name, dep)| {
            let condition = match dep.condition {
                DependsCondition::ServiceStarted => "service_started",
                DependsCondition::ServiceHealthy => "service_healthy",
                DependsCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
            };
            format!("{name}:{condition}:false")
        })
        .collect();
    Some(parts.join(","))
}

/// Picks the container that stays in a replica slot: the one with the right name, else one with the right
/// hash, else the first by name. The rest are duplicates.
fn take_primary<'o>(
    candidates: &mut Vec<&'o ObservedContainer>,
    name: &str,
    config_hash: &str,
) -> Option<&'o ObservedContainer> {
    if candidates.is_empty() {
        return None;
    }
    candidates.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let index = candidates
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            candidates
                .iter()
                .position(|c| c.config_hash.as_deref() == Some(config_hash))
        })
        .unwrap_or(0);
    Some(candidates.remove(index))
}

/// Restart policy and limit differences between the desired spec and a live container.
fn live_changes(spec: &ServiceSpec, current: &ObservedContainer) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if spec.restart != current.restart {
        changes.push(FieldChange {
            path: "restart".into(),
            before: Some(current.restart.to_compose()),
            after: Some(spec.restart.to_compose()),
            forces_replacement: false,
        });
    }
    let desired = fields::live_resource_fields(&spec.resources);
    let observed = fields::live_resource_fields(&current.resources);
    for ((path, after), (_, before)) in desired.into_iter().zip(observed) {
        if after != before {
            changes.push(FieldChange {
                path: path.into(),
                before,
                after,
                forces_replacement: false,
            });
        }
    }
    changes
}

fn state_word(state: ContainerState) -> &'static str {
    match state {
        ContainerState::Created => "created but never started",
        ContainerState::Running => "running",
        ContainerState::Paused => "paused",
        ContainerState::Restarting => "restarting",
        ContainerState::Removing => "being removed",
        ContainerState::Exited => "stopped",
        ContainerState::Dead => "dead",
    }
}
