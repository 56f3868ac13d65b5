//! `extends`: a service built on another service of the same file or of another file.
//!
//! Runs on the interpolated document, before the typed parse, as compose does: each service's chain of
//! bases is resolved (bases first) and merged by `merge::merge_service`. A file named by `extends.file`
//! goes through the host-path policy like any other host path (workspace roots, refused paths), is read
//! through the `Host`, size- and node-checked, key-checked and interpolated with the project's variables,
//! and the relative paths of a service taken from it are rebased onto its folder. Chains are bounded in
//! depth and in files read; a cycle is an error naming the chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{merge, Host};
use crate::error::{ErrorKind, SpecError};
use crate::interpolate::interpolate_value;
use crate::policy::{self, Policy};

/// Longest chain of `extends` one service may follow.
pub const MAX_EXTENDS_DEPTH: usize = 8;
/// Most other files one load may read for `extends`.
pub const MAX_EXTENDS_FILES: usize = 16;

/// What resolving reads besides the document.
pub(super) struct Sources<'a> {
    pub host: &'a dyn Host,
    pub policy: &'a Policy,
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Absolute; the main file's relative `extends.file` resolves against it.
    pub project_dir: &'a Path,
}

/// The services of one file and the folder its relative paths resolve against.
#[derive(Clone)]
struct FileServices {
    dir: PathBuf,
    /// `None` for the main document; the path shown in errors and cycles otherwise.
    shown: Option<String>,
    services: Map<String, Value>,
}

/// Replaces every service that uses `extends` in `doc` by its merged form.
pub(super) fn resolve(doc: &mut Value, sources: &Sources, errors: &mut Vec<SpecError>) {
    let Some(services) = doc.get("services").and_then(Value::as_object) else {
        return;
    };
    if !services.values().any(|s| s.get("extends").is_some()) {
        return;
    }
    let main = FileServices {
        dir: sources.project_dir.to_path_buf(),
        shown: None,
        services: services.clone(),
    };
    let mut resolver = Resolver {
        sources,
        files: BTreeMap::new(),
        errors,
    };
    let mut resolved = Map::new();
    for name in main.services.keys() {
        if main.services[name].get("extends").is_none() {
            continue;
        }
        let path = format!("services.{name}.extends");
        let mut chain = Vec::new();
        if let Some(service) = resolver.service(&main, name, &path, &mut chain) {
            resolved.insert(name.clone(), Value::Object(service));
        }
    }
    if let Some(Value::Object(services)) = doc.get_mut("services") {
        for (name, service) in resolved {
            services.insert(name, service);
        }
    }
}

struct Resolver<'a, 'e> {
    sources: &'a Sources<'a>,
    /// Other files read so far, by resolved path (`None` when reading failed; its error is reported once).
    files: BTreeMap<PathBuf, Option<FileServices>>,
    errors: &'e mut Vec<SpecError>,
}

impl Resolver<'_, '_> {
    /// Service `name` of `file` with its bases merged in, without `extends`; `None` after an error.
    fn service(
        &mut self,
        file: &FileServices,
        name: &str,
        path: &str,
        chain: &mut Vec<String>,
    ) -> Option<Map<String, Value>> {
        let label = match &file.shown {
            Some(shown) => format!("{shown}:{name}"),
            None => name.to_string(),
        };
        if chain.contains(&label) {
            chain.push(label);
            self.error(
                path,
                format!("`extends` forms a cycle: {}", chain.join(" -> ")),
                "break the cycle: a service cannot extend itself through its bases",
            );
            return None;
        }
        chain.push(label);
        let Some(mut service) = file.services.get(name).and_then(Value::as_object).cloned() else {
            self.error(
                path,
                format!(
                    "`extends` names service `{name}`, which {} does not define",
                    shown_file(file)
                ),
                "name a service defined in that file",
            );
            return None;
        };
        let Some(reference) = service.remove("extends") else {
            return Some(service);
        };
        if chain.len() > MAX_EXTENDS_DEPTH {
            self.error(
                path,
                format!(
                    "`extends` chain deeper than {MAX_EXTENDS_DEPTH}: {}",
                    chain.join(" -> ")
                ),
                "flatten the chain of bases",
            );
            return None;
        }
        let (base_name, base_file) = self.reference(&reference, path)?;
        let base_source = match &base_file {
            None => file.clone(),
            Some(relative) => self.other_file(&file.dir, relative, path)?,
        };
        let mut base = self.service(&base_source, &base_name, path, chain)?;
        if base_file.is_some() {
            rebase_paths(&mut base, &base_source.dir);
        }
        Some(merge::merge_service(&base, &service))
    }

