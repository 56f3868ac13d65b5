//! The lines a swarm plan shows under a service it creates or updates: the image its tasks run and every
//! setting that widens host access, marked by the engine target's rule (`render::widening`). An
//! operator-allowed capability or a port published on every node must be visible to the human who approves
//! the plan, never folded into a bare "create".

use super::diff::ServiceChange;
use super::spec::{PublishMode, ServiceSpec};
use crate::plan::FieldChange;
use crate::render::widening;

/// The detail lines under a service's create or rolling-update line (none for scaling or removal). An
/// update shows only the settings among its changed fields (all of them when the fields are unknown).
pub fn lines(spec: &ServiceSpec, change: &ServiceChange) -> String {
    let shown = |field: &str| match change {
        ServiceChange::Create => true,
        ServiceChange::RollingUpdate { fields, .. } => fields
            .iter()
            .any(|f| f == "spec" || f == field || f.starts_with(&format!("{field}."))),
        ServiceChange::Scale { .. } | ServiceChange::Remove => false,
    };
    let mut out = String::new();
    if shown("container.image") {
        out.push_str(&format!("    image: {}\n", spec.container.image));
    }
    if shown("container.cap_add") && !spec.container.cap_add.is_empty() {
        out.push_str(&setting("cap_add", &spec.container.cap_add, ""));
    }
    if shown("endpoint") && !spec.endpoint.ports.is_empty() {
        out.push_str(&setting("ports", &ports(spec), " on the nodes' addresses"));
    }
    out
}

/// `name: [items]` with the mark when the engine target's rule says the value widens host access.
fn setting(name: &str, items: &[String], note: &str) -> String {
    let shown = serde_json::to_string(items).unwrap_or_default();
    let change = FieldChange {
        path: name.into(),
        before: None,
        after: Some(shown.clone()),
        forces_replacement: false,
    };
    let mark = if widening::change_widens(&change) {
        widening::MARK
    } else {
        ""
    };
    format!("    {name}: {shown}{note}{mark}\n")
}

/// Each published port as the engine target's rendering writes it (`published:target/proto`, or
/// `target/proto` when the swarm picks the published port), with its publish mode.
fn ports(spec: &ServiceSpec) -> Vec<String> {
    let one = |p: &super::spec::PublishedPort| {
        let mode = match p.mode {
            PublishMode::Ingress => "ingress",
            PublishMode::Host => "host",
        };
        let proto = p.protocol.as_str();
        match p.published {
            Some(published) => format!("{published}:{}/{proto} {mode}", p.target),
            None => format!("{}/{proto} {mode}", p.target),
        }
    };
    spec.endpoint.ports.iter().map(one).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn web() -> ServiceSpec {
        let yaml = "services:\n  web:\n    image: busybox\n    ports: [\"2375:80\"]\n";
        super::super::tests::map_service(yaml, "web").unwrap().spec
    }

    /// An operator-allowed capability and a port on every node are shown and marked under a create; an
    /// update shows only what it changes; scaling shows nothing more.
    #[test]
    fn host_access_is_shown_and_marked_under_the_service_line() {
        let mut spec = web();
        spec.container.cap_add = vec!["NET_ADMIN".into()];
        assert_eq!(
            lines(&spec, &ServiceChange::Create),
            "    image: busybox\n    cap_add: [\"NET_ADMIN\"]  # widens host access\n    ports: \
             [\"2375:80/tcp ingress\"] on the nodes' addresses  # widens host access\n"
        );
        let update = ServiceChange::RollingUpdate {
            fields: vec!["container.cap_add".into(), "labels.team".into()],
            parallelism: 1,
        };
        assert_eq!(
            lines(&spec, &update),
            "    cap_add: [\"NET_ADMIN\"]  # widens host access\n"
        );
        assert_eq!(lines(&spec, &ServiceChange::Scale { from: 1, to: 2 }), "");
    }
}
