//! When a service runs and for how long: `depends_on`, `restart` (and `deploy.restart_policy`),
//! `healthcheck` and the replica count.

use std::collections::BTreeMap;

use super::values::{to_bool, to_duration_ns, to_int};
use super::Diagnostics;
use crate::compose::{DependsOnList, HealthcheckRaw, Scalar, Service, StringOrList};
use crate::model::{DependsCondition, DependsOn, Healthcheck, RestartPolicy};

pub(super) fn depends_on(
    raw: Option<&DependsOnList>,
    path: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, DependsOn> {
    let started = DependsOn {
        condition: DependsCondition::ServiceStarted,
        required: true,
        restart: false,
    };
    match raw {
        None => BTreeMap::new(),
        Some(DependsOnList::List(list)) => list.iter().map(|s| (s.clone(), started.clone())).collect(),
        Some(DependsOnList::Map(map)) => map
            .iter()
            .map(|(service, body)| {
                let body = body.clone().unwrap_or_default();
                let cpath = format!("{path}.{service}.condition");
                let condition = match body.condition.as_deref() {
                    None | Some("service_started") => DependsCondition::ServiceStarted,
                    Some("service_healthy") => DependsCondition::ServiceHealthy,
                    Some("service_completed_successfully") => DependsCondition::ServiceCompletedSuccessfully,
                    Some(other) => {
                        diag.invalid(&cpath, format!("`{other}` is not a dependency condition"), "use service_started, service_healthy or service_completed_successfully");
                        DependsCondition::ServiceStarted
                    }
                };
                let required = body.required.as_ref().and_then(|r| to_bool(r, &format!("{path}.{service}.required"), diag)).unwrap_or(true);
                let restart = body.restart.as_ref().and_then(|r| to_bool(r, &format!("{path}.{service}.restart"), diag)).unwrap_or(false);
                (service.clone(), DependsOn { condition, required, restart })
            })
            .collect(),
    }
}

pub(super) fn restart(raw: &Service, base: &str, diag: &mut Diagnostics) -> RestartPolicy {
    if let Some(value) = &raw.restart {
        let path = format!("{base}.restart");
        let text = match value {
            Scalar::Bool(false) => "no".to_string(),
            other => other.to_text(),
        };
        return match text.as_str() {
            "no" | "" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure(None),
            other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) => RestartPolicy::OnFailure(Some(n)),
                _ => {
                    diag.invalid(
                        &path,
                        format!("`{other}` is not a restart policy"),
                        "use no, always, unless-stopped, on-failure or on-failure:N",
                    );
                    RestartPolicy::No
                }
            },
        };
    }
    let Some(policy) = raw.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) else {
        return RestartPolicy::No;
    };
    let path = format!("{base}.deploy.restart_policy");
    let attempts = policy
        .max_attempts
        .as_ref()
        .and_then(|n| to_int(n, &format!("{path}.max_attempts"), diag))
        .and_then(|n| u32::try_from(n).ok());
    match policy.condition.as_deref() {
        Some("none") => RestartPolicy::No,
        Some("on-failure") => RestartPolicy::OnFailure(attempts),
        Some("any") | None => RestartPolicy::Always,
        Some(other) => {
            diag.invalid(
                &format!("{path}.condition"),
                format!("`{other}` is not a restart condition"),
                "use none, on-failure or any",
            );
            RestartPolicy::No
        }
    }
}

pub(super) fn healthcheck(
    raw: &HealthcheckRaw,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<Healthcheck> {
    if raw
        .disable
        .as_ref()
        .and_then(|d| to_bool(d, &format!("{path}.disable"), diag))
        == Some(true)
    {
        return Some(Healthcheck {
            test: vec!["NONE".into()],
            interval_ns: None,
            timeout_ns: None,
            retries: None,
            start_period_ns: None,
        });
    }
    let test = match &raw.test {
        None => Vec::new(),
        Some(StringOrList::Str(s)) => vec!["CMD-SHELL".into(), s.clone()],
        Some(StringOrList::List(list)) => {
            let list: Vec<String> = list.iter().map(Scalar::to_text).collect();
            match list.first().map(String::as_str) {
                Some("CMD" | "CMD-SHELL" | "NONE") => list,
                _ => {
                    diag.invalid(&format!("{path}.test"), "a test list must start with CMD, CMD-SHELL or NONE", "write [\"CMD\", \"curl\", \"-f\", \"http://localhost\"] or a string run by the shell");
                    return None;
                }
            }
        }
    };
    let duration = |v: &Option<Scalar>, field: &str, diag: &mut Diagnostics| {
        v.as_ref()
            .and_then(|v| to_duration_ns(v, &format!("{path}.{field}"), diag))
    };
    Some(Healthcheck {
        test,
        interval_ns: duration(&raw.interval, "interval", diag),
        timeout_ns: duration(&raw.timeout, "timeout", diag),
        retries: raw
            .retries
            .as_ref()
            .and_then(|r| to_int(r, &format!("{path}.retries"), diag)),
        start_period_ns: duration(&raw.start_period, "start_period", diag),
    })
}

pub(super) fn replicas(raw: &Service, base: &str, diag: &mut Diagnostics) -> u32 {
    let count = |v: &Scalar, path: &str, diag: &mut Diagnostics| {
        to_int(v, path, diag).and_then(|n| {
            diag.check(
                u32::try_from(n).map_err(|_| format!("{n} is not a replica count")),
                path,
                "write a count from 0 up",
            )
        })
    };
    let scale = raw
        .scale
        .as_ref()
        .and_then(|v| count(v, &format!("{base}.scale"), diag));
    let deploy = raw
        .deploy
        .as_ref()
        .and_then(|d| d.replicas.as_ref())
        .and_then(|v| count(v, &format!("{base}.deploy.replicas"), diag));
    match (scale, deploy) {
        (Some(a), Some(b)) if a != b => {
            diag.invalid(
                &format!("{base}.scale"),
                format!("`scale` ({a}) and `deploy.replicas` ({b}) disagree"),
                "give the count once",
            );
            a
        }
        (a, b) => a.or(b).unwrap_or(1),
    }
}
