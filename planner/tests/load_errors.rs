//! Every validation, key and policy error: its kind, its path and a fragment of what it says.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod load_support;

use load_support::{assert_error, errors, load_with, opts, MemHost};
use planner::load::load_yaml;
use planner::ErrorKind::{self, *};

fn svc(body: &str) -> String {
    let body: Vec<String> = body.lines().map(|l| format!("    {l}")).collect();
    format!(
        "name: t\nservices:\n  web:\n    image: nginx\n{}\n",
        body.join("\n")
    )
}

fn check(cases: &[(&str, ErrorKind, &str, &str)]) {
    for (yaml, kind, path, fragment) in cases {
        assert_error(&errors(yaml), *kind, path, fragment);
    }
}

#[test]
fn unknown_and_unsupported_keys() {
    check(&[
        (&svc("portz: [\"80:80\"]"), UnknownKey, "services.web.portz", "did you mean `ports`?"),
        (&svc("enviroment: {A: b}"), UnknownKey, "services.web.enviroment", "did you mean `environment`?"),
        (&svc("zzzzzzzz: 1"), UnknownKey, "services.web.zzzzzzzz", "known keys here"),
        ("name: t\nservice:\n  web: {image: x}\n", UnknownKey, "service", "did you mean `services`?"),
        (&svc("healthcheck: {tset: [CMD, x]}"), UnknownKey, "services.web.healthcheck.tset", "did you mean `test`?"),
        (&svc("ports: [{target: 80, publshed: 8080}]"), UnknownKey, "services.web.ports[0].publshed", "`published`"),
        (&svc("build: {context: ., dockerfle: D}"), UnknownKey, "services.web.build.dockerfle", "`dockerfile`"),
        (&svc("deploy: {resources: {limits: {memroy: 1g}}}"), UnknownKey, "services.web.deploy.resources.limits.memroy", "`memory`"),
        (&svc("environment: {A: {secrte: x}}"), UnknownKey, "services.web.environment.A.secrte", "`secret`"),
        ("name: t\nservices: {}\nnetworks: {n: {drivr: bridge}}\n", UnknownKey, "networks.n.drivr", "`driver`"),
        (&svc("extends: {service: web, fil: x}"), UnknownKey, "services.web.extends.fil", "did you mean `file`?"),
        (&svc("volumes_from: [other]"), Unsupported, "services.web.volumes_from", "not supported"),
        (&svc("gpus: all"), Unsupported, "services.web.gpus", "GPU"),
        (&svc("userns_mode: host"), Unsupported, "services.web.userns_mode", "not supported"),
        (&svc("networks: {default: {mac_address: 02:42:ac:11:00:02}}"), Unsupported, "services.web.networks.default.mac_address", "API 1.44"),
        (&svc("mac_address: 02:42:ac:11:00"), Invalid, "services.web.mac_address", "not a MAC address"),
        (&svc("mac_address: 01:00:5e:00:00:01"), Invalid, "services.web.mac_address", "multicast"),
        (&svc("mac_address: 02:42:ac:11:00:02\nnetwork_mode: host"), Invalid, "services.web.mac_address", "network_mode: host"),
        (&svc("mac_address: 02:42:ac:11:00:02\ndeploy: {replicas: 2}"), Invalid, "services.web.mac_address", "same MAC"),
        ("name: t\nservices:\n  a: {image: x, mac_address: 02:42:ac:11:00:02}\n  b: {image: x, mac_address: 02-42-AC-11-00-02}\n", Invalid, "services.b.mac_address", "already given to service `a`"),
        (&svc("deploy: {resources: {limits: {devices: []}}}"), Unsupported, "services.web.deploy.resources.limits.devices", "GPU"),
        (&svc("networks: {default: {link_local_ips: [169.254.1.1]}}"), Unsupported, "services.web.networks.default.link_local_ips", "link-local"),
        ("name: t\ninclude: [other.yml]\nservices: {}\n", Invalid, "include[0].path[0]", "cannot read"),
        ("name: t\ninclude: [{path: a.yml, projct_directory: .}]\nservices: {}\n", UnknownKey, "include[0].projct_directory", "`project_directory`"),
        ("name: t\nservices: {}\nvolumes: {v: {driver_opts: {type: none, device: /etc, o: bind}}}\n", Unsupported, "volumes.v.driver_opts", "host paths"),
        ("name: t\nservices: {}\nsecrets: {s: {external: true}}\n", Unsupported, "secrets.s.external", "Swarm"),
    ]);
}

