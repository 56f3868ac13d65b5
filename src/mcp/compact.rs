//! Compact, LLM-sized renderings of engine objects, and masking of secret-looking values.
//!
//! A list of 100 containers must stay a small fraction of what a naive JSON dump costs, while keeping the
//! facts people ask about (short id, name, image, state, status, ports, project). Lists are therefore
//! columnar in `structuredContent` and a fixed-width table in text, and a column whose value every row
//! shares (one image, one project, all running) is stated once, in `shared` and in the text's heading,
//! instead of once per row. Both forms stay complete, because clients pick one: some pass only
//! `structuredContent` to the model, others only the text.

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
    /// Columns with one value in every row (of two or more), left out of `columns` and `rows`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared: BTreeMap<String, String>,
    /// One array of strings per object, in `columns` order; an empty string means "none".
    pub rows: Vec<Vec<String>>,
}

/// Columns that tell rows apart, so they stay in every row even when a filter leaves one value.
const IDENTITY_COLUMNS: [&str; 2] = ["id", "name"];

impl Table {
    /// `rows` in `columns` order; a column whose value every row shares moves to `shared`.
    pub fn new(columns: &[&str], rows: Vec<Vec<String>>, total: usize) -> Self {
        let truncated = rows.len() < total;
        let shared_at: Vec<usize> = (0..columns.len())
            .filter(|&i| !IDENTITY_COLUMNS.contains(&columns[i]) && one_value(&rows, i))
            .collect();
        let keep = |i: &usize| !shared_at.contains(i);
        let shared = shared_at
            .iter()
            .filter_map(|&i| Some((columns[i].to_string(), rows.first()?.get(i)?.clone())))
            .collect();
        let rows = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .filter(|(i, _)| keep(i))
                    .map(|(_, cell)| cell)
                    .collect()
            })
            .collect();
        Table {
            total,
            truncated,
            columns: (0..columns.len())
                .filter(keep)
                .map(|i| columns[i].to_string())
                .collect(),
            shared,
            rows,
        }
    }

    /// A fixed-width text table under a heading that states the shared columns.
    pub fn render(&self, noun: &str) -> String {
        if self.rows.is_empty() {
            return format!("No {noun} match.");
        }
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |cell| cell.chars().count()))
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
        // Cut short, the rows left out may differ: the heading speaks only for the rows shown.
        let all = if self.truncated { "all shown" } else { "all" };
        for (column, value) in self.shared.iter().filter(|(_, v)| !v.is_empty()) {
            out.push_str(&format!(", {all} {column}={value}"));
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
        let heading: Vec<String> = self.columns.iter().map(|c| c.to_uppercase()).collect();
        out.push_str(&line(heading.iter().map(String::as_str).collect()));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// True when two or more rows all hold the same value at `column`.
fn one_value(rows: &[Vec<String>], column: usize) -> bool {
    let Some(first) = rows.first().and_then(|r| r.get(column)) else {
        return false;
    };
    rows.len() > 1 && rows.iter().all(|row| row.get(column) == Some(first))
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
        // The structured form states the shared value once too, and keeps the identity columns.
        assert_eq!(table.columns, ["id", "name"]);
        assert_eq!(table.shared.get("image").map(String::as_str), Some("img"));
        assert_eq!(table.rows, [["a", "x"], ["b", "y"]]);
    }

    /// A value every row but one shares stays in every row; and a list cut by `limit` does not claim a
    /// shared value for the rows it leaves out.
    #[test]
    fn a_shared_value_never_hides_a_row_that_differs() {
        let row = |id: &str, image: &str| vec![id.to_string(), image.to_string()];
        let rows = vec![row("a", "img"), row("b", "img"), row("c", "other")];
        let table = Table::new(&["id", "image"], rows.clone(), 3);
        assert!(table.shared.is_empty(), "{:?}", table.shared);
        assert_eq!(table.rows[2], ["c", "other"]);
        let cut = Table::new(&["id", "image"], rows[..2].to_vec(), 3);
        let text = cut.render("containers");
        assert!(
            text.starts_with(
                "3 containers (showing 2; raise `limit` or add filters), all shown image=img\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn one_row_and_identity_columns_are_never_hoisted() {
        let single = Table::new(&["id", "image"], vec![vec!["a".into(), "img".into()]], 1);
        assert!(single.shared.is_empty());
        assert_eq!(single.rows, [["a", "img"]]);
        let same_names = Table::new(
            &["name", "state"],
            vec![
                vec!["x".into(), "running".into()],
                vec!["x".into(), "running".into()],
            ],
            2,
        );
        assert_eq!(same_names.columns, ["name"]);
        let json = serde_json::to_value(&single).unwrap();
        assert!(json.get("shared").is_none(), "{json}");
    }
}
