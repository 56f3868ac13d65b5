//! Secrets and configs: top-level sources (`file`, `environment`, `content`) and the service mounts that
//! use them, with compose's default targets (`/run/secrets/NAME`, `/NAME`).

use std::collections::BTreeSet;

use super::paths::resolve_host_path;
use super::{Context, Diagnostics};
use crate::compose::{FileRef, Scalar, TopFile};
use crate::model::{FileMount, FileSource};

/// A top-level secret or config: exactly one source, a `file` resolved and checked like any host path.
pub(super) fn file_source(
    cx: &Context,
    kind: FileKind,
    key: &str,
    raw: TopFile,
    diag: &mut Diagnostics,
) -> Option<FileSource> {
    let path = format!("{}.{key}", kind.section());
    let given = [
        raw.file.is_some(),
        raw.environment.is_some(),
        raw.content.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        let choices = if kind == FileKind::Config {
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

/// Which kind of file a service mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    /// The top-level section that declares files of this kind.
    fn section(self) -> &'static str {
        match self {
            FileKind::Secret => "secrets",
            FileKind::Config => "configs",
        }
    }

    fn declared<'a>(self, cx: &'a Context) -> &'a BTreeSet<String> {
        match self {
            FileKind::Secret => &cx.declared.secrets,
            FileKind::Config => &cx.declared.configs,
        }
    }

    /// Where a file lands in the container: an absolute target as given, else under `/run/secrets` for a
    /// secret and `/` for a config, as compose does.
    fn target(self, source: &str, target: Option<String>) -> String {
        let name = target.unwrap_or_else(|| source.to_string());
        match self {
            _ if name.starts_with('/') => name,
            FileKind::Secret => format!("/run/secrets/{name}"),
            FileKind::Config => format!("/{name}"),
        }
    }
}

/// A service's `secrets` or `configs` list: each entry names a declared top-level file.
pub(super) fn file_mounts(
    cx: &Context,
    raw: Option<&[FileRef]>,
    path: &str,
    kind: FileKind,
    diag: &mut Diagnostics,
) -> Vec<FileMount> {
    let section = kind.section();
    let mut out = Vec::new();
    for (i, item) in raw.unwrap_or_default().iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some((mut mount, written_target)) = file_mount(item, &item_path, section, diag) else {
            continue;
        };
        if !kind.declared(cx).contains(&mount.source) {
            let source = &mount.source;
            diag.invalid(
                &item_path,
                format!("`{source}` is not declared under the top-level `{section}`"),
                format!("add `{section}: {{{source}: {{file: ./{source}.txt}}}}` at the top level"),
            );
            continue;
        }
        mount.target = kind.target(&mount.source, written_target);
        out.push(mount);
    }
    out
}

/// One entry in short or long form, with its target left to the caller, and the target written, if any.
fn file_mount(
    item: &FileRef,
    path: &str,
    section: &str,
    diag: &mut Diagnostics,
) -> Option<(FileMount, Option<String>)> {
    let long = match item {
        FileRef::Short(name) => {
            let mount = FileMount {
                source: name.clone(),
                target: String::new(),
                uid: None,
                gid: None,
                mode: None,
            };
            return Some((mount, None));
        }
        FileRef::Long(long) => long,
    };
    let Some(source) = long.source.clone() else {
        diag.invalid(
            path,
            "the long form needs `source`",
            format!("add `source: NAME` naming a top-level `{section}` entry"),
        );
        return None;
    };
    let mode = long.mode.as_ref().and_then(|m| match m {
        Scalar::Int(n) => u32::try_from(*n).ok(),
        Scalar::Str(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
        _ => None,
    });
    if long.mode.is_some() && mode.is_none() {
        diag.invalid(
            &format!("{path}.mode"),
            "not a file mode",
            "write an octal string such as \"0440\"",
        );
    }
    let mount = FileMount {
        source,
        target: String::new(),
        uid: long.uid.as_ref().map(Scalar::to_text),
        gid: long.gid.as_ref().map(Scalar::to_text),
        mode,
    };
    Some((mount, long.target.clone()))
}
