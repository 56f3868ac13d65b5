//! Generated documents stay in step with the code: `schemas/*.json` and the README's compose-key table.
//!
//! Both are generated from the planner's own types and key tables, so they cannot drift by hand. Run with
//! `UPDATE_DOCS=1` to rewrite them after a deliberate change (or `mcp-docker-server schema` for the schemas).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use planner::compose::{KeySupport, SERVICE_KEYS, TOP_LEVEL_KEYS};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some()
}

fn check_file(path: &Path, expected: &str) {
    if updating() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date: run `UPDATE_DOCS=1 cargo test -p planner --test docs_current` (or `mcp-docker-server schema`)",
        path.display()
    );
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

#[test]
fn project_schema_is_current() {
    check_file(
        &repo_root().join("schemas/project.schema.json"),
        &pretty(&planner::compose::project_schema()),
    );
}

#[test]
fn plan_schema_is_current() {
    check_file(
        &repo_root().join("schemas/plan.schema.json"),
        &pretty(&planner::render::plan_schema()),
    );
}

fn support_cells(support: &KeySupport) -> (&'static str, String) {
    match support {
        KeySupport::Supported => ("supported", String::new()),
        KeySupport::Ignored(why) => ("accepted, ignored", why.to_string()),
        KeySupport::PolicyRefused { option, reason } => (
            "refused by policy",
            format!("{reason}; allow with `--allow-option {option}`"),
        ),
        KeySupport::PolicyRestricted { option, reason } => (
            "supported, some values refused by policy",
            format!("{reason}; allow with `--allow-option {option}`"),
        ),
        KeySupport::Unsupported(why) => ("not supported", why.to_string()),
    }
}

fn key_table() -> String {
    let mut out = String::from("<!-- keys:start (generated from planner/src/compose/keys.rs by planner/tests/docs_current.rs) -->\n");
    for (title, keys) in [("Top level", TOP_LEVEL_KEYS), ("Service", SERVICE_KEYS)] {
        out.push_str(&format!(
            "\n| {title} key | status | notes |\n|---|---|---|\n"
        ));
        for (key, support) in keys {
            let (status, note) = support_cells(support);
            out.push_str(&format!(
                "| `{key}` | {status} | {} |\n",
                note.replace('|', "\\|")
            ));
        }
    }
    out.push_str("\n<!-- keys:end -->");
    out
}

#[test]
fn readme_key_table_matches_the_code() {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find("<!-- keys:start")
        .expect("README has a <!-- keys:start --> marker");
    let end = readme
        .find("<!-- keys:end -->")
        .expect("README has a <!-- keys:end --> marker")
        + "<!-- keys:end -->".len();
    let expected = format!("{}{}{}", &readme[..start], key_table(), &readme[end..]);
    check_file(&path, &expected);
}
