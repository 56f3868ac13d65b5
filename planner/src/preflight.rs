//! Failures predicted at plan time: the engine gathers facts about the host (which container publishes which
//! host port), and this decides, without I/O, which of the plan's steps would certainly fail on them.
//!
//! A host port published by a container the plan does not remove makes the create that wants it fail at
//! start, after the container was created: refusing the plan instead leaves nothing half-made behind. A
//! container name the plan creates that a container not managed by this project already holds makes the
//! create fail outright; the plan is refused with the holder named. So is a host port a process on the
//! host (not a container) listens on (see `listeners`), and a fixed MAC address another container uses.
//!
//! Likely failures are warnings: an image not present locally whose registry does not answer (see
//! `registries`).

mod listeners;
mod registries;

pub use listeners::{parse_socket_table, ports_to_check, HostListener, MOST_LISTENERS};

pub use registries::{
    registries_to_probe, registry_of, RegistryAddress, UnreachableRegistry, MOST_REGISTRIES_PROBED,
};

use crate::error::{ErrorKind, SpecError};
use crate::model::Protocol;
use crate::plan::{ContainerTarget, Op, Plan, ResourceKind, Target};

/// A host port that a running container publishes, as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// The holder's name, without Docker's leading `/`.
    pub container: String,
    /// The holder's compose project label, when it has one.
    pub project: Option<String>,
    /// The host address it is bound to; `None`, `0.0.0.0` or `::` mean every address.
    pub host_ip: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

/// A container on the host, running or not, as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedContainer {
    /// Its name, without Docker's leading `/`.
    pub name: String,
    /// The project that manages it (our `managed-by` label), when one does.
    pub managed_by: Option<String>,
    /// Its MAC addresses on the networks it is attached to now (a running container's), lowercase.
    pub mac_addresses: Vec<String>,
}

/// What the engine knows about the host before apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub published: Vec<PublishedPort>,
    /// Every container's name, so a create can tell whether its name is free.
    pub containers: Vec<NamedContainer>,
    /// Sockets on the host receiving on the ports the plan publishes (see [`ports_to_check`]); empty when the
    /// engine does not share this host's network.
    pub listeners: Vec<HostListener>,
    /// Registries of images the plan must pull (see [`registries_to_probe`]) that did not answer.
    pub unreachable_registries: Vec<UnreachableRegistry>,
}

/// The plan's steps that would certainly fail, as spec errors naming the field, the holder and the fix.
pub fn certain_failures(plan: &Plan, facts: &HostFacts) -> Vec<SpecError> {
    let freed = containers_the_plan_removes(plan);
    let mut errors = Vec::new();
    for action in &plan.actions {
        if !matches!(action.op, Op::Create | Op::Replace | Op::Start) {
            continue;
        }
        let Some(Target::Container(target)) = &action.target else {
            continue;
        };
        if action.op == Op::Create {
            errors.extend(name_taken(&plan.project, target, facts));
        }
        errors.extend(mac_address_taken(target, &freed, facts));
        for (index, binding) in target.spec.ports.iter().enumerate() {
            let Some(port) = binding.published else {
                continue;
            };
            let wanted = Wanted {
                host_ip: binding.host_ip.as_deref(),
                port,
                protocol: binding.protocol,
            };
            let holder = facts.published.iter().find(|held| {
                held.container != target.name
                    && !freed.contains(&held.container.as_str())
                    && wanted.collides_with(held)
            });
            if let Some(holder) = holder {
                errors.push(port_taken(&target.service, index, &wanted, holder));
            }
        }
    }
    errors.extend(listeners::held_by_host_process(plan, facts));
    errors
}

/// The plan's steps that would likely fail, as warnings naming what and why.
pub fn likely_failures(plan: &Plan, facts: &HostFacts) -> Vec<String> {
    registries::unreachable_registry_warnings(plan, &facts.unreachable_registries)
}

/// Containers this plan deletes or replaces: the ports they hold are free by the time they are needed.
fn containers_the_plan_removes(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| a.resource.kind == ResourceKind::Container)
        .filter(|a| matches!(a.op, Op::Delete | Op::Replace))
        .map(|a| a.resource.name.as_str())
        .collect()
}

