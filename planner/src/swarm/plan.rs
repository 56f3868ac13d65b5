//! The whole swarm plan of a project: which networks, secrets and configs to create, which services to
//! create, update or scale in which wave, and what to remove afterwards; its rendering and its summary.
//!
//! Secrets and configs are immutable on a swarm and named after their content digest, so a changed value is
//! a rotation: the new object is created first, the consumers' rolling update switches to it, and the old
//! one is removed last. The rendering names the rotation, never the value.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::access;
use super::build::SwarmBuild;
use super::desired::DesiredSwarm;
use super::diff::{self, ObservedService, ServiceChange, ServicePlan};
use super::map::NAME_DIGEST_LEN;
use super::spec::{FileObjectSpec, NetworkSpec, ServiceSpec};
use crate::plan::Summary;
use crate::render::{escape_controls, one_line};

/// What the manager holds of a project, found by our ownership label.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObservedSwarm {
    pub services: Vec<ObservedService>,
    pub networks: Vec<String>,
    pub secrets: Vec<String>,
    pub configs: Vec<String>,
}

impl ObservedSwarm {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.networks.is_empty()
            && self.secrets.is_empty()
            && self.configs.is_empty()
    }

    /// The hash apply compares to refuse a stale plan: names, service versions, spec hashes and replicas.
    pub fn fingerprint(&self) -> String {
        let mut sorted = self.clone();
        sorted.services.sort_by(|a, b| a.name.cmp(&b.name));
        sorted.networks.sort();
        sorted.secrets.sort();
        sorted.configs.sort();
        let text = serde_json::to_string(&sorted).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// One service step: what changes and the full spec to send (`None` for a removal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStep {
    pub plan: ServicePlan,
    pub spec: Option<ServiceSpec>,
}

/// Everything apply does on the swarm, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SwarmPlan {
    /// Images built on the manager, pushed and pinned first: one for each service with `build:` whose spec
    /// this plan sends (create, rolling update or scaling all send the whole spec, pin included).
    #[serde(default)]
    pub builds: Vec<SwarmBuild>,
    pub create_networks: Vec<NetworkSpec>,
    pub create_secrets: Vec<FileObjectSpec>,
    pub create_configs: Vec<FileObjectSpec>,
    /// Service creates, updates and scalings in `depends_on` order; each wave converges before the next.
    pub waves: Vec<Vec<ServiceStep>>,
    pub remove_services: Vec<ServiceStep>,
    pub remove_secrets: Vec<String>,
    pub remove_configs: Vec<String>,
    pub remove_networks: Vec<String>,
    pub warnings: Vec<String>,
    /// Every service the spec asks for, changed or not: what the record holds once this plan is applied.
    pub services: Vec<ServiceSpec>,
}

impl SwarmPlan {
    pub fn has_changes(&self) -> bool {
        self.step_count() > 0
    }

    /// How many steps apply runs (for progress).
    pub fn step_count(&self) -> usize {
        self.builds.len()
            + self.create_networks.len()
            + self.create_secrets.len()
            + self.create_configs.len()
            + self.waves.iter().map(Vec::len).sum::<usize>()
            + self.remove_services.len()
            + self.remove_secrets.len()
            + self.remove_configs.len()
            + self.remove_networks.len()
    }

    pub fn summary(&self) -> Summary {
        let updates = self.waves.iter().flatten();
        let (creates, changes): (Vec<&ServiceStep>, Vec<&ServiceStep>) =
            updates.partition(|s| s.plan.change == ServiceChange::Create);
        Summary {
            add: self.builds.len()
                + self.create_networks.len()
                + self.create_secrets.len()
                + self.create_configs.len()
                + creates.len(),
            change: changes.len(),
            destroy: self.remove_services.len()
                + self.remove_secrets.len()
                + self.remove_configs.len()
                + self.remove_networks.len(),
        }
    }
}

/// Plans `desired` against `observed`; `last_applied` (by service name) names an update's changed fields.
pub fn plan(
    desired: &DesiredSwarm,
    observed: &ObservedSwarm,
    last_applied: &BTreeMap<String, ServiceSpec>,
) -> SwarmPlan {
    let service_plans = diff::plan(&desired.services, &observed.services, last_applied);
    let specs: BTreeMap<&str, &ServiceSpec> = desired
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let by_name: BTreeMap<&str, &ServicePlan> =
        service_plans.iter().map(|p| (p.name.as_str(), p)).collect();
    let waves: Vec<Vec<ServiceStep>> = desired
        .waves
        .iter()
        .map(|wave| {
            let steps = wave.iter().filter_map(|name| {
                Some(ServiceStep {
                    plan: (*by_name.get(name.as_str())?).clone(),
                    spec: specs.get(name.as_str()).map(|s| (*s).clone()),
                })
            });
            steps.collect::<Vec<_>>()
        })
        .filter(|wave| !wave.is_empty())
        .collect();
    let remove_services = service_plans
        .iter()
        .filter(|p| p.change == ServiceChange::Remove)
        .map(|p| ServiceStep {
            plan: p.clone(),
            spec: None,
        })
        .collect();
    let network_names: Vec<&str> = desired.networks.iter().map(|n| n.name.as_str()).collect();
    SwarmPlan {
        builds: builds_sent(desired, &waves),
        create_networks: missing(&desired.networks, &observed.networks, |n| &n.name),
        create_secrets: missing(&desired.secrets, &observed.secrets, |s| &s.name),
        create_configs: missing(&desired.configs, &observed.configs, |c| &c.name),
        waves,
        remove_services,
        remove_secrets: unwanted(&observed.secrets, desired.secrets.iter().map(|s| &*s.name)),
        remove_configs: unwanted(&observed.configs, desired.configs.iter().map(|c| &*c.name)),
        remove_networks: unwanted(&observed.networks, network_names.into_iter()),
        warnings: desired.warnings.clone(),
        services: desired.services.clone(),
    }
}

