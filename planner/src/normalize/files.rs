//! Secrets and configs: top-level sources (`file`, `environment`, `content`) and the service mounts that
//! use them, with compose's default targets (`/run/secrets/NAME`, `/NAME`).

use super::paths::resolve_host_path;
use super::{Context, Diagnostics};
use crate::compose::{FileRef, Scalar, TopFile};
use crate::model::{FileMount, FileSource};

pub(super) fn file_source(
    cx: &Context,
    section: &str,
    key: &str,
    raw: TopFile,
    diag: &mut Diagnostics,
) -> Option<FileSource> {
    let path = format!("{section}.{key}");
    let given = [
        raw.file.is_some(),
        raw.environment.is_some(),
        raw.content.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        let choices = if section == "configs" {
            "`file`, `environment` or `content`"
        } else {
            "`file` or `environment`"
        };
        diag.invalid(
            &path,
            format!("give exactly one source: {choices}"),
            format!("set one of {choices}"),
        );
        return None;
    }
    if let Some(file) = raw.file {
        let resolved = resolve_host_path(cx, &file, &format!("{path}.file"), diag)?;
        return Some(FileSource::File(resolved.to_string_lossy().into_owned()));
    }
    if let Some(var) = raw.environment {
        return Some(FileSource::Environment(var));
    }
    raw.content.map(FileSource::Content)
}

pub(super) fn file_mounts(
    cx: &Context,
    raw: Option<&[FileRef]>,
    path: &str,
    secrets: bool,
    diag: &mut Diagnostics,
) -> Vec<FileMount> {
    let (declared, section) = if secrets {
        (&cx.declared.secrets, "secrets")
    } else {
        (&cx.declared.configs, "configs")
    };
    let mut out = Vec::new();
    for (i, item) in raw.unwrap_or_default().iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let (source, target, uid, gid, mode) = match item {
            FileRef::Short(name) => (name.clone(), None, None, None, None),
            FileRef::Long(long) => {
                let Some(source) = long.source.clone() else {
                    diag.invalid(
                        &ipath,
                        "the long form needs `source`",
                        format!("add `source: NAME` naming a top-level `{section}` entry"),
                    );
                    continue;
                };
                let mode = long.mode.as_ref().and_then(|m| match m {
                    Scalar::Int(n) => u32::try_from(*n).ok(),
                    Scalar::Str(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
                    _ => None,
                });
                if long.mode.is_some() && mode.is_none() {
                    diag.invalid(
                        &format!("{ipath}.mode"),
                        "not a file mode",
                        "write an octal string such as \"0440\"",
                    );
                }
                (
                    source,
                    long.target.clone(),
                    long.uid.as_ref().map(Scalar::to_text),
                    long.gid.as_ref().map(Scalar::to_text),
                    mode,
                )
            }
        };
        if !declared.contains(&source) {
            diag.invalid(
                &ipath,
                format!("`{source}` is not declared under the top-level `{section}`"),
                format!("add `{section}: {{{source}: {{file: ./{source}.txt}}}}` at the top level"),
            );
            continue;
        }
        let target = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) if secrets => format!("/run/secrets/{t}"),
            Some(t) => format!("/{t}"),
            None if secrets => format!("/run/secrets/{source}"),
            None => format!("/{source}"),
        };
        out.push(FileMount {
            source,
            target,
            uid,
            gid,
            mode,
        });
    }
    out
}
