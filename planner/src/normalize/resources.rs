//! Resource limits: memory, CPUs, pids, shm and ulimits, in compose's top-level and `deploy` forms.

use super::values::{to_bytes, to_f64, to_int};
use super::{parse_nano_cpus, Diagnostics};
use std::collections::BTreeMap;

use crate::compose::{ResourceLimits, Scalar, Service, UlimitRaw};
use crate::model::{Resources, Ulimit};

/// Service-level limits and `deploy.resources`; both spellings must agree when both are given, as in compose.
pub(super) fn resources(raw: &Service, base: &str, diag: &mut Diagnostics) -> Resources {
    let deploy = raw.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let at = Paths {
        base,
        deploy: format!("{base}.deploy.resources"),
    };
    let limits = deploy.and_then(|r| r.limits.as_ref());
    let reservations = deploy.and_then(|r| r.reservations.as_ref());
    let memory_bytes = {
        let short = bytes(raw.mem_limit.as_ref(), &at.short("mem_limit"), diag);
        let long_value = limits.and_then(|l| l.memory.as_ref());
        let long = bytes(long_value, &at.long("limits.memory"), diag);
        at.one_value(("mem_limit", short), ("limits.memory", long), diag)
    };
    let memory_reservation_bytes = {
        let short = bytes(
            raw.mem_reservation.as_ref(),
            &at.short("mem_reservation"),
            diag,
        );
        let long_value = reservations.and_then(|l| l.memory.as_ref());
        let long = bytes(long_value, &at.long("reservations.memory"), diag);
        at.one_value(
            ("mem_reservation", short),
            ("reservations.memory", long),
            diag,
        )
    };
    let nano_cpus = {
        let short = cpus(raw.cpus.as_ref(), &at.short("cpus"), diag);
        let long_value = limits.and_then(|l| l.cpus.as_ref());
        let long = cpus(long_value, &at.long("limits.cpus"), diag);
        at.one_value(("cpus", short), ("limits.cpus", long), diag)
    };
    let pids_limit = {
        let short = int(raw.pids_limit.as_ref(), &at.short("pids_limit"), diag);
        let long_value = limits.and_then(|l| l.pids.as_ref());
        let long = int(long_value, &at.long("limits.pids"), diag);
        at.one_value(("pids_limit", short), ("limits.pids", long), diag)
    };
    warn_ignored_reservations(reservations, &at.deploy, diag);
    Resources {
        memory_bytes,
        memory_reservation_bytes,
        nano_cpus,
        cpu_shares: int(raw.cpu_shares.as_ref(), &at.short("cpu_shares"), diag),
        pids_limit,
        shm_size_bytes: bytes(raw.shm_size.as_ref(), &at.short("shm_size"), diag),
    }
}

/// Where a service's resource fields are written: at its top level, or under `deploy.resources`.
struct Paths<'a> {
    base: &'a str,
    deploy: String,
}

impl Paths<'_> {
    fn short(&self, name: &str) -> String {
        format!("{}.{name}", self.base)
    }

    fn long(&self, name: &str) -> String {
        format!("{}.{name}", self.deploy)
    }

    /// The value given at the top level or under `deploy.resources`; both given and different is an
    /// error (the top-level one is kept).
    fn one_value(
        &self,
        (short_name, short): (&str, Option<i64>),
        (long_name, long): (&str, Option<i64>),
        diag: &mut Diagnostics,
    ) -> Option<i64> {
        match (short, long) {
            (Some(a), Some(b)) if a != b => {
                diag.invalid(
                    &self.short(short_name),
                    format!(
                        "`{short_name}` ({a}) and `deploy.resources.{long_name}` ({b}) disagree"
                    ),
                    "give the value once",
                );
                Some(a)
            }
            (a, b) => a.or(b),
        }
    }
}

fn bytes(value: Option<&Scalar>, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    value.and_then(|v| to_bytes(v, path, diag))
}

fn int(value: Option<&Scalar>, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    value.and_then(|v| to_int(v, path, diag))
}

/// A CPU count as nano CPUs.
fn cpus(value: Option<&Scalar>, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let count = value.and_then(|v| to_f64(v, path, diag))?;
    diag.check(
        parse_nano_cpus(count),
        path,
        "write a CPU count such as 0.5 or 2",
    )
}

/// CPU and pid reservations mean nothing on one engine: they are ignored with a warning.
fn warn_ignored_reservations(
    reservations: Option<&ResourceLimits>,
    deploy: &str,
    diag: &mut Diagnostics,
) {
    if reservations.is_some_and(|r| r.cpus.is_some()) {
        diag.warnings.push(format!(
            "{deploy}.reservations.cpus: CPU reservations have no effect on a single engine; ignored"
        ));
    }
    if reservations.is_some_and(|r| r.pids.is_some()) {
        diag.warnings.push(format!(
            "{deploy}.reservations.pids: pid reservations have no effect; ignored"
        ));
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
