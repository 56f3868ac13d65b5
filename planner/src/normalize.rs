//! Raw compose types to the one canonical `model::Project`: every short form expanded, every unit
//! converted, every relative path resolved (and policy-checked where it is resolved).
//!
//! Conversions follow `docker compose` v2: a service with no `networks` joins `default`, a built image is
//! named `{project}-{service}`, secrets mount at `/run/secrets/NAME` and configs at `/NAME`, env files sit
//! under `environment`, and a bare `KEY` takes its value from the server's environment.
//!
//! This module holds the project level (top-level networks, volumes, secrets and configs, links and
//! optional dependencies); one service is `service`, and each part of it has a module of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::compose::{self, ComposeFile, Service, TopFile, TopNetwork, TopVolume};
use crate::error::{ErrorKind, SpecError};
use crate::load::Host;
use crate::model::{DependsCondition, DependsOn, NetworkSpec, Project, VolumeSpec};
use crate::policy::Policy;

mod addressing;
pub mod dotenv;
mod environment;
mod files;
mod lifecycle;
mod networking;
mod paths;
mod ports;
mod resources;
mod service;
mod shell;
pub(crate) mod units;
mod values;
mod volumes;

pub use addressing::{parse_cidr, subnet_contains};
use files::{file_source, FileKind};
pub use ports::parse_short as parse_port;
pub use service::service;
pub use shell::split_words;
pub use units::{parse_bytes, parse_duration_ns, parse_nano_cpus};
use values::{key_values, to_bool};
pub use volumes::{clean_container_path, named_volumes};

/// What normalization reads besides the raw file.
pub struct Context<'a> {
    pub project: &'a str,
    /// Absolute (canonical when it exists).
    pub project_dir: &'a Path,
    pub host: &'a dyn Host,
    pub policy: &'a Policy,
    /// Interpolation variables: the server's environment, then `.env`.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub declared: &'a Declared,
}

/// Top-level names services may refer to.
#[derive(Debug, Default)]
pub struct Declared {
    pub volumes: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub configs: BTreeSet<String>,
}

impl Declared {
    pub fn of(file: &ComposeFile) -> Self {
        Declared {
            volumes: file.volumes.keys().cloned().collect(),
            secrets: file.secrets.keys().cloned().collect(),
            configs: file.configs.keys().cloned().collect(),
        }
    }
}

/// Errors and warnings collected across a whole load.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<SpecError>,
    pub warnings: Vec<String>,
}

impl Diagnostics {
    fn invalid(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors
            .push(SpecError::new(ErrorKind::Invalid, path, message, fix));
    }

    fn unsupported(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors
            .push(SpecError::new(ErrorKind::Unsupported, path, message, fix));
    }

    /// Keeps `Ok` values; turns `Err(message)` into an `Invalid` error at `path`.
    fn check<T>(&mut self, result: Result<T, String>, path: &str, fix: &str) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.invalid(path, message, fix);
                None
            }
        }
    }
}

/// `links: ["db:database"]` entries, applied once every service is known.
#[derive(Debug, Clone)]
pub struct Link {
    pub target: String,
    pub alias: String,
    pub path: String,
}

#[allow(clippy::too_many_arguments)]
pub fn project(
    cx: &Context,
    name: String,
    services: BTreeMap<String, Service>,
    networks: BTreeMap<String, Option<TopNetwork>>,
    volumes: BTreeMap<String, Option<TopVolume>>,
    secrets: BTreeMap<String, TopFile>,
    configs: BTreeMap<String, TopFile>,
    diag: &mut Diagnostics,
) -> Project {
    let mut project = Project {
        name,
        ..Project::default()
    };
    for (key, raw) in networks {
        project
            .networks
            .insert(key.clone(), network(&key, raw.unwrap_or_default(), diag));
    }
    for (key, raw) in volumes {
        project
            .volumes
            .insert(key.clone(), volume(&key, raw.unwrap_or_default(), diag));
    }
    for (key, raw) in secrets {
        if let Some(source) = file_source(cx, FileKind::Secret, &key, raw, diag) {
            project.secrets.insert(key, source);
        }
    }
    for (key, raw) in configs {
        if let Some(source) = file_source(cx, FileKind::Config, &key, raw, diag) {
            project.configs.insert(key, source);
        }
    }
    let mut links = Vec::new();
    for (key, raw) in services {
        let (spec, service_links) = service(cx, &key, raw, diag);
        links.extend(service_links.into_iter().map(|l| (key.clone(), l)));
        project.services.insert(key, spec);
    }
    apply_links(&mut project, links, diag);
    drop_optional_dependencies(&mut project, diag);
    let uses_default = project
        .services
        .values()
        .any(|s| s.networks.contains_key("default"));
    if uses_default {
        project.networks.entry("default".into()).or_default();
    }
    project
}

