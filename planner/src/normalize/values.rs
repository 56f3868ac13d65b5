//! Scalar conversions shared by every field: booleans, numbers, durations, sizes, word lists and
//! key/value maps, each failure an error at the field's path.

use std::collections::BTreeMap;

use super::{parse_bytes, parse_duration_ns, split_words, Diagnostics};
use crate::compose::{KeyValues, Scalar, StringOrList};

pub(super) fn to_bool(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<bool> {
    let parsed = match value {
        Scalar::Bool(b) => Some(*b),
        Scalar::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" | "" => Some(false),
            _ => None,
        },
        Scalar::Int(0) => Some(false),
        Scalar::Int(1) => Some(true),
        _ => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a boolean", value.to_text()),
            "write true or false",
        );
    }
    parsed
}

pub(super) fn to_int(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let parsed = match value {
        Scalar::Int(n) => Some(*n),
        Scalar::Str(s) => s.trim().parse().ok(),
        Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
        _ => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a whole number", value.to_text()),
            "write a whole number",
        );
    }
    parsed
}

pub(super) fn to_f64(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<f64> {
    let parsed = match value {
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(f) => Some(*f),
        Scalar::Str(s) => s.trim().parse().ok(),
        Scalar::Bool(_) => None,
    };
    if parsed.is_none() {
        diag.invalid(
            path,
            format!("`{}` is not a number", value.to_text()),
            "write a number such as 0.5",
        );
    }
    parsed
}

/// A duration; a bare number counts as seconds.
pub(super) fn to_duration_ns(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let result = match value {
        Scalar::Int(n) if *n >= 0 => n
            .checked_mul(1_000_000_000)
            .ok_or_else(|| format!("{n}s is too long")),
        Scalar::Float(f) if *f >= 0.0 && *f < 9.0e9 => Ok((f * 1e9).round() as i64),
        Scalar::Str(s) => parse_duration_ns(s),
        other => Err(format!("`{}` is not a duration", other.to_text())),
    };
    diag.check(
        result,
        path,
        "write a duration such as `10s`, `1m30s` or `500ms`",
    )
}

pub(super) fn to_bytes(value: &Scalar, path: &str, diag: &mut Diagnostics) -> Option<i64> {
    let result = match value {
        Scalar::Int(n) if *n >= 0 => Ok(*n),
        Scalar::Float(f) if *f >= 0.0 && *f < 9.0e18 => Ok(f.round() as i64),
        Scalar::Str(s) => parse_bytes(s),
        other => Err(format!("`{}` is not a size", other.to_text())),
    };
    diag.check(result, path, "write bytes or a size such as `512m` or `1g`")
}

pub(super) fn words(
    value: &StringOrList,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<Vec<String>> {
    match value {
        StringOrList::Str(s) => diag.check(
            split_words(s),
            path,
            "close every quote, or give the command as a list",
        ),
        StringOrList::List(list) => Some(list.iter().map(Scalar::to_text).collect()),
    }
}

pub(super) fn key_values(
    raw: Option<&KeyValues>,
    path: &str,
    diag: &mut Diagnostics,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match raw {
        None => {}
        Some(KeyValues::Map(map)) => {
            for (k, v) in map {
                out.insert(
                    k.clone(),
                    v.as_ref().map(Scalar::to_text).unwrap_or_default(),
                );
            }
        }
        Some(KeyValues::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                if k.is_empty() {
                    diag.invalid(
                        &format!("{path}[{i}]"),
                        format!("`{item}` has no key"),
                        "write `key=value`",
                    );
                    continue;
                }
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}
