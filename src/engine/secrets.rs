//! Resolving secret and config values at plan and apply time, from one set of sources.
//!
//! A spec names secrets, never holds them: compose `secrets`/`configs` entries say where a value lives
//! (`file:`, `environment:`, `content:`), and `{secret: NAME}` environment references resolve from a compose
//! secret of that name, else the server's environment, else the operator's secrets file. Values go to the
//! executor and, as sha256 digests, into config hashes; they are never stored or shown.

use std::collections::BTreeMap;
use std::path::Path;

use planner::load::Host;
use planner::model::{EnvValue, FileSource, Project};
use planner::plan::ExternalDigests;
use sha2::{Digest, Sha256};

use super::EngineError;
use crate::docker::execute::SecretValues;

/// Secret and config contents by name.
pub struct Resolved {
    pub secrets: SecretValues,
    pub configs: SecretValues,
}

impl Resolved {
    /// sha256 of each value, for config hashes.
    pub fn digests(&self) -> ExternalDigests {
        ExternalDigests {
            builds: BTreeMap::new(),
            secrets: self
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), sha256_hex(v)))
                .collect(),
            configs: self
                .configs
                .iter()
                .map(|(k, v)| (k.clone(), sha256_hex(v)))
                .collect(),
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Resolves every secret and config the project uses.
pub fn resolve(
    project: &Project,
    host: &dyn Host,
    secrets_file: Option<&Path>,
) -> Result<Resolved, EngineError> {
    let mut file = SecretsFile::new(secrets_file);
    let mut secrets = SecretValues::new();
    for (name, source) in &project.secrets {
        let value = read_source(source, host, &mut file)
            .map_err(|why| EngineError::Secret(format!("secrets.{name}: {why}")))?;
        secrets.insert(name.clone(), value);
    }
    let mut configs = SecretValues::new();
    for (name, source) in &project.configs {
        let value = read_source(source, host, &mut file)
            .map_err(|why| EngineError::Secret(format!("configs.{name}: {why}")))?;
        configs.insert(name.clone(), value);
    }
    for (service_name, service) in &project.services {
        for (key, value) in &service.environment {
            let EnvValue::Secret { secret } = value else {
                continue;
            };
            if secrets.contains_key(secret) {
                continue;
            }
            let found = match host.var(secret) {
                Some(v) => Some(v),
                None => file.get(secret).map_err(|why| {
                    EngineError::Secret(format!("services.{service_name}.environment.{key}: {why}"))
                })?,
            };
            let Some(found) = found else {
                return Err(EngineError::Secret(format!(
                    "services.{service_name}.environment.{key}: secret {secret:?} has no value (fix: define {secret} \
                     in the server's environment, add `{secret}=...` to the secrets file (--secrets-file / \
                     MCP_DOCKER_SECRETS_FILE), or declare it under top-level `secrets:` with a file or environment source)"
                )));
            };
            secrets.insert(secret.clone(), found.into_bytes());
        }
    }
    Ok(Resolved { secrets, configs })
}

fn read_source(
    source: &FileSource,
    host: &dyn Host,
    file: &mut SecretsFile,
) -> Result<Vec<u8>, String> {
    match source {
        FileSource::File(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read file {path}: {e} (fix: create it or correct the path)"))
        }
        FileSource::Environment(var) => match host.var(var) {
            Some(v) => Ok(v.into_bytes()),
            None => match file.get(var)? {
                Some(v) => Ok(v.into_bytes()),
                None => Err(format!(
                    "environment variable {var} is not set on the server (fix: set it where the server starts, or \
                     add `{var}=...` to the secrets file)"
                )),
            },
        },
        FileSource::Content(content) => Ok(content.clone().into_bytes()),
    }
}

/// The operator's `KEY=VALUE` file, read once and only when a lookup needs it.
struct SecretsFile<'a> {
    path: Option<&'a Path>,
    entries: Option<BTreeMap<String, String>>,
}

impl<'a> SecretsFile<'a> {
    fn new(path: Option<&'a Path>) -> Self {
        SecretsFile {
            path,
            entries: None,
        }
    }

    fn get(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(path) = self.path else {
            return Ok(None);
        };
        if self.entries.is_none() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read the secrets file {}: {e} (fix: correct --secrets-file)",
                    path.display()
                )
            })?;
            self.entries = Some(parse_secrets_file(&text));
        }
        Ok(self.entries.as_ref().and_then(|m| m.get(name).cloned()))
    }
}

/// `KEY=VALUE` lines; blank lines and `#` comments are skipped, one pair of surrounding quotes is removed.
pub fn parse_secrets_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let key = key.trim().trim_start_matches("export ").trim();
            let value = value.trim_end_matches(['\r', '\n']);
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (key.to_string(), unquoted.to_string())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_file_lines() {
        let parsed = parse_secrets_file("# c\nA=1\n\nexport B=\"two words\"\nC='x=y'\nbad line\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("two words"));
        assert_eq!(parsed.get("C").map(String::as_str), Some("x=y"));
        assert_eq!(parsed.len(), 3);
    }
}
