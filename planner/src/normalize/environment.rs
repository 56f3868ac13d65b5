//! A service's environment: `env_file` entries read and parsed, `environment` merged over them, bare
//! `KEY`s taken from the server's environment, and `{secret: NAME}` references kept as references.

use std::collections::{BTreeMap, BTreeSet};

use super::paths::resolve_host_path;
use super::values::to_bool;
use super::{dotenv, Context, Diagnostics};
use crate::compose::{EnvFileItem, EnvFiles, EnvValueRaw, Environment, Service};
use crate::model::EnvValue;

/// Variables with values, and those left without one (see `ServiceSpec::environment_unset`).
pub(super) type EnvSets = (BTreeMap<String, EnvValue>, BTreeSet<String>);

/// `env_file` entries first (in order), then `environment` over them. A bare `KEY` that the server's
/// environment does not set overrides an env file's value with "unset", as in compose.
pub(super) fn environment(
    cx: &Context,
    raw: &Service,
    base: &str,
    diag: &mut Diagnostics,
) -> EnvSets {
    let mut env = BTreeMap::new();
    let mut unset = BTreeSet::new();
    let mut put =
        |env: &mut BTreeMap<String, EnvValue>, key: &str, value: Option<EnvValue>| match value {
            Some(value) => {
                unset.remove(key);
                env.insert(key.to_string(), value);
            }
            None => {
                env.remove(key);
                unset.insert(key.to_string());
            }
        };
    let files: Vec<(String, bool)> = match &raw.env_file {
        None => Vec::new(),
        Some(EnvFiles::One(path)) => vec![(path.clone(), true)],
        Some(EnvFiles::Many(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                EnvFileItem::Path(path) => (path.clone(), true),
                EnvFileItem::Long { path, required } => {
                    let required = required
                        .as_ref()
                        .and_then(|r| to_bool(r, &format!("{base}.env_file[{i}].required"), diag))
                        .unwrap_or(true);
                    (path.clone(), required)
                }
            })
            .collect(),
    };
    for (i, (file, required)) in files.iter().enumerate() {
        let path = if matches!(raw.env_file, Some(EnvFiles::One(_))) {
            format!("{base}.env_file")
        } else {
            format!("{base}.env_file[{i}]")
        };
        let Some(resolved) = resolve_host_path(cx, file, &path, diag) else {
            continue;
        };
        let text = match cx.host.read_file(&resolved) {
            Ok(text) => text,
            Err(e) if *required => {
                diag.invalid(
                    &path,
                    format!("cannot read env file `{}`: {e}", resolved.display()),
                    "create the file, fix the path, or mark it `required: false`",
                );
                continue;
            }
            Err(_) => continue,
        };
        match dotenv::parse(&text, cx.lookup) {
            Ok(entries) => {
                for (key, value) in entries {
                    if let Some(value) = value.or_else(|| (cx.lookup)(&key)) {
                        env.insert(key, EnvValue::Literal(value));
                    }
                }
            }
            Err(e) => diag.invalid(
                &path,
                format!("env file `{}` is invalid: {e}", resolved.display()),
                "write `KEY=value` lines",
            ),
        }
    }
    let path = format!("{base}.environment");
    match &raw.environment {
        None => {}
        Some(Environment::Map(map)) => {
            for (key, value) in map {
                let value = match value {
                    None => (cx.lookup)(key).map(EnvValue::Literal),
                    Some(EnvValueRaw::Secret(r)) => Some(EnvValue::Secret {
                        secret: r.secret.clone(),
                    }),
                    Some(EnvValueRaw::Value(v)) => Some(EnvValue::Literal(v.to_text())),
                };
                put(&mut env, key, value);
            }
        }
        Some(Environment::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                match item.split_once('=') {
                    Some(("", _)) => diag.invalid(
                        &format!("{path}[{i}]"),
                        format!("`{item}` has no variable name"),
                        "write `KEY=value`",
                    ),
                    Some((k, v)) => put(&mut env, k, Some(EnvValue::Literal(v.to_string()))),
                    None => put(&mut env, item, (cx.lookup)(item).map(EnvValue::Literal)),
                }
            }
        }
    }
    (env, unset)
}
