//! Which compose keys exist and how far this server supports each: the single source of truth.
//!
//! `check_keys` walks a parsed document before typed deserialization so that no key is ever silently
//! dropped: an unknown key is an `UnknownKey` error with a "did you mean" fix, a known key we cannot honour
//! is an `Unsupported` error with its reason, and `x-*` extension fields are removed where compose allows
//! them. The README's key table is checked against these constants.

use serde_json::{Map, Value};

use crate::error::{ErrorKind, SpecError};

/// How far a compose key is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySupport {
    /// Parsed and honoured.
    Supported,
    /// Accepted but without effect on a single engine (as in compose v2); loading adds a warning.
    Ignored(&'static str),
    /// Parsed, but refused by the server's policy unless `option` is allowed (`--allow-option`).
    PolicyRefused {
        option: &'static str,
        reason: &'static str,
    },
    /// Parsed; some values are refused by policy unless `option` is allowed.
    PolicyRestricted {
        option: &'static str,
        reason: &'static str,
    },
    /// A compose key this server does not support yet; using it is an error with this reason.
    Unsupported(&'static str),
}

use KeySupport::{Ignored, PolicyRefused, PolicyRestricted, Supported, Unsupported};

/// Why `:z`/`:Z` and `bind.selinux` have no effect: binds are created through the mounts API, which does not
/// relabel. On a host without SELinux (the common case) relabelling does nothing anyway.
pub const SELINUX_IGNORED: &str = "SELinux relabelling is not applied by this server; on an SELinux host label the directory yourself (`chcon -Rt container_file_t DIR`)";

pub(crate) const SWARM: &str =
    "Swarm-only setting; a single engine has no equivalent (compose v2 ignores it too)";

pub const TOP_LEVEL_KEYS: &[(&str, KeySupport)] = &[
    ("name", Supported),
    (
        "version",
        Ignored("the attribute `version` is obsolete, it will be ignored"),
    ),
    ("services", Supported),
    ("networks", Supported),
    ("volumes", Supported),
    ("secrets", Supported),
    ("configs", Supported),
    ("include", Supported),
    (
        "models",
        Unsupported("AI model definitions are not supported"),
    ),
];

pub const SERVICE_KEYS: &[(&str, KeySupport)] = &[
    ("image", Supported),
    ("build", Supported),
    ("pull_policy", Supported),
    ("command", Supported),
    ("entrypoint", Supported),
    ("environment", Supported),
    ("env_file", Supported),
    ("ports", Supported),
    ("expose", Supported),
    ("volumes", Supported),
    ("networks", Supported),
    ("depends_on", Supported),
    ("links", Supported),
    ("restart", Supported),
    ("healthcheck", Supported),
    ("labels", Supported),
    ("working_dir", Supported),
    ("user", Supported),
    ("hostname", Supported),
    ("init", Supported),
    ("stop_grace_period", Supported),
    ("stop_signal", Supported),
    ("mem_limit", Supported),
    ("mem_reservation", Supported),
    ("shm_size", Supported),
    ("cpus", Supported),
    ("cpu_shares", Supported),
    ("pids_limit", Supported),
    ("tmpfs", Supported),
    ("read_only", Supported),
    ("extra_hosts", Supported),
    ("container_name", Supported),
    ("deploy", Supported),
    ("scale", Supported),
    ("platform", Supported),
    ("runtime", Supported),
    ("stdin_open", Supported),
    ("tty", Supported),
    ("sysctls", Supported),
    ("ulimits", Supported),
    ("dns", Supported),
    ("dns_search", Supported),
    ("dns_opt", Supported),
    ("group_add", Supported),
    ("domainname", Supported),
    ("mac_address", Supported),
    ("memswap_limit", Supported),
    ("cap_drop", Supported),
    ("logging", Supported),
    ("secrets", Supported),
    ("configs", Supported),
    ("profiles", Supported),
    ("extends", Supported),
    (
        "privileged",
        PolicyRefused {
            option: "privileged",
            reason: "a privileged container has full access to the host",
        },
    ),
    (
        "cap_add",
        PolicyRefused {
            option: "cap_add",
            reason: "added capabilities widen what the container may do to the host kernel",
        },
    ),
    (
        "devices",
        PolicyRefused {
            option: "devices",
            reason: "host devices give the container direct hardware access",
        },
    ),
    (
        "pid",
        PolicyRestricted {
            option: "host_pid",
            reason: "`pid: host` lets the container see and signal every host process",
        },
    ),
    (
        "ipc",
        PolicyRestricted {
            option: "host_ipc",
            reason: "`ipc: host` shares the host's IPC namespace",
        },
    ),
    (
        "network_mode",
        PolicyRestricted {
            option: "host_network",
            reason: "`network_mode: host` puts the container on the host's network stack",
        },
    ),
    (
        "cgroup",
        PolicyRestricted {
            option: "host_cgroup",
            reason: "`cgroup: host` shares the host's cgroup namespace",
        },
    ),
    (
        "security_opt",
        PolicyRestricted {
            option: "security_opt",
            reason: "unconfined seccomp/apparmor or `label:disable` remove kernel confinement",
        },
    ),
    (
        "annotations",
        Unsupported("container annotations are not supported yet"),
    ),
    (
        "attach",
        Unsupported(
            "log attachment control is a `docker compose up` client setting, not desired state",
        ),
    ),
    (
        "blkio_config",
        Unsupported("block IO limits are not supported yet"),
    ),
    (
        "cgroup_parent",
        Unsupported("a custom cgroup parent is not supported"),
    ),
    (
        "cpu_count",
        Unsupported("Windows-only CPU setting; use `cpus`"),
    ),
    (
        "cpu_percent",
        Unsupported("Windows-only CPU setting; use `cpus`"),
    ),
    (
        "cpu_period",
        Unsupported("CFS tuning is not supported yet; use `cpus`"),
    ),
    (
        "cpu_quota",
        Unsupported("CFS tuning is not supported yet; use `cpus`"),
    ),
    (
        "cpu_rt_period",
        Unsupported("real-time CPU scheduling is not supported"),
    ),
    (
        "cpu_rt_runtime",
        Unsupported("real-time CPU scheduling is not supported"),
    ),
    ("cpuset", Unsupported("CPU pinning is not supported yet")),
    ("credential_spec", Unsupported("Windows-only setting")),
    (
        "develop",
        Unsupported("`docker compose watch` settings are not desired state"),
    ),
    (
        "device_cgroup_rules",
        Unsupported("device cgroup rules are not supported"),
    ),
    (
        "external_links",
        Unsupported("links to containers outside the project are not supported"),
    ),
    ("gpus", Unsupported("GPU access is not supported")),
    ("isolation", Unsupported("Windows-only setting")),
    (
        "label_file",
        Unsupported("label files are not supported yet; use `labels`"),
    ),
    (
        "mem_swappiness",
        Unsupported("swap tuning is not supported yet"),
    ),
    (
        "oom_kill_disable",
        Unsupported("disabling the OOM killer endangers the host; not supported"),
    ),
    (
        "oom_score_adj",
        Unsupported("OOM score tuning is not supported yet"),
    ),
    (
        "post_start",
        Unsupported("lifecycle hooks are not supported yet"),
    ),
    (
        "pre_stop",
        Unsupported("lifecycle hooks are not supported yet"),
    ),
    (
        "provider",
        Unsupported("provider services are not supported"),
    ),
    (
        "pull_refresh_after",
        Unsupported("timed pull refresh is not supported"),
    ),
    (
        "storage_opt",
        Unsupported("storage driver options are not supported"),
    ),
    (
        "use_api_socket",
        Unsupported("it mounts the Docker API socket, which gives root on the host"),
    ),
    (
        "userns_mode",
        Unsupported("user namespace modes are not supported"),
    ),
    (
        "uts",
        Unsupported("`uts: host` shares the host's UTS namespace; not supported"),
    ),
    (
        "volumes_from",
        Unsupported("`volumes_from` is not supported yet; mount the same named volume instead"),
    ),
    ("models", Unsupported("AI model bindings are not supported")),
];

pub const BUILD_KEYS: &[(&str, KeySupport)] = &[
    ("context", Supported),
    ("dockerfile", Supported),
    ("target", Supported),
    ("args", Supported),
    ("labels", Supported),
    ("no_cache", Supported),
    ("pull", Supported),
    (
        "dockerfile_inline",
        Unsupported("inline Dockerfiles are not supported yet; write a Dockerfile in the context"),
    ),
    (
        "additional_contexts",
        Unsupported("additional build contexts are not supported yet"),
    ),
    (
        "cache_from",
        Unsupported("external cache sources are not supported yet"),
    ),
    (
        "cache_to",
        Unsupported("cache exports are not supported yet"),
    ),
    (
        "entitlements",
        Unsupported("build entitlements are not supported"),
    ),
    (
        "extra_hosts",
        Unsupported("build-time extra hosts are not supported yet"),
    ),
    ("isolation", Unsupported("Windows-only setting")),
    (
        "network",
        Unsupported("build networking modes are not supported yet"),
    ),
    (
        "platforms",
        Unsupported("multi-platform builds are not supported"),
    ),
    (
        "privileged",
        Unsupported("privileged builds are not supported"),
    ),
    (
        "secrets",
        Unsupported("build secrets are not supported yet"),
    ),
    (
        "shm_size",
        Unsupported("build shm size is not supported yet"),
    ),
    (
        "ssh",
        Unsupported("SSH agent forwarding to builds is not supported"),
    ),
    (
        "tags",
        Unsupported("extra image tags are not supported yet; set `image`"),
    ),
    (
        "ulimits",
        Unsupported("build ulimits are not supported yet"),
    ),
];

pub const PORT_KEYS: &[(&str, KeySupport)] = &[
    ("target", Supported),
    ("published", Supported),
    ("host_ip", Supported),
    ("protocol", Supported),
    ("mode", Supported),
    ("name", Ignored("a port `name` is descriptive only")),
    (
        "app_protocol",
        Ignored("a port `app_protocol` is descriptive only"),
    ),
];

pub const VOLUME_KEYS: &[(&str, KeySupport)] = &[
    ("type", Supported),
    ("source", Supported),
    ("target", Supported),
    ("read_only", Supported),
    ("bind", Supported),
    ("volume", Supported),
    ("tmpfs", Supported),
    (
        "consistency",
        Ignored("`consistency` only matters on macOS Docker Desktop"),
    ),
    ("image", Unsupported("image mounts are not supported")),
];

pub const VOLUME_BIND_KEYS: &[(&str, KeySupport)] = &[
    ("create_host_path", Supported),
    (
        "propagation",
        Unsupported("bind propagation modes are not supported yet"),
    ),
    ("selinux", Ignored(SELINUX_IGNORED)),
    (
        "recursive",
        Unsupported("recursive read-only binds are not supported yet"),
    ),
];

pub const VOLUME_VOLUME_KEYS: &[(&str, KeySupport)] = &[
    ("nocopy", Unsupported("`nocopy` is not supported yet")),
    (
        "subpath",
        Unsupported("volume subpaths are not supported yet"),
    ),
];

pub const VOLUME_TMPFS_KEYS: &[(&str, KeySupport)] = &[("size", Supported), ("mode", Supported)];

pub const SERVICE_NETWORK_KEYS: &[(&str, KeySupport)] = &[
    ("aliases", Supported),
    ("ipv4_address", Supported),
    ("ipv6_address", Supported),
    (
        "link_local_ips",
        Unsupported("link-local IPs are not supported"),
    ),
    (
        "mac_address",
        Unsupported("a MAC address per network needs engine API 1.44; set the service's own `mac_address`, which applies to its first network"),
    ),
    (
        "driver_opts",
        Unsupported("per-endpoint driver options are not supported"),
    ),
    (
        "priority",
        Unsupported("network priority is not supported yet"),
    ),
    (
        "gw_priority",
        Unsupported("gateway priority is not supported yet"),
    ),
    (
        "interface_name",
        Unsupported("interface names are not supported"),
    ),
];

pub const INCLUDE_KEYS: &[(&str, KeySupport)] = &[
    ("path", Supported),
    ("project_directory", Supported),
    ("env_file", Supported),
];

pub const EXTENDS_KEYS: &[(&str, KeySupport)] = &[("service", Supported), ("file", Supported)];

pub const DEPENDS_ON_KEYS: &[(&str, KeySupport)] = &[
    ("condition", Supported),
    ("required", Supported),
    ("restart", Supported),
];

pub const HEALTHCHECK_KEYS: &[(&str, KeySupport)] = &[
    ("test", Supported),
    ("interval", Supported),
    ("timeout", Supported),
    ("retries", Supported),
    ("start_period", Supported),
    ("disable", Supported),
    (
        "start_interval",
        Ignored("`start_interval` needs Docker API 1.44; the engine's default applies"),
    ),
];

pub const DEPLOY_KEYS: &[(&str, KeySupport)] = &[
    ("replicas", Supported),
    ("resources", Supported),
    ("restart_policy", Supported),
    ("mode", Ignored(SWARM)),
    ("labels", Ignored(SWARM)),
    ("placement", Ignored(SWARM)),
    ("update_config", Ignored(SWARM)),
    ("rollback_config", Ignored(SWARM)),
    ("endpoint_mode", Ignored(SWARM)),
];

pub const RESOURCES_KEYS: &[(&str, KeySupport)] =
    &[("limits", Supported), ("reservations", Supported)];

pub const RESOURCE_LIMIT_KEYS: &[(&str, KeySupport)] = &[
    ("cpus", Supported),
    ("memory", Supported),
    ("pids", Supported),
    (
        "devices",
        Unsupported("device reservations (GPUs) are not supported"),
    ),
    ("generic_resources", Unsupported(SWARM)),
];

pub const RESTART_POLICY_KEYS: &[(&str, KeySupport)] = &[
    ("condition", Supported),
    ("max_attempts", Supported),
    ("delay", Ignored("the engine's restart policy has no delay")),
    (
        "window",
        Ignored("the engine's restart policy has no window"),
    ),
];

pub const LOGGING_KEYS: &[(&str, KeySupport)] = &[("driver", Supported), ("options", Supported)];

pub const FILE_REF_KEYS: &[(&str, KeySupport)] = &[
    ("source", Supported),
    ("target", Supported),
    ("uid", Supported),
    ("gid", Supported),
    ("mode", Supported),
];

pub const ENV_FILE_KEYS: &[(&str, KeySupport)] = &[
    ("path", Supported),
    ("required", Supported),
    (
        "format",
        Unsupported("only the default dotenv format is supported"),
    ),
];

/// `environment: {KEY: {secret: NAME}}`.
pub const SECRET_REF_KEYS: &[(&str, KeySupport)] = &[("secret", Supported)];
pub const ULIMIT_KEYS: &[(&str, KeySupport)] = &[("soft", Supported), ("hard", Supported)];
const EXTERNAL_KEYS: &[(&str, KeySupport)] = &[("name", Supported)];

pub const NETWORK_TOP_KEYS: &[(&str, KeySupport)] = &[
    ("driver", Supported),
    ("labels", Supported),
    ("internal", Supported),
    ("external", Supported),
    ("name", Supported),
    (
        "driver_opts",
        Unsupported("network driver options are not supported yet"),
    ),
    ("attachable", Unsupported(SWARM)),
    ("enable_ipv6", Supported),
    (
        "enable_ipv4",
        Unsupported("disabling IPv4 is not supported"),
    ),
    ("ipam", Supported),
];

pub const IPAM_KEYS: &[(&str, KeySupport)] = &[
    ("driver", Supported),
    ("config", Supported),
    ("options", Supported),
];

pub const IPAM_POOL_KEYS: &[(&str, KeySupport)] = &[
    ("subnet", Supported),
    ("gateway", Supported),
    ("ip_range", Supported),
    ("aux_addresses", Supported),
];

pub const VOLUME_TOP_KEYS: &[(&str, KeySupport)] = &[
    ("driver", Supported),
    ("labels", Supported),
    ("external", Supported),
    ("name", Supported),
    (
        "driver_opts",
        Unsupported("volume driver options are not supported: they can bind arbitrary host paths"),
    ),
];

pub const SECRET_TOP_KEYS: &[(&str, KeySupport)] = &[
    ("file", Supported),
    ("environment", Supported),
    (
        "content",
        Unsupported("inline content is only for configs; use `file` or `environment`"),
    ),
    ("name", Unsupported("secret names only matter to Swarm")),
    (
        "external",
        Unsupported("external secrets are Swarm-only; use `file` or `environment`"),
    ),
    ("labels", Unsupported(SWARM)),
    ("driver", Unsupported(SWARM)),
    ("driver_opts", Unsupported(SWARM)),
    ("template_driver", Unsupported(SWARM)),
];

pub const CONFIG_TOP_KEYS: &[(&str, KeySupport)] = &[
    ("file", Supported),
    ("environment", Supported),
    ("content", Supported),
    ("name", Unsupported("config names only matter to Swarm")),
    (
        "external",
        Unsupported("external configs are Swarm-only; use `file`, `environment` or `content`"),
    ),
    ("labels", Unsupported(SWARM)),
    ("template_driver", Unsupported(SWARM)),
];

/// Walks a whole compose document: strips `x-*` extension fields, and reports unknown and unsupported keys.
/// Ignored keys add a warning.
pub fn check_keys(doc: &mut Value, errors: &mut Vec<SpecError>, warnings: &mut Vec<String>) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let mut walk = Walk { errors, warnings };
    walk.table(root, TOP_LEVEL_KEYS, "");
    for (section, table) in [
        ("networks", NETWORK_TOP_KEYS),
        ("volumes", VOLUME_TOP_KEYS),
        ("secrets", SECRET_TOP_KEYS),
        ("configs", CONFIG_TOP_KEYS),
    ] {
        for (key, body) in entries(root.get_mut(section)) {
            let path = format!("{section}.{key}");
            if let Some(obj) = body.as_object_mut() {
                walk.table(obj, table, &path);
                if let Some(ext) = obj.get_mut("external").and_then(Value::as_object_mut) {
                    walk.table(ext, EXTERNAL_KEYS, &format!("{path}.external"));
                }
                walk.ipam(obj.get_mut("ipam"), &format!("{path}.ipam"));
            }
        }
    }
    for (i, item) in items(root.get_mut("include")) {
        walk.nested(Some(item), INCLUDE_KEYS, &format!("include[{i}]"));
    }
    for (name, body) in entries(root.get_mut("services")) {
        if let Some(service) = body.as_object_mut() {
            walk.service(service, &format!("services.{name}"));
        }
    }
}

