//! Project-wide rules: labels in reserved namespaces, and network names that reach the host's or another
//! container's namespaces.
//!
//! Our ownership labels decide what plan, apply and destroy may touch, and compose's labels decide what
//! `docker compose` sees; a spec that set either could adopt or hide another project's resources. A network
//! named `host`, `container:NAME` or `service:NAME` (directly, or as an external network's `name`) is a
//! namespace join in disguise, so it needs the same operator option as `network_mode`.

use std::collections::BTreeMap;
use std::path::Path;

use super::Policy;
use crate::error::{ErrorKind, SpecError};
use crate::model::{NetworkSpec, Project, ServiceSpec};

/// Label prefixes a spec may not set.
pub const RESERVED_LABEL_PREFIXES: &[&str] = &[
    "io.mcp-docker-server.",
    "com.docker.compose.",
    "com.docker.stack.",
];

/// Every project-wide rule, plus each service's rules from `check_service`.
pub fn check_project(project: &Project, policy: &Policy) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (name, spec) in &project.services {
        errors.extend(super::check_service(name, spec, policy));
        errors.extend(check_service_labels(name, spec));
        errors.extend(check_service_networks(
            &format!("services.{name}"),
            spec,
            &project.networks,
            policy,
        ));
    }
    for (key, network) in &project.networks {
        errors.extend(reserved_labels(&format!("networks.{key}"), &network.labels));
        if network.external {
            let engine_name = network.name.as_deref().unwrap_or(key);
            errors.extend(namespace_network(
                &format!("networks.{key}.name"),
                engine_name,
                policy,
            ));
        }
    }
    for (key, volume) in &project.volumes {
        errors.extend(reserved_labels(&format!("volumes.{key}"), &volume.labels));
    }
    errors.extend(super::binds::check_project_binds(project, &[]));
    errors
}

/// The rules a stored plan's project is checked against again at apply: the operator's policy may have
/// changed since the plan, and a stored plan is data that must not be trusted more than a new spec. File
/// system facts (symlinks, sensitive folders inside a directory) were checked at plan time; the paths
/// themselves are checked again here against every rule that does not depend on where the server was
/// started: the workspace roots default to its working directory, and a person's `apply --plan ID` at the
/// CLI has no compose file to add as a root, so they were checked when the plan was made.
pub fn check_stored(project: &Project, policy: &Policy) -> Vec<SpecError> {
    let mut errors = super::limits::check_replicas(project, &policy.limits);
    errors.extend(check_project(project, policy));
    let policy = &Policy {
        host_paths: super::HostPathScope::Anywhere,
        ..policy.clone()
    };
    for (name, spec) in &project.services {
        let base = format!("services.{name}");
        let binds = spec
            .mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| m.kind == crate::model::MountKind::Bind);
        for (i, mount) in binds {
            if let Some(source) = &mount.source {
                let field = format!("{base}.volumes[{i}]");
                errors.extend(super::check_host_path(Path::new(source), policy, &field).err());
            }
        }
        if let Some(build) = &spec.build {
            let field = format!("{base}.build.context");
            errors.extend(super::check_host_path(Path::new(&build.context), policy, &field).err());
        }
    }
    for (section, files) in [("secrets", &project.secrets), ("configs", &project.configs)] {
        for (name, source) in files {
            if let crate::model::FileSource::File(path) = source {
                let field = format!("{section}.{name}.file");
                errors.extend(super::check_host_path(Path::new(path), policy, &field).err());
            }
        }
    }
    errors
}

/// A service's own labels and its build's labels.
pub fn check_service_labels(name: &str, spec: &ServiceSpec) -> Vec<SpecError> {
    let base = format!("services.{name}");
    let mut errors = reserved_labels(&base, &spec.labels);
    if let Some(build) = &spec.build {
        errors.extend(reserved_labels(&format!("{base}.build"), &build.labels));
    }
    errors
}

/// The networks a service joins, by key; a key with no declaration (a primitive container's) is the
/// engine name itself.
pub fn check_service_networks(
    base: &str,
    spec: &ServiceSpec,
    declared: &BTreeMap<String, NetworkSpec>,
    policy: &Policy,
) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for key in spec.networks.keys() {
        if declared.contains_key(key) {
            continue;
        }
        errors.extend(namespace_network(
            &format!("{base}.networks.{key}"),
            key,
            policy,
        ));
    }
    errors
}

/// The reserved prefix `label` falls under, if any: such labels are set only by this server and compose.
pub fn reserved_prefix(label: &str) -> Option<&'static str> {
    RESERVED_LABEL_PREFIXES
        .iter()
        .find(|p| label.starts_with(*p))
        .copied()
}

