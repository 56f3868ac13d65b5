//! The diff cases: new, unchanged, changed image, changed env, stopped, missing, orphan, volume, update in
//! place, scaling, network replace, secrets, builds, pull policies and resources that are not ours.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod diff_support;

use diff_support::*;
use planner::diff;
use planner::model::{
    BuildSpec, DependsCondition, EnvValue, NetworkSpec, PullPolicy, RestartPolicy,
};
use planner::naming;
use planner::observed::ContainerState;
use planner::plan::{ExternalDigests, FieldChange, Op, PlanOptions, ResourceKind, Target};

#[test]
fn new_project_creates_everything() {
    let desired = demo();
    let plan = plan_simple(&desired, &empty_observed("demo"), None);
    assert_eq!(
        ops(&plan),
        vec![
            (ResourceKind::Image, "nginx:1.27".into(), Op::Pull),
            (ResourceKind::Image, "postgres:16".into(), Op::Pull),
            (ResourceKind::Network, "demo_default".into(), Op::Create),
            (ResourceKind::Volume, "demo_data".into(), Op::Create),
            (ResourceKind::Container, "demo-db-1".into(), Op::Create),
            (ResourceKind::Container, "demo-web-1".into(), Op::Create),
        ]
    );
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (6, 0, 0)
    );
    let web = action(&plan, "demo-web-1");
    let Some(Target::Container(target)) = &web.target else {
        panic!("web has no container target")
    };
    assert_eq!(
        target.network_names.get("default").map(String::as_str),
        Some("demo_default")
    );
    assert_eq!(target.wait_for.len(), 1);
    assert_eq!(target.wait_for[0].container, "demo-db-1");
    assert_eq!(
        target
            .labels
            .get(naming::LABEL_MANAGED_BY)
            .map(String::as_str),
        Some("demo")
    );
    assert_eq!(
        target.labels.get(naming::LABEL_NUMBER).map(String::as_str),
        Some("1")
    );
    assert_eq!(
        target.labels.get(naming::LABEL_CONFIG_HASH),
        Some(&target.config_hash)
    );
    assert_eq!(
        target
            .labels
            .get(naming::LABEL_DEPENDS_ON)
            .map(String::as_str),
        Some("db:service_started:false")
    );
    let db = action(&plan, "demo-db-1");
    let Some(Target::Container(db_target)) = &db.target else {
        panic!("db has no container target")
    };
    assert_eq!(
        db_target.volume_names.get("data").map(String::as_str),
        Some("demo_data")
    );
    assert!(web.depends_on.contains(&db.id));
    assert!(plan.has_changes());
}

#[test]
fn unchanged_project_is_all_no_ops() {
    let desired = demo();
    let observed = observed_matching(&desired, &ExternalDigests::default());
    let plan = plan_simple(&desired, &observed, Some(&desired));
    assert!(!plan.has_changes(), "{:#?}", plan.actions);
    assert!(plan.actions.iter().all(|a| a.op == Op::NoOp));
    assert!(plan.waves.is_empty());
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (0, 0, 0)
    );
    assert_eq!(
        action(&plan, "demo-web-1").existing_id.as_deref(),
        Some("id-demo-web-1")
    );
}

#[test]
fn changed_image_replaces_only_that_service_and_explains_it() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.services.get_mut("web").unwrap().image = "nginx:1.28".into();
    let plan = plan_simple(&after, &observed, Some(&before));
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert_eq!(web.existing_id.as_deref(), Some("id-demo-web-1"));
    assert_eq!(
        web.changes,
        vec![FieldChange {
            path: "image".into(),
            before: Some("nginx:1.27".into()),
            after: Some("nginx:1.28".into()),
            forces_replacement: true
        }]
    );
    assert_eq!(web.reason.as_deref(), Some("image changed"));
    assert_eq!(action(&plan, "demo-db-1").op, Op::NoOp);
    let pull = action(&plan, "nginx:1.28");
    assert_eq!(pull.op, Op::Pull);
    assert!(web.depends_on.contains(&pull.id));
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (1, 1, 0)
    );
}

