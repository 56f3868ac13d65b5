//! Every short and long form of the supported keys normalizes to the one canonical model.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use std::collections::BTreeMap;

use load_support::{load_with, ok, MemHost};
use planner::model::*;

fn svc(body: &str) -> ServiceSpec {
    let yaml = format!("name: t\nservices:\n  web:\n    image: nginx\n{}\nvolumes: {{data: {{}}}}\nnetworks: {{front: {{}}, back: {{}}}}\n", indent(body));
    ok(&yaml).services.remove("web").unwrap()
}

fn indent(body: &str) -> String {
    body.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn port(target: u16, published: Option<u16>, ip: Option<&str>, protocol: Protocol) -> PortBinding {
    PortBinding {
        target,
        published,
        host_ip: ip.map(Into::into),
        protocol,
    }
}

#[test]
fn ports_short_long_and_ranges() {
    let s = svc(r#"ports:
  - 80
  - "9000:80"
  - "127.0.0.1:9001:81/udp"
  - "[::1]:9002:82"
  - "8000-8001:7000-7001"
  - "127.0.0.1::83"
  - target: 84
    published: "9004"
    host_ip: 0.0.0.0
    protocol: tcp
    mode: host
  - {target: 85}
  - "0:86"
  - {target: 87, published: 0}
  - "127.0.0.1:0:88/udp""#);
    assert_eq!(
        s.ports,
        vec![
            port(80, None, None, Protocol::Tcp),
            port(80, Some(9000), None, Protocol::Tcp),
            port(81, Some(9001), Some("127.0.0.1"), Protocol::Udp),
            port(82, Some(9002), Some("::1"), Protocol::Tcp),
            port(7000, Some(8000), None, Protocol::Tcp),
            port(7001, Some(8001), None, Protocol::Tcp),
            port(83, None, Some("127.0.0.1"), Protocol::Tcp),
            port(84, Some(9004), Some("0.0.0.0"), Protocol::Tcp),
            port(85, None, None, Protocol::Tcp),
            // Host port 0 lets the engine pick a free port, as compose does.
            port(86, None, None, Protocol::Tcp),
            port(87, None, None, Protocol::Tcp),
            port(88, None, Some("127.0.0.1"), Protocol::Udp),
        ]
    );
}

#[test]
fn expose_numbers_strings_and_ranges() {
    let s = svc("expose: [80, \"53/udp\", \"3000-3001\"]");
    assert_eq!(s.expose, vec!["80/tcp", "53/udp", "3000/tcp", "3001/tcp"]);
}

#[test]
fn volumes_short_and_long() {
    let host = MemHost::new().dir("/srv/app/conf").dir("/data/shared");
    let yaml = r#"name: t
services:
  web:
    image: nginx
    volumes:
      - data:/var/lib/data:ro
      - ./conf:/etc/nginx/conf.d
      - /data/shared:/shared:rw
      - /anon
      - type: volume
        source: data
        target: /long
        read_only: true
      - type: bind
        source: ./conf
        target: /c
        bind: {create_host_path: true}
      - type: tmpfs
        target: /cache
      - type: tmpfs
        target: /sized
        tmpfs: {size: 64m, mode: "1777"}
      - type: volume
        target: /anon2
volumes:
  data:
"#;
    let s = load_with(yaml, &host)
        .unwrap()
        .services
        .remove("web")
        .unwrap();
    let m = |kind, source: Option<&str>, target: &str, read_only| Mount {
        kind,
        source: source.map(Into::into),
        target: target.into(),
        read_only,
    };
    assert_eq!(
        s.mounts,
        vec![
            m(MountKind::Volume, Some("data"), "/var/lib/data", true),
            m(
                MountKind::Bind,
                Some("/srv/app/conf"),
                "/etc/nginx/conf.d",
                false
            ),
            m(MountKind::Bind, Some("/data/shared"), "/shared", false),
            m(MountKind::Volume, None, "/anon", false),
            m(MountKind::Volume, Some("data"), "/long", true),
            m(MountKind::Bind, Some("/srv/app/conf"), "/c", false),
            m(MountKind::Tmpfs, None, "/cache", false),
            m(MountKind::Volume, None, "/anon2", false),
        ]
    );
    assert_eq!(
        s.tmpfs,
        vec![format!("/sized:size={},mode=1777", 64 * 1024 * 1024)]
    );
}

#[test]
fn home_relative_binds_use_the_server_home() {
    let host = MemHost::new().var("HOME", "/home/me").dir("/home/me/site");
    let yaml = "name: t\nservices:\n  web:\n    image: nginx\n    volumes: [\"~/site:/usr/share/nginx/html:ro\"]\n";
    let s = load_with(yaml, &host)
        .unwrap()
        .services
        .remove("web")
        .unwrap();
    assert_eq!(s.mounts[0].source.as_deref(), Some("/home/me/site"));
}

#[test]
fn environment_map_and_list() {
    let host = MemHost::new().var("FROM_HOST", "h");
    let yaml = r#"name: t
services:
  a:
    image: x
    environment:
      S: text
      N: 3
      F: 1.5
      B: true
      NULL_SET: null
      FROM_HOST:
      DB_PASSWORD: {secret: db_pass}
  b:
    image: x
    environment: ["A=1", "EMPTY=", "FROM_HOST", "UNSET_HERE", "EQ=a=b"]
"#;
    let p = load_with(yaml, &host).unwrap();
    let lit = |v: &str| EnvValue::Literal(v.into());
    let a = &p.services["a"].environment;
    assert_eq!(a["S"], lit("text"));
    assert_eq!(a["N"], lit("3"));
    assert_eq!(a["F"], lit("1.5"));
    assert_eq!(a["B"], lit("true"));
    assert!(!a.contains_key("NULL_SET"));
    assert_eq!(a["FROM_HOST"], lit("h"));
    assert_eq!(
        a["DB_PASSWORD"],
        EnvValue::Secret {
            secret: "db_pass".into()
        }
    );
    let b = &p.services["b"].environment;
    assert_eq!(b["A"], lit("1"));
    assert_eq!(b["EMPTY"], lit(""));
    assert_eq!(b["FROM_HOST"], lit("h"));
    assert!(!b.contains_key("UNSET_HERE"));
    assert_eq!(b["EQ"], lit("a=b"));
    // Without a value anywhere, compose keeps the key (the engine then unsets the image's default).
    let unset = |service: &str| -> Vec<String> {
        p.services[service]
            .environment_unset
            .iter()
            .cloned()
            .collect()
    };
    assert_eq!(unset("a"), ["NULL_SET"]);
    assert_eq!(unset("b"), ["UNSET_HERE"]);
}

#[test]
fn a_bare_key_overrides_env_files_and_a_later_value_wins() {
    let host = MemHost::new().file(
        "/srv/app/app.env",
        "DEBUG=1
KEEP=k
",
    );
    let yaml = r#"name: t
services:
  a:
    image: x
    env_file: app.env
    environment: [DEBUG, "LATER", "LATER=set"]
"#;
    let a = load_with(yaml, &host)
        .unwrap()
        .services
        .remove("a")
        .unwrap();
    assert_eq!(
        a.environment_unset.iter().collect::<Vec<_>>(),
        ["DEBUG"],
        "compose: an unresolved `environment` entry overrides the env file's value"
    );
    assert!(!a.environment.contains_key("DEBUG"));
    assert_eq!(a.environment["KEEP"], EnvValue::Literal("k".into()));
    assert_eq!(a.environment["LATER"], EnvValue::Literal("set".into()));
}

#[test]
fn an_unset_variable_is_part_of_the_config_hash() {
    let load = |env: &str| {
        ok(&format!(
            "name: t\nservices:\n  a: {{image: x, environment: [{env}]}}\n"
        ))
    };
    let digests = planner::plan::ExternalDigests::default();
    let hash = |p: &Project| planner::hash::service_config_hash(p, "a", &digests);
    let (none, unset, empty) = (load(""), load("DEBUG"), load("\"DEBUG=\""));
    assert_ne!(hash(&none), hash(&unset));
    assert_ne!(hash(&unset), hash(&empty));
    // A spec recorded before the field existed still reads, and hashes as before.
    let json = serde_json::to_value(&none).unwrap();
    assert!(!json["services"]["a"]
        .as_object()
        .unwrap()
        .contains_key("environment_unset"));
}

#[test]
fn networks_list_and_map_with_aliases() {
    let s = svc("networks: [front, back]");
    assert_eq!(s.networks.keys().collect::<Vec<_>>(), vec!["back", "front"]);
    let s = svc("networks:\n  front:\n    aliases: [www]\n  back:");
    assert_eq!(s.networks["front"].aliases, vec!["www"]);
    assert!(s.networks["back"].aliases.is_empty());
}

#[test]
fn services_without_networks_join_default() {
    let p = ok("name: t\nservices:\n  a: {image: x}\n  b: {image: x, network_mode: none}\n");
    assert!(p.services["a"].networks.contains_key("default"));
    assert!(p.services["b"].networks.is_empty());
    assert!(p.networks.contains_key("default"));
    let p = ok("name: t\nservices:\n  a: {image: x, networks: [n]}\nnetworks: {n: {}}\n");
    assert!(!p.networks.contains_key("default"));
}

#[test]
fn depends_on_list_and_map() {
    let yaml = r#"name: t
services:
  db: {image: x}
  cache: {image: x}
  job: {image: x}
  web:
    image: x
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started, required: false}
      job: {condition: service_completed_successfully}
  api: {image: x, depends_on: [db]}
"#;
    let p = ok(yaml);
    let d = &p.services["web"].depends_on;
    assert_eq!(
        d["db"],
        DependsOn {
            condition: DependsCondition::ServiceHealthy,
            required: true,
            restart: false,
        }
    );
    assert_eq!(
        d["cache"],
        DependsOn {
            condition: DependsCondition::ServiceStarted,
            required: false,
            restart: false,
        }
    );
    assert_eq!(
        d["job"].condition,
        DependsCondition::ServiceCompletedSuccessfully
    );
    assert_eq!(
        p.services["api"].depends_on["db"].condition,
        DependsCondition::ServiceStarted
    );
}

#[test]
fn command_and_entrypoint_strings_and_lists() {
    let s = svc("command: sh -c 'echo \"hi there\"'\nentrypoint: [\"/bin/tini\", \"--\"]");
    assert_eq!(
        s.command,
        Some(vec!["sh".into(), "-c".into(), "echo \"hi there\"".into()])
    );
    assert_eq!(s.entrypoint, Some(vec!["/bin/tini".into(), "--".into()]));
    let s = svc("command: [sleep, 3600]\nentrypoint: \"\"");
    assert_eq!(s.command, Some(vec!["sleep".into(), "3600".into()]));
    assert_eq!(s.entrypoint, Some(vec![]));
}

#[test]
fn healthcheck_forms() {
    let s = svc("healthcheck:\n  test: curl -f http://localhost\n  interval: 1m30s\n  timeout: 500ms\n  retries: 3\n  start_period: 1.5s");
    let h = s.healthcheck.unwrap();
    assert_eq!(h.test, vec!["CMD-SHELL", "curl -f http://localhost"]);
    assert_eq!(h.interval_ns, Some(90_000_000_000));
    assert_eq!(h.timeout_ns, Some(500_000_000));
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.start_period_ns, Some(1_500_000_000));
    let s = svc("healthcheck:\n  test: [\"CMD\", \"wget\", \"-q\", \"http://localhost\"]");
    assert_eq!(
        s.healthcheck.unwrap().test,
        vec!["CMD", "wget", "-q", "http://localhost"]
    );
    let s = svc("healthcheck:\n  disable: true");
    assert_eq!(s.healthcheck.unwrap().test, vec!["NONE"]);
}

