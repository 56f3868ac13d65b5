//! Attacks on this session's `mac_address` (the create sent outside bollard, `docker/src/raw_api.rs`) as the
//! untrusted MCP client would send them, against the real engine: MAC values that are not one interface's
//! address, YAML forms of the value, query injection through names, the raw create's errors beside
//! bollard's for the same spec (an engine answer above the 64 KiB bound, a name conflict, a platform the
//! image lacks), and a plan that changes or drops a MAC.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, inspect_object, object_exists, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

/// A `run_container` spec that sleeps, with `extra` merged in.
fn run_spec(extra: Value) -> Value {
    let mut spec = json!({"image": IMAGE, "init": true, "command": ["sleep", "60"]});
    if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
        spec.extend(extra);
    }
    spec
}

/// The error the server gives for `run_container` of `spec` under `name`, with the name written as `NAME`.
async fn run_error(session: &McpSession, name: &str, spec: Value) -> String {
    let message = session
        .tool_error("run_container", json!({"name": name, "spec": spec}))
        .await;
    message.replace(name, "NAME")
}

fn compose_spec(mac_line: &str) -> String {
    format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n{mac_line}"
    )
}

#[tokio::test]
async fn mac_values_that_no_interface_can_take_are_refused_naming_the_field() {
    let session = McpSession::start().await;
    // A sign before an octet, the all-zero address (the engine creates the container, and its start fails
    // with "cannot assign requested address"), padding, other notations, broadcast and multicast.
    for bad in [
        "+2:42:ac:11:00:02",
        "02:+2:ac:11:00:02",
        "00:00:00:00:00:00",
        " 02:42:ac:11:00:02",
        "02:42:ac:11:00:02\n",
        "0242.ac11.0002",
        "02:42:ac:11:00:02:00:00",
        "ff:ff:ff:ff:ff:ff",
        "03:00:00:00:00:01",
    ] {
        let name = unique("macbad");
        let message = session
            .tool_error(
                "run_container",
                json!({"name": name, "spec": run_spec(json!({"mac_address": bad}))}),
            )
            .await;
        assert!(message.contains("mac_address"), "{bad:?}: {message}");
        assert!(!object_exists("container", &name), "{bad:?} created {name}");
    }
}

#[tokio::test]
async fn mac_values_in_yaml_number_forms_are_refused_and_unquoted_octets_stay_text() {
    let session = McpSession::start().await;
    let project = unique("macyaml");
    let _guard = ProjectGuard::new(&project);
    for bad in [
        "1",
        "0x0242ac110002",
        "024217110002",
        "[2, 66, 172, 17, 0, 2]",
    ] {
        let yaml = compose_spec(&format!("    mac_address: {bad}\n"));
        let message = session
            .tool_error("plan", json!({"project": project, "compose_yaml": yaml}))
            .await;
        assert!(message.contains("mac_address"), "{bad}: {message}");
    }
    // Six decimal octets unquoted: YAML 1.1 would read a sexagesimal number; the address must stay as written.
    for (written, kept) in [
        ("12:34:56:12:34:56", "12:34:56:12:34:56"),
        ("02:42:AC:11:00:02", "02:42:ac:11:00:02"),
    ] {
        let yaml = compose_spec(&format!("    mac_address: {written}\n"));
        let (_, plan) = session.plan_yaml(&project, &yaml).await;
        let rendering = plan.str_field("rendering").unwrap();
        assert!(rendering.contains(kept), "{written}: {rendering}");
    }
}

#[tokio::test]
async fn names_cannot_carry_query_parameters_into_the_raw_create() {
    let session = McpSession::start().await;
    let mac = json!({"mac_address": "02:42:ac:1f:00:01"});
    for name in ["a&platform=linux/arm64", "a?name=b", "a#b", "a b", "a%26b"] {
        let message = session
            .tool_error(
                "run_container",
                json!({"name": name, "spec": run_spec(mac.clone())}),
            )
            .await;
        assert!(message.contains("name"), "{name}: {message}");
    }
    let project = unique("macname");
    let _guard = ProjectGuard::new(&project);
    let yaml = compose_spec(
        "    mac_address: \"02:42:ac:1f:00:02\"\n    container_name: \"x&platform=linux/arm64\"\n",
    );
    let message = session
        .tool_error("plan", json!({"project": project, "compose_yaml": yaml}))
        .await;
    assert!(message.contains("container_name"), "{message}");
}

