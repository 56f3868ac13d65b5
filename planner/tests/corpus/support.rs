//! Shared by the corpus, examples and compose cross-check tests: a real-filesystem `Host`, the fixed
//! environment every corpus file is loaded with, and the `# expect:` header each corpus file carries.
//!
//! Included with `#[path]` (not a crate) because the root package's cross-check uses it too.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use planner::load::{Host, LoadOptions};
use planner::policy::Policy;

/// The project name every corpus file is loaded (and given to `docker compose -p`) with.
pub const PROJECT: &str = "corpus";

/// Variables the corpus expects from the server's environment: `interpolation.yaml`, `~` in binds and the
/// refused `${HOME}/.ssh` bind rely on them. Everything else falls back to `${VAR:-default}` or `.env`.
pub fn corpus_env() -> BTreeMap<String, String> {
    [
        ("IMAGE_TAG", "3.2.1"),
        ("HTTP_PORT", "8089"),
        ("API_TOKEN", "tok-123"),
        ("EMPTY_VAR", ""),
        ("APP_SETTINGS_JSON", r#"{"debug": false}"#),
        ("HOME", "/home/corpus"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The host as the server sees it, but with a fixed environment so results do not depend on who runs the test.
pub struct FsHost {
    pub vars: BTreeMap<String, String>,
}

impl Host for FsHost {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `planner/tests/corpus`, whether the including test belongs to the planner or to the root package.
pub fn corpus_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let inside = manifest.join("tests").join("corpus");
    if inside.join("support.rs").is_file() {
        inside
    } else {
        manifest.join("planner").join("tests").join("corpus")
    }
}

/// Load options for a file: its directory is the project dir (where `.env` and relative paths resolve).
pub fn options_for(file: &Path) -> LoadOptions {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    LoadOptions {
        project_name: Some(PROJECT.to_string()),
        project_dir: std::fs::canonicalize(&dir).unwrap_or(dir),
        profiles: Vec::new(),
        policy: Policy::default(),
    }
}

/// Every `*.yaml` of the corpus, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

/// What a corpus file must do, from its leading `# expect:` comment lines.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `# expect: ok containers=N [builds=N] [warning="text"]`
    Accepted {
        containers: usize,
        builds: Option<usize>,
        warning: Option<String>,
    },
    /// One or more `# expect: error kind=K path=P message="m" [fix="f"]` lines; each must match some error.
    Refused(Vec<ExpectedError>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedError {
    /// `ErrorKind` in its serialized snake_case form (`policy`, `unknown_key`, ...).
    pub kind: String,
    /// The error's path must equal this or start with it at a `.`/`[` boundary.
    pub path: String,
    /// Case-insensitive fragment of the message.
    pub message: String,
    /// Case-insensitive fragment of the fix, when given.
    pub fix: Option<String>,
}

impl ExpectedError {
    pub fn matches(&self, error: &planner::SpecError) -> bool {
        let kind = serde_json::to_value(error.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        let path_ok = error.path == self.path
            || (error.path.starts_with(&self.path)
                && matches!(
                    error.path.as_bytes().get(self.path.len()),
                    Some(b'.' | b'[')
                ));
        kind.as_deref() == Some(self.kind.as_str())
            && path_ok
            && contains_ci(&error.message, &self.message)
            && self
                .fix
                .as_ref()
                .is_none_or(|fix| contains_ci(&error.fix, fix))
    }
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Reads the `# expect:` lines of a file; `Err` explains what is missing or malformed.
pub fn expectation(text: &str) -> Result<Expectation, String> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix('#')
                .map(str::trim)
                .and_then(|l| l.strip_prefix("expect:"))
        })
        .collect();
    let Some(first) = lines.first() else {
        return Err("no leading `# expect: ok containers=N` or `# expect: error kind=.. path=.. message=..` line".into());
    };
    let mut errors = Vec::new();
    for line in &lines {
        let (verdict, fields) = parse_fields(line)?;
        match verdict.as_str() {
            "ok" if lines.len() == 1 => {
                let number = |key: &str| -> Result<Option<usize>, String> {
                    fields
                        .get(key)
                        .map(|v| v.parse::<usize>().map_err(|e| format!("`{key}={v}`: {e}")))
                        .transpose()
                };
                let containers =
                    number("containers")?.ok_or("`expect: ok` needs `containers=N`")?;
                return Ok(Expectation::Accepted {
                    containers,
                    builds: number("builds")?,
                    warning: fields.get("warning").cloned(),
                });
            }
            "error" => {
                let field = |key: &str| {
                    fields
                        .get(key)
                        .cloned()
                        .ok_or(format!("`expect: error` needs `{key}=`"))
                };
                errors.push(ExpectedError {
                    kind: field("kind")?,
                    path: field("path")?,
                    message: field("message")?,
                    fix: fields.get("fix").cloned(),
                });
            }
            other => {
                return Err(format!(
                    "bad expectation `{first}`: `{other}` (one `ok` line, or `error` lines)"
                ))
            }
        }
    }
    Ok(Expectation::Refused(errors))
}

/// `ok containers=3 warning="a b"` -> ("ok", {containers: 3, warning: "a b"}).
fn parse_fields(line: &str) -> Result<(String, BTreeMap<String, String>), String> {
    let mut chars = line.trim().chars().peekable();
    let mut verdict = String::new();
    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
        verdict.push(c);
    }
    let mut fields = BTreeMap::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=') {
            key.push(c);
        }
        if chars.next() != Some('=') {
            return Err(format!("`{key}` needs `=value` in `{line}`"));
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("unclosed quote in `{line}`")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        fields.insert(key, value);
    }
    Ok((verdict, fields))
}
