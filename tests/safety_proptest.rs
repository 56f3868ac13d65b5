//! Property tests over spec parsing and validation: whatever a client sends, loading returns a project or
//! clean spec errors, and never panics.
//!
//! Inputs are compose-shaped trees (real keys with adversarial values: huge ports, `..` paths, `${VAR:?}`,
//! policy-refused options, odd types), the same trees as YAML text, byte-level mutations of the shipped
//! examples, and single container specs for the primitive tools. The host is in memory, as in the fuzz
//! target under `fuzz/`.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use planner::load::{load_json, load_service, load_yaml, Host, LoadOptions};
use planner::{Project, SpecErrors};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// A fixed in-memory environment: a project dir with an env file and a symlink that leads out of it.
struct MemoryHost {
    vars: BTreeMap<&'static str, &'static str>,
    files: BTreeMap<PathBuf, &'static str>,
}

impl MemoryHost {
    fn new() -> Self {
        MemoryHost {
            vars: BTreeMap::from([("TAG", "1.0"), ("PORT", "8080"), ("EMPTY", "")]),
            files: BTreeMap::from([
                (PathBuf::from("/srv/app/.env"), "FROM_DOTENV=yes\n"),
                (PathBuf::from("/srv/app/app.env"), "A=1\nB=2\n"),
                (PathBuf::from("/srv/app/secret.txt"), "s3cret"),
            ]),
        }
    }
}

impl Host for MemoryHost {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.to_string())
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(path)
            .map(|s| s.to_string())
            .ok_or_else(|| format!("{}: no such file", path.display()))
    }

    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        if let Ok(rest) = path.strip_prefix("/srv/app/escape") {
            return Ok(Path::new("/etc").join(rest));
        }
        if path.starts_with("/srv/app") || path.starts_with("/etc") || path.starts_with("/data") {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{}: no such file or directory", path.display()))
        }
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        project_name: Some("prop".into()),
        project_dir: PathBuf::from("/srv/app"),
        ..Default::default()
    }
}

const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "depends_on",
    "restart",
    "healthcheck",
    "labels",
    "working_dir",
    "user",
    "hostname",
    "init",
    "stop_grace_period",
    "mem_limit",
    "cpus",
    "tmpfs",
    "read_only",
    "extra_hosts",
    "container_name",
    "deploy",
    "scale",
    "secrets",
    "configs",
    "privileged",
    "cap_add",
    "devices",
    "pid",
    "ipc",
    "network_mode",
    "security_opt",
    "profiles",
    "pull_policy",
    "ulimits",
    "sysctls",
    "logging",
    "extends",
    "develop",
    "enviroment",
    "x-custom",
];

const TOP_KEYS: &[&str] = &[
    "name", "version", "networks", "volumes", "secrets", "configs", "include", "x-common",
];

const INNER_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "target",
    "published",
    "source",
    "type",
    "condition",
    "test",
    "interval",
    "retries",
    "replicas",
    "resources",
    "limits",
    "memory",
    "driver",
    "external",
    "internal",
    "aliases",
    "file",
    "environment",
    "content",
    "mode",
    "secret",
    "required",
    "path",
    "bind",
    "read_only",
];

/// Values chosen to sit on the edges the loader must handle.
const TRICKY: &[&str] = &[
    "",
    " ",
    "mcp-docker-test/busybox:latest",
    "UPPER/Case",
    "a b",
    ":tag",
    "nginx@sha256:zz",
    "80",
    "0",
    "70000",
    "65535:65535",
    "8080:80",
    "127.0.0.1:9000:80/udp",
    "9000-8000:80",
    "1.2.3.4.5:1:2",
    "[::1]:80:80",
    "/etc:/e",
    "/:/host",
    "/var/run/docker.sock:/s",
    "../../etc",
    "./escape",
    "/srv/app/escape/x:/x",
    "data:/data:ro",
    "a:b:c:d",
    "${TAG}",
    "${NOPE:?needed}",
    "${PORT:-80}:80",
    "$$",
    "${",
    "$",
    "${A-${B}}",
    "10s",
    "1h30m",
    "-5s",
    "soon",
    "512m",
    "1e9",
    "-1",
    "host",
    "container:x",
    "service:db",
    "unconfined",
    "seccomp:unconfined",
    "service_healthy",
    "service_completed_successfully",
    "always",
    "unless-stopped",
    "on-failure:3",
    "CMD-SHELL",
    "NONE",
    "https://example.com/repo.git",
    "☃",
    "\u{0}",
    "\n",
    "web",
    "db",
    "default",
    "true",
    "null",
    "~",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        prop::sample::select(TRICKY).prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(INNER_KEYS).prop_map(str::to_string),
        prop::sample::select(SERVICE_KEYS).prop_map(str::to_string),
        "[a-zA-Z_.$-]{1,10}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn service() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(SERVICE_KEYS).prop_map(str::to_string),
        value(),
        0..7,
    )
    .prop_map(|m| {
        let mut obj: Map<String, Value> = m.into_iter().collect();
        obj.entry("image".to_string())
            .or_insert_with(|| Value::from("mcp-docker-test/busybox:latest"));
        Value::Object(obj)
    })
}

