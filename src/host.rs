//! The real `planner::load::Host`: the server's own environment and file system.
//!
//! The planner is pure and asks its host for variables, file contents and resolved paths; tests give it an
//! in-memory host, the server gives it this one.

use std::path::{Path, PathBuf};

/// Reads the process environment and the local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

impl planner::load::Host for SystemHost {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        std::fs::canonicalize(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))
    }
}
