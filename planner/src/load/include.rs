//! `include`: other compose files whose services, networks, volumes, secrets and configs join the project.
//!
//! As in compose, each included file is loaded on its own first: its relative paths resolve against its
//! `project_directory` (by default its own folder), its variables come from the server's environment and
//! then its `env_file` (by default the `.env` of that folder), and its own `include` and `extends` are
//! resolved there. Its resources are then added to the including file; a name both define differently is a
//! conflict. Every file named (`path`, `env_file`, `project_directory`) passes the host-path policy before
//! it is read, and includes are bounded in depth and in files; a cycle is an error naming the chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{extends, merge, Host};
use crate::error::{ErrorKind, SpecError};
use crate::interpolate::interpolate_value;
use crate::normalize::dotenv;
use crate::policy::{self, Policy};

/// Deepest chain of files including files.
pub const MAX_INCLUDE_DEPTH: usize = 4;
/// Most files one load may include, at every depth together.
pub const MAX_INCLUDE_FILES: usize = 16;

/// Variable lookup of one included file.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// The sections an included file contributes.
const SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

/// What including reads besides the document.
pub(super) struct Sources<'a> {
    pub host: &'a dyn Host,
    pub policy: &'a Policy,
    /// The server's environment: an included file does not see the including file's `.env`.
    pub environment: &'a dyn Fn(&str) -> Option<String>,
}

/// Adds the resources of every file `doc`'s `include` names to `doc`, and removes `include`.
pub(super) fn resolve(
    doc: &mut Value,
    project_dir: &Path,
    sources: &Sources,
    errors: &mut Vec<SpecError>,
) {
    let mut state = Includer {
        sources,
        files_read: 0,
        errors,
    };
    let mut chain = Vec::new();
    state.include_into(doc, project_dir, "", &mut chain);
}

struct Includer<'a, 'e> {
    sources: &'a Sources<'a>,
    files_read: usize,
    errors: &'e mut Vec<SpecError>,
}

/// One `include` entry, paths resolved and checked.
struct Entry {
    paths: Vec<(PathBuf, String)>,
    project_dir: PathBuf,
    env_files: Vec<PathBuf>,
}

impl Includer<'_, '_> {
    /// `prefix` is how errors inside this document are named (`""` for the main file, `file.yaml:` below).
    fn include_into(
        &mut self,
        doc: &mut Value,
        dir: &Path,
        prefix: &str,
        chain: &mut Vec<PathBuf>,
    ) {
        let Some(root) = doc.as_object_mut() else {
            return;
        };
        let Some(list) = root.remove("include") else {
            return;
        };
        let items = match list {
            Value::Array(items) => items,
            other => vec![other],
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("{prefix}include[{i}]");
            let Some(entry) = self.entry(item, dir, &path) else {
                continue;
            };
            let Some(included) = self.load_entry(&entry, &path, chain) else {
                continue;
            };
            self.add_resources(root, included, &path);
        }
    }