#[test]
fn changed_env_replaces_only_that_service() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    env(
        after.services.get_mut("web").unwrap(),
        "DB_HOST",
        "postgres",
    );
    let plan = plan_simple(&after, &observed, Some(&before));
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert_eq!(web.changes.len(), 1);
    assert_eq!(web.changes[0].path, "environment.DB_HOST");
    assert_eq!(web.changes[0].after.as_deref(), Some("postgres"));
    assert_eq!(action(&plan, "demo-db-1").op, Op::NoOp);
    assert_eq!(action(&plan, "demo_default").op, Op::NoOp);
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (0, 1, 0)
    );
}

#[test]
fn secret_looking_env_changes_are_masked() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    env(
        after.services.get_mut("db").unwrap(),
        "POSTGRES_PASSWORD",
        "correct horse",
    );
    let plan = plan_simple(&after, &observed, Some(&before));
    let db = action(&plan, "demo-db-1");
    assert_eq!(db.op, Op::Replace);
    assert_eq!(db.changes[0].before.as_deref(), Some("(sensitive)"));
    assert_eq!(db.changes[0].after.as_deref(), Some("(sensitive)"));
    let text = serde_json::to_string(&db.changes).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("correct horse"));
}

#[test]
fn changed_secret_digest_replaces_without_showing_the_value() {
    let mut before = demo();
    before.services.get_mut("web").unwrap().environment.insert(
        "API_KEY".into(),
        EnvValue::Secret {
            secret: "api".into(),
        },
    );
    let old = ExternalDigests {
        secrets: [("api".into(), "digest-1".into())].into(),
        ..Default::default()
    };
    let new = ExternalDigests {
        secrets: [("api".into(), "digest-2".into())].into(),
        ..Default::default()
    };
    let observed = observed_matching(&before, &old);
    let unchanged = diff::plan(
        &before,
        &observed,
        Some(&before),
        &old,
        PlanOptions::default(),
    );
    assert!(!unchanged.has_changes());
    let plan = diff::plan(
        &before,
        &observed,
        Some(&before),
        &new,
        PlanOptions::default(),
    );
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert_eq!(web.reason.as_deref(), Some("a secret's value changed"));
    assert!(web.changes.is_empty());
    assert_eq!(action(&plan, "demo-db-1").op, Op::NoOp);
}

#[test]
fn replace_without_last_applied_says_the_hash_changed() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.services.get_mut("web").unwrap().image = "nginx:1.28".into();
    let plan = plan_simple(&after, &observed, None);
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert!(web
        .reason
        .as_deref()
        .unwrap()
        .contains("config hash changed"));
}

#[test]
fn stopped_container_is_started() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    observed
        .containers
        .iter_mut()
        .find(|c| c.service == "db")
        .unwrap()
        .state = ContainerState::Exited;
    let plan = plan_simple(&desired, &observed, Some(&desired));
    let db = action(&plan, "demo-db-1");
    assert_eq!(db.op, Op::Start);
    assert_eq!(db.existing_id.as_deref(), Some("id-demo-db-1"));
    assert_eq!(action(&plan, "demo-web-1").op, Op::NoOp);
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (0, 1, 0)
    );
}

#[test]
fn missing_container_is_created_with_a_reason() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    observed.containers.retain(|c| c.service != "web");
    let plan = plan_simple(&desired, &observed, Some(&desired));
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Create);
    assert!(web.reason.as_deref().unwrap().contains("missing"));
    // The image is present, so nothing is pulled.
    assert_eq!(plan.actions.iter().filter(|a| a.op == Op::Pull).count(), 0);
}

#[test]
fn a_service_removed_from_the_spec_is_deleted() {
    let mut before = demo();
    before.services.insert("cache".into(), service("redis:7"));
    let observed = observed_matching(&before, &ExternalDigests::default());
    let after = demo();
    let plan = plan_simple(&after, &observed, Some(&before));
    let cache = action(&plan, "demo-cache-1");
    assert_eq!(cache.op, Op::Delete);
    assert_eq!(cache.reason.as_deref(), Some(diff::REMOVED_FROM_SPEC));
    assert_eq!(cache.existing_id.as_deref(), Some("id-demo-cache-1"));
    assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    assert_eq!(plan.summary.destroy, 1);
}