/// Check just one service body (the primitive container tools' spec).
pub fn check_service_keys(
    service: &mut Map<String, Value>,
    path: &str,
    errors: &mut Vec<SpecError>,
    warnings: &mut Vec<String>,
) {
    Walk { errors, warnings }.service(service, path);
}

fn entries(value: Option<&mut Value>) -> Vec<(String, &mut Value)> {
    match value {
        Some(Value::Object(map)) => map.iter_mut().map(|(k, v)| (k.clone(), v)).collect(),
        _ => Vec::new(),
    }
}

fn items(value: Option<&mut Value>) -> Vec<(usize, &mut Value)> {
    match value {
        Some(Value::Array(list)) => list.iter_mut().enumerate().collect(),
        _ => Vec::new(),
    }
}

struct Walk<'a> {
    errors: &'a mut Vec<SpecError>,
    warnings: &'a mut Vec<String>,
}

impl Walk<'_> {
    fn service(&mut self, svc: &mut Map<String, Value>, path: &str) {
        self.table(svc, SERVICE_KEYS, path);
        self.nested(svc.get_mut("build"), BUILD_KEYS, &format!("{path}.build"));
        self.nested(
            svc.get_mut("healthcheck"),
            HEALTHCHECK_KEYS,
            &format!("{path}.healthcheck"),
        );
        self.nested(
            svc.get_mut("extends"),
            EXTENDS_KEYS,
            &format!("{path}.extends"),
        );
        self.nested(
            svc.get_mut("logging"),
            LOGGING_KEYS,
            &format!("{path}.logging"),
        );
        for (i, port) in items(svc.get_mut("ports")) {
            self.nested(Some(port), PORT_KEYS, &format!("{path}.ports[{i}]"));
        }
        for (i, vol) in items(svc.get_mut("volumes")) {
            let vpath = format!("{path}.volumes[{i}]");
            if let Some(obj) = vol.as_object_mut() {
                self.table(obj, VOLUME_KEYS, &vpath);
                self.nested(
                    obj.get_mut("bind"),
                    VOLUME_BIND_KEYS,
                    &format!("{vpath}.bind"),
                );
                self.nested(
                    obj.get_mut("volume"),
                    VOLUME_VOLUME_KEYS,
                    &format!("{vpath}.volume"),
                );
                self.nested(
                    obj.get_mut("tmpfs"),
                    VOLUME_TMPFS_KEYS,
                    &format!("{vpath}.tmpfs"),
                );
            }
        }
        for (section, table) in [
            ("secrets", FILE_REF_KEYS),
            ("configs", FILE_REF_KEYS),
            ("env_file", ENV_FILE_KEYS),
        ] {
            for (i, item) in items(svc.get_mut(section)) {
                self.nested(Some(item), table, &format!("{path}.{section}[{i}]"));
            }
        }
        for (section, table) in [
            ("networks", SERVICE_NETWORK_KEYS),
            ("depends_on", DEPENDS_ON_KEYS),
            ("environment", SECRET_REF_KEYS),
            ("ulimits", ULIMIT_KEYS),
        ] {
            for (key, body) in entries(svc.get_mut(section)) {
                self.nested(Some(body), table, &format!("{path}.{section}.{key}"));
            }
        }
        if let Some(deploy) = svc.get_mut("deploy").and_then(Value::as_object_mut) {
            let dpath = format!("{path}.deploy");
            self.table(deploy, DEPLOY_KEYS, &dpath);
            self.nested(
                deploy.get_mut("restart_policy"),
                RESTART_POLICY_KEYS,
                &format!("{dpath}.restart_policy"),
            );
            if let Some(res) = deploy.get_mut("resources").and_then(Value::as_object_mut) {
                let rpath = format!("{dpath}.resources");
                self.table(res, RESOURCES_KEYS, &rpath);
                for part in ["limits", "reservations"] {
                    self.nested(
                        res.get_mut(part),
                        RESOURCE_LIMIT_KEYS,
                        &format!("{rpath}.{part}"),
                    );
                }
            }
        }
    }

    /// A network's `ipam` block and each of its address pools.
    fn ipam(&mut self, value: Option<&mut Value>, path: &str) {
        let Some(ipam) = value.and_then(Value::as_object_mut) else {
            return;
        };
        self.table(ipam, IPAM_KEYS, path);
        for (i, pool) in items(ipam.get_mut("config")) {
            self.nested(Some(pool), IPAM_POOL_KEYS, &format!("{path}.config[{i}]"));
        }
    }

    fn nested(&mut self, value: Option<&mut Value>, table: &[(&str, KeySupport)], path: &str) {
        if let Some(obj) = value.and_then(Value::as_object_mut) {
            self.table(obj, table, path);
        }
    }

    /// Checks one mapping against its key table, removing `x-*` extension fields.
    fn table(&mut self, obj: &mut Map<String, Value>, table: &[(&str, KeySupport)], path: &str) {
        obj.retain(|key, _| !key.starts_with("x-"));
        for key in obj.keys() {
            let key_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match table.iter().find(|(k, _)| *k == key.as_str()) {
                None => self.errors.push(unknown_key(&key_path, key, table)),
                Some((_, Unsupported(reason))) => self.errors.push(SpecError::new(
                    ErrorKind::Unsupported,
                    &key_path,
                    format!("`{key}` is not supported: {reason}"),
                    format!("remove `{key}`"),
                )),
                Some((_, Ignored(reason))) => self.warnings.push(format!("{key_path}: {reason}")),
                Some(_) => {}
            }
        }
    }
}

