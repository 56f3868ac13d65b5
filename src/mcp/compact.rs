//! Compact, LLM-sized renderings of engine objects, and masking of secret-looking values.
//!
//! A list of 100 containers must stay around a tenth of what a naive JSON dump costs, while keeping the
//! facts people ask about (short id, name, image, state, status, ports, project). Lists are therefore
//! columnar in `structuredContent` and a fixed-width table in text, with values shared by every row
//! (image, project) hoisted into the table's heading.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::docker::containers::PortMapping;

/// Shown instead of a value whose key looks like a secret.
pub const MASK: &str = "********";

/// True when an environment variable or label key looks like it holds a secret: the planner's one rule,
/// so inspect output masks exactly what a plan masks.
pub fn is_secret_key(key: &str) -> bool {
    planner::sensitive::is_sensitive_key(key)
}

/// Masks the value of a `KEY=value` environment entry when the key looks secret.
pub fn mask_env_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
        _ => entry.to_string(),
    }
}

/// Docker's 64-hex ids shortened the way the docker CLI shows them.
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// `127.0.0.1:8080->80/tcp, 443/tcp`, deduplicated across IPv4 and IPv6 bindings.
pub fn format_ports(ports: &[PortMapping]) -> String {
    let mut seen = Vec::<String>::new();
    let mut sorted: Vec<&PortMapping> = ports.iter().collect();
    sorted.sort_by_key(|p| (p.private_port, p.public_port));
    for port in sorted {
        let proto = &port.protocol;
        let text = match port.public_port {
            Some(public) => {
                let ip = port.ip.as_deref().unwrap_or("");
                let ip = if ip == "::" { "0.0.0.0" } else { ip };
                format!("{ip}:{public}->{}/{proto}", port.private_port)
            }
            None => format!("{}/{proto}", port.private_port),
        };
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    seen.join(", ")
}

/// A list in columnar form: `columns` names each position of every row.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Table {
    /// How many rows matched the filters (before `limit`).
    pub total: usize,
    /// True when `limit` cut the list short.
    pub truncated: bool,
    /// Column names, in row order.
    pub columns: Vec<String>,
    /// One array of strings per object, in `columns` order; an empty string means "none".
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[&str], rows: Vec<Vec<String>>, total: usize) -> Self {
        let truncated = rows.len() < total;
        Table {
            total,
            truncated,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    /// A fixed-width text table; a column whose value is the same in every row moves to the heading.
    pub fn render(&self, noun: &str) -> String {
        if self.rows.is_empty() {
            return format!("No {noun} match.");
        }
        let mut shared = BTreeMap::new();
        let mut kept = Vec::new();
        for (i, column) in self.columns.iter().enumerate() {
            let first = &self.rows[0][i];
            let constant = self.rows.len() > 1 && self.rows.iter().all(|row| &row[i] == first);
            if constant && column != "name" && column != "id" {
                if !first.is_empty() {
                    shared.insert(column.clone(), first.clone());
                }
            } else {
                kept.push(i);
            }
        }
        let widths: Vec<usize> = kept
            .iter()
            .map(|&i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(self.columns[i].len())
            })
            .collect();
        let mut out = format!("{} {noun}", self.total);
        if self.truncated {
            out.push_str(&format!(
                " (showing {}; raise `limit` or add filters)",
                self.rows.len()
            ));
        }
        for (column, value) in &shared {
            out.push_str(&format!(", all {column}={value}"));
        }
        out.push('\n');
        let line = |cells: Vec<&str>| -> String {
            let mut text = String::new();
            for (n, cell) in cells.iter().enumerate() {
                if n + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$} ", width = widths[n]));
                }
            }
            text.trim_end().to_string()
        };
        out.push_str(&line(
            kept.iter()
                .map(|&i| self.columns[i].to_uppercase())
                .collect::<Vec<_>>()
                .iter()
                .map(|s| s.as_str())
                .collect(),
        ));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(kept.iter().map(|&i| row[i].as_str()).collect()));
            out.push('\n');
        }
        out
    }
}

/// Human size: `12.3MB`.
pub fn human_bytes(bytes: i64) -> String {
    let value = bytes.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut unit = 0;
    let mut scaled = value;
    while scaled >= 1000.0 && unit + 1 < UNITS.len() {
        scaled /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{scaled:.1}{}", UNITS[unit])
    }
}

/// Parses `key=value` (or bare `key`) label filters into Docker's filter syntax.
pub fn label_filters(labels: &[String]) -> Vec<String> {
    labels
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masks_secret_looking_keys_only() {
        assert_eq!(
            mask_env_entry("DB_PASSWORD=hunter2"),
            format!("DB_PASSWORD={MASK}")
        );
        assert_eq!(mask_env_entry("API_KEY=abc"), format!("API_KEY={MASK}"));
        assert_eq!(mask_env_entry("PATH=/bin"), "PATH=/bin");
    }

    #[test]
    fn hoists_shared_columns() {
        let table = Table::new(
            &["id", "name", "image"],
            vec![
                vec!["a".into(), "x".into(), "img".into()],
                vec!["b".into(), "y".into(), "img".into()],
            ],
            2,
        );
        let text = table.render("containers");
        assert!(text.starts_with("2 containers, all image=img\n"), "{text}");
        assert!(!text.contains("IMAGE"));
    }
}