#[tokio::test]
async fn an_engine_error_above_the_answer_bound_reads_as_bollards_does() {
    let session = McpSession::start().await;
    // The engine repeats an unknown log option's key in its error: 70,000 bytes, above the 64 KiB the raw
    // create reads.
    let key = "k".repeat(70_000);
    let logging = json!({"logging": {"driver": "json-file", "options": {key.clone(): "v"}}});
    let name = unique("macbig");
    let plain = run_error(&session, &name, run_spec(logging.clone())).await;
    let mut with_mac = logging;
    with_mac["mac_address"] = json!("02:42:ac:1f:00:03");
    let raw = run_error(&session, &name, run_spec(with_mac)).await;
    assert!(
        plain.contains("unknown log opt"),
        "{}",
        &plain[..300.min(plain.len())]
    );
    assert!(
        raw.contains("unknown log opt") && !raw.to_lowercase().contains("unreachable"),
        "the raw create's error: {}",
        &raw[..600.min(raw.len())]
    );
    assert!(!object_exists("container", &name));
    // The server still serves, with the same engine.
    session.ok("list_containers", json!({})).await;
}

#[tokio::test]
async fn a_name_conflict_through_the_raw_create_reads_as_bollards_and_keeps_the_other_container() {
    let session = McpSession::start().await;
    let name = unique("macdup");
    let made = docker_cli(None, &["create", "--name", &name, IMAGE, "true"]);
    assert!(made.status.success(), "{made:?}");
    let before = inspect_object("container", &name).unwrap()["Id"].clone();
    let plain = run_error(&session, &name, run_spec(json!({}))).await;
    let raw = run_error(
        &session,
        &name,
        run_spec(json!({"mac_address": "02:42:ac:1f:00:04"})),
    )
    .await;
    let after = inspect_object("container", &name).unwrap()["Id"].clone();
    let removed = docker_cli(None, &["rm", "-f", &name]);
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(before, after, "the other container was replaced");
    assert!(plain.contains("already in use"), "{plain}");
    assert_eq!(strip_ids(&raw), strip_ids(&plain));
}

