//! Snapshot tests of plan renderings (insta), plus the wordpress line budget and masking checks.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod diff_support;

use diff_support::*;
use planner::model::{EnvValue, NetworkSpec, RestartPolicy};
use planner::observed::ContainerState;
use planner::plan::{ExternalDigests, PlanOptions};
use planner::render::{plan_schema, render};

fn render_plan(
    desired: &planner::Project,
    observed: &planner::ObservedState,
    last: Option<&planner::Project>,
) -> String {
    render(&plan_simple(desired, observed, last))
}

fn with_options(
    desired: &planner::Project,
    observed: &planner::ObservedState,
    last: Option<&planner::Project>,
    options: PlanOptions,
) -> String {
    render(&planner::diff::plan(
        desired,
        observed,
        last,
        &ExternalDigests::default(),
        options,
    ))
}

#[test]
fn new_project() {
    insta::assert_snapshot!(render_plan(&demo(), &empty_observed("demo"), None));
}

#[test]
fn wordpress_new_fits_in_40_lines() {
    let text = render_plan(&wordpress(), &empty_observed("wp"), None);
    assert!(
        text.lines().count() <= 40,
        "{} lines:\n{text}",
        text.lines().count()
    );
    assert!(!text.contains("somewordpress"));
    insta::assert_snapshot!(text);
}

#[test]
fn no_changes() {
    let desired = demo();
    let observed = observed_matching(&desired, &ExternalDigests::default());
    insta::assert_snapshot!(render_plan(&desired, &observed, Some(&desired)));
}

#[test]
fn changed_image_replace() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.services.get_mut("web").unwrap().image = "nginx:1.28".into();
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

#[test]
fn changed_env() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    env(web, "DB_HOST", "postgres");
    env(web, "LOG_LEVEL", "debug");
    web.environment.remove("UNUSED");
    web.command = Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]);
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

#[test]
fn multi_line_value_is_diffed_line_by_line() {
    let mut before = demo();
    env(
        before.services.get_mut("web").unwrap(),
        "NGINX_CONF",
        "server {\n  listen 80;\n  root /www;\n}\n",
    );
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    env(
        after.services.get_mut("web").unwrap(),
        "NGINX_CONF",
        "server {\n  listen 8080;\n  root /www;\n}\n",
    );
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

#[test]
fn stopped() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    observed
        .containers
        .iter_mut()
        .find(|c| c.service == "db")
        .unwrap()
        .state = ContainerState::Exited;
    insta::assert_snapshot!(render_plan(&desired, &observed, Some(&desired)));
}

#[test]
fn missing() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    observed.containers.retain(|c| c.service != "web");
    insta::assert_snapshot!(render_plan(&desired, &observed, Some(&desired)));
}

/// The demo project's containers plus a `cache` container that carries the project's labels.
fn observed_with_cache() -> planner::ObservedState {
    let mut labelled = demo();
    labelled.services.insert("cache".into(), service("redis:7"));
    observed_matching(&labelled, &ExternalDigests::default())
}