/// Refuses every label under a reserved prefix; `base` is the path the labels sit at (`volumes.data`).
pub fn reserved_labels(base: &str, labels: &BTreeMap<String, String>) -> Vec<SpecError> {
    labels
        .keys()
        .filter_map(|label| {
            let prefix = reserved_prefix(label)?;
            Some(SpecError::new(
                ErrorKind::Policy,
                format!("{base}.labels.{label}"),
                format!(
                    "label `{label}` is refused by policy: labels under `{prefix}*` are set by the server \
                     and compose, and decide which project owns a resource"
                ),
                format!("rename the label outside `{prefix}*`"),
            ))
        })
        .collect()
}

/// Refuses a network name that joins the host's or a container's namespace, unless the operator allows it.
fn namespace_network(field_path: &str, name: &str, policy: &Policy) -> Option<SpecError> {
    let (option, reason) = if name == "host" {
        (
            "host_network",
            "it puts the container on the host's network stack",
        )
    } else if name.starts_with("container:") || name.starts_with("service:") {
        (
            "shared_namespaces",
            "it joins another container's network namespace",
        )
    } else {
        return None;
    };
    if policy.allows(option) {
        return None;
    }
    Some(SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!("network `{name}` is refused by policy: {reason}"),
        format!(
            "use a project network; the server's operator may allow it with `--allow-option {option}` \
             (env MCP_DOCKER_ALLOW_OPTIONS={option})"
        ),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;
    use crate::model::{NetworkAttachment, VolumeSpec};

    fn with_network(key: &str, network: Option<NetworkSpec>) -> Project {
        let mut project = Project::default();
        let mut spec = ServiceSpec::default();
        spec.networks
            .insert(key.to_string(), NetworkAttachment::default());
        project.services.insert("web".into(), spec);
        if let Some(network) = network {
            project.networks.insert(key.to_string(), network);
        }
        project
    }

    fn external(name: &str) -> NetworkSpec {
        NetworkSpec {
            external: true,
            name: Some(name.to_string()),
            ..NetworkSpec::default()
        }
    }

    fn allowing(option: &str) -> Policy {
        let mut policy = Policy::default();
        policy.allowed_options.insert(option.to_string());
        policy
    }

    #[test]
    fn namespace_network_names() {
        let none = Policy::default();
        for (project, policy, refused_at) in [
            (
                with_network("host", None),
                &none,
                Some("services.web.networks.host"),
            ),
            (
                with_network("container:db", None),
                &none,
                Some("services.web.networks.container:db"),
            ),
            (
                with_network("service:db", None),
                &none,
                Some("services.web.networks.service:db"),
            ),
            (
                with_network("back", Some(external("container:db"))),
                &none,
                Some("networks.back.name"),
            ),
            (
                with_network("back", Some(external("host"))),
                &none,
                Some("networks.back.name"),
            ),
            (with_network("back", Some(external("shared"))), &none, None),
            (
                with_network("back", Some(NetworkSpec::default())),
                &none,
                None,
            ),
            (with_network("shared", None), &none, None),
            (with_network("host", None), &allowing("host_network"), None),
            (
                with_network("back", Some(external("container:db"))),
                &allowing("shared_namespaces"),
                None,
            ),
        ] {
            let errors = check_project(&project, policy);
            assert_eq!(
                errors.first().map(|e| e.path.as_str()),
                refused_at,
                "{errors:?}"
            );
        }
    }

    #[test]
    fn stored_plans_are_checked_again() {
        let mut project = with_network("back", Some(external("container:db")));
        let web = project.services.get_mut("web").unwrap();
        web.replicas = 4_000_000_000;
        web.mounts.push(crate::model::Mount {
            kind: crate::model::MountKind::Bind,
            source: Some("/var/lib/docker/volumes".into()),
            target: "/v".into(),
            read_only: false,
        });
        let paths: Vec<String> = check_stored(&project, &Policy::default())
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "services.web.replicas",
                "networks.back.name",
                "services.web.volumes[0]"
            ]
        );
    }

    #[test]
    fn reserved_label_namespaces() {
        for (label, refused) in [
            ("io.mcp-docker-server.project", true),
            ("com.docker.compose.project", true),
            ("com.docker.stack.namespace", true),
            ("com.docker.composer", false),
            ("org.example.team", false),
        ] {
            let mut project = Project::default();
            let mut spec = ServiceSpec::default();
            spec.labels.insert(label.into(), "x".into());
            project.services.insert("web".into(), spec);
            let mut volume = VolumeSpec::default();
            volume.labels.insert(label.into(), "x".into());
            project.volumes.insert("data".into(), volume);
            let errors = check_project(&project, &Policy::default());
            assert_eq!(
                errors.len(),
                if refused { 2 } else { 0 },
                "{label}: {errors:?}"
            );
        }
    }
}