#[tokio::test]
async fn a_platform_the_local_image_lacks_fails_through_the_raw_create_as_through_bollard() {
    let session = McpSession::start().await;
    let name = unique("macplat");
    let other = if cfg!(target_arch = "x86_64") {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    let plain = run_error(&session, &name, run_spec(json!({"platform": other}))).await;
    let raw = run_error(
        &session,
        &name,
        run_spec(json!({"platform": other, "mac_address": "02:42:ac:1f:00:05"})),
    )
    .await;
    assert_eq!(raw, plain);
    assert!(!object_exists("container", &name));
}

/// `text` with 64-hex-digit ids as `ID`.
fn strip_ids(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !(word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit())))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_changed_or_dropped_mac_shows_its_old_value_in_the_plan() {
    let project = unique("macplan");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    session
        .converge(
            &project,
            &compose_spec("    mac_address: \"02:42:ac:1f:01:01\"\n"),
        )
        .await;
    let (_, changed) = session
        .plan_yaml(
            &project,
            &compose_spec("    mac_address: \"02:42:ac:1f:01:02\"\n"),
        )
        .await;
    let rendering = changed.str_field("rendering").unwrap();
    assert!(
        rendering.contains("02:42:ac:1f:01:01") && rendering.contains("02:42:ac:1f:01:02"),
        "{rendering}"
    );
    let (_, dropped) = session.plan_yaml(&project, &compose_spec("")).await;
    assert_eq!(dropped.field("has_changes"), Some(Value::Bool(true)));
    let rendering = dropped.str_field("rendering").unwrap();
    assert!(
        rendering.contains("mac_address") && rendering.contains("02:42:ac:1f:01:01"),
        "{rendering}"
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn a_compose_container_with_a_mac_the_spec_lacks_is_not_imported_as_matching() {
    let project = unique("macfor");
    let _guard = ProjectGuard::new(&project);
    let with_mac = compose_spec("    mac_address: \"02:42:ac:1f:02:01\"\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, &with_mac).unwrap();
    common::engine::compose_up(&project, &file);

    let session = McpSession::start().await;
    let imported = session
        .call(
            "import_project",
            json!({"project": project, "compose_yaml": compose_spec("")}),
        )
        .await
        .unwrap();
    let text = imported.all_text();
    assert!(
        text.contains("mac_address"),
        "the container's fixed MAC is not in the spec, yet it was adopted as matching: {text}"
    );
}

/// Config and HostConfig of `name` without what names or addresses it.
fn created_config(name: &str) -> Value {
    let mut inspected = inspect_object("container", name).unwrap();
    let mut config = inspected["Config"].take();
    for volatile in ["Hostname", "MacAddress"] {
        config.as_object_mut().unwrap().remove(volatile);
    }
    json!({"config": config, "host": inspected["HostConfig"].take()})
}

#[tokio::test]
async fn the_raw_create_sends_what_bollard_sends_for_the_same_spec() {
    let session = McpSession::start().await;
    let spec = run_spec(json!({
        "environment": {"GREETING": "hello", "EMPTY": ""},
        "labels": {"team": "a", "tier": "web"},
        "working_dir": "/tmp",
        "user": "1000:1000",
        "stop_signal": "SIGINT",
        "stop_grace_period": "7s",
        "hostname": "fixed",
        "domainname": "example.test",
        "dns": ["192.0.2.53"],
        "dns_search": ["example.test"],
        "dns_opt": ["ndots:2"],
        "group_add": ["100"],
        "extra_hosts": ["db:192.0.2.9"],
        "tmpfs": ["/run/cache:size=1m"],
        "mem_limit": "64m",
        "cpus": 0.5,
        "pids_limit": 50,
        "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
        "healthcheck": {"test": ["CMD", "true"], "interval": "30s"},
        "read_only": true,
        "cap_drop": ["ALL"],
        "ports": ["127.0.0.1::8080"],
    }));
    let plain = unique("macsame");
    let raw = unique("macsame");
    let mut with_mac = spec.clone();
    with_mac["mac_address"] = json!("02:42:ac:1f:03:01");
    let results = (
        session
            .call("create_container", json!({"name": plain, "spec": spec}))
            .await,
        session
            .call("create_container", json!({"name": raw, "spec": with_mac}))
            .await,
    );
    let configs = (created_config(&plain), created_config(&raw));
    let mac = inspect_object("container", &raw).unwrap()["Config"]["MacAddress"].clone();
    for name in [&plain, &raw] {
        docker_cli(None, &["rm", "-f", name]);
    }
    assert!(!results.0.unwrap().is_error && !results.1.unwrap().is_error);
    assert_eq!(mac, json!("02:42:ac:1f:03:01"));
    assert_eq!(configs.0, configs.1);
}

#[tokio::test]
async fn recreate_and_replace_keep_a_fixed_mac() {
    let session = McpSession::start().await;
    let name = unique("macre");
    let spec = run_spec(json!({"mac_address": "02:42:ac:1f:04:01"}));
    let run = session
        .call("run_container", json!({"name": name, "spec": spec}))
        .await;
    let mut changed = spec.clone();
    changed["environment"] = json!({"ROUND": "2"});
    let recreated = session
        .call(
            "recreate_container",
            json!({"container": name, "spec": changed}),
        )
        .await;
    let inspected = inspect_object("container", &name);
    docker_cli(None, &["rm", "-f", &name]);
    assert!(!run.unwrap().is_error);
    let recreated = recreated.unwrap();
    assert!(!recreated.is_error, "{}", recreated.all_text());
    let inspected = inspected.unwrap();
    assert_eq!(inspected["State"]["Running"], json!(true), "{inspected}");
    assert_eq!(
        inspected["NetworkSettings"]["Networks"]["bridge"]["MacAddress"],
        json!("02:42:ac:1f:04:01")
    );

    let project = unique("macrep");
    let _guard = ProjectGuard::new(&project);
    let mac = "    mac_address: \"02:42:ac:1f:04:02\"\n";
    session.converge(&project, &compose_spec(mac)).await;
    let replaced = format!("{mac}    environment:\n      ROUND: \"2\"\n");
    session.converge(&project, &compose_spec(&replaced)).await;
    let container = format!("{project}-web-1");
    let inspected = inspect_object("container", &container).unwrap();
    assert!(inspected["Config"]["Env"].to_string().contains("ROUND=2"));
    assert_eq!(
        inspected["NetworkSettings"]["Networks"][format!("{project}_default")]["MacAddress"],
        json!("02:42:ac:1f:04:02")
    );
    session.destroy(&project).await;
}

#[tokio::test]
async fn a_mac_with_replicas_or_without_an_interface_of_its_own_is_refused() {
    let session = McpSession::start().await;
    let project = unique("macshare");
    let _guard = ProjectGuard::new(&project);
    let mac = "    mac_address: \"02:42:ac:1f:05:01\"\n";
    for extra in [
        "    scale: 2\n",
        "    deploy:\n      replicas: 2\n",
        "    network_mode: host\n",
        "    network_mode: none\n",
        "    network_mode: \"container:other\"\n",
        "    network_mode: \"service:other\"\n",
    ] {
        let yaml = compose_spec(&format!("{mac}{extra}"));
        let message = session
            .tool_error("plan", json!({"project": project, "compose_yaml": yaml}))
            .await;
        assert!(message.contains("mac_address"), "{extra}: {message}");
    }
    let name = unique("macshare");
    let spec = run_spec(json!({"mac_address": "02:42:ac:1f:05:02", "network_mode": "none"}));
    let message = run_error(&session, &name, spec).await;
    assert!(message.contains("mac_address"), "{message}");
    assert!(!object_exists("container", &name));
}

#[tokio::test]
async fn a_platform_carrying_parameters_or_a_header_stays_one_value_and_a_large_label_set_arrives_whole(
) {
    let session = McpSession::start().await;
    let name = unique("macinj");
    let victim = unique("macinj");
    for platform in [
        format!("linux/amd64&name={victim}"),
        "linux/amd64\r\nX-Injected: 1".to_string(),
        "linux/amd64#".to_string(),
    ] {
        let spec = run_spec(json!({"platform": platform, "mac_address": "02:42:ac:1f:06:01"}));
        let message = run_error(&session, &name, spec).await;
        assert!(message.contains("platform"), "{platform:?}: {message}");
        assert!(!object_exists("container", &name) && !object_exists("container", &victim));
    }
    let labels: serde_json::Map<String, Value> = (0..2_000)
        .map(|i| (format!("attack.label.{i}"), json!("v".repeat(100))))
        .collect();
    let spec = run_spec(json!({"labels": labels, "mac_address": "02:42:ac:1f:06:02"}));
    let created = session
        .call("create_container", json!({"name": name, "spec": spec}))
        .await;
    let inspected = inspect_object("container", &name);
    docker_cli(None, &["rm", "-f", &name]);
    let created = created.unwrap();
    assert!(!created.is_error, "{}", created.all_text());
    let inspected = inspected.unwrap();
    let live = inspected["Config"]["Labels"].as_object().unwrap();
    assert_eq!(
        live.keys()
            .filter(|k| k.starts_with("attack.label."))
            .count(),
        2_000
    );
}