#[test]
fn wrong_types_name_their_path() {
    check(&[
        (&svc("ports: 80"), Syntax, "services.web.ports", "sequence"),
        (
            &svc("ports: [[1]]"),
            Syntax,
            "services.web.ports[0]",
            "9000:80",
        ),
        (
            &svc("environment: 5"),
            Syntax,
            "services.web.environment",
            "mapping",
        ),
        (
            "name: t\nservices:\n  web: {image: [a]}\n",
            Syntax,
            "services.web.image",
            "string",
        ),
        (
            "name: t\nservices:\n  web: 3\n",
            Syntax,
            "services.web",
            "mapping",
        ),
        ("name: t\nservices: [a]\n", Syntax, "services", "mapping"),
        ("- a\n- b\n", Syntax, "", "mapping"),
        ("name: t\nservices:\n  web: {image: x\n", Syntax, "", "YAML"),
        (&svc("init: maybe"), Invalid, "services.web.init", "boolean"),
        (
            &svc("scale: many"),
            Invalid,
            "services.web.scale",
            "whole number",
        ),
        (&svc("cpus: lots"), Invalid, "services.web.cpus", "number"),
        (
            &svc("mem_limit: 5x"),
            Invalid,
            "services.web.mem_limit",
            "unit",
        ),
    ]);
}

#[test]
fn bad_ports() {
    check(&[
        (
            &svc("ports: [\"8080:0\"]"),
            Invalid,
            "services.web.ports[0]",
            "out of range",
        ),
        (
            &svc("ports: [{target: 0, published: 0}]"),
            Invalid,
            "services.web.ports[0]",
            "out of range",
        ),
        (
            &svc("ports: [\"8080:70000\"]"),
            Invalid,
            "services.web.ports[0]",
            "out of range",
        ),
        (
            &svc("ports: [70000]"),
            Invalid,
            "services.web.ports[0]",
            "out of range",
        ),
        (
            &svc("ports: [-1]"),
            Invalid,
            "services.web.ports[0]",
            "not a port",
        ),
        (
            &svc("ports: [\"http\"]"),
            Invalid,
            "services.web.ports[0]",
            "not a port",
        ),
        (
            &svc("ports: [\"80/icmp\"]"),
            Invalid,
            "services.web.ports[0]",
            "protocol",
        ),
        (
            &svc("ports: [\"1.2.3:80:80\"]"),
            Invalid,
            "services.web.ports[0]",
            "not an IP",
        ),
        (
            &svc("ports: [\"8000-8002:80-81\"]"),
            Invalid,
            "services.web.ports[0]",
            "same length",
        ),
        (
            &svc("ports: [{published: 80}]"),
            Invalid,
            "services.web.ports[0]",
            "target",
        ),
        (
            &svc("ports: [{target: 80, mode: weird}]"),
            Invalid,
            "services.web.ports[0]",
            "mode",
        ),
        (
            &svc("expose: [\"99999\"]"),
            Invalid,
            "services.web.expose[0]",
            "out of range",
        ),
    ]);
}