    /// `extends: NAME` or `extends: {service: NAME, file: PATH}`.
    fn reference(&mut self, reference: &Value, path: &str) -> Option<(String, Option<String>)> {
        let fix = "write `extends: NAME` or `extends: {service: NAME, file: ./other.yaml}`";
        match reference {
            Value::String(name) => Some((name.clone(), None)),
            Value::Object(long) => {
                let service = long.get("service").and_then(Value::as_str);
                let file = long.get("file");
                match (service, file) {
                    (Some(service), None) => Some((service.to_string(), None)),
                    (Some(service), Some(Value::String(file))) => {
                        Some((service.to_string(), Some(file.clone())))
                    }
                    _ => {
                        self.error(
                            path,
                            "`extends` needs `service` (a name) and an optional `file` (a path)"
                                .into(),
                            fix,
                        );
                        None
                    }
                }
            }
            _ => {
                self.error(
                    path,
                    "`extends` must be a service name or a mapping".into(),
                    fix,
                );
                None
            }
        }
    }

    /// Reads, checks and interpolates the file `relative` (to `dir`) once; its path passes the host-path
    /// policy first.
    fn other_file(&mut self, dir: &Path, relative: &str, path: &str) -> Option<FileServices> {
        let field = format!("{path}.file");
        let lexical = policy::lexical_normalize(&dir.join(relative));
        if let Err(e) = policy::check_host_path(&lexical, self.sources.policy, &field) {
            self.errors.push(e);
            return None;
        }
        let real = self
            .sources
            .host
            .canonicalize(&lexical)
            .unwrap_or(lexical.clone());
        if let Err(e) = policy::check_host_path(&real, self.sources.policy, &field) {
            self.errors.push(e);
            return None;
        }
        if let Some(known) = self.files.get(&real) {
            return known.clone();
        }
        if self.files.len() >= MAX_EXTENDS_FILES {
            self.error(
                &field,
                format!("`extends` reads more than {MAX_EXTENDS_FILES} files"),
                "keep the bases in fewer files",
            );
            return None;
        }
        let loaded = self.read_file(&real, relative, &field);
        self.files.insert(real, loaded.clone());
        loaded
    }

    fn read_file(&mut self, real: &Path, shown: &str, field: &str) -> Option<FileServices> {
        let prefix = format!("{shown}:");
        let sources = self.sources;
        let mut doc = super::read_compose_file(
            sources.host,
            sources.policy,
            real,
            (field, &prefix),
            self.errors,
        )?;
        let mut found = Vec::new();
        interpolate_value(&mut doc, "", sources.lookup, &mut found);
        let failed = !found.is_empty();
        self.errors
            .extend(found.into_iter().map(|e| super::in_file(&prefix, e)));
        if failed {
            return None;
        }
        let services = doc
            .get("services")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Some(FileServices {
            dir: real.parent().map(Path::to_path_buf).unwrap_or_default(),
            shown: Some(shown.to_string()),
            services,
        })
    }

    fn error(&mut self, path: &str, message: String, fix: &str) {
        self.errors
            .push(SpecError::new(ErrorKind::Invalid, path, message, fix));
    }
}

fn shown_file(file: &FileServices) -> String {
    match &file.shown {
        Some(shown) => format!("`{shown}`"),
        None => "this file".into(),
    }
}

/// Makes the relative host paths of a service read from another file absolute against that file's folder:
/// `build` (context), `env_file`, and bind sources of `volumes`. Normalization checks them by policy as usual.
pub(super) fn rebase_paths(service: &mut Map<String, Value>, dir: &Path) {
    // A volume source is a path only when it starts with `.` (otherwise it names a volume or is absolute).
    let rebase_dotted = |text: &mut String| {
        if text.starts_with('.') {
            *text = policy::lexical_normalize(&dir.join(&*text))
                .to_string_lossy()
                .into_owned();
        }
    };
    // Build contexts and env files are paths unless absolute, under `~`, or remote.
    let rebase = |text: &mut String| {
        let remote = text.contains("://") || text.starts_with("git@");
        if !remote && !text.starts_with('~') && !Path::new(text.as_str()).is_absolute() {
            *text = policy::lexical_normalize(&dir.join(&*text))
                .to_string_lossy()
                .into_owned();
        }
    };
    match service.get_mut("build") {
        Some(Value::String(context)) => rebase(context),
        Some(Value::Object(build)) => {
            if let Some(Value::String(context)) = build.get_mut("context") {
                rebase(context);
            }
        }
        _ => {}
    }
    match service.get_mut("env_file") {
        Some(Value::String(file)) => rebase(file),
        Some(Value::Array(files)) => {
            for file in files {
                match file {
                    Value::String(file) => rebase(file),
                    Value::Object(long) => {
                        if let Some(Value::String(file)) = long.get_mut("path") {
                            rebase(file);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Array(volumes)) = service.get_mut("volumes") {
        for volume in volumes {
            match volume {
                Value::String(short) => {
                    if let Some((source, rest)) = short.split_once(':') {
                        let mut source = source.to_string();
                        rebase_dotted(&mut source);
                        *short = format!("{source}:{rest}");
                    }
                }
                Value::Object(long) => {
                    if let Some(Value::String(source)) = long.get_mut("source") {
                        rebase_dotted(source);
                    }
                }
                _ => {}
            }
        }
    }
}
