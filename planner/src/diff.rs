//! The diff: desired project + observed state (+ last-applied record) -> a `Plan`.
//!
//! Decisions per resource, as compose makes them:
//! - a container whose config-hash label differs from the desired hash is replaced (one action: the
//!   executor creates the new container, stops and removes the old one, then renames the new one), and the
//!   replace is explained field by field from the last-applied record;
//! - a container whose hash matches but whose restart policy or limits differ is updated in place;
//! - a stopped container whose hash matches is started; a missing one is created;
//! - replicas are `{project}-{service}-1..N`: scaling creates or deletes the highest numbers only;
//! - orphans (project-labelled resources no longer in the spec) are listed, and deleted only when asked;
//!   volumes only with `remove_volumes`, with a data-loss warning; external resources are never touched.
//!
//! A network whose config changed is recreated: Docker can neither change a network nor remove one still in
//! use, so the plan deletes the containers on it, deletes the network, creates it again and creates those
//! containers again (delete and create actions, linked in that order). That is the one case where a
//! container is not replaced create-first.
//!
//! Summary counts mirror Terraform's "X to add, Y to change, Z to destroy": add counts creates, plus pulls
//! and builds of images not present yet; change counts replaces (Terraform counts `-/+` as one add and one
//! destroy, but a replace here is one step on one named resource, so it reads better as a change), updates
//! in place, starts, and pulls or builds that refresh a present image (`pull_policy: always` or `build`);
//! destroy counts deletes. Every non-no-op action is counted, so a plan has changes exactly when its
//! summary is non-zero. An image is only pulled or built when a container needs it (created or replaced),
//! or when its pull policy asks for it on every apply: `pull_policy: always` (and `build`) therefore plans a
//! pull (or build) every time, shown as `~ image "x" (pull: ...)` and counted as a change, so such a project
//! never reads "No changes" (which is the truth: apply will contact the registry). Whether the pulled image
//! differs is only known after the pull; the container is replaced on the next plan only if its hash moves.

pub mod fields;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::graph::{self, ResourceGraph, ResourceNode};
use crate::hash;
use crate::model::{DependsCondition, Project, PullPolicy, ServiceSpec};
use crate::naming;
use crate::observed::{ContainerState, ObservedContainer, ObservedState};
use crate::plan::{
    Action, ContainerTarget, ExternalDigests, FieldChange, ImageTarget, NetworkTarget, Op, Plan,
    PlanOptions, ResourceKind, ResourceRef, Summary, Target, VolumeTarget, WaitFor,
};

/// Computes the plan that brings `observed` to `desired`. `last_applied` only improves explanations; the
/// decisions come from the config hashes the observed resources carry.
pub fn plan(
    desired: &Project,
    observed: &ObservedState,
    last_applied: Option<&Project>,
    digests: &ExternalDigests,
    options: PlanOptions,
) -> Plan {
    let mut planner = Planner::new(desired, observed, last_applied, digests, options);
    planner.networks();
    planner.volumes();
    planner.containers();
    planner.images();
    planner.finish()
}

struct Planner<'a> {
    desired: &'a Project,
    observed: &'a ObservedState,
    last_applied: Option<&'a Project>,
    digests: &'a ExternalDigests,
    options: PlanOptions,
    graph: ResourceGraph,
    actions: Vec<Action>,
    warnings: Vec<String>,
    orphans: Vec<ResourceRef>,
    /// Network keys being replaced: their containers must be replaced too.
    replaced_networks: HashSet<String>,
    /// Services with a container being created or replaced (they need their image).
    services_needing_image: HashSet<String>,
    /// Services whose config hash changed on some container (a build input may have changed).
    services_with_changed_hash: HashSet<String>,
    /// Position of an image action in `actions` -> the services that use its image.
    image_services: HashMap<usize, Vec<String>>,
}

impl<'a> Planner<'a> {
    fn new(
        desired: &'a Project,
        observed: &'a ObservedState,
        last_applied: Option<&'a Project>,
        digests: &'a ExternalDigests,
        options: PlanOptions,
    ) -> Self {
        Planner {
            desired,
            observed,
            last_applied,
            digests,
            options,
            graph: ResourceGraph::of(desired),
            actions: Vec::with_capacity(desired.services.len() * 2 + 8),
            warnings: desired.warnings.clone(),
            orphans: Vec::new(),
            replaced_networks: HashSet::new(),
            services_needing_image: HashSet::new(),
            services_with_changed_hash: HashSet::new(),
            image_services: HashMap::new(),
        }
    }