#[test]
fn bad_durations_and_values() {
    check(&[
        (
            &svc("stop_grace_period: soon"),
            Invalid,
            "services.web.stop_grace_period",
            "not a duration",
        ),
        (
            &svc("healthcheck: {test: [CMD, x], interval: 10x}"),
            Invalid,
            "services.web.healthcheck.interval",
            "unknown unit",
        ),
        (
            &svc("healthcheck: {test: [CMD, x], timeout: \"-1s\"}"),
            Invalid,
            "services.web.healthcheck.timeout",
            "negative",
        ),
        (
            &svc("healthcheck: {test: [curl, x]}"),
            Invalid,
            "services.web.healthcheck.test",
            "CMD",
        ),
        (
            &svc("healthcheck: {test: [CMD, x], retries: -1}"),
            Invalid,
            "services.web.healthcheck.retries",
            "negative",
        ),
        (
            &svc("restart: sometimes"),
            Invalid,
            "services.web.restart",
            "restart policy",
        ),
        (
            &svc("pull_policy: daily"),
            Invalid,
            "services.web.pull_policy",
            "pull policy",
        ),
        (
            &svc("depends_on: {db: {condition: service_ready}}"),
            Invalid,
            "services.web.depends_on.db.condition",
            "condition",
        ),
        (
            &svc("command: \"echo 'oops\""),
            Invalid,
            "services.web.command",
            "quote",
        ),
        (
            &svc("volumes: [\"data\"]"),
            Invalid,
            "services.web.volumes[0]",
            "not absolute",
        ),
        (
            &svc("volumes: [\"a:b:c:d\"]"),
            Invalid,
            "services.web.volumes[0]",
            "too many",
        ),
        (
            &svc("volumes: [{type: bind, target: /x}]"),
            Invalid,
            "services.web.volumes[0]",
            "source",
        ),
        (
            &svc("volumes: [{type: npipe, source: x, target: /x}]"),
            Unsupported,
            "services.web.volumes[0].type",
            "npipe",
        ),
        (
            &svc("working_dir: app"),
            Invalid,
            "services.web.working_dir",
            "absolute",
        ),
        (
            &svc("hostname: \"bad_host!\""),
            Invalid,
            "services.web.hostname",
            "not a valid hostname",
        ),
        (
            &svc("dns: [dns.google]"),
            Invalid,
            "services.web.dns[0]",
            "not an IP",
        ),
        (
            &svc("stop_signal: \"kill -9\""),
            Invalid,
            "services.web.stop_signal",
            "not a signal",
        ),
        (
            &svc("ulimits: {files: 10}"),
            Invalid,
            "services.web.ulimits.files",
            "not a ulimit",
        ),
        (
            &svc("network_mode: host\nsysctls: {net.core.somaxconn: 1}"),
            Invalid,
            "services.web.sysctls.net.core.somaxconn",
            "host",
        ),
        (
            &svc("extra_hosts: [\"db:not-an-ip\"]"),
            Invalid,
            "services.web.extra_hosts[0]",
            "host:ip",
        ),
        (
            &svc("ulimits: {nofile: {soft: 10, hard: 5}}"),
            Invalid,
            "services.web.ulimits.nofile",
            "soft",
        ),
        (
            &svc("sysctls: {kernel.panic: 1}"),
            Invalid,
            "services.web.sysctls.kernel.panic",
            "namespaced",
        ),
        (
            &svc("mem_limit: 1g\ndeploy: {resources: {limits: {memory: 2g}}}"),
            Invalid,
            "services.web.mem_limit",
            "disagree",
        ),
        (
            &svc("scale: 2\ndeploy: {replicas: 3}"),
            Invalid,
            "services.web.scale",
            "disagree",
        ),
        (
            &svc("labels: [\"=x\"]"),
            Invalid,
            "services.web.labels[0]",
            "no key",
        ),
        (
            &svc("environment: [\"=x\"]"),
            Invalid,
            "services.web.environment[0]",
            "variable name",
        ),
        (
            &svc("network_mode: none\nnetworks: [default]"),
            Invalid,
            "services.web.network_mode",
            "cannot be combined",
        ),
    ]);
}

#[test]
fn references() {
    check(&[
        (
            &svc("networks: [backend]"),
            Invalid,
            "services.web.networks.backend",
            "not defined",
        ),
        (
            &svc("volumes: [\"data:/data\"]"),
            Invalid,
            "services.web.volumes[0]",
            "not declared",
        ),
        (
            &svc("volumes: [{type: volume, source: data, target: /d}]"),
            Invalid,
            "services.web.volumes[0]",
            "not declared",
        ),
        (
            &svc("depends_on: [db]"),
            Invalid,
            "services.web.depends_on.db",
            "undefined service",
        ),
        (
            &svc("links: [db]"),
            Invalid,
            "services.web.links[0]",
            "undefined service",
        ),
        (
            &svc("secrets: [token]"),
            Invalid,
            "services.web.secrets[0]",
            "not declared",
        ),
        (
            &svc("configs: [{source: conf}]"),
            Invalid,
            "services.web.configs[0]",
            "not declared",
        ),
        (
            &svc("secrets: [{target: x}]"),
            Invalid,
            "services.web.secrets[0]",
            "source",
        ),
        (
            "name: t\nservices:\n  web: {command: x}\n",
            Invalid,
            "services.web",
            "neither `image` nor `build`",
        ),
        (
            "name: t\nservices: {}\nsecrets: {s: {}}\n",
            Invalid,
            "secrets.s",
            "exactly one",
        ),
        (
            "name: t\nservices: {}\nconfigs: {c: {file: ./a, content: b}}\n",
            Invalid,
            "configs.c",
            "exactly one",
        ),
        (
            "name: t\nservices: {}\nnetworks: {n: {external: true, driver: bridge}}\n",
            Invalid,
            "networks.n",
            "external",
        ),
    ]);
}

