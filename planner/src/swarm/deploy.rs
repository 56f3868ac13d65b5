//! The swarm-only keys of a service as written: `deploy:` (mode, placement, update and rollback policies,
//! endpoint mode, labels, restart policy, resources) and each port's publish `mode:`.
//!
//! The engine target ignores these keys (compose does too), so the loaded model does not carry them; the swarm
//! mapping reads them here from the service's raw mapping. Every error names the key's path and the fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::spec::{
    EndpointMode, FailureAction, Placement, RestartCondition, RestartSpec, TaskResources,
    UpdateOrder, UpdatePolicy,
};
use crate::error::{ErrorKind, SpecError, SpecErrors};
use crate::normalize::units::{parse_bytes, parse_duration_ns, parse_nano_cpus};

/// How many placement constraints or preferences one service may list.
pub const MAX_PLACEMENT_ITEMS: usize = 64;

/// `deploy.mode` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeployMode {
    #[default]
    Replicated,
    Global,
}

/// The swarm-only keys of one service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceDeploy {
    pub mode: DeployMode,
    /// `deploy.replicas` as written (the model's `replicas` holds the value with its default).
    pub replicas_written: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub placement: Placement,
    pub update: Option<UpdatePolicy>,
    pub rollback: Option<UpdatePolicy>,
    pub endpoint_mode: EndpointMode,
    /// From `deploy.restart_policy`, else from the top-level `restart`; `None` keeps the engine's default.
    pub restart: Option<RestartSpec>,
    pub resources: TaskResources,
    /// Container ports whose long form says `mode: host`.
    pub host_mode_ports: BTreeSet<u16>,
}

/// Reads the swarm-only keys of the service at `path` (`services.web`) from its raw mapping.
pub fn read(service: &Value, path: &str) -> Result<ServiceDeploy, SpecErrors> {
    let mut errors = Vec::new();
    let mut at = Reader {
        errors: &mut errors,
    };
    let deploy = service.get("deploy").unwrap_or(&Value::Null);
    let dpath = format!("{path}.deploy");
    let out = ServiceDeploy {
        mode: at.mode(deploy.get("mode"), &format!("{dpath}.mode")),
        replicas_written: at.count(deploy.get("replicas"), &format!("{dpath}.replicas")),
        labels: at.labels(deploy.get("labels"), &format!("{dpath}.labels")),
        placement: at.placement(deploy.get("placement"), &format!("{dpath}.placement")),
        update: at.update(
            deploy.get("update_config"),
            &format!("{dpath}.update_config"),
        ),
        rollback: at.update(
            deploy.get("rollback_config"),
            &format!("{dpath}.rollback_config"),
        ),
        endpoint_mode: at.endpoint_mode(
            deploy.get("endpoint_mode"),
            &format!("{dpath}.endpoint_mode"),
        ),
        restart: at.restart(service, path),
        resources: at.resources(deploy.get("resources"), &format!("{dpath}.resources")),
        host_mode_ports: at.host_mode_ports(service.get("ports"), &format!("{path}.ports")),
    };
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SpecErrors(errors))
    }
}

/// Collects every problem rather than stopping at the first.
struct Reader<'e> {
    errors: &'e mut Vec<SpecError>,
}

