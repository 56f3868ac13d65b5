//! What the plan's steps cost, predicted at plan time, as short lines for a human deciding whether to approve:
//! downtime (a running container is replaced, restarted or removed; a stopped one costs none), data loss (a
//! volume is deleted) and new exposure (a host port newly published, and on which interfaces).
//!
//! The same lines go to the rendering's `Impact:` block, the plan tool's structured output and the approval
//! question, so the three never disagree. Replicas of one service that cost the same fold into one line.

use crate::diff::fields::port_display;
use crate::model::PortBinding;
use crate::plan::{Action, Op, Plan, ResourceKind, Target};
use crate::preflight::is_every_address;

use super::widening::list_items;

/// The plan's impact lines, without bullets: downtime first, then data loss, then new exposure.
pub fn impact_lines(plan: &Plan) -> Vec<String> {
    let mut lines = downtime_lines(plan);
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
    for line in exposure_lines(plan) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// How a step interrupts a running container; a delete followed by a create of the same container (its
/// network is recreated) is a recreate.
fn interruption(plan: &Plan, action: &Action) -> Option<&'static str> {
    match action.op {
        Op::Replace => Some("replaced"),
        Op::Restart => Some("restarted"),
        Op::Delete if created_after(plan, action) => Some("recreated"),
        Op::Delete => Some("stopped and removed"),
        _ => None,
    }
}

fn created_after(plan: &Plan, delete: &Action) -> bool {
    plan.actions
        .iter()
        .any(|a| a.op == Op::Create && a.resource == delete.resource)
}

/// One line per service and operation that interrupts running containers.
fn downtime_lines(plan: &Plan) -> Vec<String> {
    let mut groups: Vec<(&str, &'static str, Vec<&str>)> = Vec::new();
    for action in plan.actions.iter().filter(|a| a.existing_running) {
        let Some(what) = interruption(plan, action) else {
            continue;
        };
        let service = action.resource.key.as_str();
        let name = action.resource.name.as_str();
        match groups
            .iter_mut()
            .find(|(s, w, _)| *s == service && *w == what)
        {
            Some((_, _, names)) => names.push(name),
            None => groups.push((service, what, vec![name])),
        }
    }
    groups
        .into_iter()
        .map(|(service, what, names)| match names.as_slice() {
            [first, .., last] => format!(
                "downtime: {} running containers of service {service} (\"{first}\" … \"{last}\") are {what}",
                names.len()
            ),
            one => format!(
                "downtime: container \"{}\" (running) is {what}",
                one.join("")
            ),
        })
        .collect()
}

/// Host ports the plan publishes that are not published now.
fn exposure_lines(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for action in &plan.actions {
        let Some(Target::Container(target)) = &action.target else {
            continue;
        };
        for port in newly_published(plan, action, &target.spec.ports) {
            lines.push(format!(
                "exposure: service {} publishes {}",
                target.service,
                exposure(port)
            ));
        }
    }
    lines
}

/// The ports of a create or replace that its container did not publish before. A create that follows the
/// delete of the same container (its network is recreated) compares with what that delete removed.
fn newly_published<'a>(
    plan: &Plan,
    action: &Action,
    ports: &'a [PortBinding],
) -> Vec<&'a PortBinding> {
    let changes = match action.op {
        Op::Replace => &action.changes,
        Op::Create => match deleted_before(plan, action) {
            Some(delete) => &delete.changes,
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

fn deleted_before<'p>(plan: &'p Plan, create: &Action) -> Option<&'p Action> {
    plan.actions
        .iter()
        .find(|a| a.op == Op::Delete && a.resource == create.resource)
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