#[test]
fn dependency_cycles_are_named() {
    let e = errors("name: t\nservices:\n  web: {image: x, depends_on: [api]}\n  api: {image: x, depends_on: [web]}\n");
    assert_error(&e, Invalid, "services.api.depends_on", "api -> web -> api");
    let e = errors("name: t\nservices:\n  a: {image: x, depends_on: [a]}\n");
    assert_error(&e, Invalid, "services.a.depends_on", "a -> a");
    let e = errors("name: t\nservices:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n");
    assert_eq!(
        e.iter().filter(|e| e.message.contains("cycle")).count(),
        1,
        "one cycle reported once"
    );
    assert_error(&e, Invalid, "services.a.depends_on", "a -> b -> c -> a");
}

#[test]
fn names_and_clashes() {
    check(&[
        ("name: t\nservices:\n  a: {image: x, container_name: same}\n  b: {image: x, container_name: same}\n", Invalid, "services.b.container_name", "also used by service `a`"),
        (&svc("container_name: one\ndeploy: {replicas: 2}"), Invalid, "services.web.container_name", "replicas"),
        (&svc("container_name: \"bad name\""), Invalid, "services.web.container_name", "not a valid container name"),
        ("name: t\nservices:\n  a: {image: x, ports: [\"8080:80\"]}\n  b: {image: x, ports: [\"8080:81\"]}\n", Invalid, "services.b.ports", "already published by service `a`"),
        (&svc("ports: [\"8080:80\", \"127.0.0.1:8080:81\"]"), Invalid, "services.web.ports", "already published by this service"),
        (&svc("ports: [\"8080:80\"]\nscale: 2"), Invalid, "services.web.ports", "each of the 2 replicas"),
        ("name: t\nservices:\n  \"we b\": {image: x}\n", Invalid, "services.we b", "not a valid service name"),
        ("name: t\nservices:\n  wébé: {image: x}\n", Invalid, "services.wébé", "not a valid service name"),
        (&format!("name: t\nservices:\n  {}: {{image: x}}\n", "s".repeat(100)), Invalid, &format!("services.{}", "s".repeat(100)), "not a valid service name"),
        ("name: t\nservices: {}\nnetworks: {\"bad net\": {}}\n", Invalid, "networks.bad net", "not a valid name"),
        ("name: t\nservices:\n  web: {image: \"Not/Valid:tag\"}\n", Invalid, "services.web.image", "not a valid image reference"),
        ("name: t\nservices:\n  web: {image: \"nginx:\"}\n", Invalid, "services.web.image", "not a valid image reference"),
        ("name: My_App\nservices: {}\n", Invalid, "name", "lowercase"),
        ("services: {web: {image: x}}\n", Invalid, "name", "add `name: my-app`"),
    ]);
    let e = load_yaml(
        "services: {}\n",
        &planner::load::LoadOptions {
            project_name: Some("Bad Name".into()),
            ..opts()
        },
        &MemHost::new(),
    )
    .unwrap_err();
    assert_error(&e.0, Invalid, "name", "lowercase");
}

