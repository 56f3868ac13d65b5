//! Build contexts: which files go to the engine (after `.dockerignore`), their digest, and their tar.
//!
//! The digest feeds the service's config hash, so it covers exactly what the build sees: every file that
//! survives `.dockerignore` (path, executable bit, contents), the Dockerfile, the build args and the target.
//! Editing an ignored file therefore changes nothing, and editing a source file changes the hash.
//! `.dockerignore` follows the Docker CLI: one pattern per line, `#` comments, `*`, `?`, `[...]`, `**` for
//! any number of directories, `!` to re-include, the last matching line wins, and a pattern that matches a
//! directory matches everything below it.
//! The tar is written to an anonymous temporary file and streamed from there, and a context whose files add
//! up to more than the operator's bound (`set_max_context_bytes`) is refused before anything is read.

use std::fs;
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use planner::model::BuildSpec;
use sha2::{Digest, Sha256};

use super::error::DockerError;

/// Largest build context by default: 512 MiB of files.
pub const DEFAULT_MAX_CONTEXT_BYTES: u64 = 512 * 1024 * 1024;

static MAX_CONTEXT_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_CONTEXT_BYTES);

/// Sets the largest build context (the total size of its files) this process sends; the operator's
/// `--max-build-context-mb`, set once at start.
pub fn set_max_context_bytes(bytes: u64) {
    MAX_CONTEXT_BYTES.store(bytes, Ordering::Relaxed);
}

/// One entry of the context, relative to its root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir(String),
    File { rel: String, executable: bool },
    Symlink { rel: String, target: String },
}