/// The builds of the services whose spec the waves send.
fn builds_sent(desired: &DesiredSwarm, waves: &[Vec<ServiceStep>]) -> Vec<SwarmBuild> {
    let sent: BTreeSet<&str> = waves
        .iter()
        .flatten()
        .map(|s| s.plan.name.as_str())
        .collect();
    let builds = desired.builds.iter();
    builds
        .filter(|b| sent.contains(b.service.as_str()))
        .cloned()
        .collect()
}

/// A plan that removes everything the manager holds of the project.
pub fn destroy(observed: &ObservedSwarm) -> SwarmPlan {
    let remove_services = observed.services.iter().map(|o| ServiceStep {
        plan: ServicePlan {
            name: o.name.clone(),
            change: ServiceChange::Remove,
            seen_version: Some(o.version),
        },
        spec: None,
    });
    let sorted = |names: &[String]| -> Vec<String> {
        let set: BTreeSet<String> = names.iter().cloned().collect();
        set.into_iter().collect()
    };
    SwarmPlan {
        remove_services: remove_services.collect(),
        remove_secrets: sorted(&observed.secrets),
        remove_configs: sorted(&observed.configs),
        remove_networks: sorted(&observed.networks),
        ..SwarmPlan::default()
    }
}

fn missing<T: Clone>(wanted: &[T], seen: &[String], name: impl Fn(&T) -> &String) -> Vec<T> {
    let seen: BTreeSet<&String> = seen.iter().collect();
    wanted
        .iter()
        .filter(|w| !seen.contains(name(w)))
        .cloned()
        .collect()
}

fn unwanted<'a>(seen: &[String], wanted: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wanted: BTreeSet<&str> = wanted.collect();
    let mut out: Vec<String> = seen
        .iter()
        .filter(|s| !wanted.contains(s.as_str()))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The Terraform-style text: objects created, service lines (rolling update, scaling), rotations and
/// removals; "No changes." when there is nothing to do.
pub fn render(plan: &SwarmPlan) -> String {
    if !plan.has_changes() {
        return "No changes. The swarm matches the spec.".into();
    }
    let mut out = String::new();
    for b in &plan.builds {
        out.push_str(&format!(
            "+ image \"{}\"  build on the manager, push, pin by digest\n",
            b.reference()
        ));
    }
    for n in &plan.create_networks {
        out.push_str(&format!("+ network \"{}\"  create overlay\n", n.name));
    }
    render_files(
        &mut out,
        "secret",
        &plan.create_secrets,
        &plan.remove_secrets,
    );
    render_files(
        &mut out,
        "config",
        &plan.create_configs,
        &plan.remove_configs,
    );
    let steps = plan
        .waves
        .iter()
        .flatten()
        .chain(plan.remove_services.iter());
    for step in steps {
        out.push_str(&diff::render(std::slice::from_ref(&step.plan)));
        if let Some(spec) = &step.spec {
            out.push_str(&access::lines(spec, &step.plan.change));
        }
    }
    for n in &plan.remove_networks {
        out.push_str(&format!("- network \"{n}\"  remove\n"));
    }
    let s = plan.summary();
    out.push_str(&format!(
        "\nPlan: {} to add, {} to change, {} to destroy.\n",
        s.add, s.change, s.destroy
    ));
    for w in &plan.warnings {
        out.push_str(&format!("warning: {}\n", one_line(w)));
    }
    // As on the engine target: a value's terminal escape cannot rewrite the lines the human reads.
    escape_controls(&out)
}

/// Secrets or configs: a key whose old object goes while a new one comes is one rotation line.
fn render_files(out: &mut String, kind: &str, created: &[FileObjectSpec], removed: &[String]) {
    let mut rotated: BTreeSet<&str> = BTreeSet::new();
    for c in created {
        match removed.iter().find(|old| same_key(old, &c.name)) {
            Some(old) => {
                rotated.insert(old);
                out.push_str(&format!(
                    "~ {kind} \"{}\"  rotate: new content (value not shown), {old} -> {}, consumers updated, old removed\n",
                    c.key, c.name
                ));
            }
            None => out.push_str(&format!("+ {kind} \"{}\"  create {}\n", c.key, c.name)),
        }
    }
    for name in removed.iter().filter(|n| !rotated.contains(n.as_str())) {
        out.push_str(&format!("- {kind} \"{name}\"  remove\n"));
    }
}

/// Two file object names `{project}_{key}_{digest}` of the same project and key.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && stem(a).is_some() && stem(a) == stem(b)
}

fn stem(name: &str) -> Option<&str> {
    name.get(..name.len().checked_sub(NAME_DIGEST_LEN)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_objects_of_one_key_are_told_apart_by_their_digest_only() {
        assert!(same_key("a_b_token_0123456789ab", "a_b_token_ba9876543210"));
        assert!(!same_key(
            "a_b_token_0123456789ab",
            "a_b_tokens_ba9876543210"
        ));
        assert!(!same_key("short", "short"));
    }
}
