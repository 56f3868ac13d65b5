//! Property: any input to the loader gives a project or clean errors, never a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use load_support::{opts, MemHost};
use planner::load::{load_json, load_service, load_yaml};
use proptest::prelude::*;
use serde_json::Value;

/// Keys that reach deep into the loader, mixed with noise.
const KEYS: &[&str] = &[
    "name",
    "version",
    "services",
    "networks",
    "volumes",
    "secrets",
    "configs",
    "web",
    "db",
    "image",
    "build",
    "context",
    "dockerfile",
    "ports",
    "target",
    "published",
    "host_ip",
    "protocol",
    "volumes",
    "type",
    "source",
    "read_only",
    "environment",
    "secret",
    "env_file",
    "path",
    "required",
    "depends_on",
    "condition",
    "command",
    "entrypoint",
    "healthcheck",
    "test",
    "interval",
    "retries",
    "deploy",
    "replicas",
    "resources",
    "limits",
    "cpus",
    "memory",
    "labels",
    "restart",
    "tmpfs",
    "extra_hosts",
    "ulimits",
    "soft",
    "hard",
    "networks",
    "aliases",
    "external",
    "driver",
    "file",
    "content",
    "links",
    "profiles",
    "mem_limit",
    "scale",
    "x-ext",
    "<<",
    "privileged",
    "network_mode",
    "security_opt",
    "stop_grace_period",
    "bind",
    "logging",
    "options",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        prop::sample::select(vec![
            "80",
            "8080:80",
            "0:80",
            "70000",
            "[::1]:80:80",
            "1.2.3.4::80/udp",
            "a-b:c-d",
            "./x:/y:ro",
            "/etc:/e",
            "../../..:/r",
            "~/x:/y",
            "${X:-1}",
            "${X:?e}",
            "$",
            "$$",
            "10s",
            "1m30s",
            "-1s",
            "512m",
            "1.5g",
            "x",
            "service_healthy",
            "on-failure:3",
            "host",
            "/var/run/docker.sock:/s",
            "web",
            "db",
            "default",
            "true",
            "CMD",
            "CMD-SHELL",
            "sh -c 'x",
            "",
            "é",
            "seccomp:unconfined",
            "no-new-privileges:true",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn host() -> MemHost {
    MemHost::new()
        .var("X", "1")
        .dir("/srv/app/x")
        .file("/srv/app/.env", "A=1\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = load_yaml(&text, &opts(), &host());
    }

    #[test]
    fn yaml_shaped_text_never_panics(lines in prop::collection::vec((0usize..4, prop::sample::select(KEYS), "[ :\\-\\[\\]{}&*!|>a-z0-9$]{0,12}"), 0..20)) {
        let text: String = lines.iter().map(|(indent, key, rest)| format!("{}{key}:{rest}\n", "  ".repeat(*indent))).collect();
        let _ = load_yaml(&text, &opts(), &host());
    }

    #[test]
    fn arbitrary_structures_never_panic(doc in value(), services in prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..4)) {
        let _ = load_json(&doc, &opts(), &host());
        let mut wrapped = serde_json::json!({"name": "p"});
        wrapped["services"] = Value::Object(services.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
        let _ = load_json(&wrapped, &opts(), &host());
        if let Ok(text) = serde_yaml::to_string(&wrapped) {
            let _ = load_yaml(&text, &opts(), &host());
        }
        for body in services.values() {
            let _ = load_service("svc", body, &opts(), &host());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in "[ -~µé\\n\\t]{0,40}") {
        let lookup = |name: &str| name.len().is_multiple_of(2).then(|| name.to_lowercase());
        let _ = planner::interpolate::interpolate(&text, &lookup);
        let _ = planner::normalize::dotenv::parse(&text, &lookup);
        let _ = planner::normalize::split_words(&text);
        let _ = planner::normalize::parse_port(&text);
        let _ = planner::normalize::parse_duration_ns(&text);
        let _ = planner::normalize::parse_bytes(&text);
        let _ = planner::image_ref::ImageRef::parse(&text);
        let _ = planner::policy::check_host_path(std::path::Path::new(&text), &planner::policy::Policy::default(), "p");
    }

    #[test]
    fn interpolation_without_dollars_is_identity(text in "[^$]{0,40}") {
        prop_assert_eq!(planner::interpolate::interpolate(&text, &|_| None), Ok(text.clone()));
    }

    #[test]
    fn escaped_dollars_survive(text in "[a-z ]{0,10}") {
        let escaped = format!("$${text}");
        prop_assert_eq!(planner::interpolate::interpolate(&escaped, &|_| Some("x".into())), Ok(format!("${text}")));
    }
}
