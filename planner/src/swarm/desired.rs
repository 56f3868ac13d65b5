//! A loaded project as the whole set of Swarm objects it asks for: services, overlay networks, secrets and
//! configs, and the order services start in (`depends_on`, which Swarm itself ignores).
//!
//! The swarm-only keys (`deploy:`, port `mode:`) come from the resolved document, since the model does not
//! carry them; the warnings the loader gave about them ("Swarm-only setting") do not apply on this target.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::build::{self, BuildInputs, SwarmBuild};
use super::deploy;
use super::map::{self, FileKind, ServiceInput};
use super::spec::{FileObjectSpec, NetworkSpec, ServiceSpec};
use crate::error::{ErrorKind, SpecError, SpecErrors};
use crate::model::Project;
use crate::plan::ExternalDigests;

/// Everything the project asks the swarm for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DesiredSwarm {
    pub services: Vec<ServiceSpec>,
    /// Project networks to create (external ones are only joined).
    pub networks: Vec<NetworkSpec>,
    pub secrets: Vec<FileObjectSpec>,
    pub configs: Vec<FileObjectSpec>,
    /// Swarm service names in start order: each wave depends only on earlier waves.
    pub waves: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    /// Images built on the manager and pushed to the operator's registry, one per service with `build:`.
    #[serde(default)]
    pub builds: Vec<SwarmBuild>,
}

/// Maps `project` (loaded from `document`) onto the swarm; `digests` are the secrets', configs' and build
/// inputs' keyed content digests, `registry` the operator's registry for services with `build:` (without
/// one, `build:` is refused). Every problem is reported at once, by path.
pub fn desired(
    project: &Project,
    document: &Value,
    digests: &ExternalDigests,
    registry: Option<&str>,
) -> Result<DesiredSwarm, SpecErrors> {
    let mut errors: Vec<SpecError> = Vec::new();
    let mut warnings: Vec<String> = project
        .warnings
        .iter()
        .filter(|w| !w.contains(crate::compose::SWARM))
        .cloned()
        .collect();
    let file_digests: BTreeMap<String, String> = digests
        .secrets
        .iter()
        .chain(digests.configs.iter())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut services = Vec::new();
    let mut builds = Vec::new();
    for (key, svc) in &project.services {
        let path = format!("services.{key}");
        let raw = document
            .get("services")
            .and_then(|s| s.get(key))
            .unwrap_or(&Value::Null);
        let deploy = match deploy::read(raw, &path) {
            Ok(deploy) => deploy,
            Err(e) => {
                errors.extend(e.0);
                continue;
            }
        };
        let built = match (registry, &svc.build) {
            (Some(registry), Some(spec)) => {
                let inputs = BuildInputs {
                    registry,
                    digests: &digests.builds,
                };
                match build::plan_build(&inputs, &project.name, key, spec) {
                    Ok(planned) => Some(planned),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
            _ => None,
        };
        let input = ServiceInput {
            project,
            key,
            deploy: &deploy,
            digests: &file_digests,
            build: built.as_ref(),
        };
        match map::service(&input) {
            Ok(mapped) => {
                warnings.extend(mapped.warnings);
                services.push(mapped.spec);
                builds.extend(built);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    errors.extend(volume_drivers(project));
    let networks = networks(project, &mut errors);
    let secrets = file_objects(project, FileKind::Secret, &digests.secrets, &mut errors);
    let configs = file_objects(project, FileKind::Config, &digests.configs, &mut errors);
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }
    Ok(DesiredSwarm {
        services,
        networks,
        secrets,
        configs,
        waves: waves(project),
        warnings,
        builds,
    })
}

/// Task volumes are created by each node's local driver: another driver would be dropped without a word.
fn volume_drivers(project: &Project) -> Vec<SpecError> {
    let own = project.volumes.iter().filter(|(_, v)| !v.external);
    own.filter_map(|(key, v)| {
        let driver = v.driver.as_deref().filter(|d| *d != "local")?;
        Some(SpecError::new(
            ErrorKind::Unsupported,
            format!("volumes.{key}.driver"),
            format!("driver `{driver}` is not mapped onto a swarm's task volumes yet"),
            "remove `driver` (each node then creates a local volume)",
        ))
    })
    .collect()
}

fn networks(project: &Project, errors: &mut Vec<SpecError>) -> Vec<NetworkSpec> {
    let own = project.networks.iter().filter(|(_, n)| !n.external);
    own.filter_map(|(key, _)| map::network(project, key).map_err(|e| errors.push(e)).ok())
        .collect()
}

fn file_objects(
    project: &Project,
    kind: FileKind,
    digests: &BTreeMap<String, String>,
    errors: &mut Vec<SpecError>,
) -> Vec<FileObjectSpec> {
    let keys = match kind {
        FileKind::Secret => project.secrets.keys(),
        FileKind::Config => project.configs.keys(),
    };
    keys.filter_map(|key| {
        let digest = digests.get(key)?;
        map::file_object(&project.name, kind, key, digest)
            .map_err(|e| errors.push(e))
            .ok()
    })
    .collect()
}

/// Services in dependency waves, by Swarm name. The loader already refused cycles; a service left over
/// anyway (it should not happen) goes in a last wave rather than being dropped.
pub fn waves(project: &Project) -> Vec<Vec<String>> {
    let mut placed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    while placed.len() < project.services.len() {
        let ready: Vec<&str> = project
            .services
            .iter()
            .filter(|(key, _)| !placed.contains_key(key.as_str()))
            .filter(|(_, svc)| {
                svc.depends_on.keys().all(|dep| {
                    placed.contains_key(dep.as_str()) || !project.services.contains_key(dep)
                })
            })
            .map(|(key, _)| key.as_str())
            .collect();
        let wave = if ready.is_empty() {
            let rest = project.services.keys().map(String::as_str);
            rest.filter(|k| !placed.contains_key(k)).collect()
        } else {
            ready
        };
        for key in &wave {
            placed.insert(key, waves.len());
        }
        let names = wave.iter().map(|k| map::service_name(&project.name, k));
        waves.push(names.collect());
    }
    waves
}
