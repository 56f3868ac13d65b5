//! What the plan's steps cost, predicted at plan time, as short lines for a human deciding whether to approve:
//! downtime (a running container is replaced, restarted or removed; a stopped one costs none), data loss (a
//! volume is deleted; one removed from the spec and kept is said to be kept) and new exposure (a host port
//! newly published, and on which interfaces).
//!
//! The same lines go to the rendering's `Impact:` block, the plan tool's structured output and the approval
//! question, so the three never disagree. Replicas of one service that cost the same fold into one line.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::diff::fields::port_display;
use crate::model::PortBinding;
use crate::plan::{Action, FieldChange, Op, Plan, ResourceKind, ResourceRef, Target};
use crate::preflight::is_every_address;

use super::widening::list_items;

/// The plan's impact lines, without bullets: downtime first, then data lost and kept, then new exposure.
pub fn impact_lines(plan: &Plan) -> Vec<String> {
    let recreated = Recreated::of(plan);
    let mut lines = downtime_lines(plan, &recreated);
    lines.extend(
        plan.actions
            .iter()
            .filter(|a| a.resource.kind == ResourceKind::Volume && a.op == Op::Delete)
            .map(|a| {
                format!(
                    "data loss: volume \"{}\" is deleted with all its data",
                    a.resource.name
                )
            }),
    );
    lines.extend(plan.kept_volumes.iter().map(|volume| {
        format!(
            "data kept: volume \"{}\" is kept with its data (delete it with the remove_volume tool, or destroy \
             with volumes: true)",
            volume.name
        )
    }));
    lines.extend(exposure_lines(plan, &recreated));
    lines
}

/// Containers the plan deletes and creates again (their network is recreated): the delete's changes say what
/// the create changes.
struct Recreated<'p> {
    deleted: BTreeMap<&'p ResourceRef, &'p [FieldChange]>,
    created: BTreeSet<&'p ResourceRef>,
}

impl<'p> Recreated<'p> {
    fn of(plan: &'p Plan) -> Self {
        let containers = || {
            plan.actions
                .iter()
                .filter(|a| a.resource.kind == ResourceKind::Container)
        };
        Recreated {
            deleted: containers()
                .filter(|a| a.op == Op::Delete)
                .map(|a| (&a.resource, a.changes.as_slice()))
                .collect(),
            created: containers()
                .filter(|a| a.op == Op::Create)
                .map(|a| &a.resource)
                .collect(),
        }
    }
}

/// How a step interrupts a running container.
fn interruption(action: &Action, recreated: &Recreated) -> Option<&'static str> {
    match action.op {
        Op::Replace => Some("replaced"),
        Op::Restart => Some("restarted"),
        Op::Delete if recreated.created.contains(&action.resource) => Some("recreated"),
        Op::Delete => Some("stopped and removed"),
        _ => None,
    }
}

/// One line per service and interruption of running containers.
fn downtime_lines(plan: &Plan, recreated: &Recreated) -> Vec<String> {
    let mut groups: Vec<(&str, &'static str, Vec<&str>)> = Vec::new();
    let mut group_of: HashMap<(&str, &'static str), usize> = HashMap::new();
    for action in plan.actions.iter().filter(|a| a.existing_running) {
        let Some(what) = interruption(action, recreated) else {
            continue;
        };
        let service = action.resource.key.as_str();
        let index = *group_of.entry((service, what)).or_insert_with(|| {
            groups.push((service, what, Vec::new()));
            groups.len() - 1
        });
        groups[index].2.push(action.resource.name.as_str());
    }
    groups
        .into_iter()
        .map(|(service, what, names)| match names.as_slice() {
            [first, .., last] => format!(
                "downtime: {} running containers of service {service} (\"{first}\" … \"{last}\") are {what}",
                names.len()
            ),
            _ => format!(
                "downtime: container \"{}\" (running) is {what}",
                names.concat()
            ),
        })
        .collect()
}

/// Host ports the plan publishes that are not published now, each line once (replicas share theirs).
fn exposure_lines(plan: &Plan, recreated: &Recreated) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for action in &plan.actions {
        let Some(Target::Container(target)) = &action.target else {
            continue;
        };
        for port in newly_published(action, recreated, &target.spec.ports) {
            let line = format!(
                "exposure: service {} publishes {}",
                target.service,
                exposure(port)
            );
            if seen.insert(line.clone()) {
                lines.push(line);
            }
        }
    }
    lines
}

/// The ports of a create or replace that its container did not publish before.
fn newly_published<'a>(
    action: &Action,
    recreated: &Recreated,
    ports: &'a [PortBinding],
) -> Vec<&'a PortBinding> {
    let changes = match action.op {
        Op::Replace => action.changes.as_slice(),
        Op::Create => match recreated.deleted.get(&action.resource) {
            Some(changes) => changes,
            None => return ports.iter().collect(),
        },
        _ => return Vec::new(),
    };
    let Some(change) = changes.iter().find(|c| c.path == "ports") else {
        return Vec::new();
    };
    let before = change.before.as_deref().map(list_items).unwrap_or_default();
    ports
        .iter()
        .filter(|p| !before.contains(&port_display(p)))
        .collect()
}

/// `host port 8080/tcp on all interfaces`, `… on loopback only (127.0.0.1)`.
fn exposure(port: &PortBinding) -> String {
    let host_port = match port.published {
        Some(published) => format!("host port {published}/{}", port.protocol.as_str()),
        None => format!(
            "container port {}/{} on a random host port",
            port.target,
            port.protocol.as_str()
        ),
    };
    let interfaces = match port.host_ip.as_deref() {
        Some(ip) if !is_every_address(Some(ip)) && is_loopback(ip) => {
            format!("loopback only ({ip})")
        }
        Some(ip) if !is_every_address(Some(ip)) => format!("{ip} only"),
        _ => "all interfaces".to_string(),
    };
    format!("{host_port} on {interfaces}")
}

fn is_loopback(ip: &str) -> bool {
    ip.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}