    /// Whether an observed resource is ours to act on. The observer selects by our label; a resource it
    /// reports with labels that lack ours (for example a plain `docker compose` project of the same name) is
    /// left alone.
    fn is_ours(&mut self, kind: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        if labels.is_empty() || labels.get(naming::LABEL_MANAGED_BY) == Some(&self.desired.name) {
            return true;
        }
        self.warnings.push(format!(
            "{kind} \"{name}\" lacks the label {}={} and is left alone",
            naming::LABEL_MANAGED_BY,
            self.desired.name
        ));
        false
    }

    fn push(&mut self, resource: ResourceRef, op: Op) -> &mut Action {
        self.actions.push(Action {
            id: 0,
            resource,
            op,
            changes: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            target: None,
            existing_id: None,
        });
        let last = self.actions.len() - 1;
        &mut self.actions[last]
    }

    fn networks(&mut self) {
        let project = self.desired;
        let mut seen: HashSet<&str> = HashSet::new();
        for observed in &self.observed.networks {
            if !self.is_ours("network", &observed.name, &observed.labels) {
                continue;
            }
            let resource = scoped_ref(ResourceKind::Network, &observed.name, &observed.key);
            let desired = project.networks.get(&observed.key).filter(|n| !n.external);
            let Some(spec) = desired else {
                self.orphans.push(resource.clone());
                if self.options.remove_orphans {
                    let action = self.push(resource, Op::Delete);
                    action.existing_id = Some(observed.id.clone());
                    action.reason = Some(format!(
                        "network \"{}\" is no longer in the spec",
                        observed.key
                    ));
                }
                continue;
            };
            if !seen.insert(observed.key.as_str()) {
                let action = self.push(resource, Op::Delete);
                action.existing_id = Some(observed.id.clone());
                action.reason = Some(format!("duplicate network for \"{}\"", observed.key));
                continue;
            }
            let config_hash = hash::network_config_hash(project, &observed.key);
            let target = network_target(project, &observed.key, spec, &config_hash);
            let changed = observed
                .config_hash
                .as_deref()
                .is_some_and(|h| h != config_hash);
            if !changed {
                let action = self.push(resource, Op::NoOp);
                action.existing_id = Some(observed.id.clone());
                continue;
            }
            // Docker cannot change or rename a network, and cannot remove one that containers still use: the
            // network is deleted after its containers and created again before their replacements.
            self.replaced_networks.insert(observed.key.clone());
            let reason = "its driver, internal flag or labels changed, so it is recreated";
            let delete = self.push(resource.clone(), Op::Delete);
            delete.existing_id = Some(observed.id.clone());
            delete.reason = Some(reason.into());
            let create = self.push(resource, Op::Create);
            create.reason = Some(reason.into());
            create.target = Some(target);
        }
        for (key, spec) in &project.networks {
            if spec.external || seen.contains(key.as_str()) {
                continue;
            }
            let name = hash::network_engine_name(project, key);
            let config_hash = hash::network_config_hash(project, key);
            let target = network_target(project, key, spec, &config_hash);
            let action = self.push(scoped_ref(ResourceKind::Network, &name, key), Op::Create);
            action.target = Some(target);
        }
    }

