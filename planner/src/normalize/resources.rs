//! Resource limits: memory, CPUs, pids, shm and ulimits, in compose's top-level and `deploy` forms.

use super::values::{to_bytes, to_f64, to_int};
use super::{parse_nano_cpus, Diagnostics};
use std::collections::BTreeMap;

use crate::compose::{Scalar, Service, UlimitRaw};
use crate::model::{Resources, Ulimit};

/// Service-level limits and `deploy.resources`; both spellings must agree when both are given, as in compose.
pub(super) fn resources(raw: &Service, base: &str, diag: &mut Diagnostics) -> Resources {
    let deploy = raw.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = deploy.and_then(|r| r.limits.as_ref());
    let reservations = deploy.and_then(|r| r.reservations.as_ref());
    let dpath = format!("{base}.deploy.resources");
    let pick = |short: Option<i64>,
                short_name: &str,
                long: Option<i64>,
                long_name: &str,
                diag: &mut Diagnostics| match (short, long) {
        (Some(a), Some(b)) if a != b => {
            diag.invalid(
                &format!("{base}.{short_name}"),
                format!("`{short_name}` ({a}) and `deploy.resources.{long_name}` ({b}) disagree"),
                "give the value once",
            );
            Some(a)
        }
        (a, b) => a.or(b),
    };
    let cpus = |v: &Option<Scalar>, path: &str, diag: &mut Diagnostics| {
        v.as_ref()
            .and_then(|v| to_f64(v, path, diag))
            .and_then(|f| {
                diag.check(
                    parse_nano_cpus(f),
                    path,
                    "write a CPU count such as 0.5 or 2",
                )
            })
    };
    let memory_bytes = pick(
        raw.mem_limit
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.mem_limit"), diag)),
        "mem_limit",
        limits
            .and_then(|l| l.memory.as_ref())
            .and_then(|v| to_bytes(v, &format!("{dpath}.limits.memory"), diag)),
        "limits.memory",
        diag,
    );
    let memory_reservation_bytes = pick(
        raw.mem_reservation
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.mem_reservation"), diag)),
        "mem_reservation",
        reservations
            .and_then(|l| l.memory.as_ref())
            .and_then(|v| to_bytes(v, &format!("{dpath}.reservations.memory"), diag)),
        "reservations.memory",
        diag,
    );
    let short_cpus = cpus(&raw.cpus, &format!("{base}.cpus"), diag);
    let long_cpus = cpus(
        &limits.and_then(|l| l.cpus.clone()),
        &format!("{dpath}.limits.cpus"),
        diag,
    );
    let nano_cpus = pick(short_cpus, "cpus", long_cpus, "limits.cpus", diag);
    let pids_limit = pick(
        raw.pids_limit
            .as_ref()
            .and_then(|v| to_int(v, &format!("{base}.pids_limit"), diag)),
        "pids_limit",
        limits
            .and_then(|l| l.pids.as_ref())
            .and_then(|v| to_int(v, &format!("{dpath}.limits.pids"), diag)),
        "limits.pids",
        diag,
    );
    if reservations.is_some_and(|r| r.cpus.is_some()) {
        diag.warnings.push(format!("{dpath}.reservations.cpus: CPU reservations have no effect on a single engine; ignored"));
    }
    if reservations.is_some_and(|r| r.pids.is_some()) {
        diag.warnings.push(format!(
            "{dpath}.reservations.pids: pid reservations have no effect; ignored"
        ));
    }
    Resources {
        memory_bytes,
        memory_reservation_bytes,
        nano_cpus,
        cpu_shares: raw
            .cpu_shares
            .as_ref()
            .and_then(|v| to_int(v, &format!("{base}.cpu_shares"), diag)),
        pids_limit,
        shm_size_bytes: raw
            .shm_size
            .as_ref()
            .and_then(|v| to_bytes(v, &format!("{base}.shm_size"), diag)),
    }
}

/// `ulimits`: a single number is both soft and hard; soft may not exceed hard.
pub(super) fn ulimits(
    raw: &Service,
    base: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, Ulimit> {
    let mut out = BTreeMap::new();
    for (key, limit) in raw.ulimits.iter().flatten() {
        let path = format!("{base}.ulimits.{key}");
        let pair = match limit {
            UlimitRaw::Single(n) => to_int(n, &path, diag).map(|n| (n, n)),
            UlimitRaw::Pair { soft, hard } => to_int(soft, &format!("{path}.soft"), diag)
                .zip(to_int(hard, &format!("{path}.hard"), diag)),
        };
        if let Some((soft, hard)) = pair {
            if soft > hard {
                diag.invalid(
                    &path,
                    format!("soft limit {soft} is above hard limit {hard}"),
                    "make `soft` at most `hard`",
                );
            }
            out.insert(key.clone(), Ulimit { soft, hard });
        }
    }
    out
}