#[test]
fn policy_refusals_name_the_allowlist() {
    check(&[
        (
            &svc("privileged: true"),
            Policy,
            "services.web.privileged",
            "--allow-option privileged",
        ),
        (
            &svc("cap_add: [NET_ADMIN]"),
            Policy,
            "services.web.cap_add",
            "--allow-option cap_add",
        ),
        (
            &svc("devices: [\"/dev/sda:/dev/xvda\"]"),
            Policy,
            "services.web.devices",
            "--allow-option devices",
        ),
        (
            &svc("devices: [{source: /dev/kvm}]"),
            Policy,
            "services.web.devices",
            "MCP_DOCKER_ALLOW_OPTIONS",
        ),
        (
            &svc("pid: host"),
            Policy,
            "services.web.pid",
            "--allow-option host_pid",
        ),
        (
            &svc("ipc: host"),
            Policy,
            "services.web.ipc",
            "--allow-option host_ipc",
        ),
        (
            &svc("network_mode: host"),
            Policy,
            "services.web.network_mode",
            "--allow-option host_network",
        ),
        (
            &svc("network_mode: \"container:abc\""),
            Policy,
            "services.web.network_mode",
            "shared_namespaces",
        ),
        (
            &svc("security_opt: [\"seccomp:unconfined\"]"),
            Policy,
            "services.web.security_opt[0]",
            "--allow-option security_opt",
        ),
        (
            &svc("security_opt: [\"apparmor=unconfined\"]"),
            Policy,
            "services.web.security_opt[0]",
            "AppArmor",
        ),
        (
            &svc("security_opt: [\"label:disable\"]"),
            Policy,
            "services.web.security_opt[0]",
            "SELinux",
        ),
        (
            &svc("security_opt: [\"seccomp=/tmp/p.json\"]"),
            Policy,
            "services.web.security_opt[0]",
            "custom seccomp",
        ),
        (
            &svc("volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]"),
            Policy,
            "services.web.volumes[0]",
            "Docker socket",
        ),
        (
            &svc("volumes: [\"/run/docker.sock:/s\"]"),
            Policy,
            "services.web.volumes[0]",
            "this path cannot be allowed",
        ),
        (
            &svc("volumes: [\"/:/host\"]"),
            Policy,
            "services.web.volumes[0]",
            "whole host",
        ),
        (
            &svc("volumes: [\"/proc:/p\"]"),
            Policy,
            "services.web.volumes[0]",
            "/proc",
        ),
        (
            &svc("volumes: [\"/sys/fs/cgroup:/c\"]"),
            Policy,
            "services.web.volumes[0]",
            "/sys",
        ),
        (
            &svc("volumes: [\"/dev:/d\"]"),
            Policy,
            "services.web.volumes[0]",
            "/dev",
        ),
        (
            &svc("volumes: [\"/etc/passwd:/p:ro\"]"),
            Policy,
            "services.web.volumes[0]",
            "MCP_DOCKER_ALLOW_PATHS",
        ),
        (
            &svc("volumes: [\"/root:/r\"]"),
            Policy,
            "services.web.volumes[0]",
            "/root",
        ),
        (
            &svc("volumes: [\"/home/me/.ssh:/k\"]"),
            Policy,
            "services.web.volumes[0]",
            ".ssh",
        ),
        (
            &svc("volumes: [\"/var/run:/r\"]"),
            Policy,
            "services.web.volumes[0]",
            "contains",
        ),
        (
            &svc("volumes: [\"../../../etc:/e\"]"),
            Policy,
            "services.web.volumes[0]",
            "/etc",
        ),
        (
            &svc("volumes: [{type: bind, source: /etc, target: /e}]"),
            Policy,
            "services.web.volumes[0].source",
            "/etc",
        ),
        (
            &svc("env_file: /etc/shadow"),
            Policy,
            "services.web.env_file",
            "/etc",
        ),
        (
            "name: t\nservices: {}\nsecrets: {k: {file: /root/.ssh/id_rsa}}\n",
            Policy,
            "secrets.k.file",
            "refused",
        ),
        (
            "name: t\nservices: {}\nconfigs: {k: {file: /proc/self/environ}}\n",
            Policy,
            "configs.k.file",
            "/proc",
        ),
        (
            &svc("build: ../outside"),
            Policy,
            "services.web.build",
            "outside the project directory",
        ),
        (
            &svc("build: /etc"),
            Policy,
            "services.web.build",
            "outside the project directory",
        ),
        (
            &svc("build: {context: ., dockerfile: ../Dockerfile}"),
            Policy,
            "services.web.build.dockerfile",
            "outside the build context",
        ),
        (
            &svc("build: \"https://github.com/x/y.git\""),
            Unsupported,
            "services.web.build",
            "remote build context",
        ),
        (
            &svc("build: {context: \"git@github.com:x/y.git\"}"),
            Unsupported,
            "services.web.build.context",
            "remote",
        ),
    ]);
}

#[test]
fn symlinks_that_lead_out_are_refused() {
    let host = MemHost::new()
        .dir("/etc")
        .symlink("/srv/app/cfg", "/etc")
        .symlink("/srv/app/ctx", "/opt/elsewhere")
        .dir("/opt/elsewhere");
    let yaml = "name: t\nservices:\n  web:\n    image: x\n    volumes: [\"./cfg/new-dir:/c\"]\n  b:\n    build: ./ctx\n";
    let e = load_with(yaml, &host).unwrap_err().0;
    assert_error(&e, Policy, "services.web.volumes[0]", "/etc/new-dir");
    assert_error(&e, Policy, "services.b.build", "/opt/elsewhere");
}

