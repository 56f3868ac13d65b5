//! Every compose key the planner and real-world-compose issues list, in one project, applied through the CLI
//! against the real engine, then checked in `docker inspect`: a key that plans but does not reach the container
//! config fails here.
//!
//! The project builds an image, runs replicas, mounts a secret, a config, a named volume and a bind, and takes
//! its values from `.env`, an `env_file` and `${VAR:-default}` interpolation through `x-*` anchors merged with
//! `<<:`. At the end it scales a service down and checks that only the highest replicas go.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use std::path::PathBuf;

use common::cli::{apply_file_args, docker, inspect, text, CliRunner};
use common::engine::{container_ids_labelled, docker_cli, ProjectGuard};

use serde_json::Value;

const LABEL: &str = "io.mcp-docker-server.project";

/// The compose file; `@PROJECT@` and `@NONCE@` are substituted per run.
const COMPOSE: &str = r#"x-base: &base
  image: mcp-docker-test/busybox:latest
  init: true
  pull_policy: never
  stop_grace_period: 3s
  logging:
    driver: json-file
    options:
      max-size: "1m"
      max-file: "2"

services:
  app:
    <<: *base
    build:
      context: ./ctx
    image: @PROJECT@-custom:dev
    pull_policy: build
    command: ["sleep", "3600"]
    expose: ["8080", "9090/udp"]
    stop_signal: SIGINT
    platform: linux/amd64
    stdin_open: true
    tty: true
    sysctls:
      net.core.somaxconn: "1024"
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    shm_size: ${ALLKEYS_SHM:-32m}
    dns: [9.9.9.9]
    cap_drop: [NET_RAW]
    deploy:
      resources:
        limits: {cpus: "0.75", memory: 128m}
        reservations: {memory: 16m}
    security_opt: ["no-new-privileges:true"]
    env_file: [./app.env]
    environment:
      TIER: ${ALLKEYS_TIER:-fallback}
      DEFAULTED: ${ALLKEYS_UNSET_VARIABLE:-from-default}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
    extra_hosts: ["upstream.example:10.1.2.3"]
    working_dir: /srv/app
    user: "1000:1000"
    hostname: app-host
    labels:
      com.example.tier: ${ALLKEYS_TIER:-fallback}
    restart: unless-stopped
    networks:
      front: {aliases: [api, api-alias]}
      back: {}
    volumes:
      - data:/data
      - ./bind:/bind:ro
    configs:
      - app_config
    secrets:
      - app_secret

  db:
    <<: *base
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
    read_only: true
    tmpfs: ["/tmp:size=16m"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 30
      start_period: 1s
    restart: always
    dns_search: [lan]
    dns_opt: ["ndots:2"]
    group_add: ["1001"]
    domainname: example.internal
    mac_address: "02:42:AC:1C:00:0A"
    cgroup: private
    mem_limit: 64m
    memswap_limit: 128m
    networks:
      back:
        aliases: [database]
        ipv4_address: @SUBNET4@.10
        ipv6_address: "@SUBNET6@::10"
    secrets:
      - source: app_secret
        target: db_copy
        mode: 0400

  migrate:
    <<: *base
    command: ["sh", "-c", "echo migrated"]
    networks: [back]

  worker:
    <<: *base
    pull_policy: missing
    command: ["sleep", "3600"]
    deploy:
      replicas: 3
    mem_limit: 64m
    mem_reservation: 32m
    cpus: 0.5
    cpu_shares: 512
    pids_limit: 100
    runtime: runc
    links: ["db:dbhost"]
    depends_on:
      app: {condition: service_started}
    networks: [back]

  pair:
    <<: *base
    command: ["sleep", "3600"]
    scale: 2

  debug:
    <<: *base
    profiles: [debug]
    command: ["sleep", "3600"]

networks:
  front: {}
  back:
    labels: {com.example.net: back}
    enable_ipv6: true
    ipam:
      config:
        - subnet: @SUBNET4@.0/24
          gateway: @SUBNET4@.1
          ip_range: @SUBNET4@.0/25
          aux_addresses: {reserved: @SUBNET4@.5}
        - subnet: "@SUBNET6@::/64"

volumes:
  data: {}

configs:
  app_config:
    content: "config-@NONCE@"

secrets:
  app_secret:
    file: ./secret.txt
"#;

/// One run's project: its directory (compose file, `.env`, build context, bind source) and state directory.
/// Dropping it destroys the project, removes anything left with its label, and the image it built.
struct AllKeys {
    name: String,
    nonce: String,
    cli: CliRunner,
    dir: tempfile::TempDir,
    _guard: ProjectGuard,
}

impl AllKeys {
    fn new() -> AllKeys {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let nonce = format!("{:x}{nanos:x}", std::process::id());
        let name = format!("allkeys-{nonce}");
        let f = AllKeys {
            _guard: ProjectGuard::new(&name),
            name,
            nonce,
            cli: CliRunner::new()
                .env_remove("ALLKEYS_TIER")
                .env_remove("ALLKEYS_SHM")
                .env_remove("ALLKEYS_UNSET_VARIABLE"),
            dir: tempfile::tempdir().unwrap(),
        };
        let d = f.dir.path();
        std::fs::create_dir_all(d.join("ctx")).unwrap();
        std::fs::write(
            d.join("ctx/Dockerfile"),
            "FROM mcp-docker-test/busybox:latest\nCOPY hello.txt /hello.txt\n",
        )
        .unwrap();
        std::fs::write(d.join("ctx/hello.txt"), format!("built-{}\n", f.nonce)).unwrap();
        std::fs::create_dir_all(d.join("bind")).unwrap();
        std::fs::write(d.join("bind/file.txt"), format!("bound-{}\n", f.nonce)).unwrap();
        std::fs::write(d.join(".env"), "ALLKEYS_TIER=gold\nALLKEYS_SHM=64m\n").unwrap();
        std::fs::write(d.join("app.env"), "FROM_ENV_FILE=yes\nTIER=overridden\n").unwrap();
        std::fs::write(d.join("secret.txt"), f.secret_value()).unwrap();
        f.write_compose(3);
        f
    }

    fn secret_value(&self) -> String {
        format!("file-secret-{}", self.nonce)
    }

    /// A per-run `/24` prefix (`10.A.B`), so parallel runs do not ask for overlapping pools.
    fn subnet4(&self) -> String {
        let seed = self.seed();
        format!("10.{}.{}", 100 + seed % 150, (seed >> 8) % 250)
    }

    /// A per-run unique-local `/64` prefix.
    fn subnet6(&self) -> String {
        format!(
            "fd00:{:x}:{:x}",
            self.seed() & 0xffff,
            (self.seed() >> 16) & 0xffff
        )
    }

    fn seed(&self) -> u64 {
        u64::from_str_radix(&self.nonce, 16).unwrap_or(0)
    }

    fn image(&self) -> String {
        format!("{}-custom:dev", self.name)
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    fn write_compose(&self, worker_replicas: u32) {
        let yaml = COMPOSE
            .replace("@SUBNET4@", &self.subnet4())
            .replace("@SUBNET6@", &self.subnet6())
            .replace("@PROJECT@", &self.name)
            .replace("@NONCE@", &self.nonce)
            .replace("replicas: 3", &format!("replicas: {worker_replicas}"));
        std::fs::write(self.file(), yaml).unwrap();
    }

    /// Runs, asserts success, and returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.cli.ok(args)
    }

    fn plan(&self) -> String {
        let file = self.file();
        self.ok(&["plan", "-p", &self.name, "-f", file.to_str().unwrap()])
    }

    fn apply(&self) -> String {
        let file = self.file();
        self.ok(&apply_file_args(&self.name, file.to_str().unwrap()))
    }

    fn container(&self, service: &str, number: u32) -> String {
        format!("{}-{service}-{number}", self.name)
    }

    /// `name -> id` of every container carrying the project's label.
    fn containers(&self) -> std::collections::BTreeMap<String, String> {
        container_ids_labelled(LABEL, &self.name)
    }
}

impl Drop for AllKeys {
    fn drop(&mut self) {
        self.cli.destroy(&self.name);
        // The project guard removes what carries the project's labels; the image it built is ours to remove.
        let _ = docker_cli(None, &["rmi", "-f", &self.image()]);
    }
}

fn exec(container: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", container];
    all.extend_from_slice(args);
    docker(&all)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Collects a failed expectation instead of stopping at the first one, so one run reports every key that
/// did not land.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn check(&mut self, what: &str, ok: bool, seen: impl std::fmt::Debug) {
        if !ok {
            self.0.push(format!("{what}: got {seen:?}"));
        }
    }

    fn eq(&mut self, what: &str, seen: &Value, expected: Value) {
        self.check(
            &format!("{what} should be {expected}"),
            *seen == expected,
            seen,
        );
    }

    fn assert_none(&self, stage: &str) {
        assert!(
            self.0.is_empty(),
            "{stage}: {} key(s) did not land:\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

fn check_app(f: &AllKeys, out: &mut Findings) {
    let name = f.container("app", 1);
    let c = inspect(&name);
    let cfg = &c["Config"];
    let host = &c["HostConfig"];
    out.eq(
        "app Config.Image (image tag with build)",
        &cfg["Image"],
        Value::from(f.image()),
    );
    let exposed = cfg["ExposedPorts"].as_object().cloned().unwrap_or_default();
    out.check(
        "app expose 8080/tcp and 9090/udp in Config.ExposedPorts",
        exposed.contains_key("8080/tcp") && exposed.contains_key("9090/udp"),
        &exposed,
    );
    out.eq("app stop_signal", &cfg["StopSignal"], Value::from("SIGINT"));
    out.eq("app stop_grace_period", &cfg["StopTimeout"], Value::from(3));
    out.eq("app tty", &cfg["Tty"], Value::from(true));
    out.eq("app stdin_open", &cfg["OpenStdin"], Value::from(true));
    out.eq(
        "app working_dir",
        &cfg["WorkingDir"],
        Value::from("/srv/app"),
    );
    out.eq("app user", &cfg["User"], Value::from("1000:1000"));
    out.eq("app hostname", &cfg["Hostname"], Value::from("app-host"));
    out.eq(
        "app label from .env interpolation",
        &cfg["Labels"]["com.example.tier"],
        Value::from("gold"),
    );
    let env = strings(&cfg["Env"]);
    for entry in ["TIER=gold", "DEFAULTED=from-default", "FROM_ENV_FILE=yes"] {
        out.check(
            &format!("app env {entry} (environment over env_file, .env, default)"),
            env.iter().any(|e| e == entry),
            &env,
        );
    }
    out.eq(
        "app sysctls",
        &host["Sysctls"],
        serde_json::json!({"net.core.somaxconn": "1024"}),
    );
    let ulimits = host["Ulimits"].as_array().cloned().unwrap_or_default();
    let has = |n: &str, soft: i64, hard: i64| {
        ulimits
            .iter()
            .any(|u| u["Name"] == n && u["Soft"] == soft && u["Hard"] == hard)
    };
    out.check(
        "app ulimits nofile 1024/2048 and nproc 512/512",
        has("nofile", 1024, 2048) && has("nproc", 512, 512),
        &ulimits,
    );
    out.eq(
        "app shm_size (64m from .env)",
        &host["ShmSize"],
        Value::from(64i64 << 20),
    );
    out.eq("app dns", &host["Dns"], serde_json::json!(["9.9.9.9"]));
    out.eq(
        "app cap_drop",
        &host["CapDrop"],
        serde_json::json!(["NET_RAW"]),
    );
    out.eq(
        "app logging",
        &host["LogConfig"],
        serde_json::json!({"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}),
    );
    out.eq(
        "app deploy.resources.limits.memory",
        &host["Memory"],
        Value::from(128i64 << 20),
    );
    out.eq(
        "app deploy.resources.limits.cpus",
        &host["NanoCpus"],
        Value::from(750_000_000i64),
    );
    out.eq(
        "app deploy.resources.reservations.memory",
        &host["MemoryReservation"],
        Value::from(16i64 << 20),
    );
    out.eq(
        "app security_opt",
        &host["SecurityOpt"],
        serde_json::json!(["no-new-privileges:true"]),
    );
    out.eq("app init", &host["Init"], Value::from(true));
    out.eq(
        "app restart",
        &host["RestartPolicy"]["Name"],
        Value::from("unless-stopped"),
    );
    out.eq(
        "app extra_hosts",
        &host["ExtraHosts"],
        serde_json::json!(["upstream.example:10.1.2.3"]),
    );
    let nets = &c["NetworkSettings"]["Networks"];
    let front = strings(&nets[format!("{}_front", f.name)]["Aliases"]);
    out.check(
        "app aliases api and api-alias on front",
        front.iter().any(|a| a == "api") && front.iter().any(|a| a == "api-alias"),
        &front,
    );
    out.check(
        "app joins back",
        nets.get(format!("{}_back", f.name)).is_some(),
        nets,
    );
    let mounts = c["Mounts"].as_array().cloned().unwrap_or_default();
    out.check(
        "app named volume data at /data",
        mounts.iter().any(|m| {
            m["Type"] == "volume"
                && m["Name"] == format!("{}_data", f.name)
                && m["Destination"] == "/data"
        }),
        &mounts,
    );
    out.check(
        "app read-only bind at /bind",
        mounts
            .iter()
            .any(|m| m["Type"] == "bind" && m["Destination"] == "/bind" && m["RW"] == false),
        &mounts,
    );
    let arch = inspect(&f.image())["Architecture"].clone();
    out.eq(
        "app platform linux/amd64 (image architecture)",
        &arch,
        Value::from("amd64"),
    );

    let read = |path: &str| exec(&name, &["cat", path]);
    out.eq(
        "app build COPY",
        &Value::from(read("/hello.txt").trim()),
        Value::from(format!("built-{}", f.nonce)),
    );
    out.eq(
        "app secret at /run/secrets/app_secret",
        &Value::from(read("/run/secrets/app_secret")),
        Value::from(f.secret_value()),
    );
    out.eq(
        "app config at /app_config",
        &Value::from(read("/app_config")),
        Value::from(format!("config-{}", f.nonce)),
    );
    out.eq(
        "app bind content",
        &Value::from(read("/bind/file.txt").trim()),
        Value::from(format!("bound-{}", f.nonce)),
    );
    out.eq(
        "app sysctl inside",
        &Value::from(read("/proc/sys/net/core/somaxconn").trim()),
        Value::from("1024"),
    );
    out.eq(
        "app extra_hosts in /etc/hosts",
        &Value::from(read("/etc/hosts").contains("upstream.example")),
        Value::from(true),
    );
    out.eq(
        "app user inside",
        &Value::from(exec(&name, &["id", "-u"]).trim()),
        Value::from("1000"),
    );
}

fn check_db(f: &AllKeys, out: &mut Findings) {
    let name = f.container("db", 1);
    let c = inspect(&name);
    let host = &c["HostConfig"];
    out.eq("db read_only", &host["ReadonlyRootfs"], Value::from(true));
    out.eq(
        "db tmpfs",
        &host["Tmpfs"],
        serde_json::json!({"/tmp": "size=16m"}),
    );
    out.eq(
        "db restart",
        &host["RestartPolicy"]["Name"],
        Value::from("always"),
    );
    out.eq(
        "db healthcheck test",
        &c["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "test -f /tmp/ready"]),
    );
    out.eq(
        "db health",
        &c["State"]["Health"]["Status"],
        Value::from("healthy"),
    );
    check_db_new_keys(f, &c, out);
    let back = strings(&c["NetworkSettings"]["Networks"][format!("{}_back", f.name)]["Aliases"]);
    out.check(
        "db aliases database (networks) and dbhost (links of worker) on back",
        back.iter().any(|a| a == "database") && back.iter().any(|a| a == "dbhost"),
        &back,
    );
    out.eq(
        "db secret long form at /run/secrets/db_copy",
        &Value::from(exec(&name, &["cat", "/run/secrets/db_copy"])),
        Value::from(f.secret_value()),
    );
    out.eq(
        "db secret mode 0400",
        &Value::from(exec(&name, &["stat", "-c", "%a", "/run/secrets/db_copy"]).trim()),
        Value::from("400"),
    );
    // links resolve by name from the linking service.
    let worker = f.container("worker", 1);
    let ping = docker_cli(None, &["exec", &worker, "nslookup", "dbhost"]);
    out.check(
        "worker resolves the link alias dbhost",
        ping.status.success(),
        text(&ping.stdout) + &text(&ping.stderr),
    );
}

/// The keys of issue 15: resolver and identity settings, `group_add`, `cgroup`, `memswap_limit`, fixed
/// addresses, and the `ipam` of the network they lie in.
fn check_db_new_keys(f: &AllKeys, c: &Value, out: &mut Findings) {
    let host = &c["HostConfig"];
    out.eq(
        "db dns_search",
        &host["DnsSearch"],
        serde_json::json!(["lan"]),
    );
    out.eq(
        "db dns_opt",
        &host["DnsOptions"],
        serde_json::json!(["ndots:2"]),
    );
    out.eq(
        "db group_add",
        &host["GroupAdd"],
        serde_json::json!(["1001"]),
    );
    out.eq("db cgroup", &host["CgroupnsMode"], Value::from("private"));
    out.eq(
        "db memswap_limit",
        &host["MemorySwap"],
        Value::from(128i64 << 20),
    );
    out.eq(
        "db domainname",
        &c["Config"]["Domainname"],
        Value::from("example.internal"),
    );
    let back = &c["NetworkSettings"]["Networks"][format!("{}_back", f.name)];
    out.eq(
        "db mac_address",
        &back["MacAddress"],
        Value::from("02:42:ac:1c:00:0a"),
    );
    let v4 = format!("{}.10", f.subnet4());
    let v6 = format!("{}::10", f.subnet6());
    out.eq(
        "db ipv4_address",
        &back["IPAddress"],
        Value::from(v4.clone()),
    );
    out.eq(
        "db ipv6_address",
        &back["GlobalIPv6Address"],
        Value::from(v6.clone()),
    );
    out.eq(
        "db IPAMConfig",
        &back["IPAMConfig"],
        serde_json::json!({"IPv4Address": v4, "IPv6Address": v6}),
    );
    let network = inspect(&format!("{}_back", f.name));
    out.eq(
        "back enable_ipv6",
        &network["EnableIPv6"],
        Value::from(true),
    );
    let prefix = f.subnet4();
    out.eq(
        "back ipam.config",
        &network["IPAM"]["Config"],
        serde_json::json!([
            {
                "Subnet": format!("{prefix}.0/24"),
                "Gateway": format!("{prefix}.1"),
                "IPRange": format!("{prefix}.0/25"),
                "AuxiliaryAddresses": {"reserved": format!("{prefix}.5")},
            },
            {"Subnet": format!("{}::/64", f.subnet6())},
        ]),
    );
}

fn check_worker_and_others(f: &AllKeys, out: &mut Findings) {
    for n in 1..=3 {
        let c = inspect(&f.container("worker", n));
        let host = &c["HostConfig"];
        out.eq(
            "worker mem_limit",
            &host["Memory"],
            Value::from(64i64 << 20),
        );
        out.eq(
            "worker mem_reservation",
            &host["MemoryReservation"],
            Value::from(32i64 << 20),
        );
        out.eq(
            "worker cpus",
            &host["NanoCpus"],
            Value::from(500_000_000i64),
        );
        out.eq("worker cpu_shares", &host["CpuShares"], Value::from(512));
        out.eq("worker pids_limit", &host["PidsLimit"], Value::from(100));
        out.eq("worker runtime", &host["Runtime"], Value::from("runc"));
        out.eq(
            "worker container-number label",
            &c["Config"]["Labels"]["com.docker.compose.container-number"],
            Value::from(n.to_string()),
        );
        out.eq(
            "worker running",
            &c["State"]["Status"],
            Value::from("running"),
        );
    }
    for n in 1..=2 {
        let c = inspect(&f.container("pair", n));
        out.eq(
            "pair (scale: 2) running",
            &c["State"]["Status"],
            Value::from("running"),
        );
        out.check(
            "pair on the default network",
            c["NetworkSettings"]["Networks"]
                .get(format!("{}_default", f.name))
                .is_some(),
            &c["NetworkSettings"]["Networks"],
        );
    }
    let migrate = inspect(&f.container("migrate", 1));
    out.eq(
        "migrate exited",
        &migrate["State"]["Status"],
        Value::from("exited"),
    );
    out.eq(
        "migrate exit code",
        &migrate["State"]["ExitCode"],
        Value::from(0),
    );
    let net = docker(&[
        "network",
        "inspect",
        "--format",
        "{{json .Labels}}",
        &format!("{}_back", f.name),
    ]);
    let labels: Value = serde_json::from_str(&net).unwrap();
    out.eq(
        "network back labels",
        &labels["com.example.net"],
        Value::from("back"),
    );
}

/// Asserts that every action line of `rendering` names one of `allowed`, that each of them is named, and
/// that the summary reads `summary`.
fn assert_only_changes(rendering: &str, allowed: &[String], summary: &str) {
    let actions: Vec<&str> = rendering
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            l.starts_with("  ") && (t.starts_with('~') || t.starts_with('+') || t.starts_with('-'))
        })
        .collect();
    for line in &actions {
        assert!(
            allowed.iter().any(|a| line.contains(&format!("\"{a}\""))),
            "unexpected action {line:?} in:\n{rendering}"
        );
    }
    for a in allowed {
        assert!(
            actions.iter().any(|l| l.contains(&format!("\"{a}\""))),
            "no action for {a} in:\n{rendering}"
        );
    }
    assert!(
        rendering.contains(&format!("Plan: {summary}.")),
        "expected `Plan: {summary}.` in:\n{rendering}"
    );
}

#[test]
fn every_supported_key_plans_renders_and_lands_in_the_engine() {
    let f = AllKeys::new();

    let rendering = f.plan();
    for needle in ["build", "app", "db", "migrate", "worker", "pair"] {
        assert!(
            rendering.contains(needle),
            "plan does not mention {needle}:\n{rendering}"
        );
    }
    for n in 1..=3 {
        assert!(
            rendering.contains(&f.container("worker", n)),
            "plan lacks worker-{n}:\n{rendering}"
        );
    }
    assert!(
        !rendering.contains(&format!("{}-debug", f.name)),
        "a service of an inactive profile is planned:\n{rendering}"
    );

    f.apply();

    let names = f.containers();
    let mut expected: Vec<String> = vec![
        f.container("app", 1),
        f.container("db", 1),
        f.container("migrate", 1),
    ];
    expected.extend((1..=3).map(|n| f.container("worker", n)));
    expected.extend((1..=2).map(|n| f.container("pair", n)));
    expected.sort();
    assert_eq!(
        names.keys().cloned().collect::<Vec<_>>(),
        expected,
        "containers after apply (the debug profile must not run)"
    );

    let mut findings = Findings::default();
    check_app(&f, &mut findings);
    check_db(&f, &mut findings);
    check_worker_and_others(&f, &mut findings);
    findings.assert_none("after apply");

    // What is left to do on an unchanged file is what compose v2 also does on every `up`: rebuild an image
    // with `pull_policy: build`, and start the exited one-shot again. Nothing is created, replaced or deleted.
    let again = f.plan();
    let expected_again = [f.image(), f.container("migrate", 1)];
    assert_only_changes(
        &again,
        &expected_again,
        "0 to add, 2 to change, 0 to destroy",
    );
    f.apply();
    let mut rerun = f.containers();
    assert_eq!(
        rerun, names,
        "re-applying an unchanged file must keep every container (same ids)"
    );

    // Scale worker 3 -> 1: only the highest numbers go, everything else keeps its container.
    f.write_compose(1);
    let scale_plan = f.plan();
    let mut expected_scale = expected_again.to_vec();
    expected_scale.extend([f.container("worker", 2), f.container("worker", 3)]);
    assert_only_changes(
        &scale_plan,
        &expected_scale,
        "0 to add, 2 to change, 2 to destroy",
    );
    f.apply();
    let after = f.containers();
    rerun.remove(&f.container("worker", 2));
    rerun.remove(&f.container("worker", 3));
    assert_eq!(
        after, rerun,
        "scaling worker to 1 must delete worker-2 and worker-3 only, keeping every other container id"
    );
    let settled = f.plan();
    assert_only_changes(
        &settled,
        &expected_again,
        "0 to add, 2 to change, 0 to destroy",
    );

    f.ok(&["destroy", "-p", &f.name, "--volumes", "--auto-approve"]);
    assert!(f.containers().is_empty(), "containers left after destroy");
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label={LABEL}={}", f.name),
    ]);
    assert!(
        volumes.trim().is_empty(),
        "volumes left after destroy --volumes: {volumes}"
    );
}
