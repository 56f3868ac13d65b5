//! Whole-file features: anchors and merge keys, `x-*`, `version`, profiles, env files, secrets and configs,
//! the single-container loader, the schema and the key tables.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use load_support::{assert_error, errors, load_with, ok, opts, MemHost};
use planner::compose::{self, KeySupport};
use planner::load::{load_service, load_yaml, LoadOptions};
use planner::model::*;
use planner::ErrorKind;

#[test]
fn anchors_aliases_and_merge_keys() {
    let yaml = r#"name: t
x-defaults: &defaults
  restart: always
  environment: {LOG: info}
  labels: [team=core]
x-net: &net [back]
services:
  api:
    <<: *defaults
    image: api
    networks: *net
  worker:
    <<: [*defaults]
    image: worker
    restart: "no"
networks: {back: {}}
"#;
    let p = ok(yaml);
    assert_eq!(p.services["api"].restart, RestartPolicy::Always);
    assert_eq!(
        p.services["api"].environment["LOG"],
        EnvValue::Literal("info".into())
    );
    assert!(p.services["api"].networks.contains_key("back"));
    assert_eq!(
        p.services["worker"].restart,
        RestartPolicy::No,
        "local keys override merged ones"
    );
    assert_eq!(p.services["worker"].labels["team"], "core");
}

#[test]
fn extension_fields_are_accepted_where_compose_allows_them() {
    let yaml = r#"name: t
x-top: {anything: [1, 2]}
services:
  web:
    image: x
    x-service-note: hi
    build: {context: ., x-b: 1}
    healthcheck: {test: [CMD, x], x-h: 1}
    deploy: {x-d: 1, resources: {x-r: 1, limits: {x-l: 1}}}
    ports: [{target: 80, x-p: 1}]
    volumes: [{type: tmpfs, target: /t, x-v: 1}]
networks: {n: {x-n: 1}}
volumes: {v: {x-v: 1}}
"#;
    let p = ok(yaml);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.services["web"].ports[0].target, 80);
}

#[test]
fn version_is_obsolete_but_accepted() {
    let p = ok("version: \"3.8\"\nname: t\nservices: {web: {image: x}}\n");
    assert_eq!(
        p.warnings,
        vec!["version: the attribute `version` is obsolete, it will be ignored".to_string()]
    );
}

#[test]
fn ignored_keys_warn() {
    let p = ok("name: t\nservices:\n  web:\n    image: x\n    ports: [{target: 80, name: http, app_protocol: http}]\n    deploy: {resources: {reservations: {cpus: \"0.5\"}}}\n");
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    assert!(p
        .warnings
        .iter()
        .any(|w| w.starts_with("services.web.ports[0].name")));
    let p = ok("name: t\nservices:\n  db: {image: x}\n  web:\n    image: x\n    depends_on: {db: {condition: service_started}}\n    healthcheck: {test: [CMD, x], start_interval: 1s}\n    deploy: {mode: replicated, placement: {constraints: [\"node.role==manager\"]}}\n");
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    assert!(p
        .warnings
        .iter()
        .any(|w| w.starts_with("services.web.deploy.placement: Swarm-only")));
}

#[test]
fn project_name_precedence() {
    let yaml = "name: from-file\nservices: {}\n";
    assert_eq!(ok(yaml).name, "from-file");
    let o = LoadOptions {
        project_name: Some("given".into()),
        ..opts()
    };
    assert_eq!(load_yaml(yaml, &o, &MemHost::new()).unwrap().name, "given");
}

