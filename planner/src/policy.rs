//! The server's safety policy: options and host paths a spec may not use unless the server's own
//! configuration allows them.
//!
//! An MCP client can ask for anything, so the spec itself can never loosen this: only the server's
//! `--allow-option` / `MCP_DOCKER_ALLOW_OPTIONS` and `--allow-path` / `MCP_DOCKER_ALLOW_PATHS` can.
//! Paths are checked after lexical `..` resolution and, by `normalize`, after symlink resolution too.
//! The engine's data roots, the server's state directory and its secrets file are refused whatever the
//! operator allows. Project-wide rules live in `project`, size bounds in `limits`.

pub mod binds;
pub mod limits;
pub mod project;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::{ErrorKind, SpecError};
use crate::model::ServiceSpec;

/// What the server's operator has allowed beyond the default policy.
#[derive(Default, Clone, Debug)]
pub struct Policy {
    /// Names from `OPTIONS` (for example `privileged`).
    pub allowed_options: BTreeSet<String>,
    /// Host path prefixes that may be bound or read even when they would be refused.
    pub allowed_paths: Vec<PathBuf>,
    /// The server's own files (state directory, secrets file): refused always, whatever is allowed.
    pub server_paths: Vec<PathBuf>,
    /// Where host paths and the project directory may lie.
    pub host_paths: HostPathScope,
    /// Size and count bounds.
    pub limits: limits::Limits,
}

/// Where host paths (binds, build contexts, env files, secret and config files) and a client's project
/// directory may lie.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub enum HostPathScope {
    /// Anywhere the other rules allow: the library's default, for embedders and tests.
    #[default]
    Anywhere,
    /// Only under these workspace roots set by the operator (absolute, symlinks resolved), or under an
    /// `--allow-path` prefix. With no roots, every host path is refused.
    UnderRoots(Vec<PathBuf>),
}

/// Every option name the allowlist understands, with what it permits.
pub const OPTIONS: &[(&str, &str)] = &[
    ("privileged", "`privileged: true`"),
    ("cap_add", "`cap_add` (any capability)"),
    ("devices", "`devices` (host devices)"),
    ("host_pid", "`pid: host`"),
    ("host_ipc", "`ipc: host`"),
    ("host_cgroup", "`cgroup: host`"),
    ("host_network", "`network_mode: host`"),
    (
        "shared_namespaces",
        "`network_mode`, `pid` or `ipc` set to `container:NAME` or `service:NAME`",
    ),
    (
        "security_opt",
        "unconfined `security_opt` entries and custom seccomp profiles",
    ),
    (
        "logging_driver",
        "logging drivers other than json-file, local, none and journald",
    ),
];

impl Policy {
    pub fn allows(&self, option: &str) -> bool {
        self.allowed_options.contains(option)
    }

    /// Whether `path` lies in the operator's workspace: under a root, or under an allowed prefix.
    pub fn in_workspace(&self, path: &Path) -> bool {
        match &self.host_paths {
            HostPathScope::Anywhere => true,
            HostPathScope::UnderRoots(roots) => {
                let path = lexical_normalize(path);
                roots
                    .iter()
                    .any(|root| path.starts_with(lexical_normalize(root)))
                    || self.allows_path(&path)
            }
        }
    }

    /// Whether an operator-allowed prefix covers `path` (component-wise, after `..` resolution).
    pub fn allows_path(&self, path: &Path) -> bool {
        let path = lexical_normalize(path);
        self.allowed_paths
            .iter()
            .any(|allowed| path.starts_with(lexical_normalize(allowed)))
    }
}

/// Host paths refused for binds, secret and config files and env files, with why.
const SENSITIVE: &[(&str, &str)] = &[
    (
        "/var/run/docker.sock",
        "the Docker socket gives root on the host",
    ),
    (
        "/run/docker.sock",
        "the Docker socket gives root on the host",
    ),
    (
        "/var/lib/docker",
        "the engine's data directory gives root on the host",
    ),
    ("/proc", "/proc exposes the host's processes and kernel"),
    ("/sys", "/sys exposes the host's kernel and devices"),
    ("/dev", "/dev exposes the host's devices"),
    (
        "/etc",
        "/etc holds the host's configuration and credentials",
    ),
    ("/root", "/root is the administrator's home directory"),
    ("/boot", "/boot holds the host's kernel"),
];