    fn volumes(&mut self) {
        let project = self.desired;
        let mut seen: HashSet<&str> = HashSet::new();
        for observed in &self.observed.volumes {
            if !self.is_ours("volume", &observed.name, &observed.labels) {
                continue;
            }
            let resource = scoped_ref(ResourceKind::Volume, &observed.name, &observed.key);
            match project.volumes.get(&observed.key).filter(|v| !v.external) {
                Some(_) if seen.insert(observed.key.as_str()) => {
                    let config_hash = hash::volume_config_hash(project, &observed.key);
                    if observed
                        .config_hash
                        .as_deref()
                        .is_some_and(|h| h != config_hash)
                    {
                        self.warnings.push(format!(
                            "volume \"{}\" was created with a different configuration; it is kept as is, because \
                             recreating it would lose its data (destroy with volumes removed to recreate it)",
                            observed.name
                        ));
                    }
                    let action = self.push(resource, Op::NoOp);
                    action.existing_id = Some(observed.name.clone());
                }
                _ => {
                    self.orphans.push(resource.clone());
                    if self.options.remove_volumes {
                        self.warnings.push(format!(
                            "volume \"{}\" will be deleted: all data in it will be lost",
                            observed.name
                        ));
                        let action = self.push(resource, Op::Delete);
                        action.existing_id = Some(observed.name.clone());
                        action.reason = Some(format!(
                            "volume \"{}\" is no longer in the spec",
                            observed.key
                        ));
                    }
                }
            }
        }
        for (key, spec) in &project.volumes {
            if spec.external || seen.contains(key.as_str()) {
                continue;
            }
            let name = hash::volume_engine_name(project, key);
            let config_hash = hash::volume_config_hash(project, key);
            let labels = naming::scoped_labels(
                &project.name,
                naming::LABEL_VOLUME,
                key,
                &config_hash,
                &spec.labels,
            );
            let target = Target::Volume(VolumeTarget {
                name: name.clone(),
                driver: spec.driver.clone(),
                labels,
            });
            let action = self.push(scoped_ref(ResourceKind::Volume, &name, key), Op::Create);
            action.target = Some(target);
        }
    }