#[test]
fn labels_map_and_list() {
    assert_eq!(
        svc("labels: {a: b, n: 1}").labels,
        BTreeMap::from([("a".into(), "b".into()), ("n".into(), "1".into())])
    );
    assert_eq!(
        svc("labels: [\"a=b\", \"c\"]").labels,
        BTreeMap::from([("a".into(), "b".into()), ("c".into(), String::new())])
    );
}

#[test]
fn extra_hosts_list_and_map() {
    assert_eq!(
        svc("extra_hosts: [\"db:10.0.0.2\", \"gw=host-gateway\"]").extra_hosts,
        vec!["db:10.0.0.2", "gw:host-gateway"]
    );
    assert_eq!(
        svc("extra_hosts: {db: 10.0.0.2, v6: \"::1\"}").extra_hosts,
        vec!["db:10.0.0.2", "v6:::1"]
    );
}

#[test]
fn mount_targets_are_cleaned_like_compose() {
    let host = MemHost::new().dir("/srv/app/conf");
    let yaml = r#"name: t
services:
  web:
    image: nginx
    volumes:
      - data:/var/lib/data/
      - ./conf:/etc//nginx/./conf.d/:ro
      - /anon/
      - {type: volume, source: data, target: /long/}
      - {type: tmpfs, target: /cache/}
      - {type: tmpfs, target: /sized/, tmpfs: {size: 1k}}
volumes:
  data:
"#;
    let s = load_with(yaml, &host)
        .unwrap()
        .services
        .remove("web")
        .unwrap();
    let targets: Vec<&str> = s.mounts.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/var/lib/data",
            "/etc/nginx/conf.d",
            "/anon",
            "/long",
            "/cache"
        ]
    );
    assert_eq!(s.tmpfs, vec!["/sized:size=1024"]);
    for (raw, clean) in [
        ("/", "/"),
        ("/data/", "/data"),
        ("//a//b/", "/a/b"),
        ("/a/./b/../c", "/a/c"),
        ("/..", "/"),
    ] {
        assert_eq!(planner::normalize::clean_container_path(raw), clean);
    }
}