#[test]
fn orphans_are_listed_and_deleted_only_when_asked() {
    let mut labelled = demo();
    labelled.services.insert("cache".into(), service("redis:7"));
    let observed = observed_matching(&labelled, &ExternalDigests::default());
    let after = demo();
    // The record never held `cache`: its container is an orphan, not a removal.
    let plan = plan_simple(&after, &observed, Some(&after));
    assert!(!plan.has_changes());
    assert_eq!(plan.orphans.len(), 1);
    assert_eq!(plan.orphans[0].name, "demo-cache-1");
    let plan = diff::plan(
        &after,
        &observed,
        Some(&after),
        &ExternalDigests::default(),
        PlanOptions {
            remove_orphans: true,
            remove_volumes: false,
        },
    );
    let cache = action(&plan, "demo-cache-1");
    assert_eq!(cache.op, Op::Delete);
    assert_eq!(cache.existing_id.as_deref(), Some("id-demo-cache-1"));
    assert_eq!(plan.summary.destroy, 1);
}

#[test]
fn a_network_removed_from_the_spec_is_deleted() {
    let mut before = demo();
    before
        .networks
        .insert("extra".into(), planner::model::NetworkSpec::default());
    let observed = observed_matching(&before, &ExternalDigests::default());
    let plan = plan_simple(&demo(), &observed, Some(&before));
    let extra = plan
        .actions
        .iter()
        .find(|a| a.resource.kind == ResourceKind::Network && a.resource.key == "extra")
        .unwrap();
    assert_eq!(extra.op, Op::Delete);
    assert_eq!(extra.reason.as_deref(), Some(diff::REMOVED_FROM_SPEC));
}

#[test]
fn volumes_are_deleted_only_with_remove_volumes_and_said_so() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = demo();
    let db = after.services.get_mut("db").unwrap();
    db.mounts.clear();
    after.volumes.clear();
    let keep = diff::plan(
        &after,
        &observed,
        Some(&before),
        &ExternalDigests::default(),
        PlanOptions {
            remove_orphans: true,
            remove_volumes: false,
        },
    );
    assert!(keep
        .actions
        .iter()
        .all(|a| a.resource.kind != ResourceKind::Volume));
    // The record held the volume: it is no orphan, and the plan says it is kept and how to delete it.
    assert!(keep.orphans.is_empty(), "{:?}", keep.orphans);
    assert_eq!(keep.kept_volumes.len(), 1, "{:?}", keep.kept_volumes);
    assert!(planner::render::impact_lines(&keep)
        .iter()
        .any(|line| line.contains("demo_data")
            && line.contains("kept")
            && line.contains("remove_volume tool")));
    let remove = diff::plan(
        &after,
        &observed,
        Some(&before),
        &ExternalDigests::default(),
        PlanOptions {
            remove_orphans: false,
            remove_volumes: true,
        },
    );
    let volume = action(&remove, "demo_data");
    assert_eq!(volume.op, Op::Delete);
    // The data loss is the delete's impact, said once there and not again as a warning.
    assert!(planner::render::impact_lines(&remove)
        .iter()
        .any(|line| line.contains("demo_data") && line.contains("data loss")));
    assert!(!remove.warnings.iter().any(|w| w.contains("demo_data")));
    // The volume goes only after the container using it was replaced.
    let db = action(&remove, "demo-db-1");
    assert_eq!(db.op, Op::Replace);
    assert!(volume.depends_on.contains(&db.id));
}

#[test]
fn restart_and_limits_are_updated_in_place() {
    let before = demo();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    let web = after.services.get_mut("web").unwrap();
    web.restart = RestartPolicy::UnlessStopped;
    web.resources.memory_bytes = Some(256 * 1024 * 1024);
    let plan = plan_simple(&after, &observed, Some(&before));
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::UpdateInPlace);
    assert_eq!(web.existing_id.as_deref(), Some("id-demo-web-1"));
    let paths: Vec<&str> = web.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["restart", "mem_limit"]);
    assert!(web.changes.iter().all(|c| !c.forces_replacement));
    assert_eq!(action(&plan, "demo-db-1").op, Op::NoOp);
}