#[test]
fn orphan_listed_not_removed() {
    // The record never held `cache`: an orphan, listed, and the plan does not read "No changes".
    let text = render_plan(&demo(), &observed_with_cache(), Some(&demo()));
    assert!(!text.contains("No changes"), "{text}");
    assert!(text.contains("remove_orphans: true"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn orphan_removed() {
    let options = PlanOptions {
        remove_orphans: true,
        remove_volumes: false,
    };
    insta::assert_snapshot!(with_options(
        &demo(),
        &observed_with_cache(),
        Some(&demo()),
        options
    ));
}

#[test]
fn service_removed_from_the_spec_is_deleted() {
    let mut before = demo();
    before.services.insert("cache".into(), service("redis:7"));
    let text = render_plan(&demo(), &observed_with_cache(), Some(&before));
    assert!(text.contains("demo-cache-1 will be destroyed: removed from the spec"));
    insta::assert_snapshot!(text);
}

#[test]
fn volume_removed_from_the_spec_is_kept_and_said_so() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = demo();
    after.services.get_mut("db").unwrap().mounts.clear();
    after.volumes.clear();
    let text = render_plan(&after, &observed, Some(&before));
    assert!(!text.contains("volume \"demo_data\" (removed"), "{text}");
    assert!(text.contains("kept with its data"), "{text}");
    assert_eq!(text.matches("kept with its data").count(), 1, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn volume_delete_with_warning() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let empty = project("demo", vec![]);
    let options = PlanOptions {
        remove_orphans: true,
        remove_volumes: true,
    };
    insta::assert_snapshot!(with_options(&empty, &observed, Some(&before), options));
}

#[test]
fn update_in_place() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    web.restart = RestartPolicy::OnFailure(Some(3));
    web.resources.nano_cpus = Some(500_000_000);
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

#[test]
fn scale_up() {
    let one = demo();
    let observed = observed_matching(&one, &ExternalDigests::default());
    let mut three = one.clone();
    three.services.get_mut("web").unwrap().replicas = 3;
    insta::assert_snapshot!(render_plan(&three, &observed, Some(&one)));
}

#[test]
fn scale_down() {
    let mut three = demo();
    three.services.get_mut("web").unwrap().replicas = 3;
    let observed = observed_matching(&three, &ExternalDigests::default());
    insta::assert_snapshot!(render_plan(&demo(), &observed, Some(&three)));
}

#[test]
fn network_replace() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.networks.insert(
        "default".into(),
        NetworkSpec {
            internal: true,
            ..NetworkSpec::default()
        },
    );
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

#[test]
fn secret_masking() {
    let mut before = demo();
    let web = before.services.get_mut("web").unwrap();
    env(web, "API_TOKEN", "tok-old-123");
    env(web, "session_secret", "s3cr3t-old");
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    env(web, "API_TOKEN", "tok-new-456");
    env(web, "session_secret", "s3cr3t-new");
    env(web, "Aws_Access_Key", "AKIA-NEW");
    web.environment.insert(
        "DB_PASSWORD".into(),
        EnvValue::Secret {
            secret: "db_password".into(),
        },
    );
    let text = render_plan(&after, &observed, Some(&before));
    for value in [
        "tok-old-123",
        "tok-new-456",
        "s3cr3t-old",
        "s3cr3t-new",
        "AKIA-NEW",
        "hunter2",
    ] {
        assert!(!text.contains(value), "{value} leaked:\n{text}");
    }
    assert!(text.contains("(secret db_password)"));
    insta::assert_snapshot!(text);
}

#[test]
fn new_project_with_secret_env_never_shows_values() {
    let mut desired = demo();
    env(
        desired.services.get_mut("web").unwrap(),
        "API_TOKEN",
        "tok-123",
    );
    let text = render_plan(&desired, &empty_observed("demo"), None);
    assert!(!text.contains("tok-123") && !text.contains("hunter2"));
}

/// One key per fragment of the sensitive-key rule, in mixed case, with a value that must never show.
fn sensitive_keys() -> Vec<(String, String)> {
    planner::sensitive::SENSITIVE_FRAGMENTS
        .iter()
        .map(|fragment| (format!("App_{fragment}_x"), format!("leak-{fragment}")))
        .chain([("DB_PASSWD".to_string(), "leak-db-passwd".to_string())])
        .collect()
}

#[test]
fn every_sensitive_fragment_is_masked_in_create() {
    let mut desired = demo();
    let web = desired.services.get_mut("web").unwrap();
    for (key, value) in sensitive_keys() {
        env(web, &key, &value);
    }
    let text = render_plan(&desired, &empty_observed("demo"), None);
    assert!(!text.contains("leak-"), "a value leaked:\n{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn every_sensitive_fragment_is_masked_in_update() {
    let mut before = demo();
    let web = before.services.get_mut("web").unwrap();
    for (key, value) in sensitive_keys() {
        env(web, &key, &format!("{value}-old"));
    }
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    for (key, value) in sensitive_keys() {
        env(web, &key, &format!("{value}-new"));
    }
    let text = render_plan(&after, &observed, Some(&before));
    assert!(!text.contains("leak-"), "a value leaked:\n{text}");
    assert!(
        text.contains("DB_PASSWD: (sensitive) -> (sensitive)"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn schema_describes_the_plan() {
    let schema = plan_schema();
    let text = schema.to_string();
    for word in [
        "actions",
        "waves",
        "fingerprint",
        "summary",
        "replace",
        "forces_replacement",
    ] {
        assert!(text.contains(word), "schema lacks {word}");
    }
}

#[test]
fn image_builds_and_pull_policies() {
    use planner::model::{BuildSpec, PullPolicy};
    let mut desired = demo();
    let web = desired.services.get_mut("web").unwrap();
    web.image = "demo-web".into();
    web.build = Some(BuildSpec {
        context: "/srv/demo/web".into(),
        dockerfile: "Dockerfile".into(),
        target: None,
        args: Default::default(),
        labels: Default::default(),
        no_cache: false,
        pull: false,
    });
    desired.services.get_mut("db").unwrap().pull_policy = PullPolicy::Always;
    let mut cache = service("redis:7");
    cache.pull_policy = PullPolicy::Never;
    desired.services.insert("cache".into(), cache);
    let mut observed = observed_matching(&demo(), &ExternalDigests::default());
    observed.images_present.remove("nginx:1.27");
    insta::assert_snapshot!(render_plan(&desired, &observed, Some(&demo())));
}

#[test]
fn multi_line_command_script() {
    let mut before = demo();
    before.services.get_mut("web").unwrap().command = Some(vec![
        "sh".into(),
        "-c".into(),
        "set -e\nmkdir -p /www\nhttpd -f -p 80 -h /www\n".into(),
    ]);
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.services.get_mut("web").unwrap().command = Some(vec![
        "sh".into(),
        "-c".into(),
        "set -e\nmkdir -p /www\necho ok > /www/index.html\nhttpd -f -p 8080 -h /www\n".into(),
    ]);
    insta::assert_snapshot!(render_plan(&after, &observed, Some(&before)));
}

/// Every allowed widening of host access a service may hold, for the create and replace renderings.
fn widen(web: &mut planner::model::ServiceSpec) {
    web.privileged = true;
    web.network_mode = Some("host".into());
    web.pid = Some("host".into());
    web.security_opt = vec!["seccomp=unconfined".into()];
    web.cap_add = vec!["NET_ADMIN".into()];
    web.devices = vec!["/dev/fuse:/dev/fuse:rwm".into()];
    web.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
    web.logging = Some(planner::model::Logging {
        driver: "syslog".into(),
        options: Default::default(),
    });
    web.mounts.push(planner::model::Mount {
        kind: planner::model::MountKind::Bind,
        source: Some("/srv/app".into()),
        target: "/app".into(),
        read_only: false,
    });
}

#[test]
fn create_shows_every_widening() {
    let mut desired = demo();
    widen(desired.services.get_mut("web").unwrap());
    let text = render_plan(&desired, &empty_observed("demo"), None);
    for field in [
        "privileged: true  # widens",
        "network_mode: \"host\"  # widens",
        "pid: \"host\"  # widens",
        "security_opt: [\"seccomp=unconfined\"]  # widens",
        "cap_add: [\"NET_ADMIN\"]  # widens",
        "devices: [",
        "entrypoint: [\"/bin/sh\", \"-c\"]",
        "logging.driver: \"syslog\"  # widens",
        "/srv/app:/app\"]  # widens",
    ] {
        assert!(text.contains(field), "`{field}` missing:\n{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn replace_shows_every_widening() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    widen(after.services.get_mut("web").unwrap());
    let text = render_plan(&after, &observed, Some(&before));
    for field in [
        "privileged",
        "network_mode",
        "pid",
        "security_opt",
        "cap_add",
        "devices",
        "logging.driver",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!(" {field}: ")) && l.ends_with("widens host access")),
            "`{field}` not flagged:\n{text}"
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn create_shows_env_values_labels_expose_and_secret_references() {
    let mut desired = demo();
    let web = desired.services.get_mut("web").unwrap();
    env(web, "GREETING", "hello");
    web.environment.insert(
        "DB_PASSWORD".into(),
        EnvValue::Secret {
            secret: "db_password".into(),
        },
    );
    env(web, "API_TOKEN", "tok-123");
    web.labels.insert("team".into(), "shop".into());
    web.expose = vec!["8080".into()];
    web.entrypoint = Some(vec!["/docker-entrypoint.sh".into()]);
    web.resources.memory_bytes = Some(64 * 1024 * 1024);
    web.stop_grace_period_secs = Some(90);
    let text = render_plan(&desired, &empty_observed("demo"), None);
    for line in [
        "+ environment.GREETING: \"hello\"",
        "+ environment.DB_PASSWORD: (secret db_password)",
        "+ environment.API_TOKEN: (sensitive)",
        "+ labels.team: \"shop\"",
        "+ expose: [\"8080\"]",
        "+ entrypoint: [\"/docker-entrypoint.sh\"]",
        "+ mem_limit: \"64MiB\"",
        "+ stop_grace_period: \"1m30s\"",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(!text.contains("tok-123"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn nested_values_change_field_by_field() {
    use planner::model::{Healthcheck, Logging, Ulimit};
    let mut before = demo();
    let web = before.services.get_mut("web").unwrap();
    web.healthcheck = Some(Healthcheck {
        test: vec!["CMD".into(), "true".into()],
        interval_ns: Some(10_000_000_000),
        timeout_ns: Some(5_000_000_000),
        retries: Some(3),
        start_period_ns: None,
    });
    web.logging = Some(Logging {
        driver: "json-file".into(),
        options: [("max-size".to_string(), "10m".to_string())].into(),
    });
    web.ulimits.insert(
        "nofile".into(),
        Ulimit {
            soft: 1024,
            hard: 2048,
        },
    );
    web.resources.memory_bytes = Some(64 * 1024 * 1024);
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    if let Some(check) = web.healthcheck.as_mut() {
        check.interval_ns = Some(90_000_000_000);
    }
    if let Some(logging) = web.logging.as_mut() {
        logging.options.insert("max-size".into(), "20m".into());
    }
    web.ulimits.insert(
        "nofile".into(),
        Ulimit {
            soft: 4096,
            hard: 2048,
        },
    );
    web.resources.memory_bytes = Some(128 * 1024 * 1024);
    let text = render_plan(&after, &observed, Some(&before));
    for line in [
        "~ healthcheck.interval: \"10s\" -> \"1m30s\"",
        "~ logging.options.max-size: \"10m\" -> \"20m\"",
        "~ ulimits.nofile.soft: 1024 -> 4096",
        "~ mem_limit: \"64MiB\" -> \"128MiB\"",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(!text.contains("healthcheck.test"), "{text}");
    assert!(!text.contains("ulimits.nofile.hard"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn thirty_replicas_render_once_with_their_names() {
    let mut desired = project("shop", vec![("web", service("nginx:1.27"))]);
    desired.services.get_mut("web").unwrap().replicas = 30;
    let text = render_plan(&desired, &empty_observed("shop"), None);
    assert!(
        text.contains("+ container × 30: \"shop-web-1\" … \"shop-web-30\""),
        "{text}"
    );
    assert_eq!(text.matches("+ image: \"nginx:1.27\"").count(), 1, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn each_warning_shows_once() {
    let mut desired = demo();
    desired.warnings.push("key `x` is ignored".into());
    let text = render_plan(&desired, &empty_observed("demo"), None);
    assert_eq!(text.matches("key `x` is ignored").count(), 1, "{text}");
}

#[test]
fn a_literal_shaped_like_a_marker_is_not_taken_for_one() {
    let mut desired = demo();
    let web = desired.services.get_mut("web").unwrap();
    env(web, "FAKE_REF", "(secret db_password)");
    env(web, "FAKE_MASK", "(sensitive)");
    let text = render_plan(&desired, &empty_observed("demo"), None);
    assert!(
        !text.contains("FAKE_REF: (secret db_password)"),
        "a literal reads as a secret reference:\n{text}"
    );
    assert!(
        !text.contains("FAKE_MASK: (sensitive)"),
        "a literal reads as masked:\n{text}"
    );
    assert!(
        text.contains(r#"FAKE_REF: "\"(secret db_password)\"""#),
        "{text}"
    );
}

#[test]
fn impact_names_downtime_and_new_exposure_with_its_interfaces() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    web.image = "nginx:1.28".into();
    port(web, 8443, 443);
    let db = after.services.get_mut("db").unwrap();
    db.image = "postgres:17".into();
    db.ports.push(planner::model::PortBinding {
        target: 5432,
        published: Some(5432),
        host_ip: Some("127.0.0.1".into()),
        protocol: planner::model::Protocol::Tcp,
    });
    let plan = plan_simple(&after, &observed, Some(&before));
    let impact = planner::render::impact_lines(&plan);
    // The port web published before (9000) is no new exposure; the two added ones are, with their interfaces.
    assert!(!impact.iter().any(|l| l.contains("9000")), "{impact:?}");
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn a_stopped_container_replaced_or_removed_costs_no_downtime() {
    let before = demo();
    let mut observed = observed_matching(&before, &ExternalDigests::default());
    for container in &mut observed.containers {
        container.state = ContainerState::Exited;
    }
    let mut after = before.clone();
    after.services.get_mut("web").unwrap().image = "nginx:1.28".into();
    after.services.remove("db");
    let plan = plan_simple(&after, &observed, Some(&before));
    assert!(plan.has_changes());
    let impact = planner::render::impact_lines(&plan);
    assert!(!impact.iter().any(|l| l.contains("downtime")), "{impact:?}");
}
