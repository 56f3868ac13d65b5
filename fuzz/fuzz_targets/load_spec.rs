//! Fuzz target: arbitrary bytes as a compose YAML document through `planner::load::load_yaml`.
//!
//! Loading must return `Ok` or a `SpecErrors` for any input; a panic, an abort or unbounded memory is a bug.
//! The host is in memory (a few variables, a project directory with one file and a symlink out of it), so
//! interpolation, env files and path checks are exercised without touching the real filesystem.
//! Run with `cargo +nightly fuzz run load_spec` from the repository root.

#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use planner::load::{load_yaml, Host, LoadOptions};

/// A fixed, in-memory view of the server's environment and files.
struct MemoryHost {
    vars: BTreeMap<&'static str, &'static str>,
    files: BTreeMap<PathBuf, &'static str>,
    links: BTreeMap<PathBuf, PathBuf>,
}

impl MemoryHost {
    fn new() -> Self {
        MemoryHost {
            vars: BTreeMap::from([("TAG", "1.0"), ("PORT", "8080"), ("DB_PASSWORD", "hunter2")]),
            files: BTreeMap::from([
                (PathBuf::from("/srv/app/.env"), "FROM_DOTENV=yes\n"),
                (PathBuf::from("/srv/app/app.env"), "A=1\nB=2\n"),
                (PathBuf::from("/srv/app/secret.txt"), "s3cret"),
            ]),
            links: BTreeMap::from([(PathBuf::from("/srv/app/escape"), PathBuf::from("/etc"))]),
        }
    }
}

impl Host for MemoryHost {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.to_string())
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(path)
            .map(|s| s.to_string())
            .ok_or_else(|| format!("{}: no such file", path.display()))
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        for (link, target) in &self.links {
            if let Ok(rest) = path.strip_prefix(link) {
                return Ok(target.join(rest));
            }
        }
        if path.starts_with("/srv/app") || path.starts_with("/etc") {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{}: no such file or directory", path.display()))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = LoadOptions {
        project_dir: PathBuf::from("/srv/app"),
        project_name: Some("fuzz".into()),
        ..Default::default()
    };
    let _ = load_yaml(text, &opts, &MemoryHost::new());
});