/// Prefixes (plain text, so `/run/docker` also covers `/run/dockerd`) of the engine's own state and
/// sockets, refused whatever the operator allows: through them a container controls the engine.
const ENGINE_DATA: &[(&str, &str)] = &[
    (
        "/var/run/docker.sock",
        "the Docker socket gives root on the host",
    ),
    (
        "/run/docker.sock",
        "the Docker socket gives root on the host",
    ),
    (
        "/var/lib/docker",
        "the engine's data directory gives root on the host",
    ),
    (
        "/var/lib/containerd",
        "containerd's data directory gives root on the host",
    ),
    (
        "/run/docker",
        "the engine's runtime state and sockets give root on the host",
    ),
    (
        "/run/containerd",
        "containerd's socket gives root on the host",
    ),
    (
        "/var/run/docker",
        "the engine's runtime state and sockets give root on the host",
    ),
    (
        "/var/run/containerd",
        "containerd's socket gives root on the host",
    ),
];

/// Folder names refused wherever they appear in a path, with what they hold.
const SENSITIVE_FOLDERS: &[(&str, &str)] = &[
    (".ssh", "private keys"),
    (".gnupg", "private keys"),
    (".aws", "cloud credentials"),
    (".kube", "cluster credentials"),
    (".docker", "registry credentials"),
];

/// Refuses a host path that is sensitive (or contains a sensitive path), unless an allowed prefix covers it.
/// `path` should be absolute; `..` is resolved lexically here, symlinks by the caller.
pub fn check_host_path(path: &Path, policy: &Policy, field_path: &str) -> Result<(), SpecError> {
    let path = lexical_normalize(path);
    check_never_allowed(&path, policy, field_path)?;
    check_in_workspace(&path, policy, field_path, "host path")?;
    let Some(reason) = sensitive_reason(&path) else {
        return Ok(());
    };
    if policy.allows_path(&path) {
        return Ok(());
    }
    Err(SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!("host path `{}` is refused by policy: {reason}", path.display()),
        format!(
            "use a directory of the project or a named volume; the server's operator may allow it with \
             `--allow-path {}` (env MCP_DOCKER_ALLOW_PATHS)",
            path.display()
        ),
    ))
}

/// Refuses a path outside the operator's workspace roots; `what` names it in the message.
pub fn check_in_workspace(
    path: &Path,
    policy: &Policy,
    field_path: &str,
    what: &str,
) -> Result<(), SpecError> {
    if policy.in_workspace(path) {
        return Ok(());
    }
    let roots = match &policy.host_paths {
        HostPathScope::UnderRoots(roots) if !roots.is_empty() => {
            let shown: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
            format!("the workspace roots are {}", shown.join(", "))
        }
        _ => "no workspace root is set (the server's working directory is `/` or a home folder)"
            .to_string(),
    };
    Err(SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!(
            "{what} `{}` is refused by policy: it is outside the operator's workspace roots; {roots}",
            path.display()
        ),
        "use a path inside a workspace root; the server's operator sets roots with `--workspace-root DIR` \
         (env MCP_DOCKER_WORKSPACE_ROOTS=DIR:DIR)",
    ))
}

/// Refuses the engine's data roots and the server's own files (and any folder holding one), whatever the
/// operator allows.
fn check_never_allowed(path: &Path, policy: &Policy, field_path: &str) -> Result<(), SpecError> {
    let text = path.to_string_lossy();
    let engine = ENGINE_DATA.iter().find(|(root, _)| {
        text.starts_with(*root) || Path::new(root).starts_with(path) && path != Path::new(root)
    });
    let reason = if path == Path::new("/") {
        Some("binding `/` exposes the whole host, the engine's data with it".to_string())
    } else if let Some((root, reason)) = engine {
        Some(if text.starts_with(*root) {
            (*reason).to_string()
        } else {
            format!("it contains `{root}`: {reason}")
        })
    } else {
        policy.server_paths.iter().find_map(|own| {
            let own = lexical_normalize(own);
            (path.starts_with(&own) || own.starts_with(path))
                .then(|| format!("`{}` holds this server's state or secrets", own.display()))
        })
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(SpecError::new(
            ErrorKind::Policy,
            field_path,
            format!(
                "host path `{}` is refused by policy: {reason}",
                path.display()
            ),
            "use a directory of the project or a named volume; this path cannot be allowed",
        )),
    }
}