#[test]
fn scaling_up_creates_and_down_deletes_the_highest_numbers() {
    let one = demo();
    let observed = observed_matching(&one, &ExternalDigests::default());
    let mut three = one.clone();
    three.services.get_mut("web").unwrap().replicas = 3;
    let up = plan_simple(&three, &observed, Some(&one));
    assert_eq!(action(&up, "demo-web-1").op, Op::NoOp);
    assert_eq!(action(&up, "demo-web-2").op, Op::Create);
    assert_eq!(action(&up, "demo-web-3").op, Op::Create);
    assert!(action(&up, "demo-web-3")
        .reason
        .as_deref()
        .unwrap()
        .contains("scaled up from 1 to 3"));
    assert_eq!(up.summary.add, 2);

    let observed = observed_matching(&three, &ExternalDigests::default());
    let down = plan_simple(&one, &observed, Some(&three));
    assert_eq!(action(&down, "demo-web-1").op, Op::NoOp);
    assert_eq!(action(&down, "demo-web-2").op, Op::Delete);
    assert_eq!(action(&down, "demo-web-3").op, Op::Delete);
    assert_eq!(
        (down.summary.add, down.summary.change, down.summary.destroy),
        (0, 0, 2)
    );
    assert!(down.orphans.is_empty());
}

#[test]
fn a_changed_network_is_recreated_with_its_containers() {
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
    let plan = plan_simple(&after, &observed, Some(&before));
    let find = |name: &str, op: Op| {
        plan.actions
            .iter()
            .find(|a| a.resource.name == name && a.op == op)
            .unwrap_or_else(|| panic!("no {op:?} of {name}"))
    };
    let delete_net = find("demo_default", Op::Delete);
    let create_net = find("demo_default", Op::Create);
    assert_eq!(delete_net.existing_id.as_deref(), Some("net-demo_default"));
    assert!(create_net.depends_on.contains(&delete_net.id));
    for name in ["demo-web-1", "demo-db-1"] {
        let delete = find(name, Op::Delete);
        let create = find(name, Op::Create);
        assert!(delete_net.depends_on.contains(&delete.id), "{name}");
        assert!(create.depends_on.contains(&create_net.id), "{name}");
        assert!(create.depends_on.contains(&delete.id), "{name}");
    }
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (3, 0, 3)
    );
}

#[test]
fn external_networks_get_no_actions_but_are_attached() {
    let mut desired = demo();
    desired.networks.insert(
        "default".into(),
        NetworkSpec {
            external: true,
            name: Some("shared-net".into()),
            ..NetworkSpec::default()
        },
    );
    let plan = plan_simple(&desired, &empty_observed("demo"), None);
    assert!(plan
        .actions
        .iter()
        .all(|a| a.resource.kind != ResourceKind::Network));
    let Some(Target::Container(web)) = &action(&plan, "demo-web-1").target else {
        panic!()
    };
    assert_eq!(
        web.network_names.get("default").map(String::as_str),
        Some("shared-net")
    );
}

#[test]
fn builds_come_before_containers_and_follow_the_context_digest() {
    let mut desired = demo();
    let web = desired.services.get_mut("web").unwrap();
    web.image = "demo-web".into();
    web.build = Some(BuildSpec {
        context: "/srv/app".into(),
        dockerfile: "Dockerfile".into(),
        target: None,
        args: Default::default(),
        labels: Default::default(),
        no_cache: false,
        pull: false,
    });
    let v1 = ExternalDigests {
        builds: [("web".into(), "ctx-1".into())].into(),
        ..Default::default()
    };
    let fresh = diff::plan(
        &desired,
        &empty_observed("demo"),
        None,
        &v1,
        PlanOptions::default(),
    );
    let build = action(&fresh, "demo-web");
    assert_eq!(build.op, Op::Build);
    let Some(Target::Image(image)) = &build.target else {
        panic!()
    };
    assert!(image.build.is_some());
    assert!(action(&fresh, "demo-web-1").depends_on.contains(&build.id));

    let observed = observed_matching(&desired, &v1);
    let same = diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &v1,
        PlanOptions::default(),
    );
    assert!(!same.has_changes(), "{:#?}", same.actions);

    let v2 = ExternalDigests {
        builds: [("web".into(), "ctx-2".into())].into(),
        ..Default::default()
    };
    let edited = diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &v2,
        PlanOptions::default(),
    );
    let web = action(&edited, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert_eq!(web.reason.as_deref(), Some("the build context changed"));
    let build = action(&edited, "demo-web");
    assert_eq!(build.op, Op::Build);
    assert!(web.depends_on.contains(&build.id));
    assert_eq!(action(&edited, "demo-db-1").op, Op::NoOp);
}

