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
    let mut sets = Sets::default();
    for file in env_files(raw, base, diag) {
        for (key, value) in read_env_file(cx, &file, diag) {
            sets.values.insert(key, EnvValue::Literal(value));
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
                sets.put(key, value);
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
                    Some((k, v)) => sets.put(k, Some(EnvValue::Literal(v.to_string()))),
                    None => sets.put(item, (cx.lookup)(item).map(EnvValue::Literal)),
                }
            }
        }
    }
    (sets.values, sets.unset)
}

/// The environment being built: a key is in at most one of the two.
#[derive(Default)]
struct Sets {
    values: BTreeMap<String, EnvValue>,
    unset: BTreeSet<String>,
}

impl Sets {
    /// Sets `key` to `value`, or marks it unset when there is no value.
    fn put(&mut self, key: &str, value: Option<EnvValue>) {
        match value {
            Some(value) => {
                self.unset.remove(key);
                self.values.insert(key.to_string(), value);
            }
            None => {
                self.values.remove(key);
                self.unset.insert(key.to_string());
            }
        }
    }
}

/// One `env_file` entry.
struct EnvFile {
    /// Where it is written in the spec, for errors.
    path: String,
    file: String,
    required: bool,
}

/// The `env_file` entries in order, in either form.
fn env_files(raw: &Service, base: &str, diag: &mut Diagnostics) -> Vec<EnvFile> {
    match &raw.env_file {
        None => Vec::new(),
        Some(EnvFiles::One(file)) => vec![EnvFile {
            path: format!("{base}.env_file"),
            file: file.clone(),
            required: true,
        }],
        Some(EnvFiles::Many(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{base}.env_file[{i}]");
                let (file, required) = match item {
                    EnvFileItem::Path(file) => (file.clone(), true),
                    EnvFileItem::Long {
                        path: file,
                        required,
                    } => {
                        let required = required
                            .as_ref()
                            .and_then(|r| to_bool(r, &format!("{path}.required"), diag))
                            .unwrap_or(true);
                        (file.clone(), required)
                    }
                };
                EnvFile {
                    path,
                    file,
                    required,
                }
            })
            .collect(),
    }
}

/// The variables an env file sets (a bare `KEY` takes the server's value, or is skipped without one); an
/// unreadable required file or an invalid one is an error.
fn read_env_file(
    cx: &Context,
    env_file: &EnvFile,
    diag: &mut Diagnostics,
) -> Vec<(String, String)> {
    let path = &env_file.path;
    let Some(resolved) = resolve_host_path(cx, &env_file.file, path, diag) else {
        return Vec::new();
    };
    let text = match cx.host.read_file(&resolved) {
        Ok(text) => text,
        Err(e) if env_file.required => {
            diag.invalid(
                path,
                format!("cannot read env file `{}`: {e}", resolved.display()),
                "create the file, fix the path, or mark it `required: false`",
            );
            return Vec::new();
        }
        Err(_) => return Vec::new(),
    };
    match dotenv::parse(&text, cx.lookup) {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|(key, value)| {
                let value = value.or_else(|| (cx.lookup)(&key))?;
                Some((key, value))
            })
            .collect(),
        Err(e) => {
            diag.invalid(
                path,
                format!("env file `{}` is invalid: {e}", resolved.display()),
                "write `KEY=value` lines",
            );
            Vec::new()
        }
    }
}