/// sha256 (hex) of the build input: files after `.dockerignore`, the Dockerfile, the args and the target.
pub fn context_digest(build: &BuildSpec) -> Result<String, DockerError> {
    let root = context_root(build)?;
    let entries = context_entries(&root, build)?;
    let mut hasher = Sha256::new();
    for entry in &entries {
        match entry {
            Entry::Dir(rel) => hasher.update(format!("D\0{rel}\0").as_bytes()),
            Entry::Symlink { rel, target } => {
                hasher.update(format!("L\0{rel}\0{target}\0").as_bytes())
            }
            Entry::File { rel, executable } => {
                let path = root.join(rel);
                let mut file = fs::File::open(&path).map_err(|e| io_error(&path, e))?;
                let len = file.metadata().map_err(|e| io_error(&path, e))?.len();
                hasher.update(format!("F\0{rel}\0{executable}\0{len}\0").as_bytes());
                let mut buf = [0u8; 64 * 1024];
                loop {
                    let n = file.read(&mut buf).map_err(|e| io_error(&path, e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
            }
        }
    }
    hasher.update(format!("dockerfile\0{}\0", build.dockerfile).as_bytes());
    for (key, value) in &build.args {
        hasher.update(format!("arg\0{key}\0{value}\0").as_bytes());
    }
    hasher.update(format!("target\0{}\0", build.target.as_deref().unwrap_or("")).as_bytes());
    Ok(hex::encode(hasher.finalize()))
}

/// The tar sent to the engine: the same file set as the digest (the Dockerfile always included), in an
/// anonymous temporary file rewound to its start, so a large context never sits in memory.
pub fn context_tar(build: &BuildSpec) -> Result<fs::File, DockerError> {
    let root = context_root(build)?;
    let entries = context_entries(&root, build)?;
    check_context_size(&root, &entries)?;
    let file = tempfile::tempfile().map_err(|e| io_error(&root, e))?;
    let mut builder = tar::Builder::new(file);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in &entries {
        let rel = match entry {
            Entry::Dir(rel) | Entry::File { rel, .. } | Entry::Symlink { rel, .. } => rel,
        };
        let path = root.join(rel);
        builder
            .append_path_with_name(&path, rel)
            .map_err(|e| io_error(&path, e))?;
    }
    let mut file = builder.into_inner().map_err(|e| io_error(&root, e))?;
    file.rewind().map_err(|e| io_error(&root, e))?;
    Ok(file)
}

/// Refuses a context whose files add up to more than the bound, naming both sizes and the flag.
fn check_context_size(root: &Path, entries: &[Entry]) -> Result<(), DockerError> {
    let max = MAX_CONTEXT_BYTES.load(Ordering::Relaxed);
    let mut total: u64 = 0;
    for entry in entries {
        if let Entry::File { rel, .. } = entry {
            let path = root.join(rel);
            total += fs::symlink_metadata(&path)
                .map_err(|e| io_error(&path, e))?
                .len();
        }
        if total > max {
            return Err(DockerError::BuildContext {
                path: root.display().to_string(),
                message: format!(
                    "its files add up to more than {} MiB, the bound for a build context (fix: add the large \
                     files to .dockerignore, build from a smaller folder, or raise --max-build-context-mb / \
                     MCP_DOCKER_MAX_BUILD_CONTEXT_MB)",
                    max / (1024 * 1024)
                ),
            });
        }
    }
    Ok(())
}

fn io_error(path: &Path, err: std::io::Error) -> DockerError {
    DockerError::BuildContext {
        path: path.display().to_string(),
        message: err.to_string(),
    }
}

fn context_root(build: &BuildSpec) -> Result<PathBuf, DockerError> {
    let context = &build.context;
    let refuse = |message: &str| DockerError::BuildContext {
        path: context.clone(),
        message: message.to_string(),
    };
    if context.contains("://") || context.starts_with("git@") {
        return Err(refuse(
            "remote (URL or git) build contexts are not supported; use a directory on the server",
        ));
    }
    let root = fs::canonicalize(context)
        .map_err(|e| refuse(&format!("cannot open the directory: {e}")))?;
    if !root.is_dir() {
        return Err(refuse("is not a directory"));
    }
    let dockerfile = Path::new(&build.dockerfile);
    if dockerfile.is_absolute()
        || dockerfile
            .components()
            .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(refuse(&format!(
            "dockerfile {:?} must be a path inside the context without `..`",
            build.dockerfile
        )));
    }
    if !root.join(dockerfile).is_file() {
        return Err(refuse(&format!(
            "dockerfile {:?} does not exist in the context",
            build.dockerfile
        )));
    }
    Ok(root)
}

/// Every entry to send, sorted by path, with `.dockerignore` applied and escaping symlinks refused.
fn context_entries(root: &Path, build: &BuildSpec) -> Result<Vec<Entry>, DockerError> {
    let ignore = match fs::read_to_string(root.join(".dockerignore")) {
        Ok(text) => IgnoreRules::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::default(),
        Err(e) => return Err(io_error(&root.join(".dockerignore"), e)),
    };
    let dockerfile = build.dockerfile.trim_start_matches("./").to_string();
    let mut entries = Vec::new();
    walk(root, root, "", &ignore, &mut entries)?;
    // The engine needs these even when `.dockerignore` lists them, as the CLI sends them regardless.
    for always in [dockerfile.as_str(), ".dockerignore"] {
        let present = entries
            .iter()
            .any(|e| matches!(e, Entry::File { rel, .. } if rel == always));
        let path = root.join(always);
        if !present && path.is_file() {
            entries.push(Entry::File {
                rel: always.to_string(),
                executable: is_executable(&path),
            });
        }
    }
    entries.sort_by(|a, b| entry_path(a).cmp(entry_path(b)));
    Ok(entries)
}

fn entry_path(entry: &Entry) -> &str {
    match entry {
        Entry::Dir(rel) | Entry::File { rel, .. } | Entry::Symlink { rel, .. } => rel,
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    ignore: &IgnoreRules,
    out: &mut Vec<Entry>,
) -> Result<(), DockerError> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io_error(dir, e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = child.path();
        let kind = child.file_type().map_err(|e| io_error(&path, e))?;
        let excluded = ignore.excluded(&rel);
        if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| io_error(&path, e))?;
            let resolved = fs::canonicalize(&path).map_err(|e| DockerError::BuildContext {
                path: path.display().to_string(),
                message: format!("symlink to {} cannot be resolved: {e}", target.display()),
            })?;
            if !resolved.starts_with(root) {
                return Err(DockerError::BuildContext {
                    path: path.display().to_string(),
                    message: format!(
                        "symlink leads outside the build context (to {}); copy the file into the context instead",
                        resolved.display()
                    ),
                });
            }
            if !excluded {
                out.push(Entry::Symlink {
                    rel,
                    target: target.to_string_lossy().into_owned(),
                });
            }
        } else if kind.is_dir() {
            if !excluded {
                out.push(Entry::Dir(rel.clone()));
            }
            // An excluded directory may still hold re-included files when exceptions exist.
            if !excluded || ignore.has_exceptions() {
                walk(root, &path, &rel, ignore, out)?;
            }
        } else if kind.is_file() && !excluded {
            out.push(Entry::File {
                executable: is_executable(&path),
                rel,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}

/// Parsed `.dockerignore`.
#[derive(Debug, Default, Clone)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    segments: Vec<String>,
    exception: bool,
}

impl IgnoreRules {
    /// Reads `.dockerignore` text.
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments = clean_pattern(pattern);
                (!segments.is_empty()).then_some(Rule {
                    segments,
                    exception,
                })
            })
            .collect();
        IgnoreRules { rules }
    }

    /// True when `rel` (slash-separated, relative to the context) is left out of the context.
    pub fn excluded(&self, rel: &str) -> bool {
        let components: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        let mut excluded = false;
        for rule in &self.rules {
            // A pattern matching a parent directory matches everything below it.
            let hit =
                (1..=components.len()).any(|n| match_segments(&rule.segments, &components[..n]));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }
}

/// `filepath.Clean` as Docker applies it: drop `.`, a leading `/`, resolve `..` lexically.
fn clean_pattern(pattern: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_string()),
        }
    }
    out
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((component, path_rest)) => {
                glob(first.as_bytes(), component.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// One path component against one pattern segment: `*`, `?`, `[...]` (with `^`/`!` negation and ranges), `\` escapes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') => {
            let rest = &pattern[1..];
            (0..=text.len()).any(|i| glob(rest, &text[i..]))
        }
        Some(b'?') => !text.is_empty() && glob(&pattern[1..], &text[1..]),
        Some(b'[') => {
            let Some((&c, text_rest)) = text.split_first() else {
                return false;
            };
            match class(&pattern[1..], c) {
                Some((matched, after)) => matched && glob(after, text_rest),
                // An unclosed class matches a literal `[`.
                None => c == b'[' && glob(&pattern[1..], text_rest),
            }
        }
        Some(b'\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && glob(&pattern[2..], &text[1..])
        }
        Some(&p) => text.first() == Some(&p) && glob(&pattern[1..], &text[1..]),
    }
}