fn sensitive_reason(path: &Path) -> Option<String> {
    if path == Path::new("/") {
        return Some("binding `/` exposes the whole host".into());
    }
    for (folder, reason) in SENSITIVE_FOLDERS {
        if path.components().any(|c| c.as_os_str() == *folder) {
            return Some(format!("`{folder}` folders hold {reason}"));
        }
    }
    for (root, reason) in SENSITIVE {
        let root = Path::new(root);
        if path.starts_with(root) {
            return Some((*reason).to_string());
        }
        if root.starts_with(path) {
            return Some(format!("it contains `{}`: {reason}", root.display()));
        }
    }
    None
}

/// Refuses a directory that contains a sensitive folder (`present` is its name, found by the caller on disk),
/// such as a home directory holding `.ssh`.
pub fn check_contained_folder(
    dir: &Path,
    present: &str,
    policy: &Policy,
    field_path: &str,
) -> Result<(), SpecError> {
    let inner = lexical_normalize(&dir.join(present));
    if policy.allows_path(&inner) {
        return Ok(());
    }
    let reason = SENSITIVE_FOLDERS
        .iter()
        .find(|(f, _)| *f == present)
        .map_or("secrets", |(_, r)| r);
    Err(SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!(
            "host path `{}` is refused by policy: it contains `{present}`, which holds {reason}",
            dir.display()
        ),
        format!(
            "bind a narrower directory; the server's operator may allow it with `--allow-path {}` \
             (env MCP_DOCKER_ALLOW_PATHS)",
            inner.display()
        ),
    ))
}

/// Names of folders that are refused wherever they appear.
pub fn sensitive_folders() -> impl Iterator<Item = &'static str> {
    SENSITIVE_FOLDERS.iter().map(|(f, _)| *f)
}

/// Refuses a path (a build context or Dockerfile) that is outside both `root` and the allowed prefixes.
pub fn check_within(
    path: &Path,
    root: &Path,
    policy: &Policy,
    field_path: &str,
) -> Result<(), SpecError> {
    let path = lexical_normalize(path);
    check_never_allowed(&path, policy, field_path)?;
    if path.starts_with(lexical_normalize(root)) || policy.allows_path(&path) {
        return check_host_path(&path, policy, field_path);
    }
    Err(SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!(
            "`{}` is outside the project directory `{}` (through `..` or a symlink, or an absolute path)",
            path.display(),
            root.display()
        ),
        format!(
            "keep build files inside the project directory; the server's operator may allow it with \
             `--allow-path {}` (env MCP_DOCKER_ALLOW_PATHS)",
            path.display()
        ),
    ))
}

/// Resolves `.` and `..` without touching the filesystem; `..` never climbs above the root.
pub fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn refused(field_path: &str, what: &str, reason: &str, option: &str) -> SpecError {
    SpecError::new(
        ErrorKind::Policy,
        field_path,
        format!("{what} is refused by policy: {reason}"),
        format!(
            "remove it; the server's operator may allow it with `--allow-option {option}` \
             (env MCP_DOCKER_ALLOW_OPTIONS={option})"
        ),
    )
}

/// Checks one service's options (host paths are checked where they are resolved, in `normalize`).
pub fn check_service(name: &str, spec: &ServiceSpec, policy: &Policy) -> Vec<SpecError> {
    let base = format!("services.{name}");
    let mut errors = Vec::new();
    let mut deny = |ok: bool, field: &str, what: String, reason: &str, option: &str| {
        if !ok && !policy.allows(option) {
            errors.push(refused(&format!("{base}.{field}"), &what, reason, option));
        }
    };
    deny(
        !spec.privileged,
        "privileged",
        "`privileged: true`".into(),
        "a privileged container has full access to the host",
        "privileged",
    );
    deny(
        spec.cap_add.is_empty(),
        "cap_add",
        format!("`cap_add: [{}]`", spec.cap_add.join(", ")),
        "added capabilities widen what the container may do to the host kernel",
        "cap_add",
    );
    deny(
        spec.devices.is_empty(),
        "devices",
        "`devices`".into(),
        "host devices give the container direct hardware access",
        "devices",
    );
    for (field, value, host_option, host_reason) in [
        (
            "pid",
            &spec.pid,
            "host_pid",
            "it lets the container see and signal every host process",
        ),
        (
            "ipc",
            &spec.ipc,
            "host_ipc",
            "it shares the host's IPC namespace",
        ),
        (
            "network_mode",
            &spec.network_mode,
            "host_network",
            "it puts the container on the host's network stack",
        ),
        (
            "cgroup",
            &spec.cgroup,
            "host_cgroup",
            "it shares the host's cgroup namespace",
        ),
    ] {
        let Some(value) = value else { continue };
        if value == "host" {
            deny(
                false,
                field,
                format!("`{field}: host`"),
                host_reason,
                host_option,
            );
        } else if value.starts_with("container:") || value.starts_with("service:") {
            deny(
                false,
                field,
                format!("`{field}: {value}`"),
                "it joins another container's namespace",
                "shared_namespaces",
            );
        }
    }
    if let Some(logging) = &spec.logging {
        deny(
            LOCAL_LOG_DRIVERS.contains(&logging.driver.as_str()),
            "logging.driver",
            format!("`logging.driver: {}`", logging.driver),
            "a remote logging driver makes the engine send the container's output to another address",
            "logging_driver",
        );
    }
    for (i, opt) in spec.security_opt.iter().enumerate() {
        if let Some(reason) = unconfined_reason(opt) {
            deny(
                false,
                &format!("security_opt[{i}]"),
                format!("`security_opt: {opt}`"),
                reason,
                "security_opt",
            );
        }
    }
    errors.extend(tmpfs_errors(&base, &spec.tmpfs));
    errors
}

