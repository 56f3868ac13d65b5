//! The real `planner::load::Host`: the server's own environment and file system, as far as the operator
//! opened them.
//!
//! The planner is pure and asks its host for variables, file contents and resolved paths; tests give it an
//! in-memory host, the server gives it `ServerHost`. Over MCP the client is not trusted, so interpolation
//! sees only the variables the operator passes (`--pass-env`) and `{secret: NAME}` only those the operator
//! names as secrets (`--secret-env`); the CLI, run by a person, reads the whole environment as compose does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Which of the server's environment variables a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvAccess {
    /// Every variable (the CLI).
    Whole,
    /// Only these names (MCP).
    Listed(BTreeSet<String>),
}

impl EnvAccess {
    fn get(&self, name: &str) -> Option<String> {
        let visible = match self {
            EnvAccess::Whole => true,
            EnvAccess::Listed(names) => names.contains(name),
        };
        visible.then(|| std::env::var(name).ok()).flatten()
    }
}

/// What loading and secret resolution may read of the server's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPolicy {
    /// Variables interpolation (`${NAME}`) may read.
    pub interpolation: EnvAccess,
    /// Variables `{secret: NAME}` and `environment:` secret sources may read.
    pub secrets: EnvAccess,
}

impl EnvPolicy {
    /// The CLI's view: everything, as compose reads it.
    pub fn whole() -> Self {
        EnvPolicy {
            interpolation: EnvAccess::Whole,
            secrets: EnvAccess::Whole,
        }
    }

    /// The MCP view: only what the operator listed.
    pub fn listed(passed: BTreeSet<String>, secrets: BTreeSet<String>) -> Self {
        EnvPolicy {
            interpolation: EnvAccess::Listed(passed),
            secrets: EnvAccess::Listed(secrets),
        }
    }
}

impl Default for EnvPolicy {
    fn default() -> Self {
        EnvPolicy::listed(BTreeSet::new(), BTreeSet::new())
    }
}

/// The host the engine loads specs with.
#[derive(Debug, Clone)]
pub struct ServerHost {
    env: EnvPolicy,
}

impl ServerHost {
    pub fn new(env: EnvPolicy) -> Self {
        ServerHost { env }
    }

    /// A server variable that the operator named as a secret source.
    pub fn secret_var(&self, name: &str) -> Option<String> {
        self.env.secrets.get(name)
    }
}

impl planner::load::Host for ServerHost {
    /// `HOME` is always readable: `~` in a path needs it, and it names no secret.
    fn var(&self, name: &str) -> Option<String> {
        if name == "HOME" {
            return std::env::var(name).ok();
        }
        self.env.interpolation.get(name)
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        SystemHost.read_file(path)
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        SystemHost.canonicalize(path)
    }
}

/// Reads the whole process environment and the local file system (tests and embedders).
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

#[cfg(test)]
mod tests {
    use super::*;
    use planner::load::Host;

    #[test]
    fn listed_access_sees_only_listed_names() {
        // PATH is set in every test environment.
        let host = ServerHost::new(EnvPolicy::listed(
            BTreeSet::from(["PATH".to_string()]),
            BTreeSet::new(),
        ));
        assert!(host.var("PATH").is_some());
        assert!(host.secret_var("PATH").is_none());
        let closed = ServerHost::new(EnvPolicy::default());
        assert!(closed.var("PATH").is_none());
        let whole = ServerHost::new(EnvPolicy::whole());
        assert!(whole.var("PATH").is_some() && whole.secret_var("PATH").is_some());
    }
}