struct Wanted<'a> {
    host_ip: Option<&'a str>,
    port: u16,
    protocol: Protocol,
}

impl Wanted<'_> {
    fn collides_with(&self, held: &PublishedPort) -> bool {
        held.port == self.port
            && held.protocol == self.protocol
            && addresses_overlap(self.host_ip, held.host_ip.as_deref())
    }
}

/// Whether a host address means every interface (unset, `0.0.0.0`, `::`).
pub(crate) fn is_every_address(ip: Option<&str>) -> bool {
    matches!(ip, None | Some("" | "0.0.0.0" | "::" | "[::]"))
}

fn addresses_overlap(a: Option<&str>, b: Option<&str>) -> bool {
    is_every_address(a) || is_every_address(b) || a == b
}

/// A create whose name a container this project does not manage already holds.
fn name_taken(project: &str, target: &ContainerTarget, facts: &HostFacts) -> Option<SpecError> {
    let holder = facts
        .containers
        .iter()
        .find(|c| c.name == target.name && c.managed_by.as_deref() != Some(project))?;
    let (path, fix) = match &target.spec.container_name {
        Some(_) => (
            format!("services.{}.container_name", target.service),
            "choose another container_name, or remove that container first",
        ),
        None => (
            format!("services.{}", target.service),
            "rename that container, or use another project name",
        ),
    };
    let owner = match &holder.managed_by {
        Some(other) => format!("project `{other}`"),
        None => "no project of this server".to_string(),
    };
    Some(SpecError {
        kind: ErrorKind::Invalid,
        path,
        message: format!(
            "container name `{}` is already taken by a container managed by {owner}; the create would fail",
            holder.name
        ),
        fix: fix.into(),
    })
}

/// A fixed MAC address another container holds now: two interfaces with one address on a bridge take each
/// other's traffic (the bridge learns the address on whichever port spoke last), so the plan is refused with
/// the holder named. The container being replaced, and any the plan removes first, do not count.
fn mac_address_taken(
    target: &ContainerTarget,
    freed: &[&str],
    facts: &HostFacts,
) -> Option<SpecError> {
    let mac = target.spec.mac_address.as_deref()?;
    let mut spared = freed.to_vec();
    spared.push(&target.name);
    let holder = mac_address_holder(mac, &facts.containers, &spared)?;
    Some(SpecError {
        kind: ErrorKind::Invalid,
        path: format!("services.{}.mac_address", target.service),
        message: mac_address_taken_message(mac, &holder.name),
        fix: MAC_ADDRESS_TAKEN_FIX.into(),
    })
}

/// The container other than `spared` that uses `mac` now. The one rule for plans and the primitive tools.
pub fn mac_address_holder<'a>(
    mac: &str,
    containers: &'a [NamedContainer],
    spared: &[&str],
) -> Option<&'a NamedContainer> {
    containers.iter().find(|c| {
        !spared.contains(&c.name.as_str()) && c.mac_addresses.iter().any(|held| held == mac)
    })
}

/// Why a MAC address in use is refused, naming its holder.
pub fn mac_address_taken_message(mac: &str, holder: &str) -> String {
    format!(
        "MAC address {mac} is already used by container `{holder}`; two interfaces with one address take each other's traffic"
    )
}

/// How to get past a MAC address in use.
pub const MAC_ADDRESS_TAKEN_FIX: &str =
    "choose another address (a locally administered one starts with 02:), or remove mac_address";