/// Logging drivers that keep a container's output on this host.
pub const LOCAL_LOG_DRIVERS: &[&str] = &["json-file", "local", "none", "journald"];

/// tmpfs mount options that would let a container create device files or set-uid programs.
const TMPFS_REFUSED: &[(&str, &str)] = &[
    ("dev", "device files on the mount reach host devices"),
    ("suid", "set-uid programs on the mount can gain privileges"),
];

/// Refuses `tmpfs` entries (`path:opt,opt`) with `dev` or `suid`; this is not an operator option.
fn tmpfs_errors(base: &str, tmpfs: &[String]) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (i, entry) in tmpfs.iter().enumerate() {
        let options = entry.split_once(':').map_or("", |(_, o)| o);
        for option in options.split(',').map(str::trim) {
            if let Some((_, reason)) = TMPFS_REFUSED.iter().find(|(o, _)| *o == option) {
                errors.push(SpecError::new(
                    ErrorKind::Policy,
                    format!("{base}.tmpfs[{i}]"),
                    format!("tmpfs option `{option}` is refused by policy: {reason}"),
                    format!("remove `{option}` (the default `nodev,nosuid` is kept)"),
                ));
            }
        }
    }
    errors
}

/// Why a `security_opt` entry removes confinement; `None` when it is harmless (`no-new-privileges`, labels).
fn unconfined_reason(opt: &str) -> Option<&'static str> {
    let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt, ""));
    match key {
        "no-new-privileges" => None,
        "seccomp" if value == "unconfined" => Some("it disables seccomp system-call filtering"),
        "seccomp" => Some("a custom seccomp profile may allow any system call"),
        "apparmor" if value == "unconfined" => Some("it disables AppArmor confinement"),
        "apparmor" => None,
        "label" if value == "disable" => Some("it disables SELinux labelling"),
        "label" if value.contains("spc_t") || value.contains("unconfined_t") => {
            Some("it runs the container as an unconfined (super-privileged) SELinux type")
        }
        "label" => None,
        "systempaths" if value == "unconfined" => Some("it unmasks /proc and /sys paths"),
        _ => Some("unknown security options are refused; only `no-new-privileges`, `apparmor=PROFILE` and `label=...` are allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalize_resolves_dots() {
        assert_eq!(
            lexical_normalize(Path::new("/srv/app/../../etc")),
            PathBuf::from("/etc")
        );
        assert_eq!(lexical_normalize(Path::new("/../..")), PathBuf::from("/"));
        assert_eq!(
            lexical_normalize(Path::new("/a/./b/")),
            PathBuf::from("/a/b")
        );
    }

    #[test]
    fn host_paths_table() {
        let roots = Policy {
            host_paths: HostPathScope::UnderRoots(vec![PathBuf::from("/home/ann/work")]),
            server_paths: vec![PathBuf::from("/home/ann/work/.state")],
            ..Policy::default()
        };
        let no_roots = Policy {
            host_paths: HostPathScope::UnderRoots(Vec::new()),
            ..Policy::default()
        };
        let anywhere = Policy::default();
        for (policy, path, refused_with) in [
            (&roots, "/home/ann/work/app/data", None),
            (
                &roots,
                "/home/ann/work/app/../../.bashrc",
                Some("workspace roots"),
            ),
            (
                &roots,
                "/home/ann/.docker/config.json",
                Some("workspace roots"),
            ),
            (
                &roots,
                "/home/ann/work/.docker/config.json",
                Some("registry credentials"),
            ),
            (&roots, "/home/ann/work/.ssh", Some("private keys")),
            (&roots, "/home/ann/work/.state/db", Some("server's state")),
            (&roots, "/home/ann/work", Some("server's state")),
            (&roots, "/usr/local/bin", Some("workspace roots")),
            (&roots, "/opt", Some("workspace roots")),
            (&roots, "/tmp", Some("workspace roots")),
            (&roots, "/var/spool", Some("workspace roots")),
            (&roots, "/usr/lib", Some("workspace roots")),
            (
                &no_roots,
                "/home/ann/work/app",
                Some("no workspace root is set"),
            ),
            (&anywhere, "/srv/app", None),
            (
                &anywhere,
                "/run/containerd/containerd.sock",
                Some("containerd's socket"),
            ),
            (&anywhere, "/run/docker", Some("the engine's runtime state")),
            (&anywhere, "/run/docker.sock", Some("Docker socket")),
            (&anywhere, "/var/lib/containerd", Some("containerd's data")),
            (&anywhere, "/var/lib", Some("it contains `/var/lib/docker`")),
            (&anywhere, "/", Some("whole host")),
            (&anywhere, "/etc", Some("/etc holds")),
        ] {
            let outcome = check_host_path(Path::new(path), policy, "x");
            match (refused_with, outcome) {
                (None, Ok(())) => {}
                (Some(why), Err(e)) => assert!(e.message.contains(why), "{path}: {}", e.message),
                (expected, got) => panic!("{path}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn engine_data_is_refused_even_when_allowed() {
        let policy = Policy {
            allowed_paths: vec![PathBuf::from("/")],
            ..Policy::default()
        };
        assert!(check_host_path(Path::new("/var/lib/docker"), &policy, "x").is_err());
        assert!(check_host_path(Path::new("/run/containerd"), &policy, "x").is_err());
        assert!(check_host_path(Path::new("/etc"), &policy, "x").is_ok());
    }

    #[test]
    fn security_options_table() {
        for (opt, refused) in [
            ("no-new-privileges", false),
            ("no-new-privileges:true", false),
            ("apparmor=docker-default", false),
            ("apparmor=unconfined", true),
            ("seccomp=unconfined", true),
            ("seccomp=/x.json", true),
            ("label=disable", true),
            ("label:disable", true),
            ("label=type:spc_t", true),
            ("label=type:container_t", false),
            ("systempaths=unconfined", true),
            ("bogus", true),
        ] {
            assert_eq!(unconfined_reason(opt).is_some(), refused, "{opt}");
        }
    }

    #[test]
    fn tmpfs_and_logging_table() {
        let policy = Policy::default();
        for (tmpfs, logging, refused) in [
            ("/x", "json-file", 0),
            ("/x:size=10m,noexec", "local", 0),
            ("/x:dev", "none", 1),
            ("/x:suid,dev", "journald", 2),
            ("/x", "syslog", 1),
            ("/x", "gelf", 1),
        ] {
            let spec = ServiceSpec {
                tmpfs: vec![tmpfs.into()],
                logging: Some(crate::model::Logging {
                    driver: logging.into(),
                    options: Default::default(),
                }),
                ..ServiceSpec::default()
            };
            assert_eq!(
                check_service("web", &spec, &policy).len(),
                refused,
                "{tmpfs} {logging}"
            );
        }
        let allowed = Policy {
            allowed_options: BTreeSet::from(["logging_driver".to_string()]),
            ..Policy::default()
        };
        let spec = ServiceSpec {
            logging: Some(crate::model::Logging {
                driver: "syslog".into(),
                options: Default::default(),
            }),
            ..ServiceSpec::default()
        };
        assert!(check_service("web", &spec, &allowed).is_empty());
    }

    #[test]
    fn ancestors_of_the_socket_are_refused() {
        let policy = Policy::default();
        assert!(check_host_path(Path::new("/var/run"), &policy, "x").is_err());
        assert!(check_host_path(Path::new("/var"), &policy, "x").is_err());
        assert!(check_host_path(Path::new("/var/log/app"), &policy, "x").is_ok());
    }
}
