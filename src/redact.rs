//! Redaction: the secret values this server knows, replaced by `[secret NAME]` in every text it returns.
//!
//! Known values are the operator's secrets file, the server variables the operator named as secrets
//! (`--secret-env`), and every project secret this process has resolved (`learn`, called where secrets are
//! resolved). The MCP surface passes each tool result, prompt and resource through [`Redactor::scrub`] in one
//! place (`mcp::server`). It is a last line of defence, not a guarantee: a container can always print a value
//! it was given in a shape no filter knows (base64, reversed, one character a line), and values shorter than
//! [`MIN_SECRET_LEN`] are left alone, since replacing them would shred ordinary text.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::config::ServerConfig;
use crate::host::EnvAccess;

/// Shorter values are not redacted (see the module doc).
pub const MIN_SECRET_LEN: usize = 4;

/// Most distinct values remembered from resolved project secrets; older ones are forgotten first.
const MAX_LEARNED: usize = 4096;

/// The values this process resolved for project secrets, by secret name, oldest first.
fn learned() -> &'static Mutex<Vec<(String, String)>> {
    static LEARNED: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    LEARNED.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a resolved secret value so later replies never show it.
pub fn learn(name: &str, value: &[u8]) {
    let Ok(text) = std::str::from_utf8(value) else {
        return;
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if text.len() < MIN_SECRET_LEN {
        return;
    }
    let Ok(mut values) = learned().lock() else {
        return;
    };
    if values.iter().any(|(n, v)| n == name && v == text) {
        return;
    }
    if values.len() >= MAX_LEARNED {
        values.remove(0);
    }
    values.push((name.to_string(), text.to_string()));
}

/// The values to replace and the marker for each, longest value first.
pub struct Redactor {
    values: Vec<(String, String)>,
}

impl Redactor {
    /// Every value the server knows now: the secrets file (read again, so edits count), the operator's
    /// secret variables, and the learned project secrets.
    pub fn current(config: &ServerConfig) -> Self {
        let mut by_value: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(values) = learned().lock() {
            by_value.extend(values.iter().map(|(n, v)| (v.clone(), n.clone())));
        }
        if let EnvAccess::Listed(names) = &config.env.secrets {
            for name in names {
                if let Ok(value) = std::env::var(name) {
                    by_value.insert(value, name.clone());
                }
            }
        }
        if let Some(path) = &config.secrets_file {
            if let Ok(text) = std::fs::read_to_string(path) {
                let entries = crate::engine::parse_secrets_file(&text);
                by_value.extend(entries.into_iter().map(|(n, v)| (v, n)));
            }
        }
        Redactor::from_values(by_value)
    }

    /// A redactor for exactly these `value → name` pairs.
    pub fn from_values(by_value: BTreeMap<String, String>) -> Self {
        let mut values: Vec<(String, String)> = by_value
            .into_iter()
            .filter(|(value, _)| value.len() >= MIN_SECRET_LEN)
            .map(|(value, name)| (value, format!("[secret {name}]")))
            .collect();
        values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        Redactor { values }
    }

    /// `text` with every known value replaced by its marker.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, marker) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), marker);
            }
        }
        out
    }

    /// Any serializable reply with every string in it (keys too) redacted. A reply that cannot be carried
    /// through JSON is refused rather than returned unchecked.
    pub fn scrub<T: Serialize + DeserializeOwned>(&self, reply: T) -> Result<T, serde_json::Error> {
        if self.values.is_empty() {
            return Ok(reply);
        }
        let mut value = serde_json::to_value(&reply)?;
        if !self.scrub_value(&mut value) {
            return Ok(reply);
        }
        serde_json::from_value(value)
    }

    /// Redacts in place; true when anything changed.
    fn scrub_value(&self, value: &mut Value) -> bool {
        match value {
            Value::String(s) => {
                let redacted = self.text(s);
                let changed = redacted != *s;
                *s = redacted;
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= self.scrub_value(item);
                }
                changed
            }
            Value::Object(map) => {
                let entries = std::mem::take(map);
                let mut changed = false;
                for (key, mut v) in entries {
                    changed |= self.scrub_value(&mut v);
                    let new_key = self.text(&key);
                    changed = changed || new_key != key;
                    map.insert(new_key, v);
                }
                changed
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::from_values(BTreeMap::from([
            ("hunter2hunter2".to_string(), "db_password".to_string()),
            ("abc".to_string(), "short".to_string()),
        ]))
    }

    #[test]
    fn values_become_markers_in_every_string_and_key() {
        let reply = serde_json::json!({
            "text": "PASSWORD=hunter2hunter2\n",
            "env": {"hunter2hunter2": ["x hunter2hunter2 y"]},
            "n": 3,
        });
        let scrubbed = redactor().scrub(reply).ok();
        let expected = serde_json::json!({
            "text": "PASSWORD=[secret db_password]\n",
            "env": {"[secret db_password]": ["x [secret db_password] y"]},
            "n": 3,
        });
        assert_eq!(scrubbed, Some(expected));
    }

    #[test]
    fn short_values_are_left_alone() {
        assert_eq!(redactor().text("abcabc"), "abcabc");
    }
}
