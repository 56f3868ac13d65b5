//! Service mounts: the short `src:dst[:mode]` and long volume forms to `Mount`s (or `tmpfs` entries),
//! container paths cleaned, named volumes checked against the declared ones.

use super::paths::resolve_host_path;
use super::values::{to_bool, to_bytes};
use super::{Context, Diagnostics};
use crate::compose;
use crate::compose::{Scalar, Service, VolumeLong, VolumeMount};
use crate::model::{Mount, MountKind};

/// Named volumes a service mounts (for `load_service`, which treats them as existing volumes).
pub fn named_volumes(raw: &Service) -> Vec<String> {
    let mut names = Vec::new();
    for volume in raw.volumes.iter().flatten() {
        match volume {
            VolumeMount::Short(s) => {
                let mut parts = s.split(':');
                if let (Some(src), Some(_)) = (parts.next(), parts.next()) {
                    if !is_path_like(src) {
                        names.push(src.to_string());
                    }
                }
            }
            VolumeMount::Long(long) if long.kind.as_deref() == Some("volume") => {
                names.extend(long.source.clone());
            }
            VolumeMount::Long(_) => {}
        }
    }
    names
}

pub(super) enum MountOrTmpfs {
    Mount(Mount),
    Tmpfs(String),
}

pub(super) fn is_path_like(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

pub(super) fn volume_mount(
    cx: &Context,
    raw: &VolumeMount,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    match raw {
        VolumeMount::Short(text) => short_volume(cx, text, path, diag),
        VolumeMount::Long(long) => long_volume(cx, long, path, diag),
    }
}

pub(super) fn short_volume(
    cx: &Context,
    text: &str,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => {
            diag.invalid(
                path,
                format!("`{text}` has too many `:`"),
                "write `source:/container/path[:ro]`",
            );
            return None;
        }
    };
    check_target(target, path, diag)?;
    let target = clean_container_path(target);
    let target = target.as_str();
    let mut read_only = false;
    for option in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => read_only = true,
            "rw" | "cached" | "delegated" | "consistent" => {}
            "z" | "Z" => diag.warnings.push(format!(
                "{path}: `:{option}` ignored: {}",
                compose::SELINUX_IGNORED
            )),
            "nocopy" => diag.unsupported(path, "`nocopy` is not supported yet", "remove `:nocopy`"),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => diag.unsupported(
                path,
                format!("bind propagation `{option}` is not supported yet"),
                format!("remove `:{option}`"),
            ),
            other => diag.invalid(
                path,
                format!("`{other}` is not a volume mode"),
                "use `ro` or `rw`",
            ),
        }
    }
    let Some(source) = source else {
        return Some(MountOrTmpfs::Mount(Mount {
            kind: MountKind::Volume,
            source: None,
            target: target.into(),
            read_only,
        }));
    };
    if is_path_like(source) {
        let resolved = resolve_host_path(cx, source, path, diag)?;
        let source = Some(resolved.to_string_lossy().into_owned());
        return Some(MountOrTmpfs::Mount(Mount {
            kind: MountKind::Bind,
            source,
            target: target.into(),
            read_only,
        }));
    }
    check_volume_reference(cx, source, path, diag);
    Some(MountOrTmpfs::Mount(Mount {
        kind: MountKind::Volume,
        source: Some(source.into()),
        target: target.into(),
        read_only,
    }))
}

pub(super) fn long_volume(
    cx: &Context,
    long: &VolumeLong,
    path: &str,
    diag: &mut Diagnostics,
) -> Option<MountOrTmpfs> {
    let Some(target) = &long.target else {
        diag.invalid(
            path,
            "a volume needs `target`",
            "add `target: /path/in/container`",
        );
        return None;
    };
    check_target(target, path, diag)?;
    let target = clean_container_path(target);
    let read_only = long
        .read_only
        .as_ref()
        .and_then(|v| to_bool(v, &format!("{path}.read_only"), diag))
        .unwrap_or(false);
    let kind = long
        .kind
        .as_deref()
        .unwrap_or(if long.source.is_some() { "volume" } else { "" });
    let mount = |kind, source| {
        Some(MountOrTmpfs::Mount(Mount {
            kind,
            source,
            target: target.clone(),
            read_only,
        }))
    };
    match kind {
        "volume" => {
            if let Some(source) = &long.source {
                check_volume_reference(cx, source, path, diag);
            }
            mount(MountKind::Volume, long.source.clone())
        }
        "bind" => {
            let Some(source) = &long.source else {
                diag.invalid(path, "a bind mount needs `source`", "add `source: ./dir`");
                return None;
            };
            let resolved = resolve_host_path(cx, source, &format!("{path}.source"), diag)?;
            mount(
                MountKind::Bind,
                Some(resolved.to_string_lossy().into_owned()),
            )
        }
        "tmpfs" => {
            let options = tmpfs_options(long, path, diag);
            if options.is_empty() && !read_only {
                return mount(MountKind::Tmpfs, None);
            }
            let ro = read_only.then(|| "ro".to_string());
            let options: Vec<String> = options.into_iter().chain(ro).collect();
            Some(MountOrTmpfs::Tmpfs(format!(
                "{target}:{}",
                options.join(",")
            )))
        }
        "" => {
            diag.invalid(
                path,
                "a long-form volume needs `type`",
                "add `type: volume`, `type: bind` or `type: tmpfs`",
            );
            None
        }
        other => {
            diag.unsupported(
                &format!("{path}.type"),
                format!("volume type `{other}` is not supported"),
                "use volume, bind or tmpfs",
            );
            None
        }
    }
}

/// `size=` and `mode=` of a long-form tmpfs mount.
fn tmpfs_options(long: &VolumeLong, path: &str, diag: &mut Diagnostics) -> Vec<String> {
    let mut options = Vec::new();
    let Some(tmpfs) = &long.tmpfs else {
        return options;
    };
    let size_path = format!("{path}.tmpfs.size");
    if let Some(size) = tmpfs
        .size
        .as_ref()
        .and_then(|s| to_bytes(s, &size_path, diag))
    {
        options.push(format!("size={size}"));
    }
    let mode = tmpfs.mode.as_ref().and_then(|mode| match mode {
        Scalar::Int(n) => Some(format!("{n:o}")),
        Scalar::Str(s) => Some(s.clone()),
        other => {
            diag.invalid(
                &format!("{path}.tmpfs.mode"),
                format!("`{}` is not a file mode", other.to_text()),
                "write an octal mode such as \"1777\"",
            );
            None
        }
    });
    options.extend(mode.map(|m| format!("mode={m}")));
    options
}

/// A container path as compose writes it (Go's `path.Clean`): `/data/` is `/data`, `//a/./b/../c` is `/a/c`.
/// Without this, `/data` and `/data/` would hash differently and escape the duplicate-target check.
pub fn clean_container_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

pub(super) fn check_target(target: &str, path: &str, diag: &mut Diagnostics) -> Option<()> {
    if target.starts_with('/') {
        Some(())
    } else {
        diag.invalid(
            path,
            format!("the container path `{target}` is not absolute"),
            "write an absolute container path such as `/data`",
        );
        None
    }
}

pub(super) fn check_volume_reference(cx: &Context, name: &str, path: &str, diag: &mut Diagnostics) {
    if !cx.declared.volumes.contains(name) {
        diag.invalid(
            path,
            format!("named volume `{name}` is not declared under the top-level `volumes`"),
            format!("add `volumes: {{{name}: {{}}}}` at the top level, or write `./{name}` for a bind mount of a project directory"),
        );
    }
}