#[test]
fn the_allowlist_loosens_policy_but_the_spec_cannot() {
    let yaml = svc("privileged: true\ncap_add: [NET_ADMIN]\nnetwork_mode: host\nvolumes: [\"/etc/app:/cfg:ro\"]");
    let mut o = opts();
    o.policy.allowed_options = ["privileged", "cap_add", "host_network"]
        .into_iter()
        .map(String::from)
        .collect();
    o.policy.allowed_paths = vec!["/etc/app".into()];
    let p = load_yaml(&yaml, &o, &MemHost::new()).unwrap();
    let web = &p.services["web"];
    assert!(web.privileged);
    assert_eq!(web.cap_add, vec!["NET_ADMIN"]);
    assert_eq!(web.network_mode.as_deref(), Some("host"));
    // An allowed prefix does not extend to its siblings.
    o.policy.allowed_paths = vec!["/etc/app".into()];
    let e = load_yaml(&svc("volumes: [\"/etc/apparmor:/a\"]"), &o, &MemHost::new()).unwrap_err();
    assert_error(&e.0, Policy, "services.web.volumes[0]", "/etc");
    // Safe security options need no allowlist.
    load_yaml(
        &svc("security_opt: [\"no-new-privileges:true\", \"apparmor=docker-default\"]"),
        &opts(),
        &MemHost::new(),
    )
    .unwrap();
}

#[test]
fn every_error_has_a_fix() {
    let yaml = "name: t\nservices:\n  web:\n    image: x\n    portz: 1\n    privileged: true\n    ports: [\"70000:80\"]\n    depends_on: [nope]\n    networks: [nope]\n";
    let e = errors(yaml);
    assert!(e.len() >= 5, "all errors are collected: {e:?}");
    for err in &e {
        assert!(!err.fix.is_empty(), "{err}");
        assert!(!err.path.is_empty(), "{err}");
    }
}

#[test]
fn oversized_specs_are_refused_cleanly() {
    let big = format!(
        "name: t\nservices:\n  web:\n    image: x\n    labels:\n      big: \"{}\"\n",
        "a".repeat(10 * 1024 * 1024)
    );
    let e = load_yaml(&big, &opts(), &MemHost::new()).unwrap_err();
    assert_error(&e.0, Syntax, "", "limit is 1048576 bytes");
    let json = serde_json::json!({"name": "t", "services": {"web": {"image": "x", "labels": {"big": "a".repeat(2 * 1024 * 1024)}}}});
    let e = planner::load::load_json(&json, &opts(), &MemHost::new()).unwrap_err();
    assert_error(&e.0, Syntax, "", "limit");
}

#[test]
fn alias_bombs_are_refused_cleanly() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        yaml.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    yaml.push_str("name: t\nservices: {}\n");
    let e = load_yaml(&yaml, &opts(), &MemHost::new()).unwrap_err();
    assert_eq!(e.0[0].kind, Syntax);
}

