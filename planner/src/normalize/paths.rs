//! Host paths: relative paths resolved against the project directory and checked by policy where they are
//! resolved, and build contexts (local or remote) with their Dockerfile, args and labels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::values::{key_values, to_bool};
use super::{Context, Diagnostics};
use crate::compose::{Build, KeyValues, Scalar};
use crate::error::{ErrorKind, SpecError};
use crate::load::Host;
use crate::model::BuildSpec;
use crate::{compose, policy};

/// Resolves a host path (`~`, relative to the project dir, `..`), follows symlinks through its deepest existing
/// ancestor, and applies the path policy to both spellings. Returns the resolved (canonical) path.
pub(super) fn resolve_host_path(
    cx: &Context,
    raw: &str,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<PathBuf> {
    let expanded = if raw == "~" || raw.starts_with("~/") {
        let Some(home) = cx.host.var("HOME") else {
            diag.invalid(
                path,
                format!("`{raw}` uses `~` but the server has no HOME"),
                "write an absolute path",
            );
            return None;
        };
        PathBuf::from(home).join(raw.trim_start_matches('~').trim_start_matches('/'))
    } else {
        PathBuf::from(raw)
    };
    let lexical = policy::lexical_normalize(&cx.project_dir.join(expanded));
    let canonical = canonical_through_ancestors(cx.host, &lexical);
    let mut ok = true;
    for candidate in [&lexical, &canonical] {
        if let Err(e) = policy::check_host_path(candidate, cx.policy, path) {
            diag.errors.push(e);
            ok = false;
            break;
        }
    }
    ok = ok && contains_no_sensitive_folder(cx, &canonical, path, diag);
    ok.then_some(canonical)
}

/// A directory that holds `.ssh` (or another credential folder) exposes it: look on disk through the host.
pub(super) fn contains_no_sensitive_folder(
    cx: &Context,
    dir: &Path,
    path: &str,
    diag: &mut Diagnostics,
) -> bool {
    for folder in policy::sensitive_folders() {
        if cx.host.canonicalize(&dir.join(folder)).is_ok() {
            if let Err(e) = policy::check_contained_folder(dir, folder, cx.policy, path) {
                diag.errors.push(e);
                return false;
            }
        }
    }
    true
}

/// Canonicalizes the deepest existing ancestor and re-appends the rest, so a symlinked parent of a
/// not-yet-existing path is still seen.
pub(super) fn canonical_through_ancestors(host: &dyn Host, path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = host.canonicalize(ancestor) {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return policy::lexical_normalize(&real.join(rest));
        }
    }
    path.to_path_buf()
}

pub(super) fn is_remote_context(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

pub(super) fn build(
    cx: &Context,
    raw: &Build,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<BuildSpec> {
    let default = compose::BuildLong::default();
    let (context, long, context_path) = match raw {
        Build::Context(c) => (c.clone(), &default, path.to_string()),
        Build::Long(long) => (
            long.context.clone().unwrap_or_else(|| ".".into()),
            long,
            format!("{path}.context"),
        ),
    };
    let context_dir = build_context(cx, &context, &context_path, diag)?;
    let dockerfile = long
        .dockerfile
        .clone()
        .unwrap_or_else(|| "Dockerfile".into());
    let relative = dockerfile_in_context(cx, &context_dir, &dockerfile, &context, path, diag)?;
    let flag = |value: &Option<Scalar>, name: &str, diag: &mut Diagnostics| {
        value
            .as_ref()
            .and_then(|v| to_bool(v, &format!("{path}.{name}"), diag))
            .unwrap_or(false)
    };
    Some(BuildSpec {
        context: context_dir.canonical.to_string_lossy().into_owned(),
        dockerfile: relative.to_string_lossy().into_owned(),
        target: long.target.clone(),
        args: build_args(cx, long.args.as_ref()),
        labels: key_values(long.labels.as_ref(), &format!("{path}.labels"), diag),
        no_cache: flag(&long.no_cache, "no_cache", diag),
        pull: flag(&long.pull, "pull", diag),
    })
}

/// A build context directory, as written (made absolute) and with its links resolved.
struct ContextDir {
    lexical: PathBuf,
    canonical: PathBuf,
}

/// The local build context, both of its spellings checked against the project directory and the
/// sensitive folders; remote contexts are refused.
fn build_context(
    cx: &Context,
    context: &str,
    context_path: &str,
    diag: &mut Diagnostics,
) -> Option<ContextDir> {
    if is_remote_context(context) {
        diag.unsupported(
            context_path,
            format!("remote build context `{context}` is not supported"),
            "clone the repository into the project directory and use a local path",
        );
        return None;
    }
    let lexical = policy::lexical_normalize(&cx.project_dir.join(context));
    let canonical = canonical_through_ancestors(cx.host, &lexical);
    for candidate in [&lexical, &canonical] {
        if let Err(e) = policy::check_within(candidate, cx.project_dir, cx.policy, context_path) {
            diag.errors.push(e);
            return None;
        }
    }
    contains_no_sensitive_folder(cx, &canonical, context_path, diag)
        .then_some(ContextDir { lexical, canonical })
}

/// The Dockerfile's path relative to the context, which must hold it (also once links are resolved).
fn dockerfile_in_context(
    cx: &Context,
    context_dir: &ContextDir,
    dockerfile: &str,
    context: &str,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<PathBuf> {
    let dockerfile_path = format!("{path}.dockerfile");
    let lexical = policy::lexical_normalize(&context_dir.lexical.join(dockerfile));
    let Ok(relative) = lexical.strip_prefix(&context_dir.lexical) else {
        diag.errors.push(SpecError::new(
            ErrorKind::Policy,
            &dockerfile_path,
            format!("the Dockerfile `{dockerfile}` is outside the build context `{context}`"),
            "put the Dockerfile inside the build context",
        ));
        return None;
    };
    let canonical = canonical_through_ancestors(cx.host, &lexical);
    if let Err(e) = policy::check_within(&canonical, cx.project_dir, cx.policy, &dockerfile_path) {
        diag.errors.push(e);
        return None;
    }
    Some(relative.to_path_buf())
}

/// Build args; a bare name takes the server's value, or is left out without one.
fn build_args(cx: &Context, args: Option<&KeyValues>) -> BTreeMap<String, String> {
    match args {
        None => BTreeMap::new(),
        Some(KeyValues::Map(map)) => map
            .iter()
            .filter_map(|(k, v)| match v {
                Some(v) => Some((k.clone(), v.to_text())),
                None => (cx.lookup)(k).map(|v| (k.clone(), v)),
            })
            .collect(),
        Some(KeyValues::List(list)) => list
            .iter()
            .filter_map(|item| match item.split_once('=') {
                Some((k, v)) => Some((k.to_string(), v.to_string())),
                None => (cx.lookup)(item).map(|v| (item.clone(), v)),
            })
            .collect(),
    }
}