fn unknown_key(path: &str, key: &str, table: &[(&str, KeySupport)]) -> SpecError {
    let suggestion = table
        .iter()
        .map(|(k, _)| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min();
    let fix = match suggestion {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => {
            let known: Vec<&str> = table
                .iter()
                .filter(|(_, s)| !matches!(s, Unsupported(_)))
                .map(|(k, _)| *k)
                .collect();
            format!("remove it; known keys here: {}", known.join(", "))
        }
    };
    SpecError::new(
        ErrorKind::UnknownKey,
        path,
        format!("unknown key `{key}`"),
        fix,
    )
}

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Every key table with the path prefix it applies to, for documentation and the README check.
pub const ALL_TABLES: &[(&str, &[(&str, KeySupport)])] = &[
    ("", TOP_LEVEL_KEYS),
    ("include[]", INCLUDE_KEYS),
    ("services.*", SERVICE_KEYS),
    ("services.*.build", BUILD_KEYS),
    ("services.*.ports[]", PORT_KEYS),
    ("services.*.volumes[]", VOLUME_KEYS),
    ("services.*.volumes[].bind", VOLUME_BIND_KEYS),
    ("services.*.volumes[].volume", VOLUME_VOLUME_KEYS),
    ("services.*.volumes[].tmpfs", VOLUME_TMPFS_KEYS),
    ("services.*.networks.*", SERVICE_NETWORK_KEYS),
    ("services.*.depends_on.*", DEPENDS_ON_KEYS),
    ("services.*.healthcheck", HEALTHCHECK_KEYS),
    ("services.*.deploy", DEPLOY_KEYS),
    ("services.*.deploy.resources", RESOURCES_KEYS),
    ("services.*.deploy.resources.limits", RESOURCE_LIMIT_KEYS),
    (
        "services.*.deploy.resources.reservations",
        RESOURCE_LIMIT_KEYS,
    ),
    ("services.*.deploy.restart_policy", RESTART_POLICY_KEYS),
    ("services.*.logging", LOGGING_KEYS),
    ("services.*.extends", EXTENDS_KEYS),
    ("services.*.secrets[]", FILE_REF_KEYS),
    ("services.*.configs[]", FILE_REF_KEYS),
    ("services.*.env_file[]", ENV_FILE_KEYS),
    ("services.*.environment.*", SECRET_REF_KEYS),
    ("services.*.ulimits.*", ULIMIT_KEYS),
    ("networks.*", NETWORK_TOP_KEYS),
    ("networks.*.ipam", IPAM_KEYS),
    ("networks.*.ipam.config[]", IPAM_POOL_KEYS),
    ("volumes.*", VOLUME_TOP_KEYS),
    ("secrets.*", SECRET_TOP_KEYS),
    ("configs.*", CONFIG_TOP_KEYS),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_duplicates() {
        for (_, table) in ALL_TABLES {
            let mut keys: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(before, keys.len());
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("portz", "ports"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("enviroment", "environment"), 1);
    }
}