#[test]
fn tmpfs_string_and_list() {
    assert_eq!(svc("tmpfs: /run").tmpfs, vec!["/run"]);
    assert_eq!(
        svc("tmpfs: [/run, \"/tmp:size=64m\"]").tmpfs,
        vec!["/run", "/tmp:size=64m"]
    );
}

#[test]
fn limits_sizes_and_cpus() {
    let s = svc("mem_limit: 512m\nmem_reservation: 268435456\nshm_size: 1g\ncpus: 0.5\ncpu_shares: 512\npids_limit: 100");
    assert_eq!(s.resources.memory_bytes, Some(512 * 1024 * 1024));
    assert_eq!(s.resources.memory_reservation_bytes, Some(268_435_456));
    assert_eq!(s.resources.shm_size_bytes, Some(1024 * 1024 * 1024));
    assert_eq!(s.resources.nano_cpus, Some(500_000_000));
    assert_eq!(s.resources.cpu_shares, Some(512));
    assert_eq!(s.resources.pids_limit, Some(100));
    let s = svc("cpus: \"1.5\"\ndeploy:\n  resources:\n    limits: {cpus: \"1.5\", memory: 1.5g, pids: 50}\n    reservations: {memory: 64M}");
    assert_eq!(s.resources.nano_cpus, Some(1_500_000_000));
    assert_eq!(s.resources.memory_bytes, Some(1536 * 1024 * 1024));
    assert_eq!(s.resources.memory_reservation_bytes, Some(64 * 1024 * 1024));
    assert_eq!(s.resources.pids_limit, Some(50));
}