/// Matches `c` against a character class body; returns (matched, pattern after `]`).
fn class(body: &[u8], c: u8) -> Option<(bool, &[u8])> {
    let (negated, mut i) = match body.first() {
        Some(b'^') | Some(b'!') => (true, 1),
        _ => (false, 0),
    };
    let mut matched = false;
    let mut first = true;
    while i < body.len() {
        if body[i] == b']' && !first {
            return Some((matched != negated, &body[i + 1..]));
        }
        first = false;
        let lo = body[i];
        if i + 2 < body.len() && body[i + 1] == b'-' && body[i + 2] != b']' {
            if lo <= c && c <= body[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_semantics() {
        let rules = IgnoreRules::parse(
            "# comment\n\n*.log\nbuild/\n**/node_modules\n!keep.log\ndocs/*.md\n!docs/README.md\n/secret?.txt\n[ab].tmp\n",
        );
        assert!(rules.excluded("x.log"));
        assert!(!rules.excluded("keep.log"));
        assert!(
            !rules.excluded("sub/x.log"),
            "`*.log` matches only at the root"
        );
        assert!(rules.excluded("build"));
        assert!(
            rules.excluded("build/out/a.o"),
            "a matched directory excludes its contents"
        );
        assert!(rules.excluded("node_modules/x"));
        assert!(rules.excluded("a/b/node_modules"));
        assert!(rules.excluded("docs/guide.md"));
        assert!(!rules.excluded("docs/README.md"));
        assert!(!rules.excluded("docs/sub/guide.md"));
        assert!(rules.excluded("secret1.txt"));
        assert!(!rules.excluded("secret12.txt"));
        assert!(rules.excluded("a.tmp"));
        assert!(!rules.excluded("c.tmp"));
        assert!(!rules.excluded("src/main.rs"));
    }

    #[test]
    fn double_star_matches_zero_or_more_directories() {
        let rules = IgnoreRules::parse("**/*.pyc\nlogs/**/debug\n");
        assert!(rules.excluded("a.pyc"));
        assert!(rules.excluded("x/y/a.pyc"));
        assert!(rules.excluded("logs/debug"));
        assert!(rules.excluded("logs/a/b/debug"));
        assert!(!rules.excluded("logs/a/b/info"));
    }
}