#[test]
fn large_specs_load_quickly_and_without_overflow() {
    let mut yaml = String::from("name: t\nservices:\n  s0: {image: x}\n");
    for i in 1..20_000 {
        yaml.push_str(&format!("  s{i}: {{image: x, depends_on: [s{}]}}\n", i - 1));
    }
    assert!(yaml.len() < planner::load::MAX_SPEC_BYTES);
    let started = std::time::Instant::now();
    // The default limits refuse 20,000 services at once; an operator may raise them.
    let e = load_yaml(&yaml, &opts(), &MemHost::new()).unwrap_err();
    assert_eq!(e.0[0].kind, Policy, "{e}");
    let mut raised = opts();
    raised.policy.limits.max_services = 20_000;
    raised.policy.limits.max_containers = 20_000;
    raised.policy.limits.max_yaml_nodes = 1_000_000;
    raised.policy.limits.max_ports = 60_000;
    let p = load_yaml(&yaml, &raised, &MemHost::new()).unwrap();
    assert_eq!(p.services.len(), 20_000);
    let ranges = "name: t\nservices:\n  a: {image: x, ports: [\"1-30000:1-30000\"]}\n  b: {image: x, ports: [\"1-30000:1-30000\"]}\n";
    let e = load_yaml(ranges, &raised, &MemHost::new()).unwrap_err();
    assert_eq!(e.0.len(), planner::load::MAX_ERRORS + 1);
    assert!(e.0.last().unwrap().message.contains("29900 more problems"));
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn credential_folders_are_refused_anywhere() {
    for folder in [".ssh", ".gnupg", ".aws", ".kube"] {
        let e = errors(&svc(&format!("volumes: [\"/home/me/{folder}:/k:ro\"]")));
        assert_error(&e, Policy, "services.web.volumes[0]", folder);
    }
}

#[test]
fn directories_holding_credentials_are_refused() {
    let host = MemHost::new()
        .file("/home/me/.ssh/id_ed25519", "KEY")
        .file("/srv/app/.aws/credentials", "x");
    let e = load_with(&svc("volumes: [\"/home/me:/h\"]"), &host)
        .unwrap_err()
        .0;
    assert_error(&e, Policy, "services.web.volumes[0]", "contains `.ssh`");
    assert_error(
        &e,
        Policy,
        "services.web.volumes[0]",
        "--allow-path /home/me/.ssh",
    );
    let e = load_with(
        &svc("volumes: [\"~:/h\"]"),
        &host.clone().var("HOME", "/home/me"),
    )
    .unwrap_err()
    .0;
    assert_error(&e, Policy, "services.web.volumes[0]", "contains `.ssh`");
    let e = load_with("name: t\nservices:\n  b: {build: .}\n", &host)
        .unwrap_err()
        .0;
    assert_error(&e, Policy, "services.b.build", "contains `.aws`");
    load_with(&svc("volumes: [\"/home/me/project:/p\"]"), &host).unwrap();
}

#[test]
fn relative_project_dirs_are_refused() {
    let o = planner::load::LoadOptions {
        project_dir: "rel".into(),
        ..opts()
    };
    let e = load_yaml("name: t\nservices: {}\n", &o, &MemHost::new()).unwrap_err();
    assert_error(&e.0, Invalid, "", "not an absolute path");
}

#[test]
fn empty_and_malformed_images_are_refused() {
    let image = |value: &str| format!("name: t\nservices:\n  web: {{image: {value}}}\n");
    check(&[
        (
            &image("\"\""),
            Invalid,
            "services.web.image",
            "`image` is empty",
        ),
        (
            &image("\"   \""),
            Invalid,
            "services.web.image",
            "`image` is empty",
        ),
        (
            &image("\"nginx latest\""),
            Invalid,
            "services.web.image",
            "whitespace",
        ),
        (
            &image("\" nginx\""),
            Invalid,
            "services.web.image",
            "whitespace",
        ),
        (&image("Nginx"), Invalid, "services.web.image", "lowercase"),
        (
            &image("\":latest\""),
            Invalid,
            "services.web.image",
            "repository name is missing",
        ),
    ]);
    // With `build`, an empty `image` is still an error rather than a silent fallback to the built name.
    let e = errors("name: t\nservices:\n  web: {image: \"\", build: .}\n");
    assert_error(&e, Invalid, "services.web.image", "empty");
    for e in &e {
        assert!(!e.fix.is_empty(), "{e}");
        assert!(!e.message.contains("neither"), "{e}");
    }
}

#[test]
fn an_empty_image_is_refused_for_a_single_container_too() {
    let e = planner::load::load_service(
        "box",
        &serde_json::json!({"image": ""}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err();
    assert_error(&e.0, Invalid, "box.image", "empty");
}

#[test]
fn type_errors_speak_compose_not_rust() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "name: t\nservices: {}\nvolumes:\n  data: []\n",
            "volumes.data",
            "expected a mapping (driver, labels, external, name) or nothing, found a list",
        ),
        (
            "name: t\nservices: {}\nvolumes:\n  data: [local]\n",
            "volumes.data",
            "expected a mapping (driver, labels, external, name) or nothing, found a list",
        ),
        (
            "name: t\nservices: {}\nnetworks:\n  n: [bridge]\n",
            "networks.n",
            "expected a mapping (driver, labels, internal, external, name) or nothing",
        ),
        (
            "name: t\nservices: {}\nnetworks:\n  n: bridge\n",
            "networks.n",
            "found the string \"bridge\"",
        ),
        (
            "name: t\nservices: {}\nsecrets:\n  s: ./file\n",
            "secrets.s",
            "one of file, environment or content",
        ),
        (
            &svc("healthcheck: [CMD, x]"),
            "services.web.healthcheck",
            "expected a mapping (test, interval",
        ),
        (
            &svc("deploy: 3"),
            "services.web.deploy",
            "found the number 3",
        ),
        (
            &svc("logging: json-file"),
            "services.web.logging",
            "a mapping (driver, options)",
        ),
        (
            &svc("ports: [[1]]"),
            "services.web.ports[0]",
            "expected a port such as 80",
        ),
        (
            &svc("volumes: [[1]]"),
            "services.web.volumes[0]",
            "name:/path[:ro]",
        ),
        (
            &svc("depends_on: 5"),
            "services.web.depends_on",
            "a list of services or a mapping",
        ),
        (
            &svc("cap_drop: ALL"),
            "services.web.cap_drop",
            "found the string \"ALL\"",
        ),
        (
            "name: t\nservices:\n  web: {image: {a: 1}}\n",
            "services.web.image",
            "expected a string, found a mapping",
        ),
        (
            &svc("ports: 80"),
            "services.web.ports",
            "expected a sequence (a list), found the number 80",
        ),
    ];
    for (yaml, path, fragment) in cases {
        let e = errors(yaml);
        assert_error(&e, Syntax, path, fragment);
        for err in &e {
            for rust in [
                "struct ",
                "untagged enum",
                "variant",
                " with 4 elements",
                "i64",
                "Top",
            ] {
                assert!(
                    !err.message.contains(rust) && !err.fix.contains(rust),
                    "`{rust}` leaks into: {err}"
                );
            }
        }
    }
}