#[test]
fn pull_policies() {
    let mut desired = demo();
    desired.services.get_mut("web").unwrap().pull_policy = PullPolicy::Never;
    desired.services.get_mut("db").unwrap().pull_policy = PullPolicy::Always;
    let fresh = plan_simple(&desired, &empty_observed("demo"), None);
    assert!(fresh
        .actions
        .iter()
        .all(|a| a.resource.name != "nginx:1.27"));
    assert!(fresh
        .warnings
        .iter()
        .any(|w| w.contains("nginx:1.27") && w.contains("never")));
    let observed = observed_matching(&desired, &ExternalDigests::default());
    let again = plan_simple(&desired, &observed, Some(&desired));
    let pull = action(&again, "postgres:16");
    assert_eq!(pull.op, Op::Pull);
    assert_eq!(again.summary.change, 1);
}

#[test]
fn containers_without_our_label_are_left_alone() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    let mut stranger = observed.containers[0].clone();
    stranger.service = "other".into();
    stranger.name = "demo-other-1".into();
    stranger.id = "id-stranger".into();
    stranger.labels = labels(&[(naming::LABEL_PROJECT, "demo")]);
    observed.containers.push(stranger);
    let plan = diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &ExternalDigests::default(),
        PlanOptions {
            remove_orphans: true,
            remove_volumes: true,
        },
    );
    assert!(!plan.has_changes());
    assert!(plan.warnings.iter().any(|w| w.contains("demo-other-1")));
}

#[test]
fn a_duplicate_left_by_an_interrupted_replace_is_removed() {
    let desired = demo();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    let mut twin = observed
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap()
        .clone();
    twin.id = "id-twin".into();
    twin.name = "abc123_demo-web-1".into();
    observed.containers.push(twin);
    let plan = plan_simple(&desired, &observed, Some(&desired));
    let delete = plan.actions.iter().find(|a| a.op == Op::Delete).unwrap();
    assert_eq!(delete.existing_id.as_deref(), Some("id-twin"));
    assert_eq!(action(&plan, "demo-web-1").op, Op::NoOp);
}

#[test]
fn depends_on_conditions_reach_wait_for() {
    let desired = wordpress();
    let plan = plan_simple(&desired, &empty_observed("wp"), None);
    let Some(Target::Container(wp)) = &action(&plan, "wp-wordpress-1").target else {
        panic!()
    };
    assert_eq!(wp.wait_for[0].condition, DependsCondition::ServiceHealthy);
    assert_eq!(
        wp.network_names.get("backend").map(String::as_str),
        Some("wp_backend")
    );
}

#[test]
fn a_changed_volume_is_kept_with_a_warning() {
    let before = demo();
    let mut observed = observed_matching(&before, &ExternalDigests::default());
    observed.volumes[0].config_hash = Some("created-with-another-driver".into());
    let plan = plan_simple(&before, &observed, Some(&before));
    assert!(!plan.has_changes());
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("demo_data") && w.contains("kept")));
}

#[test]
fn a_name_taken_by_something_not_ours_is_warned_about() {
    let desired = demo();
    let mut observed = empty_observed("demo");
    observed.unmanaged_lookalikes = vec!["demo-web-1".into()];
    let plan = plan_simple(&desired, &observed, None);
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("demo-web-1") && w.contains("without this project's labels")));
}

#[test]
fn loader_warnings_reach_the_plan() {
    let mut desired = demo();
    desired
        .warnings
        .push("the `version` key is obsolete".into());
    let plan = plan_simple(&desired, &empty_observed("demo"), None);
    assert_eq!(
        plan.warnings,
        vec!["the `version` key is obsolete".to_string()]
    );
}

#[test]
fn inline_config_content_is_part_of_the_hash() {
    use planner::model::{FileMount, FileSource};
    let mut before = demo();
    before.configs.insert(
        "nginx_conf".into(),
        FileSource::Content("listen 80;".into()),
    );
    before
        .services
        .get_mut("web")
        .unwrap()
        .configs
        .push(FileMount {
            source: "nginx_conf".into(),
            target: "/etc/nginx/conf.d/default.conf".into(),
            uid: None,
            gid: None,
            mode: None,
        });
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    after.configs.insert(
        "nginx_conf".into(),
        FileSource::Content("listen 8080;".into()),
    );
    let plan = plan_simple(&after, &observed, Some(&before));
    let web = action(&plan, "demo-web-1");
    assert_eq!(web.op, Op::Replace);
    assert_eq!(web.reason.as_deref(), Some("a config's content changed"));
    assert_eq!(action(&plan, "demo-db-1").op, Op::NoOp);
}