fn port_taken(service: &str, index: usize, wanted: &Wanted, holder: &PublishedPort) -> SpecError {
    let owner = match &holder.project {
        Some(project) => format!(" (project `{project}`)"),
        None => String::new(),
    };
    let address = holder.host_ip.as_deref().unwrap_or("0.0.0.0");
    SpecError {
        kind: ErrorKind::Invalid,
        path: format!("services.{service}.ports[{index}]"),
        message: format!(
            "host port {}/{} is already published on {address} by container `{}`{owner}; the container \
             would be created and then fail to start",
            wanted.port,
            wanted.protocol.as_str(),
            holder.container,
        ),
        fix: format!(
            "publish another host port, or stop or remove container `{}` first",
            holder.container
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{PortBinding, ServiceSpec};
    use crate::plan::{Action, ContainerTarget, ResourceRef};

    fn create(name: &str, op: Op, port: u16, host_ip: Option<&str>) -> Action {
        let spec = ServiceSpec {
            ports: vec![PortBinding {
                target: 80,
                published: Some(port),
                host_ip: host_ip.map(str::to_string),
                protocol: Protocol::Tcp,
            }],
            ..ServiceSpec::default()
        };
        let target = ContainerTarget {
            service: "web".into(),
            number: 1,
            name: name.into(),
            spec,
            labels: Default::default(),
            config_hash: "h".into(),
            network_names: Default::default(),
            volume_names: Default::default(),
            wait_for: Vec::new(),
        };
        let mut action: Action = serde_json::from_value(serde_json::json!({
            "id": 0,
            "resource": {"kind": "container", "name": name, "key": "web"},
            "op": "create",
        }))
        .unwrap();
        action.op = op;
        action.resource = ResourceRef {
            kind: ResourceKind::Container,
            name: name.into(),
            key: "web".into(),
            number: Some(1),
        };
        action.target = Some(Target::Container(target));
        action
    }

    fn plan(actions: Vec<Action>) -> Plan {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "project": "demo", "actions": [], "waves": [], "summary": {"add": 0, "change": 0, "destroy": 0},
            "fingerprint": "", "warnings": []
        }))
        .unwrap();
        plan.actions = actions;
        plan
    }

    fn holder(name: &str, port: u16, host_ip: Option<&str>) -> HostFacts {
        HostFacts {
            published: vec![PublishedPort {
                container: name.into(),
                project: Some("other".into()),
                host_ip: host_ip.map(str::to_string),
                port,
                protocol: Protocol::Tcp,
            }],
            ..HostFacts::default()
        }
    }

    fn named(name: &str, managed_by: Option<&str>) -> HostFacts {
        HostFacts {
            containers: vec![NamedContainer {
                name: name.into(),
                managed_by: managed_by.map(str::to_string),
                mac_addresses: Vec::new(),
            }],
            ..HostFacts::default()
        }
    }

    fn with_mac(mut action: Action, mac: &str) -> Action {
        if let Some(Target::Container(target)) = &mut action.target {
            target.spec.mac_address = Some(mac.into());
        }
        action
    }

    fn holding_mac(name: &str, mac: &str) -> HostFacts {
        HostFacts {
            containers: vec![NamedContainer {
                name: name.into(),
                managed_by: None,
                mac_addresses: vec![mac.into()],
            }],
            ..HostFacts::default()
        }
    }

    #[test]
    fn a_mac_address_another_container_uses_is_refused_with_the_holder_named() {
        let mac = "02:42:ac:11:00:09";
        let creating = plan(vec![with_mac(
            create("demo-web-1", Op::Create, 8080, None),
            mac,
        )]);
        let errors = certain_failures(&creating, &holding_mac("victim", mac));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "services.web.mac_address");
        assert!(
            errors[0].message.contains("`victim`"),
            "{}",
            errors[0].message
        );

        let other = certain_failures(&creating, &holding_mac("victim", "02:42:ac:11:00:0a"));
        assert!(other.is_empty(), "{other:?}");
        // The container being replaced keeps its address until it is removed, before the new one starts.
        let replacing = plan(vec![with_mac(
            create("demo-web-1", Op::Replace, 8080, None),
            mac,
        )]);
        let own = certain_failures(&replacing, &holding_mac("demo-web-1", mac));
        assert!(own.is_empty(), "{own:?}");
    }

    #[test]
    fn a_name_held_by_a_container_not_ours_is_refused_with_the_holder_named() {
        let creating = plan(vec![create("demo-web-1", Op::Create, 8080, None)]);
        for managed_by in [None, Some("other")] {
            let errors = certain_failures(&creating, &named("demo-web-1", managed_by));
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].path, "services.web");
            assert!(errors[0].message.contains("`demo-web-1`"), "{}", errors[0]);
        }
        assert!(certain_failures(&creating, &named("demo-web-1", Some("demo"))).is_empty());
        assert!(certain_failures(&creating, &named("demo-web-2", None)).is_empty());
        let replace = plan(vec![create("demo-web-1", Op::Replace, 8080, None)]);
        assert!(certain_failures(&replace, &named("demo-web-1", Some("demo"))).is_empty());
    }

    #[test]
    fn a_port_another_container_publishes_is_refused_with_the_holder_named() {
        let plan = plan(vec![create("demo-web-1", Op::Create, 8080, None)]);
        let errors = certain_failures(&plan, &holder("other-db-1", 8080, Some("0.0.0.0")));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "services.web.ports[0]");
        assert!(errors[0].message.contains("`other-db-1`"), "{}", errors[0]);
        assert!(
            errors[0].message.contains("project `other`"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_port_held_by_a_container_the_plan_replaces_or_on_another_address_is_free() {
        let replaced = plan(vec![create("demo-web-1", Op::Replace, 8080, None)]);
        assert!(certain_failures(&replaced, &holder("demo-web-1", 8080, None)).is_empty());
        let elsewhere = plan(vec![create(
            "demo-web-1",
            Op::Create,
            8080,
            Some("127.0.0.1"),
        )]);
        let facts = holder("other-db-1", 8080, Some("127.0.0.2"));
        assert!(certain_failures(&elsewhere, &facts).is_empty());
        let other_port = holder("other-db-1", 8081, None);
        let create = plan(vec![create("demo-web-1", Op::Create, 8080, None)]);
        assert!(certain_failures(&create, &other_port).is_empty());
    }

    fn pull(reference: &str, present: bool) -> Action {
        serde_json::from_value(serde_json::json!({
            "id": 0,
            "resource": {"kind": "image", "name": reference, "key": "web"},
            "op": "pull",
            "existing_id": if present { Some(reference) } else { None },
        }))
        .unwrap()
    }

    #[test]
    fn an_absent_image_whose_registry_does_not_answer_is_a_warning_naming_both() {
        let down = HostFacts {
            unreachable_registries: vec![UnreachableRegistry {
                address: registry_of("127.0.0.1:5999/nope/x:1").unwrap(),
                reason: "connection refused".into(),
            }],
            ..HostFacts::default()
        };
        let pulls = plan(vec![
            pull("127.0.0.1:5999/nope/x:1", false),
            pull("127.0.0.1:5999/nope/present:1", true),
            pull("127.0.0.1:5000/up/y:1", false),
        ]);
        assert_eq!(
            registries_to_probe(&pulls),
            vec![
                registry_of("127.0.0.1:5000/a").unwrap(),
                registry_of("127.0.0.1:5999/a").unwrap()
            ]
        );
        let warnings = likely_failures(&pulls, &down);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("\"127.0.0.1:5999/nope/x:1\"")
                && warnings[0]
                    .contains("registry 127.0.0.1:5999 does not answer (connection refused)"),
            "{warnings:?}"
        );
        assert!(certain_failures(&pulls, &down).is_empty());
    }

    #[test]
    fn a_port_a_host_process_listens_on_is_refused_unless_a_container_publishes_it() {
        let creating = plan(vec![create("demo-web-1", Op::Create, 8080, None)]);
        assert_eq!(ports_to_check(&creating), vec![(8080, Protocol::Tcp)]);
        let listening = |ip: &str| HostFacts {
            listeners: vec![HostListener {
                ip: ip.parse().unwrap(),
                port: 8080,
                protocol: Protocol::Tcp,
            }],
            ..HostFacts::default()
        };
        let errors = certain_failures(&creating, &listening("127.0.0.1"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "services.web.ports[0]");
        assert!(
            errors[0].message.contains("host port 8080/tcp")
                && errors[0].message.contains("a process on the host"),
            "{}",
            errors[0]
        );
        // Another address the plan does not bind is free.
        let loopback_only = plan(vec![create(
            "demo-web-1",
            Op::Create,
            8080,
            Some("127.0.0.1"),
        )]);
        assert!(certain_failures(&loopback_only, &listening("127.0.0.2")).is_empty());
        // A container's docker-proxy listens on its published port: the container is named, once.
        let mut proxied = holder("other-db-1", 8080, None);
        proxied.listeners = listening("0.0.0.0").listeners;
        let errors = certain_failures(&creating, &proxied);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("`other-db-1`"), "{}", errors[0]);
    }
}
