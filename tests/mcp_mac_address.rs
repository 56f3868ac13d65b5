//! `mac_address` through the MCP client against the real engine (API 1.41 takes it only as the container
//! config's `MacAddress`, which the server sends outside bollard's model): a plan creates the container with
//! that address, the next plan is "No changes", a new address replaces the container, the primitive
//! `run_container` tool sets it too, a compose project with one is imported as matching (and a new address then replaces it), and a malformed
//! address is refused naming the field.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{compose_up_yaml, inspect_object, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;

fn spec(mac: &str) -> String {
    format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         mac_address: \"{mac}\"\n"
    )
}

/// The MAC address of `container` on `network`.
fn mac_on(container: &str, network: &str) -> Value {
    let inspected = inspect_object("container", container).unwrap();
    inspected["NetworkSettings"]["Networks"][network]["MacAddress"].clone()
}

#[tokio::test]
async fn a_plan_sets_the_mac_address_keeps_it_and_replaces_the_container_when_it_changes() {
    let project = unique("mac");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let container = format!("{project}-web-1");
    let network = format!("{project}_default");

    session.converge(&project, &spec("02:42:AC:1E:00:07")).await;
    assert_eq!(mac_on(&container, &network), json!("02:42:ac:1e:00:07"));

    let (_, again) = session
        .plan_yaml(&project, &spec("02:42:ac:1e:00:07"))
        .await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "the same address in another case is no change: {}",
        again.all_text()
    );

    let (_, changed) = session
        .plan_yaml(&project, &spec("02:42:ac:1e:00:08"))
        .await;
    let rendering = changed.str_field("rendering").unwrap();
    assert!(
        rendering.contains("mac_address") && rendering.contains("02:42:ac:1e:00:08"),
        "{rendering}"
    );
    session.converge(&project, &spec("02:42:ac:1e:00:08")).await;
    assert_eq!(mac_on(&container, &network), json!("02:42:ac:1e:00:08"));

    session.destroy(&project).await;
}

#[tokio::test]
async fn run_container_sets_the_mac_address_and_a_bad_one_names_the_field() {
    let session = McpSession::start().await;
    let name = unique("macrun");
    let run = session
        .call(
            "run_container",
            json!({"name": name, "spec": {"image": IMAGE, "init": true, "command": ["sleep", "60"], "mac_address": "02:42:ac:1e:01:02"}}),
        )
        .await;
    let mac = mac_on(&name, "bridge");
    let removed = common::engine::docker_cli(None, &["rm", "-f", &name]);
    assert!(removed.status.success(), "{removed:?}");
    run.unwrap();
    assert_eq!(mac, json!("02:42:ac:1e:01:02"));

    let message = session
        .tool_error(
            "run_container",
            json!({"spec": {"image": IMAGE, "mac_address": "02:42:ac:1e:01"}}),
        )
        .await;
    assert!(
        message.contains("mac_address") && message.contains("not a MAC address"),
        "{message}"
    );
}

#[tokio::test]
async fn a_compose_project_with_a_mac_address_is_imported_as_matching() {
    let project = unique("macimp");
    let _guard = ProjectGuard::new(&project);
    let yaml = spec("02:42:ac:1e:02:03");
    let _dir = compose_up_yaml(&project, &yaml);
    let session = McpSession::start().await;
    session.import_unchanged(&project, &yaml).await;
    let (_, other) = session
        .plan_yaml(&project, &spec("02:42:ac:1e:02:04"))
        .await;
    let rendering = other.str_field("rendering").unwrap();
    assert!(
        rendering.contains("mac_address"),
        "a different address replaces the adopted container: {rendering}"
    );
    session.destroy(&project).await;
}

/// The attack: a client gives its container the MAC address of a container it does not own, so the bridge
/// sends the victim's traffic to it. Both the plan and the primitive tools refuse, naming the holder.
#[tokio::test]
async fn a_mac_address_another_container_uses_is_refused_by_plan_and_run_container() {
    let victim = unique("macvictim");
    let started = common::engine::docker_cli(
        None,
        &[
            "run", "-d", "--init", "--name", &victim, IMAGE, "sleep", "60",
        ],
    );
    assert!(started.status.success(), "{started:?}");
    // The engine's own address for it on the default bridge.
    let mac = mac_on(&victim, "bridge").as_str().unwrap().to_string();
    let project = unique("macthief");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let yaml = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"60\"]\n    \
         network_mode: bridge\n    mac_address: \"{}\"\n",
        mac.to_uppercase()
    );
    let refused = session
        .tool_error("plan", json!({"project": project, "compose_yaml": yaml}))
        .await;
    let run = session
        .tool_error(
            "run_container",
            json!({"spec": {"image": IMAGE, "mac_address": mac}}),
        )
        .await;
    let removed = common::engine::docker_cli(None, &["rm", "-f", &victim]);
    assert!(removed.status.success(), "{removed:?}");
    for message in [&refused, &run] {
        assert!(
            message.contains("mac_address") && message.contains(&victim),
            "{message}"
        );
    }
}