#[test]
fn profiles_select_services() {
    let yaml = r#"name: t
services:
  web: {image: x}
  debug: {image: x, profiles: [debug]}
  tools: {image: x, profiles: [tools, debug]}
  admin: {image: x, profiles: [admin], depends_on: [web]}
"#;
    let load = |profiles: &[&str]| {
        let o = LoadOptions {
            profiles: profiles.iter().map(|s| s.to_string()).collect(),
            ..opts()
        };
        load_yaml(yaml, &o, &MemHost::new())
            .unwrap()
            .services
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(load(&[]), vec!["web"]);
    assert_eq!(load(&["debug"]), vec!["debug", "tools", "web"]);
    assert_eq!(load(&["tools"]), vec!["tools", "web"]);
    assert_eq!(load(&["*"]), vec!["admin", "debug", "tools", "web"]);
    let e = errors("name: t\nservices:\n  web: {image: x, depends_on: [dbg]}\n  dbg: {image: x, profiles: [debug]}\n");
    assert_error(
        &e,
        ErrorKind::Invalid,
        "services.web.depends_on.dbg",
        "disabled by profiles",
    );
}

#[test]
fn optional_dependencies_on_absent_services_are_dropped() {
    let p = ok("name: t\nservices:\n  web: {image: x, depends_on: {cache: {condition: service_started, required: false}}}\n");
    assert!(p.services["web"].depends_on.is_empty());
    assert!(p.warnings.iter().any(|w| w.contains("optional dependency")));
}

#[test]
fn env_files_merge_under_environment() {
    let host = MemHost::new()
        .var("FROM_HOST", "h")
        .file(
            "/srv/app/common.env",
            "A=from-file\nB=from-file\nexport C=\"quoted ${FROM_HOST}\"\nFROM_HOST\n",
        )
        .file("/srv/app/override.env", "B=override\n");
    let yaml = r#"name: t
services:
  one: {image: x, env_file: common.env, environment: {A: from-environment}}
  two:
    image: x
    env_file:
      - ./common.env
      - path: ./override.env
        required: true
      - path: ./missing.env
        required: false
"#;
    let p = load_with(yaml, &host).unwrap();
    let lit = |s: &str| EnvValue::Literal(s.into());
    let one = &p.services["one"].environment;
    assert_eq!(one["A"], lit("from-environment"));
    assert_eq!(one["B"], lit("from-file"));
    assert_eq!(one["C"], lit("quoted h"));
    assert_eq!(one["FROM_HOST"], lit("h"));
    assert_eq!(p.services["two"].environment["B"], lit("override"));
    let e = load_with(
        "name: t\nservices:\n  w: {image: x, env_file: [nope.env]}\n",
        &host,
    )
    .unwrap_err()
    .0;
    assert_error(
        &e,
        ErrorKind::Invalid,
        "services.w.env_file[0]",
        "cannot read env file",
    );
}

#[test]
fn secrets_and_configs() {
    let host = MemHost::new().file("/srv/app/secrets/db.txt", "hunter2");
    let yaml = r#"name: t
services:
  db:
    image: postgres
    secrets:
      - db_password
      - source: api_key
        target: api.key
        uid: "1000"
        gid: 1000
        mode: "0440"
      - source: api_key
        target: /etc/abs/key
    configs:
      - nginx_conf
      - source: inline
        target: /etc/app.conf
        mode: 0o444
    environment:
      PASSWORD: {secret: db_password}
secrets:
  db_password: {file: ./secrets/db.txt}
  api_key: {environment: API_KEY}
configs:
  nginx_conf: {file: ./nginx.conf}
  inline: {content: "port=80"}
"#;
    let p = load_with(yaml, &host).unwrap();
    assert_eq!(
        p.secrets["db_password"],
        FileSource::File("/srv/app/secrets/db.txt".into())
    );
    assert_eq!(
        p.secrets["api_key"],
        FileSource::Environment("API_KEY".into())
    );
    assert_eq!(p.configs["inline"], FileSource::Content("port=80".into()));
    let db = &p.services["db"];
    assert_eq!(
        db.secrets[0],
        FileMount {
            source: "db_password".into(),
            target: "/run/secrets/db_password".into(),
            uid: None,
            gid: None,
            mode: None
        }
    );
    assert_eq!(
        db.secrets[1],
        FileMount {
            source: "api_key".into(),
            target: "/run/secrets/api.key".into(),
            uid: Some("1000".into()),
            gid: Some("1000".into()),
            mode: Some(0o440)
        }
    );
    assert_eq!(db.secrets[2].target, "/etc/abs/key");
    assert_eq!(db.configs[0].target, "/nginx_conf");
    assert_eq!(db.configs[1].mode, Some(0o444));
    let json = serde_json::to_string(&p).unwrap();
    assert!(
        !json.contains("hunter2"),
        "secret values never enter the project"
    );
}

#[test]
fn load_service_uses_the_same_types_and_policy() {
    let body = serde_json::json!({
        "image": "nginx:1.27",
        "ports": ["8080:80"],
        "environment": {"A": 1},
        "volumes": ["data:/data"],
        "networks": ["shared"],
    });
    let spec = load_service("web", &body, &opts(), &MemHost::new()).unwrap();
    assert_eq!(spec.ports[0].published, Some(8080));
    assert_eq!(spec.mounts[0].source.as_deref(), Some("data"));
    assert!(spec.networks.contains_key("shared"));
    let plain = load_service(
        "web",
        &serde_json::json!({"image": "nginx"}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap();
    assert!(
        plain.networks.is_empty(),
        "no networks means the engine's default network"
    );
    let e = load_service(
        "web",
        &serde_json::json!({"image": "x", "privileged": true, "portz": []}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err()
    .0;
    assert_error(
        &e,
        ErrorKind::Policy,
        "web.privileged",
        "--allow-option privileged",
    );
    assert_error(&e, ErrorKind::UnknownKey, "web.portz", "`ports`");
    let e = load_service(
        "web",
        &serde_json::json!({"image": "x", "volumes": ["/var/run/docker.sock:/s"]}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err()
    .0;
    assert_eq!(e[0].kind, ErrorKind::Policy);
    assert_eq!(e[0].path, "web.volumes[0]");
    let e = load_service(
        "web",
        &serde_json::json!({"image": "x", "ports": ["8080:0"]}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err()
    .0;
    assert_error(&e, ErrorKind::Invalid, "web.ports[0]", "out of range");
    let e = load_service(
        "web",
        &serde_json::json!({"image": "x", "depends_on": ["db"]}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err()
    .0;
    assert_error(
        &e,
        ErrorKind::Unsupported,
        "web.depends_on",
        "single container",
    );
    assert!(load_service("web", &serde_json::json!("nginx"), &opts(), &MemHost::new()).is_err());
}

#[test]
fn schema_describes_the_accepted_file() {
    let schema = compose::project_schema();
    let text = schema.to_string();
    for key in [
        "services",
        "networks",
        "volumes",
        "secrets",
        "configs",
        "healthcheck",
        "depends_on",
        "env_file",
    ] {
        assert!(
            text.contains(&format!("\"{key}\"")),
            "{key} missing from the schema"
        );
    }
    assert!(compose::service_schema().to_string().contains("\"ports\""));
}

#[test]
fn key_tables_cover_every_typed_field() {
    let schema = compose::service_schema();
    let properties = schema["properties"].as_object().unwrap();
    for field in properties.keys() {
        let entry = compose::SERVICE_KEYS.iter().find(|(k, _)| k == field);
        assert!(
            entry.is_some(),
            "typed field `{field}` is missing from SERVICE_KEYS"
        );
        assert!(
            !matches!(entry.unwrap().1, KeySupport::Unsupported(_)),
            "`{field}` is typed but marked unsupported"
        );
    }
    for (key, support) in compose::SERVICE_KEYS {
        if matches!(
            support,
            KeySupport::Supported
                | KeySupport::PolicyRefused { .. }
                | KeySupport::PolicyRestricted { .. }
        ) {
            assert!(
                properties.contains_key(*key),
                "supported key `{key}` has no typed field"
            );
        }
    }
    for (key, support) in compose::SERVICE_KEYS {
        if let KeySupport::PolicyRefused { option, .. }
        | KeySupport::PolicyRestricted { option, .. } = support
        {
            assert!(
                planner::policy::OPTIONS.iter().any(|(o, _)| o == option),
                "{key}: unknown allowlist option {option}"
            );
        }
    }
}

#[test]
fn depends_on_restart_is_read_and_selinux_relabels_are_accepted_with_a_warning() {
    let p = ok("name: t\nservices:\n  db: {image: x}\n  web:\n    image: x\n    depends_on: {db: {condition: service_started, restart: true}}\n    volumes: [\"/srv/data:/data:Z\", \"/srv/logs:/logs:ro,z\", {type: bind, source: /srv/c, target: /c, bind: {selinux: z}}]\n");
    let web = &p.services["web"];
    assert!(web.depends_on["db"].restart);
    assert_eq!(web.mounts.len(), 3);
    assert!(web.mounts[1].read_only, "`ro` still applies next to `z`");
    for prefix in [
        "services.web.volumes[0]: `:Z` ignored: SELinux",
        "services.web.volumes[1]: `:z` ignored: SELinux",
        "services.web.volumes[2].bind.selinux: SELinux",
    ] {
        assert!(
            p.warnings.iter().any(|w| w.starts_with(prefix)),
            "no warning starts with `{prefix}`: {:?}",
            p.warnings
        );
    }
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
}
