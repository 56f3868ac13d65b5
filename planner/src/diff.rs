//! The diff: desired project + observed state (+ last-applied record) -> a `Plan`.
//!
//! Decisions per resource, as compose makes them:
//! - a container whose config-hash label differs from the desired hash is replaced (one action: the
//!   executor creates the new container, stops and removes the old one, then renames the new one), and the
//!   replace is explained field by field from the last-applied record;
//! - a container whose hash matches but whose restart policy or limits differ is updated in place;
//! - a stopped container whose hash matches is started; a missing one is created;
//! - a running container whose hash matches is restarted when a `depends_on` dependency with
//!   `restart: true` is replaced or restarted (see `restarts`);
//! - replicas are `{project}-{service}-1..N`: scaling creates or deletes the highest numbers only;
//! - a service, network or volume the last-applied record holds and the spec no longer does is deleted,
//!   with the reason "removed from the spec", as Terraform does; a volume's data only with
//!   `remove_volumes` (the plan's impact names the data loss), otherwise the plan's impact says it is kept;
//! - orphans (project-labelled resources the record never held) are listed, and deleted only when asked;
//!   external resources are never touched.
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

/// The reason a resource the last-applied record holds, and the spec no longer does, is deleted.
pub const REMOVED_FROM_SPEC: &str = "removed from the spec";

mod containers;
mod images;
mod order;
mod restarts;

use std::collections::{BTreeMap, HashMap, HashSet};

use self::order::{sort_key, summarize};
use crate::graph::{self, ResourceGraph};
use crate::hash;
use crate::model::{NetworkSpec, Project};
use crate::naming;
use crate::observed::{ObservedContainer, ObservedState};
use crate::plan::{
    Action, ExternalDigests, NetworkTarget, Op, Plan, PlanOptions, ResourceKind, ResourceRef,
    Target, VolumeTarget,
};

/// Computes the plan that brings `observed` to `desired`. `last_applied` tells what was removed from the
/// spec (deleted) from what was never in it (orphans) and explains replaces; the other decisions come from
/// the config hashes the observed resources carry.
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
    planner.restart_dependents();
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
    kept_volumes: Vec<ResourceRef>,
    /// Network keys being replaced: their containers must be replaced too.
    replaced_networks: HashSet<String>,
    /// Services with a container being created or replaced (they need their image).
    services_needing_image: HashSet<String>,
    /// Services whose config hash changed on some container (a build input may have changed).
    services_with_changed_hash: HashSet<String>,
    /// Position of an image action in `actions` -> the services that use its image.
    image_services: HashMap<usize, Vec<String>>,
    /// Position of a no-op container action whose service has a `depends_on` with `restart: true` -> the
    /// target a restart of it would carry (so the restart waits for its dependencies like a start does).
    restartable: HashMap<usize, Target>,
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
            kept_volumes: Vec::new(),
            replaced_networks: HashSet::new(),
            services_needing_image: HashSet::new(),
            services_with_changed_hash: HashSet::new(),
            image_services: HashMap::new(),
            restartable: HashMap::new(),
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
            existing_running: false,
        });
        let last = self.actions.len() - 1;
        &mut self.actions[last]
    }

    /// Network actions: create the missing, recreate the changed, delete orphans when asked.
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
                let applied = self.was_applied(|p| p.networks.contains_key(&observed.key));
                if !applied {
                    self.orphans.push(resource.clone());
                }
                if applied || self.options.remove_orphans {
                    let action = self.push(resource, Op::Delete);
                    action.existing_id = Some(observed.id.clone());
                    action.reason = Some(if applied {
                        REMOVED_FROM_SPEC.into()
                    } else {
                        format!(
                            "orphan: network \"{}\" was never applied from this project's spec",
                            observed.key
                        )
                    });
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

    /// Volume actions: create the missing; a changed volume is only warned about (its data matters more),
    /// and an orphan is deleted only with `remove_volumes`.
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
                _ => self.volume_not_in_spec(resource, &observed.name, &observed.key),
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

    /// A volume the spec does not hold: deleted only with `remove_volumes` (its data is lost, and the plan's
    /// impact says so); otherwise kept, and the plan's impact says so when the last-applied record held it.
    fn volume_not_in_spec(&mut self, resource: ResourceRef, name: &str, key: &str) {
        let applied = self.was_applied(|p| p.volumes.contains_key(key));
        if !applied {
            self.orphans.push(resource.clone());
        }
        if self.options.remove_volumes {
            // The data loss is the delete's impact line (render::impact_lines), so it is said once.
            let action = self.push(resource, Op::Delete);
            action.existing_id = Some(name.to_string());
            action.reason = Some(if applied {
                REMOVED_FROM_SPEC.into()
            } else {
                format!("orphan: volume \"{key}\" was never applied from this project's spec")
            });
        } else if applied {
            // Said by the plan's impact (render::impact_lines), with how to delete it.
            self.kept_volumes.push(resource);
        }
    }

    /// Whether the last-applied record holds what `held` looks for.
    fn was_applied(&self, held: impl Fn(&Project) -> bool) -> bool {
        self.last_applied.is_some_and(held)
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
        self.mark_running(&mut actions);
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
            kept_volumes: self.kept_volumes,
        }
    }
}

impl Planner<'_> {
    /// Marks the container actions whose existing container runs now: what they do to it costs downtime.
    fn mark_running(&self, actions: &mut [Action]) {
        let running: HashSet<&str> = self
            .observed
            .containers
            .iter()
            .filter(|c| c.state.is_running())
            .map(|c| c.id.as_str())
            .collect();
        for action in actions {
            action.existing_running = action.resource.kind == ResourceKind::Container
                && action
                    .existing_id
                    .as_deref()
                    .is_some_and(|id| running.contains(id));
        }
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

fn network_target(project: &Project, key: &str, spec: &NetworkSpec, config_hash: &str) -> Target {
    Target::Network(NetworkTarget {
        name: hash::network_engine_name(project, key),
        driver: spec.driver.clone(),
        internal: spec.internal,
        enable_ipv6: spec.enable_ipv6,
        ipam: spec.ipam.clone(),
        labels: naming::scoped_labels(
            &project.name,
            naming::LABEL_NETWORK,
            key,
            config_hash,
            &spec.labels,
        ),
    })
}