    fn containers(&mut self) {
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
                None => {
                    self.orphans.push(container_ref(container));
                    if self.options.remove_orphans {
                        let action = self.push(container_ref(container), Op::Delete);
                        action.existing_id = Some(container.id.clone());
                        action.reason = Some(format!(
                            "service \"{}\" is no longer in the spec",
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
    fn may_use_network(&self, service: &str, key: &str) -> bool {
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

    fn images(&mut self) {
        let project = self.desired;
        // Image reference -> index of its action in `self.actions`, so services sharing an image share one pull.
        let mut by_reference: BTreeMap<&str, usize> = BTreeMap::new();
        let mut served: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for (service, spec) in &project.services {
            let present = image_present(&self.observed.images_present, &spec.image);
            let needed = self.services_needing_image.contains(service.as_str());
            let (op, reason) = match (&spec.build, spec.pull_policy) {
                (Some(_), PullPolicy::Build) => (
                    Op::Build,
                    "pull_policy is build: it is rebuilt on every apply",
                ),
                (Some(_), _) if needed && !present => {
                    (Op::Build, "the image is not present locally")
                }
                (Some(_), _) if self.services_with_changed_hash.contains(service.as_str()) => (
                    Op::Build,
                    "the service's configuration or build input changed",
                ),
                (None, PullPolicy::Always) => (
                    Op::Pull,
                    "pull_policy is always: it is pulled on every apply",
                ),
                (None, PullPolicy::Never) if needed && !present => {
                    self.warnings.push(format!(
                        "image \"{}\" of service \"{service}\" is not present locally and pull_policy is never: \
                         creating its container will fail",
                        spec.image
                    ));
                    continue;
                }
                (None, PullPolicy::Missing | PullPolicy::Build) if needed && !present => {
                    (Op::Pull, "the image is not present locally")
                }
                _ => continue,
            };
            if let Some(&index) = by_reference.get(spec.image.as_str()) {
                served.entry(index).or_default().insert(service);
                continue;
            }
            let index = self.actions.len();
            by_reference.insert(&spec.image, index);
            served.entry(index).or_default().insert(service);
            let build = if op == Op::Build {
                spec.build.clone()
            } else {
                None
            };
            let action = self.push(
                ResourceRef {
                    kind: ResourceKind::Image,
                    name: spec.image.clone(),
                    key: service.clone(),
                    number: None,
                },
                op,
            );
            action.reason = Some(reason.into());
            action.target = Some(Target::Image(ImageTarget {
                reference: spec.image.clone(),
                build,
            }));
            if present {
                // Remembered in `existing_id` so the summary can tell a refresh from a first download.
                action.existing_id = Some(spec.image.clone());
            }
        }
        for (index, services) in served {
            self.image_services
                .insert(index, services.into_iter().map(String::from).collect());
        }
    }

    /// Sorts the actions, numbers them, links each to what it needs, and adds waves, summary and fingerprint.
    fn finish(mut self) -> Plan {
        let mut order: Vec<usize> = (0..self.actions.len()).collect();
        order.sort_by(|&a, &b| sort_key(&self.actions[a]).cmp(&sort_key(&self.actions[b])));
        let mut new_id = vec![0; order.len()];
        for (id, &old) in order.iter().enumerate() {
            new_id[old] = id;
        }
        let mut slots: Vec<Option<Action>> = std::mem::take(&mut self.actions)
            .into_iter()
            .map(Some)
            .collect();
        let mut actions: Vec<Action> = Vec::with_capacity(slots.len());
        for (id, &old) in order.iter().enumerate() {
            if let Some(mut action) = slots[old].take() {
                action.id = id;
                actions.push(action);
            }
        }
        let image_services: HashMap<usize, Vec<String>> = std::mem::take(&mut self.image_services)
            .into_iter()
            .map(|(old, s)| (new_id[old], s))
            .collect();
        self.link(&mut actions, &image_services);
        self.lookalike_warnings(&actions);
        let waves = graph::waves(&actions);
        let summary = summarize(&actions);
        self.orphans.sort();
        Plan {
            project: self.desired.name.clone(),
            actions,
            waves,
            fingerprint: hash::fingerprint(self.observed),
            summary,
            warnings: self.warnings,
            orphans: self.orphans,
        }
    }

    /// Fills every action's `depends_on`: creations after what they need (from the resource graph),
    /// deletions in reverse (dependents first, containers before the networks and volumes they use).
    fn link(&self, actions: &mut [Action], image_services: &HashMap<usize, Vec<String>>) {
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
            }
        }
        let dependents = self.dependents_by_service();
        let mut needs: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
        for action in actions.iter() {
            let found = &mut needs[action.id];
            match (action.resource.kind, action.op) {
                (_, Op::NoOp) | (ResourceKind::Image, _) => {}
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
    fn lookalike_warnings(&mut self, actions: &[Action]) {
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
                    kind_word(action.resource.kind),
                    action.resource.name
                ));
            }
        }
    }
}

/// Deterministic action order: images, networks, volumes, containers; by key, replica number and name;
/// a delete before a create of the same name.
fn sort_key(action: &Action) -> (ResourceKind, &str, Option<u32>, &str, u8) {
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
fn summarize(actions: &[Action]) -> Summary {
    let mut summary = Summary::default();
    for action in actions {
        match action.op {
            Op::NoOp => {}
            Op::Create => summary.add += 1,
            Op::Pull | Op::Build if action.existing_id.is_none() => summary.add += 1,
            Op::Delete => summary.destroy += 1,
            Op::UpdateInPlace | Op::Replace | Op::Start | Op::Pull | Op::Build => {
                summary.change += 1
            }
        }
    }
    summary
}

/// The word for a resource kind in messages and renderings.
pub fn kind_word(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Image => "image",
        ResourceKind::Network => "network",
        ResourceKind::Volume => "volume",
        ResourceKind::Container => "container",
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

/// Services named in a `com.docker.compose.depends_on` label.
fn services_in_depends_label(label: &str) -> impl Iterator<Item = &str> {
    label
        .split(',')
        .filter_map(|part| part.split(':').next())
        .filter(|s| !s.is_empty())
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

/// Whether `reference` is among the local images, treating a missing tag as `:latest`.
fn image_present(present: &BTreeSet<String>, reference: &str) -> bool {
    if present.contains(reference) {
        return true;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || last.contains('@') {
        reference
            .strip_suffix(":latest")
            .is_some_and(|bare| present.contains(bare))
    } else {
        present.contains(&format!("{reference}:latest"))
    }
}

fn scoped_ref(kind: ResourceKind, name: &str, key: &str) -> ResourceRef {
    ResourceRef {
        kind,
        name: name.to_string(),
        key: key.to_string(),
        number: None,
    }
}

fn container_ref(container: &ObservedContainer) -> ResourceRef {
    ResourceRef {
        kind: ResourceKind::Container,
        name: container.name.clone(),
        key: container.service.clone(),
        number: Some(container.number),
    }
}

fn network_target(
    project: &Project,
    key: &str,
    spec: &crate::model::NetworkSpec,
    config_hash: &str,
) -> Target {
    Target::Network(NetworkTarget {
        name: hash::network_engine_name(project, key),
        driver: spec.driver.clone(),
        internal: spec.internal,
        labels: naming::scoped_labels(
            &project.name,
            naming::LABEL_NETWORK,
            key,
            config_hash,
            &spec.labels,
        ),
    })
}
