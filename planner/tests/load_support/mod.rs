//! An in-memory `Host` for loader tests: environment variables, files, directories and symlinks.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use planner::load::{load_yaml, Host, LoadOptions};
use planner::{ErrorKind, Project, SpecError, SpecErrors};

#[derive(Default, Clone)]
pub struct MemHost {
    pub vars: BTreeMap<String, String>,
    pub files: BTreeMap<PathBuf, String>,
    pub dirs: BTreeSet<PathBuf>,
    pub symlinks: BTreeMap<PathBuf, PathBuf>,
}

impl MemHost {
    /// A host whose project directory `/srv/app` exists.
    pub fn new() -> Self {
        let mut host = MemHost::default();
        host.dirs.insert("/srv/app".into());
        host
    }

    pub fn var(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }

    pub fn dir(mut self, path: &str) -> Self {
        self.dirs.insert(path.into());
        self
    }

    pub fn symlink(mut self, link: &str, target: &str) -> Self {
        self.symlinks.insert(link.into(), target.into());
        self
    }

    fn exists(&self, path: &Path) -> bool {
        path == Path::new("/")
            || self.files.contains_key(path)
            || self.dirs.contains(path)
            || self
                .files
                .keys()
                .chain(self.dirs.iter())
                .any(|p| p.starts_with(path))
    }
}

impl Host for MemHost {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        let real = self.canonicalize(path)?;
        self.files
            .get(&real)
            .cloned()
            .ok_or_else(|| format!("{}: no such file", path.display()))
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        let mut out = PathBuf::from("/");
        let mut hops = 0;
        let mut pending: Vec<PathBuf> = path
            .components()
            .rev()
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect();
        while let Some(part) = pending.pop() {
            match Path::new(&part).components().next() {
                Some(Component::RootDir) | Some(Component::CurDir) | None => continue,
                Some(Component::ParentDir) => {
                    out.pop();
                    continue;
                }
                _ => {}
            }
            out.push(&part);
            if let Some(target) = self.symlinks.get(&out) {
                hops += 1;
                if hops > 40 {
                    return Err("too many symlinks".into());
                }
                out.pop();
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                pending.extend(
                    target
                        .components()
                        .rev()
                        .map(|c| PathBuf::from(c.as_os_str())),
                );
            }
        }
        if self.exists(&out) {
            Ok(out)
        } else {
            Err(format!("{}: no such file or directory", path.display()))
        }
    }
}

pub fn opts() -> LoadOptions {
    LoadOptions {
        project_dir: "/srv/app".into(),
        ..LoadOptions::default()
    }
}

pub fn load(yaml: &str) -> Result<Project, SpecErrors> {
    load_yaml(yaml, &opts(), &MemHost::new())
}

pub fn load_with(yaml: &str, host: &MemHost) -> Result<Project, SpecErrors> {
    load_yaml(yaml, &opts(), host)
}

pub fn ok(yaml: &str) -> Project {
    match load(yaml) {
        Ok(p) => p,
        Err(e) => panic!("expected the spec to load, got: {e}\n---\n{yaml}"),
    }
}

pub fn errors(yaml: &str) -> Vec<SpecError> {
    match load(yaml) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e.0,
    }
}

/// Asserts one of the errors has this kind, path, and a message or fix containing `fragment`.
pub fn assert_error(errors: &[SpecError], kind: ErrorKind, path: &str, fragment: &str) {
    let found = errors.iter().any(|e| {
        e.kind == kind
            && e.path == path
            && (e.message.contains(fragment) || e.fix.contains(fragment))
    });
    assert!(
        found,
        "no {kind:?} error at `{path}` mentioning `{fragment}`; got:\n{}",
        SpecErrors(errors.to_vec())
    );
}
