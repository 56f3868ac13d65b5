//! Resolving secret and config values at plan and apply time, from one set of sources.
//!
//! A spec names secrets, never holds them: compose `secrets`/`configs` entries say where a value lives
//! (`file:`, `environment:`, `content:`), and `{secret: NAME}` environment references resolve from a compose
//! secret of that name, else a server variable the operator named as a secret (`--secret-env`), else the
//! operator's secrets file. Values go to the executor and, as keyed digests (HMAC-SHA256 with a random key
//! kept in the state directory), into config hashes; they are never stored or shown. A plain hash of a short
//! secret could be guessed offline from a plan; a keyed one cannot without the key.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use planner::model::{EnvValue, FileSource, Project};
use planner::plan::ExternalDigests;
use sha2::Sha256;

use super::EngineError;
use crate::config::ServerConfig;
use crate::docker::execute::SecretValues;
use crate::host::ServerHost;
use crate::state::StateError;

/// Secret and config contents by name, with the key their digests are made with.
pub struct Resolved {
    pub secrets: SecretValues,
    pub configs: SecretValues,
    key: DigestKey,
}

impl Resolved {
    /// The keyed digest of each value, for config hashes.
    pub fn digests(&self) -> ExternalDigests {
        let digest_all = |values: &SecretValues| {
            values
                .iter()
                .map(|(k, v)| (k.clone(), self.key.digest_hex(v)))
                .collect()
        };
        ExternalDigests {
            builds: BTreeMap::new(),
            secrets: digest_all(&self.secrets),
            configs: digest_all(&self.configs),
        }
    }
}

/// The per-state-store HMAC key (32 random bytes in `STATE_DIR/digest.key`, readable by the owner only).
pub struct DigestKey([u8; KEY_BYTES]);

const KEY_BYTES: usize = 32;
const KEY_FILE: &str = "digest.key";

impl DigestKey {
    /// Reads the state directory's key, creating it on first use.
    pub fn load_or_create(state_dir: &Path) -> Result<DigestKey, EngineError> {
        let path = state_dir.join(KEY_FILE);
        let failed = |source: std::io::Error| {
            EngineError::State(StateError::DigestKey {
                path: path.display().to_string(),
                source,
            })
        };
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(key) = <[u8; KEY_BYTES]>::try_from(bytes.as_slice()) {
                return Ok(DigestKey(key));
            }
        }
        std::fs::create_dir_all(state_dir).map_err(failed)?;
        let mut key = [0u8; KEY_BYTES];
        getrandom::getrandom(&mut key)
            .map_err(|e| EngineError::Internal(format!("no randomness for the digest key: {e}")))?;
        let temp = state_dir.join(format!("{KEY_FILE}.{}", uuid::Uuid::new_v4()));
        write_private(&temp, &key).map_err(failed)?;
        // Two servers may race here: the first rename wins, and both then read the same file.
        if !path.exists() {
            std::fs::rename(&temp, &path).map_err(failed)?;
        } else {
            let _ = std::fs::remove_file(&temp);
        }
        let bytes = std::fs::read(&path).map_err(failed)?;
        <[u8; KEY_BYTES]>::try_from(bytes.as_slice())
            .map(DigestKey)
            .map_err(|_| {
                EngineError::State(StateError::DigestKeyDamaged {
                    path: path.display().to_string(),
                })
            })
    }

    fn digest_hex(&self, value: &[u8]) -> String {
        // A key of any length is valid for HMAC; this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(value);
        hex::encode(mac.finalize().into_bytes())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Resolves every secret and config the project uses.
pub fn resolve(
    project: &Project,
    host: &ServerHost,
    config: &ServerConfig,
) -> Result<Resolved, EngineError> {
    let key = DigestKey::load_or_create(&config.state_dir)?;
    let mut file = SecretsFile::new(config.secrets_file.as_deref());
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
            let found = match host.secret_var(secret) {
                Some(v) => Some(v),
                None => file.get(secret).map_err(|why| {
                    EngineError::Secret(format!("services.{service_name}.environment.{key}: {why}"))
                })?,
            };
            let Some(found) = found else {
                return Err(EngineError::Secret(format!(
                    "services.{service_name}.environment.{key}: secret {secret:?} has no value (fix: define {secret} \
                     in the server's environment and name it with --secret-env, add `{secret}=...` to the secrets file (--secrets-file / \
                     MCP_DOCKER_SECRETS_FILE), or declare it under top-level `secrets:` with a file or environment source)"
                )));
            };
            secrets.insert(secret.clone(), found.into_bytes());
        }
    }
    // Every reply the MCP surface returns from now on has these values replaced by `[secret NAME]`.
    for (name, value) in &secrets {
        crate::redact::learn(name, value);
    }
    Ok(Resolved {
        secrets,
        configs,
        key,
    })
}

fn read_source(
    source: &FileSource,
    host: &ServerHost,
    file: &mut SecretsFile,
) -> Result<Vec<u8>, String> {
    match source {
        FileSource::File(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read file {path}: {e} (fix: create it or correct the path)"))
        }
        FileSource::Environment(var) => match host.secret_var(var) {
            Some(v) => Ok(v.into_bytes()),
            None => match file.get(var)? {
                Some(v) => Ok(v.into_bytes()),
                None => Err(format!(
                    "environment variable {var} is not set on the server or not named as a secret (fix: set it \
                     where the server starts and name it with --secret-env, or add `{var}=...` to the secrets file)"
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
    fn digests_are_keyed_per_state_store() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let key_a = DigestKey::load_or_create(a.path()).unwrap();
        let again = DigestKey::load_or_create(a.path()).unwrap();
        let key_b = DigestKey::load_or_create(b.path()).unwrap();
        assert_eq!(key_a.digest_hex(b"pw"), again.digest_hex(b"pw"));
        assert_ne!(key_a.digest_hex(b"pw"), key_b.digest_hex(b"pw"));
        let plain = hex::encode(<Sha256 as sha2::Digest>::digest(b"pw"));
        assert_ne!(key_a.digest_hex(b"pw"), plain);
    }

    #[test]
    fn secrets_file_lines() {
        let parsed = parse_secrets_file("# c\nA=1\n\nexport B=\"two words\"\nC='x=y'\nbad line\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("two words"));
        assert_eq!(parsed.get("C").map(String::as_str), Some("x=y"));
        assert_eq!(parsed.len(), 3);
    }
}
