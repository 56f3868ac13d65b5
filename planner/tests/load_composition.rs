//! `include` and `extends` (same file and another file): compose's merge and conflict rules, rebased paths,
//! bounds, cycles named by their chain, and the host-path policy on every file they name (the attacks are
//! here).

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use std::path::PathBuf;

use load_support::{assert_error, load_with, opts, MemHost};
use planner::load::{load_yaml, LoadOptions};
use planner::model::*;
use planner::policy::HostPathScope;
use planner::{ErrorKind, SpecError};

/// Options whose workspace root is the project directory, as the server sets it.
fn rooted() -> LoadOptions {
    let mut options = opts();
    options.policy.host_paths = HostPathScope::UnderRoots(vec![PathBuf::from("/srv/app")]);
    options
}

fn errors_with(yaml: &str, host: &MemHost, options: &LoadOptions) -> Vec<SpecError> {
    match load_yaml(yaml, options, host) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e.0,
    }
}

#[test]
fn same_file_extends_merges_as_compose_does() {
    let yaml = r#"name: t
services:
  base:
    image: python:3.12-slim
    command: [python, base.py]
    environment: [A=1, B=2]
    labels: {tier: base}
    ports: ["8000"]
    dns: 1.1.1.1
  web:
    extends: base
    command: [python, web.py]
    environment: {B: "3"}
    ports: ["9000"]
    dns: [8.8.8.8]
  worker:
    extends: {service: web}
    image: python:3.13-slim
    ports: []
"#;
    let p = load_with(yaml, &MemHost::new()).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image, "python:3.12-slim");
    assert_eq!(web.command.as_deref().unwrap(), ["python", "web.py"]);
    assert_eq!(web.environment["A"], EnvValue::Literal("1".into()));
    assert_eq!(web.environment["B"], EnvValue::Literal("3".into()));
    assert_eq!(web.labels["tier"], "base");
    assert_eq!(web.ports.len(), 2, "ports are appended");
    assert_eq!(web.dns, ["1.1.1.1", "8.8.8.8"]);
    let worker = &p.services["worker"];
    assert_eq!(worker.image, "python:3.13-slim");
    assert_eq!(worker.command.as_deref().unwrap(), ["python", "web.py"]);
    assert_eq!(worker.ports.len(), 2, "an empty list adds nothing");
}

#[test]
fn another_files_service_is_rebased_onto_its_folder() {
    let host = MemHost::new()
        .dir("/srv/app/common")
        .dir("/srv/app/common/ctx")
        .file("/srv/app/common/base.env", "FROM_BASE=yes\n")
        .file(
            "/srv/app/common/base.yaml",
            "services:\n  base:\n    build: ./ctx\n    env_file: base.env\n    volumes: [\"./data:/data\"]\n    environment: {LEVEL: \"${LEVEL:-info}\"}\n",
        );
    let yaml = "name: t\nservices:\n  web:\n    extends: {file: common/base.yaml, service: base}\n    image: web:1\n";
    let p = load_yaml(yaml, &rooted(), &host).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.build.as_ref().unwrap().context, "/srv/app/common/ctx");
    assert_eq!(
        web.environment["FROM_BASE"],
        EnvValue::Literal("yes".into())
    );
    assert_eq!(web.environment["LEVEL"], EnvValue::Literal("info".into()));
    assert_eq!(
        web.mounts[0].source.as_deref(),
        Some("/srv/app/common/data")
    );
    assert_eq!(web.image, "web:1");
}

#[test]
fn hostile_extends_files_are_refused_by_the_path_policy() {
    let host = MemHost::new()
        .file("/outside.yaml", "services:\n  base: {image: x}\n")
        .file("/etc/compose.yaml", "services:\n  base: {image: x}\n");
    for (file, fragment) in [
        ("../../outside.yaml", "workspace roots"),
        ("/etc/compose.yaml", "refused by policy"),
    ] {
        let yaml = format!(
            "name: t\nservices:\n  web:\n    extends: {{file: \"{file}\", service: base}}\n"
        );
        let errs = errors_with(&yaml, &host, &rooted());
        assert_error(
            &errs,
            ErrorKind::Policy,
            "services.web.extends.file",
            fragment,
        );
        assert!(
            errs.iter().all(|e| !e.message.contains("image: x")),
            "nothing of the refused file is read"
        );
    }
}

#[test]
fn a_symlink_out_of_the_workspace_is_refused() {
    let host = MemHost::new()
        .file("/outside/base.yaml", "services:\n  base: {image: x}\n")
        .symlink("/srv/app/link.yaml", "/outside/base.yaml");
    let yaml = "name: t\nservices:\n  web:\n    extends: {file: link.yaml, service: base}\n";
    let errs = errors_with(yaml, &host, &rooted());
    assert_error(
        &errs,
        ErrorKind::Policy,
        "services.web.extends.file",
        "workspace roots",
    );
}

#[test]
fn cycles_are_named_by_their_chain() {
    let yaml = "name: t\nservices:\n  a: {extends: b, image: x}\n  b: {extends: c, image: x}\n  c: {extends: a, image: x}\n";
    let errs = errors_with(yaml, &MemHost::new(), &opts());
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.a.extends",
        "a -> b -> c -> a",
    );
}