    /// `- path.yaml` or `- {path: P | [P...], project_directory: D, env_file: E | [E...]}`.
    fn entry(&mut self, item: &Value, dir: &Path, path: &str) -> Option<Entry> {
        let (paths, project_directory, env_file) = match item {
            Value::String(p) => (vec![p.clone()], None, Vec::new()),
            Value::Object(long) => (
                strings(long.get("path")),
                long.get("project_directory").and_then(Value::as_str),
                strings(long.get("env_file")),
            ),
            _ => (Vec::new(), None, Vec::new()),
        };
        if paths.is_empty() {
            self.invalid(
                path,
                "an `include` entry needs a `path`".into(),
                "write `- other.yaml` or `- {path: other.yaml, project_directory: ., env_file: .env}`",
            );
            return None;
        }
        let mut resolved = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let field = format!("{path}.path[{i}]");
            resolved.push((self.checked(dir, p, &field)?, p.clone()));
        }
        let first_dir = resolved[0]
            .0
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let project_dir = match project_directory {
            Some(d) => self.checked(dir, d, &format!("{path}.project_directory"))?,
            None => first_dir,
        };
        let env_files = env_file
            .iter()
            .enumerate()
            .map(|(i, e)| self.checked(dir, e, &format!("{path}.env_file[{i}]")))
            .collect::<Option<Vec<_>>>()?;
        Some(Entry {
            paths: resolved,
            project_dir,
            env_files,
        })
    }

    /// `relative` against `dir`, lexically and through symlinks, both spellings passed by the path policy.
    fn checked(&mut self, dir: &Path, relative: &str, field: &str) -> Option<PathBuf> {
        let lexical = policy::lexical_normalize(&dir.join(relative));
        let real = self
            .sources
            .host
            .canonicalize(&lexical)
            .unwrap_or_else(|_| lexical.clone());
        for candidate in [&lexical, &real] {
            if let Err(e) = policy::check_host_path(candidate, self.sources.policy, field) {
                self.errors.push(e);
                return None;
            }
        }
        Some(real)
    }

    /// The entry's files, each loaded in the entry's folder and merged in order (later files override).
    fn load_entry(&mut self, entry: &Entry, path: &str, chain: &mut Vec<PathBuf>) -> Option<Value> {
        let sources = self.sources;
        let lookup = entry_lookup(sources.host, sources.environment, entry, path, self.errors);
        let mut merged: Option<Value> = None;
        for (i, (real, shown)) in entry.paths.iter().enumerate() {
            let field = format!("{path}.path[{i}]");
            if chain.contains(real) {
                let mut names: Vec<String> =
                    chain.iter().map(|p| p.display().to_string()).collect();
                names.push(real.display().to_string());
                self.invalid(
                    path,
                    format!("`include` forms a cycle: {}", names.join(" -> ")),
                    "include each file once",
                );
                return None;
            }
            if chain.len() >= MAX_INCLUDE_DEPTH || self.files_read >= MAX_INCLUDE_FILES {
                self.invalid(
                    path,
                    format!("`include` goes deeper than {MAX_INCLUDE_DEPTH} files or reads more than {MAX_INCLUDE_FILES}"),
                    "include fewer files",
                );
                return None;
            }
            self.files_read += 1;
            let prefix = format!("{shown}:");
            let mut doc = super::read_compose_file(
                sources.host,
                sources.policy,
                real,
                (&field, &prefix),
                self.errors,
            )?;
            let mut found = Vec::new();
            interpolate_value(&mut doc, "", &lookup, &mut found);
            let failed = !found.is_empty();
            self.errors
                .extend(found.into_iter().map(|e| super::in_file(&prefix, e)));
            if failed {
                return None;
            }
            chain.push(real.clone());
            self.include_into(&mut doc, &entry.project_dir, &prefix, chain);
            chain.pop();
            let ext = extends::Sources {
                host: self.sources.host,
                policy: self.sources.policy,
                lookup: &lookup,
                project_dir: &entry.project_dir,
            };
            let mut found = Vec::new();
            extends::resolve(&mut doc, &ext, &mut found);
            self.errors
                .extend(found.into_iter().map(|e| super::in_file(&prefix, e)));
            rebase_document(&mut doc, &entry.project_dir);
            merged = Some(match merged {
                None => doc,
                Some(base) => merge_documents(base, doc),
            });
        }
        merged
    }

    /// Adds the included resources; a name defined differently on both sides is a conflict, as in compose.
    fn add_resources(&mut self, root: &mut Map<String, Value>, included: Value, path: &str) {
        let Value::Object(mut included) = included else {
            return;
        };
        for section in SECTIONS {
            let Some(Value::Object(items)) = included.remove(section) else {
                continue;
            };
            let target = root
                .entry(section)
                .or_insert_with(|| Value::Object(Map::new()));
            if target.is_null() {
                *target = Value::Object(Map::new());
            }
            let Some(target) = target.as_object_mut() else {
                continue;
            };
            for (name, body) in items {
                match target.get(&name) {
                    Some(existing) if *existing != body => self.invalid(
                        &format!("{section}.{name}"),
                        format!("`{section}.{name}` is defined both here and in the file included at `{path}`"),
                        "rename one of them, or remove the copy",
                    ),
                    Some(_) => {}
                    None => {
                        target.insert(name, body);
                    }
                }
            }
        }
    }

    fn invalid(&mut self, path: &str, message: String, fix: &str) {
        self.errors
            .push(SpecError::new(ErrorKind::Invalid, path, message, fix));
    }
}