#[test]
fn a_refused_build_or_extends_is_the_only_error_for_its_service() {
    for (yaml, path) in [
        (
            "name: t\nservices:\n  web: {build: ../outside}\n",
            "services.web.build",
        ),
        (
            "name: t\nservices:\n  web: {build: \"https://github.com/x/y.git\"}\n",
            "services.web.build",
        ),
        (
            "name: t\nservices:\n  web: {build: {context: \"git@github.com:x/y.git\"}}\n",
            "services.web.build.context",
        ),
        (
            "name: t\nservices:\n  base: {image: x}\n  web: {extends: {service: missing}}\n",
            "services.web.extends",
        ),
    ] {
        let e = errors(yaml);
        assert_eq!(e.len(), 1, "one error for {yaml}: {e:#?}");
        assert_eq!(e[0].path, path);
    }
    // Without `build` or `extends`, the missing image is still reported.
    assert_error(
        &errors("name: t\nservices:\n  web: {command: x}\n"),
        Invalid,
        "services.web",
        "neither `image` nor `build`",
    );
    // A single container gets the same treatment.
    let e = planner::load::load_service(
        "box",
        &serde_json::json!({"build": "../outside"}),
        &opts(),
        &MemHost::new(),
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1, "{:#?}", e.0);
    assert_eq!(e.0[0].path, "box.build");
}

#[test]
fn a_container_path_mounted_twice_is_refused() {
    check(&[
        (
            "name: t\nservices:\n  web: {image: x, volumes: [\"data:/data\", \"/srv/x:/data/\"]}\nvolumes: {data: {}}\n",
            Invalid,
            "services.web.volumes",
            "`/data` is mounted more than once",
        ),
        (
            &svc("volumes: [\"/srv/x:/cache\"]\ntmpfs: [\"/cache/:size=1m\"]"),
            Invalid,
            "services.web.tmpfs",
            "`/cache` is mounted more than once",
        ),
    ]);
}

#[test]
fn local_volume_driver_options_cannot_bind_host_paths() {
    let yaml = "name: t\nservices:\n  web: {image: x, volumes: [\"data:/d\"]}\nvolumes:\n  data:\n    driver: local\n    driver_opts: {type: none, o: bind, device: /etc}\n";
    let e = load_yaml(yaml, &opts(), &MemHost::new()).unwrap_err();
    assert!(
        e.0.iter()
            .any(|e| e.path.starts_with("volumes.data.driver_opts")),
        "{e}"
    );
}

#[test]
fn port_range_fan_out_is_bounded() {
    let mut yaml = String::from("name: t\nservices:\n");
    for i in 0..200 {
        yaml.push_str(&format!(
            "  s{i}: {{image: x, ports: [\"1-65535:1-65535\", \"1-65535:1-65535/udp\"]}}\n"
        ));
    }
    let started = std::time::Instant::now();
    let e = load_yaml(&yaml, &opts(), &MemHost::new()).unwrap_err();
    assert_error(&e.0, Policy, "services", "--max-ports");
    assert!(
        started.elapsed().as_secs() < 2,
        "took {:?}",
        started.elapsed()
    );
}