#[test]
fn chains_are_bounded_in_depth() {
    let mut yaml = String::from("name: t\nservices:\n  s0: {image: x}\n");
    for i in 1..=12 {
        yaml.push_str(&format!("  s{i}: {{extends: s{}}}\n", i - 1));
    }
    let errs = errors_with(&yaml, &MemHost::new(), &opts());
    assert_error(
        &errs,
        ErrorKind::Invalid,
        "services.s12.extends",
        "deeper than 8",
    );
}

#[test]
fn an_unknown_base_or_key_is_named() {
    let errs = errors_with(
        "name: t\nservices:\n  web: {extends: nope, image: x}\n  api: {extends: {service: web, fil: x}, image: x}\n",
        &MemHost::new(),
        &opts(),
    );
    assert_error(&errs, ErrorKind::Invalid, "services.web.extends", "`nope`");
    assert_error(
        &errs,
        ErrorKind::UnknownKey,
        "services.api.extends.fil",
        "`file`",
    );
}

#[test]
fn included_files_add_their_resources_with_their_own_folder_and_variables() {
    let host = MemHost::new()
        .var("SHARED", "from-server")
        .dir("/srv/app/db")
        .file("/srv/app/db/.env", "DB_TAG=16\n")
        .file("/srv/app/db/init.sql", "select 1;\n")
        .file(
            "/srv/app/db/compose.yaml",
            "services:\n  db:\n    image: postgres:${DB_TAG}\n    environment: {SHARED: \"${SHARED}\"}\n    volumes: [\"./init.sql:/docker-entrypoint-initdb.d/init.sql:ro\", \"data:/var/lib/postgresql/data\"]\nvolumes:\n  data: {}\n",
        );
    let yaml = "name: t\ninclude:\n  - db/compose.yaml\nservices:\n  web: {image: nginx, depends_on: [db]}\n";
    let p = load_yaml(yaml, &rooted(), &host).unwrap();
    let db = &p.services["db"];
    assert_eq!(
        db.image, "postgres:16",
        "the included folder's .env feeds its interpolation"
    );
    assert_eq!(
        db.environment["SHARED"],
        EnvValue::Literal("from-server".into())
    );
    assert_eq!(db.mounts[0].source.as_deref(), Some("/srv/app/db/init.sql"));
    assert!(p.volumes.contains_key("data"));
    assert!(p.services["web"].depends_on.contains_key("db"));
}

#[test]
fn include_long_form_takes_project_directory_and_env_file() {
    let host = MemHost::new()
        .dir("/srv/app/stack")
        .dir("/srv/app/ctx")
        .file("/srv/app/stack/vars.env", "TAG=2\n")
        .file(
            "/srv/app/stack/c.yaml",
            "services:\n  api:\n    image: api:${TAG}\n    build: ./ctx\n",
        );
    let yaml = "name: t\ninclude:\n  - path: stack/c.yaml\n    project_directory: .\n    env_file: stack/vars.env\nservices: {}\n";
    let p = load_yaml(yaml, &rooted(), &host).unwrap();
    assert_eq!(p.services["api"].image, "api:2");
    assert_eq!(
        p.services["api"].build.as_ref().unwrap().context,
        "/srv/app/ctx"
    );
}

#[test]
fn a_resource_defined_both_here_and_in_an_include_is_a_conflict() {
    let host = MemHost::new().file("/srv/app/other.yaml", "services:\n  web: {image: httpd}\n");
    let errs = errors_with(
        "name: t\ninclude: [other.yaml]\nservices:\n  web: {image: nginx}\n",
        &host,
        &rooted(),
    );
    assert_error(&errs, ErrorKind::Invalid, "services.web", "include[0]");
}

#[test]
fn hostile_includes_are_refused_by_the_path_policy() {
    let host = MemHost::new()
        .file("/outside.yaml", "services:\n  evil: {image: x}\n")
        .file("/etc/compose.yaml", "services:\n  evil: {image: x}\n")
        .file("/srv/app/ok.yaml", "services:\n  fine: {image: x}\n")
        .file("/etc/environment", "PATH=/usr/bin\n");
    for (entry, field) in [
        ("/etc/compose.yaml", "include[0].path[0]"),
        ("../../outside.yaml", "include[0].path[0]"),
        (
            "{path: ok.yaml, env_file: /etc/environment}",
            "include[0].env_file[0]",
        ),
        (
            "{path: ok.yaml, project_directory: ../..}",
            "include[0].project_directory",
        ),
    ] {
        let yaml = format!("name: t\ninclude:\n  - {entry}\nservices: {{}}\n");
        let errs = errors_with(&yaml, &host, &rooted());
        assert_error(&errs, ErrorKind::Policy, field, "refused by policy");
    }
}

#[test]
fn include_cycles_are_named_and_refused() {
    let host = MemHost::new()
        .file(
            "/srv/app/a.yaml",
            "include: [b.yaml]\nservices:\n  a: {image: x}\n",
        )
        .file(
            "/srv/app/b.yaml",
            "include: [a.yaml]\nservices:\n  b: {image: x}\n",
        );
    let errs = errors_with(
        "name: t\ninclude: [a.yaml]\nservices: {}\n",
        &host,
        &rooted(),
    );
    assert!(
        errs.iter().any(|e| e.message.contains("cycle")
            && e.message
                .contains("/srv/app/a.yaml -> /srv/app/b.yaml -> /srv/app/a.yaml")),
        "{errs:#?}"
    );
}