#[test]
fn restart_and_stop_settings() {
    let s = svc("restart: on-failure:3\nstop_grace_period: 1m30s\nstop_signal: SIGINT");
    assert_eq!(s.restart, RestartPolicy::OnFailure(Some(3)));
    assert_eq!(s.stop_grace_period_secs, Some(90));
    assert_eq!(s.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(svc("restart: \"no\"").restart, RestartPolicy::No);
    assert_eq!(
        svc("restart: unless-stopped").restart,
        RestartPolicy::UnlessStopped
    );
    assert_eq!(
        svc("stop_grace_period: 500ms").stop_grace_period_secs,
        Some(1)
    );
    assert_eq!(
        svc("deploy: {restart_policy: {condition: on-failure, max_attempts: 2}}").restart,
        RestartPolicy::OnFailure(Some(2))
    );
    assert_eq!(
        svc("deploy: {restart_policy: {condition: any}}").restart,
        RestartPolicy::Always
    );
}

#[test]
fn scalar_settings() {
    let s = svc("working_dir: /app\nuser: 1000\nhostname: h\ninit: true\nread_only: \"true\"\nstdin_open: true\ntty: yes\nplatform: linux/amd64\nruntime: runc\ncontainer_name: my-web\ndns: 8.8.8.8\ncap_drop: [ALL]\nsecurity_opt: [\"no-new-privileges:true\"]\npull_policy: if_not_present");
    assert_eq!(s.working_dir.as_deref(), Some("/app"));
    assert_eq!(s.user.as_deref(), Some("1000"));
    assert_eq!(s.hostname.as_deref(), Some("h"));
    assert_eq!(s.init, Some(true));
    assert!(s.read_only && s.stdin_open && s.tty);
    assert_eq!(s.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(s.runtime.as_deref(), Some("runc"));
    assert_eq!(s.container_name.as_deref(), Some("my-web"));
    assert_eq!(s.dns, vec!["8.8.8.8"]);
    assert_eq!(s.cap_drop, vec!["ALL"]);
    assert_eq!(s.security_opt, vec!["no-new-privileges:true"]);
    assert_eq!(s.pull_policy, PullPolicy::Missing);
    assert_eq!(svc("pull_policy: never").pull_policy, PullPolicy::Never);
}

#[test]
fn sysctls_ulimits_logging() {
    let s = svc("sysctls: {net.core.somaxconn: 1024}\nulimits:\n  nproc: 65535\n  nofile: {soft: 1024, hard: 4096}\nlogging:\n  driver: json-file\n  options: {max-size: 10m, max-file: 3}");
    assert_eq!(s.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(
        s.ulimits["nproc"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(
        s.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 4096
        }
    );
    let logging = s.logging.unwrap();
    assert_eq!(logging.driver, "json-file");
    assert_eq!(logging.options["max-file"], "3");
    assert_eq!(
        svc("sysctls: [\"net.ipv4.ip_forward=1\"]").sysctls["net.ipv4.ip_forward"],
        "1"
    );
}

#[test]
fn replicas_from_deploy_or_scale() {
    assert_eq!(svc("deploy: {replicas: 3}").replicas, 3);
    assert_eq!(svc("scale: 2").replicas, 2);
    assert_eq!(svc("scale: 0").replicas, 0);
    assert_eq!(svc("").replicas, 1);
}

#[test]
fn build_short_and_long() {
    let host = MemHost::new()
        .dir("/srv/app/web")
        .file("/srv/app/web/docker/Dockerfile.dev", "FROM x");
    let yaml = r#"name: shop
services:
  web:
    build:
      context: ./web
      dockerfile: docker/Dockerfile.dev
      target: dev
      args: {VERSION: "1.0", FROM_ENV: null}
      labels: [a=b]
      no_cache: true
      pull: true
  api:
    build: ./web
    image: registry:5000/api:v1
"#;
    let p = load_with(yaml, &host.var("FROM_ENV", "e")).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image, "shop-web");
    let b = web.build.as_ref().unwrap();
    assert_eq!(b.context, "/srv/app/web");
    assert_eq!(b.dockerfile, "docker/Dockerfile.dev");
    assert_eq!(b.target.as_deref(), Some("dev"));
    assert_eq!(b.args["VERSION"], "1.0");
    assert_eq!(b.args["FROM_ENV"], "e");
    assert_eq!(b.labels["a"], "b");
    assert!(b.no_cache && b.pull);
    let api = &p.services["api"];
    assert_eq!(api.image, "registry:5000/api:v1");
    assert_eq!(api.build.as_ref().unwrap().dockerfile, "Dockerfile");
}

#[test]
fn top_level_networks_and_volumes() {
    let yaml = r#"name: t
services:
  a: {image: x, networks: [n1, n2, n3], volumes: ["v1:/a", "v2:/b", "v3:/c"]}
networks:
  n1:
  n2: {driver: bridge, internal: true, labels: [team=x], name: custom}
  n3: {external: true, name: shared}
volumes:
  v1:
  v2: {driver: local, labels: {k: v}}
  v3: {external: true}
"#;
    let p = ok(yaml);
    assert_eq!(p.networks["n1"], NetworkSpec::default());
    let n2 = &p.networks["n2"];
    assert!(n2.internal && !n2.external);
    assert_eq!(n2.driver.as_deref(), Some("bridge"));
    assert_eq!(n2.labels["team"], "x");
    assert_eq!(n2.name.as_deref(), Some("custom"));
    assert!(p.networks["n3"].external);
    assert_eq!(p.networks["n3"].name.as_deref(), Some("shared"));
    assert_eq!(p.volumes["v1"], VolumeSpec::default());
    assert_eq!(p.volumes["v2"].labels["k"], "v");
    assert!(p.volumes["v3"].external);
}

#[test]
fn links_become_aliases_and_dependencies() {
    let p = ok(
        "name: t\nservices:\n  db: {image: x}\n  web: {image: x, links: [\"db:database\", db]}\n",
    );
    assert_eq!(
        p.services["db"].networks["default"].aliases,
        vec!["database"]
    );
    assert!(p.services["web"].depends_on.contains_key("db"));
}

#[test]
fn json_specs_load_like_yaml() {
    let spec = serde_json::json!({"name": "j", "services": {"web": {"image": "nginx", "ports": ["8080:80"]}}});
    let p = planner::load::load_json(&spec, &load_support::opts(), &MemHost::new()).unwrap();
    assert_eq!(p.services["web"].ports[0].published, Some(8080));
}
