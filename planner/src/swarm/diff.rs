//! The swarm diff: desired Swarm services against what the manager reports, into create, rolling update in
//! place, scaling, removal or nothing, and the Terraform-style lines that say so.
//!
//! A service is never replaced: a changed spec is a rolling update under its `update_config`, and a change of
//! replicas alone is scaling. Where tasks run is not part of the spec, so a drained node (tasks moved) plans
//! as no change. Each update carries the service version the plan saw; the engine refuses an update at any
//! other version, which is how a stale plan is refused.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::spec::{ServiceMode, ServiceSpec};
use crate::render::one_line;

/// The label on each service holding the hash of its spec without the replica count.
pub const LABEL_SPEC_HASH: &str = "io.mcp-docker-server.swarm-spec-hash";

/// What the manager reports about one of the project's services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedService {
    pub name: String,
    pub version: u64,
    /// `LABEL_SPEC_HASH` as found; `None` when someone removed it.
    pub spec_hash: Option<String>,
    /// `None` for a global service.
    pub replicas: Option<u64>,
}

/// What applying does to one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceChange {
    Create,
    /// A rolling update in place; `fields` are the changed spec paths, `parallelism` tasks at a time
    /// (0: all at once).
    RollingUpdate {
        fields: Vec<String>,
        parallelism: u64,
    },
    Scale {
        from: u64,
        to: u64,
    },
    Remove,
}

/// One service's planned change and the version the plan saw (for updates, scaling and removal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    pub name: String,
    pub change: ServiceChange,
    pub seen_version: Option<u64>,
}

/// sha256 of the spec with the replica count left out, so scaling alone does not read as an update.
pub fn spec_hash(spec: &ServiceSpec) -> String {
    let value = spec_value(spec);
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// The spec as JSON without its replica count and without the hash label itself.
fn spec_value(spec: &ServiceSpec) -> Value {
    let mut unscaled = spec.clone();
    if let ServiceMode::Replicated { .. } = unscaled.mode {
        unscaled.mode = ServiceMode::Replicated { replicas: 0 };
    }
    unscaled.labels.remove(LABEL_SPEC_HASH);
    serde_json::to_value(&unscaled).unwrap_or(Value::Null)
}

fn replicas(spec: &ServiceSpec) -> Option<u64> {
    match spec.mode {
        ServiceMode::Replicated { replicas } => Some(replicas),
        ServiceMode::Global => None,
    }
}

/// Plans every desired and observed service. `last_applied` (by service name) names the changed fields of an
/// update; without it an update lists `spec`.
pub fn plan(
    desired: &[ServiceSpec],
    observed: &[ObservedService],
    last_applied: &BTreeMap<String, ServiceSpec>,
) -> Vec<ServicePlan> {
    let seen: BTreeMap<&str, &ObservedService> =
        observed.iter().map(|o| (o.name.as_str(), o)).collect();
    let mut plans: Vec<ServicePlan> = desired
        .iter()
        .filter_map(|spec| plan_one(spec, seen.get(spec.name.as_str()).copied(), last_applied))
        .collect();
    let wanted: BTreeSet<&str> = desired.iter().map(|s| s.name.as_str()).collect();
    plans.extend(
        observed
            .iter()
            .filter(|o| !wanted.contains(o.name.as_str()))
            .map(|o| ServicePlan {
                name: o.name.clone(),
                change: ServiceChange::Remove,
                seen_version: Some(o.version),
            }),
    );
    plans
}

fn plan_one(
    spec: &ServiceSpec,
    observed: Option<&ObservedService>,
    last_applied: &BTreeMap<String, ServiceSpec>,
) -> Option<ServicePlan> {
    let Some(observed) = observed else {
        return Some(ServicePlan {
            name: spec.name.clone(),
            change: ServiceChange::Create,
            seen_version: None,
        });
    };
    let change = if observed.spec_hash.as_deref() != Some(spec_hash(spec).as_str()) {
        let fields = last_applied
            .get(&spec.name)
            .map(|old| changed_fields(old, spec));
        let parallelism = spec.update.as_ref().map_or(1, |u| u.parallelism);
        ServiceChange::RollingUpdate {
            fields: fields
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| vec!["spec".into()]),
            parallelism,
        }
    } else {
        match (observed.replicas, replicas(spec)) {
            (Some(from), Some(to)) if from != to => ServiceChange::Scale { from, to },
            _ => return None,
        }
    };
    Some(ServicePlan {
        name: spec.name.clone(),
        change,
        seen_version: Some(observed.version),
    })
}

/// The dotted paths (`container.env`) whose values differ, ignoring the replica count.
pub fn changed_fields(old: &ServiceSpec, new: &ServiceSpec) -> Vec<String> {
    let mut fields = Vec::new();
    collect_changes(&spec_value(old), &spec_value(new), "", &mut fields);
    fields
}

fn collect_changes(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if path.split('.').count() < 2 || path.is_empty() => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                collect_changes(x, y, &at, out);
            }
        }
        _ if old != new => out.push(path.to_string()),
        _ => {}
    }
}

/// The plan's lines, one per service and one per changed field; "No changes." when there are none.
pub fn render(plans: &[ServicePlan]) -> String {
    if plans.is_empty() {
        return "No changes.".into();
    }
    let mut out = String::new();
    for p in plans {
        out.push_str(&render_one(p));
    }
    out
}

/// A field path may hold a label key from the spec: it stays on its one line.
fn render_one(p: &ServicePlan) -> String {
    let name = &p.name;
    match &p.change {
        ServiceChange::Create => format!("+ service \"{name}\"  create\n"),
        ServiceChange::Remove => format!("- service \"{name}\"  remove\n"),
        ServiceChange::Scale { from, to } => {
            format!("~ service \"{name}\"  scale {from} -> {to}\n")
        }
        ServiceChange::RollingUpdate {
            fields,
            parallelism,
        } => {
            let pace = match parallelism {
                0 => "all at once".to_string(),
                n => format!("{n} at a time"),
            };
            let mut text = format!("~ service \"{name}\"  rolling update, {pace}\n");
            for field in fields {
                text.push_str(&format!("    ~ {}\n", one_line(field)));
            }
            text
        }
    }
}