impl Reader<'_> {
    fn fail(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.errors
            .push(SpecError::new(ErrorKind::Invalid, path, message, fix));
    }

    fn text(&mut self, value: Option<&Value>, path: &str) -> Option<String> {
        match value? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Null => None,
            _ => {
                self.fail(path, "must be a string", "write a single value");
                None
            }
        }
    }

    fn count(&mut self, value: Option<&Value>, path: &str) -> Option<u64> {
        let text = self.text(value, path)?;
        match text.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(
                    path,
                    format!("`{text}` is not a count"),
                    "a whole number, 0 or more",
                );
                None
            }
        }
    }

    fn duration(&mut self, value: Option<&Value>, path: &str) -> Option<i64> {
        let text = self.text(value, path)?;
        parse_duration_ns(&text)
            .map_err(|e| self.fail(path, e, "a duration such as `10s` or `1m30s`"))
            .ok()
    }

    fn bytes(&mut self, value: Option<&Value>, path: &str) -> Option<i64> {
        let text = self.text(value, path)?;
        parse_bytes(&text)
            .map_err(|e| self.fail(path, e, "a size such as `512m` or `1g`"))
            .ok()
    }

    fn cpus(&mut self, value: Option<&Value>, path: &str) -> Option<i64> {
        let text = self.text(value, path)?;
        let Ok(cpus) = text.trim().parse::<f64>() else {
            self.fail(
                path,
                format!("`{text}` is not a CPU count"),
                "a number such as `0.5`",
            );
            return None;
        };
        parse_nano_cpus(cpus)
            .map_err(|e| self.fail(path, e, "a number such as `0.5`"))
            .ok()
    }

    fn choice<T: Copy>(
        &mut self,
        value: Option<&Value>,
        path: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.text(value, path)?;
        let found = choices.iter().find(|(name, _)| *name == text).map(|c| c.1);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
            self.fail(
                path,
                format!("`{text}` is not one of {}", names.join(", ")),
                format!("use one of {}", names.join(", ")),
            );
        }
        found
    }

    fn mode(&mut self, value: Option<&Value>, path: &str) -> DeployMode {
        if let Some(job) = value
            .and_then(Value::as_str)
            .filter(|m| m.ends_with("-job"))
        {
            self.fail(
                path,
                format!("`{job}` (Swarm jobs) is not supported"),
                "use `replicated` or `global`",
            );
            return DeployMode::default();
        }
        let choices = [
            ("replicated", DeployMode::Replicated),
            ("global", DeployMode::Global),
        ];
        self.choice(value, path, &choices).unwrap_or_default()
    }

    fn endpoint_mode(&mut self, value: Option<&Value>, path: &str) -> EndpointMode {
        let choices = [("vip", EndpointMode::Vip), ("dnsrr", EndpointMode::Dnsrr)];
        self.choice(value, path, &choices).unwrap_or_default()
    }

    fn strings(&mut self, value: Option<&Value>, path: &str) -> Vec<String> {
        let Some(value) = value else {
            return Vec::new();
        };
        let Some(items) = value.as_array() else {
            self.fail(path, "must be a list", "write a YAML list");
            return Vec::new();
        };
        if items.len() > MAX_PLACEMENT_ITEMS {
            self.fail(
                path,
                format!("{} items; at most {MAX_PLACEMENT_ITEMS}", items.len()),
                "list fewer",
            );
            return Vec::new();
        }
        let texts = items.iter().enumerate();
        texts
            .filter_map(|(i, v)| self.text(Some(v), &format!("{path}[{i}]")))
            .collect()
    }

    /// `labels` as a mapping or as a list of `KEY=value`.
    fn labels(&mut self, value: Option<&Value>, path: &str) -> BTreeMap<String, String> {
        match value {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        self.text(Some(v), &format!("{path}.{k}"))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            Some(list @ Value::Array(_)) => self
                .strings(Some(list), path)
                .into_iter()
                .map(|item| match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (item, String::new()),
                })
                .collect(),
            Some(_) => {
                self.fail(
                    path,
                    "must be a mapping or a list",
                    "write `key: value` pairs",
                );
                BTreeMap::new()
            }
        }
    }

    fn placement(&mut self, value: Option<&Value>, path: &str) -> Placement {
        let Some(value) = value else {
            return Placement::default();
        };
        let preferences = value.get("preferences").and_then(Value::as_array);
        let spread = preferences
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, p)| {
                let at = format!("{path}.preferences[{i}].spread");
                let found = self.text(p.get("spread"), &at);
                if found.is_none() {
                    self.fail(
                        &at,
                        "a preference needs `spread`",
                        "write `- spread: node.labels.zone`",
                    );
                }
                found
            })
            .collect();
        Placement {
            constraints: self.strings(value.get("constraints"), &format!("{path}.constraints")),
            spread,
            max_replicas_per_node: self.count(
                value.get("max_replicas_per_node"),
                &format!("{path}.max_replicas_per_node"),
            ),
        }
    }

    fn update(&mut self, value: Option<&Value>, path: &str) -> Option<UpdatePolicy> {
        let value = value?;
        let actions = [
            ("pause", FailureAction::Pause),
            ("continue", FailureAction::Continue),
            ("rollback", FailureAction::Rollback),
        ];
        let orders = [
            ("stop-first", UpdateOrder::StopFirst),
            ("start-first", UpdateOrder::StartFirst),
        ];
        let ratio_path = format!("{path}.max_failure_ratio");
        Some(UpdatePolicy {
            parallelism: self
                .count(value.get("parallelism"), &format!("{path}.parallelism"))
                .unwrap_or(1),
            delay_ns: self.duration(value.get("delay"), &format!("{path}.delay")),
            failure_action: self.choice(
                value.get("failure_action"),
                &format!("{path}.failure_action"),
                &actions,
            ),
            monitor_ns: self.duration(value.get("monitor"), &format!("{path}.monitor")),
            max_failure_ratio: self.ratio(value.get("max_failure_ratio"), &ratio_path),
            order: self.choice(value.get("order"), &format!("{path}.order"), &orders),
        })
    }

    fn ratio(&mut self, value: Option<&Value>, path: &str) -> Option<f32> {
        let text = self.text(value, path)?;
        match text.trim().parse::<f32>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Some(r),
            _ => {
                self.fail(
                    path,
                    format!("`{text}` is not a ratio"),
                    "a number from 0 to 1",
                );
                None
            }
        }
    }

    /// `deploy.restart_policy` wins; otherwise the top-level `restart` maps as `docker stack deploy` maps it.
    fn restart(&mut self, service: &Value, path: &str) -> Option<RestartSpec> {
        let policy = service.get("deploy").and_then(|d| d.get("restart_policy"));
        if let Some(policy) = policy {
            return Some(self.restart_policy(policy, &format!("{path}.deploy.restart_policy")));
        }
        let restart = self.text(service.get("restart"), &format!("{path}.restart"))?;
        let (name, attempts) = restart.split_once(':').unwrap_or((restart.as_str(), ""));
        let condition = match name {
            "no" => RestartCondition::None,
            "always" | "unless-stopped" => RestartCondition::Any,
            "on-failure" => RestartCondition::OnFailure,
            _ => return None,
        };
        Some(RestartSpec {
            condition,
            max_attempts: attempts.parse().ok(),
            ..RestartSpec::default()
        })
    }

    fn restart_policy(&mut self, policy: &Value, path: &str) -> RestartSpec {
        let conditions = [
            ("none", RestartCondition::None),
            ("on-failure", RestartCondition::OnFailure),
            ("any", RestartCondition::Any),
        ];
        RestartSpec {
            condition: self
                .choice(
                    policy.get("condition"),
                    &format!("{path}.condition"),
                    &conditions,
                )
                .unwrap_or_default(),
            delay_ns: self.duration(policy.get("delay"), &format!("{path}.delay")),
            max_attempts: self.count(policy.get("max_attempts"), &format!("{path}.max_attempts")),
            window_ns: self.duration(policy.get("window"), &format!("{path}.window")),
        }
    }

    fn resources(&mut self, value: Option<&Value>, path: &str) -> TaskResources {
        let limits = value.and_then(|v| v.get("limits"));
        let reserve = value.and_then(|v| v.get("reservations"));
        let (lp, rp) = (format!("{path}.limits"), format!("{path}.reservations"));
        TaskResources {
            limit_nano_cpus: self.cpus(limits.and_then(|l| l.get("cpus")), &format!("{lp}.cpus")),
            limit_memory_bytes: self.bytes(
                limits.and_then(|l| l.get("memory")),
                &format!("{lp}.memory"),
            ),
            limit_pids: self
                .count(limits.and_then(|l| l.get("pids")), &format!("{lp}.pids"))
                .and_then(|n| i64::try_from(n).ok()),
            reserve_nano_cpus: self
                .cpus(reserve.and_then(|r| r.get("cpus")), &format!("{rp}.cpus")),
            reserve_memory_bytes: self.bytes(
                reserve.and_then(|r| r.get("memory")),
                &format!("{rp}.memory"),
            ),
        }
    }

    fn host_mode_ports(&mut self, ports: Option<&Value>, path: &str) -> BTreeSet<u16> {
        let long_forms = ports.and_then(Value::as_array).into_iter().flatten();
        let mut host = BTreeSet::new();
        for (i, port) in long_forms.enumerate().filter(|(_, p)| p.is_object()) {
            let modes = [("ingress", false), ("host", true)];
            let at = format!("{path}[{i}]");
            let is_host = self.choice(port.get("mode"), &format!("{at}.mode"), &modes);
            let target = self.count(port.get("target"), &format!("{at}.target"));
            if let (Some(true), Some(target)) =
                (is_host, target.and_then(|t| u16::try_from(t).ok()))
            {
                host.insert(target);
            }
        }
        host
    }
}