/// Variables of an included file: the server's environment, then its env files (or its folder's `.env`).
fn entry_lookup<'a>(
    host: &'a dyn Host,
    environment: &'a dyn Fn(&str) -> Option<String>,
    entry: &Entry,
    path: &str,
    errors: &mut Vec<SpecError>,
) -> Lookup<'a> {
    let files = if entry.env_files.is_empty() {
        vec![entry.project_dir.join(".env")]
    } else {
        entry.env_files.clone()
    };
    let mut vars = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let field = format!("{path}.env_file[{i}]");
        let Ok(text) = host.read_file(file) else {
            if !entry.env_files.is_empty() {
                errors.push(SpecError::new(
                    ErrorKind::Invalid,
                    &field,
                    format!("cannot read `{}`", file.display()),
                    "name an env file that exists",
                ));
            }
            continue;
        };
        match dotenv::parse(&text, &|name| host.var(name)) {
            Ok(entries) => {
                for (key, value) in entries {
                    if let Some(value) = value.or_else(|| host.var(&key)) {
                        vars.insert(key, value);
                    }
                }
            }
            Err(e) => errors.push(SpecError::new(
                ErrorKind::Invalid,
                &field,
                format!("invalid env file: {e}"),
                "write `KEY=value` lines",
            )),
        }
    }
    Box::new(move |name: &str| environment(name).or_else(|| vars.get(name).cloned()))
}

/// A string or a list of strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Later files of one entry override earlier ones: services by compose's merge rules, the rest by key.
fn merge_documents(base: Value, over: Value) -> Value {
    let (Value::Object(mut base), Value::Object(over)) = (base, over.clone()) else {
        return over;
    };
    for (section, items) in over {
        let merged = match (section.as_str(), base.remove(&section)) {
            ("services", Some(Value::Object(mut services))) => {
                for (name, service) in items.as_object().cloned().unwrap_or_default() {
                    let merged = match (services.remove(&name), &service) {
                        (Some(Value::Object(old)), Value::Object(new)) => {
                            Value::Object(merge::merge_service(&old, new))
                        }
                        _ => service,
                    };
                    services.insert(name, merged);
                }
                Value::Object(services)
            }
            (_, Some(Value::Object(mut old))) => {
                old.extend(items.as_object().cloned().unwrap_or_default());
                Value::Object(old)
            }
            _ => items,
        };
        base.insert(section, merged);
    }
    Value::Object(base)
}

/// Makes an included file's relative host paths absolute against its project directory: its services'
/// (as `extends` does) and its secrets' and configs' `file`.
fn rebase_document(doc: &mut Value, dir: &Path) {
    if let Some(Value::Object(services)) = doc.get_mut("services") {
        for service in services.values_mut() {
            if let Value::Object(service) = service {
                extends::rebase_paths(service, dir);
            }
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Value::Object(items)) = doc.get_mut(section) {
            for item in items.values_mut() {
                if let Some(Value::String(file)) = item.get_mut("file") {
                    if !file.starts_with('~') && !Path::new(file.as_str()).is_absolute() {
                        *file = policy::lexical_normalize(&dir.join(&*file))
                            .to_string_lossy()
                            .into_owned();
                    }
                }
            }
        }
    }
}