fn document() -> impl Strategy<Value = Value> {
    let services = prop::collection::btree_map(
        prop_oneof![
            prop::sample::select(&["web", "db", "cache", "worker"][..]).prop_map(str::to_string),
            "[a-zA-Z0-9_☃.-]{1,6}"
        ],
        service(),
        0..4,
    );
    let top = prop::collection::btree_map(
        prop::sample::select(TOP_KEYS).prop_map(str::to_string),
        value(),
        0..3,
    );
    (services, top).prop_map(|(services, top)| {
        let mut doc: Map<String, Value> = top.into_iter().collect();
        doc.insert(
            "services".into(),
            Value::Object(services.into_iter().collect()),
        );
        Value::Object(doc)
    })
}

/// A load result is clean: a named project, or a non-empty list of errors that each say something.
fn assert_clean(result: &Result<Project, SpecErrors>) -> Result<(), TestCaseError> {
    match result {
        Ok(project) => prop_assert_eq!(&project.name, "prop"),
        Err(errors) => {
            prop_assert!(!errors.0.is_empty(), "an error result with no errors");
            for e in &errors.0 {
                prop_assert!(
                    !e.message.trim().is_empty(),
                    "an error with no message at {:?}",
                    e.path
                );
            }
            prop_assert!(errors.to_string().starts_with("invalid spec"));
        }
    }
    Ok(())
}

/// Inserts, deletes or replaces bytes of `base` at the given positions.
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let pos = pos % bytes.len();
        match op % 3 {
            0 => bytes.insert(pos, byte),
            1 => {
                bytes.remove(pos);
            }
            _ => bytes[pos] = byte,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

const EXAMPLES: &[&str] = &[
    include_str!("../examples/busybox.yaml"),
    include_str!("../examples/nginx.yaml"),
    include_str!("../examples/wordpress.yaml"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_documents_load_or_fail_cleanly(doc in document()) {
        assert_clean(&load_json(&doc, &options(), &MemoryHost::new()))?;
    }

    #[test]
    fn yaml_documents_load_or_fail_cleanly(doc in document()) {
        let text = serde_yaml::to_string(&doc).unwrap();
        let from_yaml = load_yaml(&text, &options(), &MemoryHost::new());
        assert_clean(&from_yaml)?;
        // The same document must not be accepted in one syntax and refused in the other.
        let from_json = load_json(&doc, &options(), &MemoryHost::new());
        prop_assert_eq!(from_yaml.is_ok(), from_json.is_ok(), "YAML and JSON disagree for {}", text);
    }

    #[test]
    fn mutated_examples_load_or_fail_cleanly(
        which in 0..EXAMPLES.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), prop::sample::select(&b":-[]{}&*!|>'\"%@`#,? \n\tx9$"[..])), 1..8),
    ) {
        let text = mutate(EXAMPLES[which], &edits);
        assert_clean(&load_yaml(&text, &options(), &MemoryHost::new()))?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        assert_clean(&load_yaml(&text, &options(), &MemoryHost::new()))?;
    }

    #[test]
    fn container_specs_load_or_fail_cleanly(spec in prop_oneof![service(), value()]) {
        if let Err(errors) = load_service("box", &spec, &options(), &MemoryHost::new()) {
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(!e.message.trim().is_empty(), "an error with no message at {:?}", e.path);
            }
        }
    }
}

/// The examples themselves load, so the mutation test starts from valid documents.
#[test]
fn examples_load() {
    for text in EXAMPLES {
        let result = load_yaml(text, &options(), &MemoryHost::new());
        assert!(result.is_ok(), "{:?}", result.err());
    }
}