fn network(key: &str, raw: TopNetwork, diag: &mut Diagnostics) -> NetworkSpec {
    let path = format!("networks.{key}");
    let (external, external_name) = external(raw.external.as_ref(), &path, diag);
    let sets_config = raw.driver.is_some()
        || raw.labels.is_some()
        || raw.internal.is_some()
        || raw.ipam.is_some()
        || raw.enable_ipv6.is_some();
    if external && sets_config {
        diag.invalid(
            &path,
            "an external network cannot also set driver, labels, internal, ipam or enable_ipv6",
            "remove them, or drop `external`",
        );
    }
    NetworkSpec {
        driver: raw.driver,
        labels: key_values(raw.labels.as_ref(), &format!("{path}.labels"), diag),
        internal: raw
            .internal
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.internal"), diag))
            .unwrap_or(false),
        external,
        name: raw.name.or(external_name),
        enable_ipv6: raw
            .enable_ipv6
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.enable_ipv6"), diag))
            .unwrap_or(false),
        ipam: raw
            .ipam
            .as_ref()
            .map(|ipam| addressing::ipam(ipam, &format!("{path}.ipam"), diag)),
    }
}

fn volume(key: &str, raw: TopVolume, diag: &mut Diagnostics) -> VolumeSpec {
    let path = format!("volumes.{key}");
    let (external, external_name) = external(raw.external.as_ref(), &path, diag);
    if external && (raw.driver.is_some() || raw.labels.is_some()) {
        diag.invalid(
            &path,
            "an external volume cannot also set driver or labels",
            "remove them, or drop `external`",
        );
    }
    VolumeSpec {
        driver: raw.driver,
        labels: key_values(raw.labels.as_ref(), &format!("{path}.labels"), diag),
        external,
        name: raw.name.or(external_name),
    }
}

fn external(
    raw: Option<&compose::External>,
    path: &str,
    diag: &mut Diagnostics,
) -> (bool, Option<String>) {
    match raw {
        None => (false, None),
        Some(compose::External::Flag(flag)) => (
            to_bool(flag, &format!("{path}.external"), diag).unwrap_or(false),
            None,
        ),
        Some(compose::External::Named { name }) => {
            diag.warnings.push(format!(
                "{path}.external.name: deprecated; use `external: true` with `name`"
            ));
            (true, Some(name.clone()))
        }
    }
}

/// `links` give the linked service an alias on the networks both share, and imply a dependency.
fn apply_links(project: &mut Project, links: Vec<(String, Link)>, diag: &mut Diagnostics) {
    for (from, link) in links {
        let Some(from_networks) = project
            .services
            .get(&from)
            .map(|s| s.networks.keys().cloned().collect::<Vec<_>>())
        else {
            continue;
        };
        let Some(target) = project.services.get_mut(&link.target) else {
            diag.invalid(
                &link.path,
                format!("links to undefined service `{}`", link.target),
                "link to a service defined in this project",
            );
            continue;
        };
        for network in &from_networks {
            if let Some(attachment) = target.networks.get_mut(network) {
                if link.alias != link.target && !attachment.aliases.contains(&link.alias) {
                    attachment.aliases.push(link.alias.clone());
                }
            }
        }
        if let Some(service) = project.services.get_mut(&from) {
            service
                .depends_on
                .entry(link.target.clone())
                .or_insert(DependsOn {
                    condition: DependsCondition::ServiceStarted,
                    required: true,
                    restart: false,
                });
        }
    }
}

/// `required: false` dependencies on services that are absent are dropped with a warning, as compose does.
fn drop_optional_dependencies(project: &mut Project, diag: &mut Diagnostics) {
    let names: BTreeSet<String> = project.services.keys().cloned().collect();
    for (name, service) in &mut project.services {
        service.depends_on.retain(|dep, d| {
            let keep = d.required || names.contains(dep);
            if !keep {
                diag.warnings.push(format!("services.{name}.depends_on.{dep}: optional dependency is not in the project; ignored"));
            }
            keep
        });
    }
}
