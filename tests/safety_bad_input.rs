//! Bad-input corpus: at least fifty malformed, unsafe or nonsensical tool calls sent through rmcp's client to
//! the real server binary.
//!
//! Each case must come back as a tool error (`isError: true`, never a JSON-RPC error) whose message names the
//! problem; the server must answer the next call; and the engine must hold exactly what it held before the
//! corpus. The corpus runs against a private `dockerd` when one can be started, so "unchanged" is exact; on
//! the shared engine it falls back to comparing only names carrying this run's token.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use common::engine::{docker_cli, inventory, PrivateEngine};
use common::mcp::{McpServer, ServerSetup};
use common::{unique, TEST_IMAGE};

/// One bad call and the fragments its error must contain.
struct Case {
    name: String,
    tool: &'static str,
    args: Value,
    /// Every entry must appear in the message (case-insensitive); `a|b` accepts either.
    expect: Vec<&'static str>,
}

/// Where the corpus's names and paths come from.
struct Corpus<'a> {
    token: &'a str,
    project_dir: &'a Path,
    foreign_plan_id: &'a str,
    logs_container: &'a str,
    cases: Vec<Case>,
}

impl Corpus<'_> {
    fn project(&self) -> String {
        format!("{}-{}", self.token, self.cases.len())
    }

    fn tool(&mut self, name: &str, tool: &'static str, args: Value, expect: &[&'static str]) {
        self.cases.push(Case {
            name: name.to_string(),
            tool,
            args,
            expect: expect.to_vec(),
        });
    }

    /// `plan` of a whole compose file.
    fn yaml(&mut self, name: &str, compose_yaml: String, expect: &[&'static str]) {
        let args = json!({
            "project": self.project(),
            "compose_yaml": compose_yaml,
            "project_dir": self.project_dir,
        });
        self.tool(name, "plan", args, expect);
    }

    /// `plan` of a compose file with one service `web` (busybox) plus `extra` lines under it.
    fn service(&mut self, name: &str, extra: &str, expect: &[&'static str]) {
        self.yaml(name, web_with(extra), expect);
    }

    /// `plan` of a JSON spec.
    fn spec(&mut self, name: &str, spec: Value, expect: &[&'static str]) {
        let args =
            json!({"project": self.project(), "spec": spec, "project_dir": self.project_dir});
        self.tool(name, "plan", args, expect);
    }

    fn container_name(&self) -> String {
        format!("{}-c{}", self.token, self.cases.len())
    }
}

fn web_with(extra: &str) -> String {
    let mut yaml = format!("services:\n  web:\n    image: {TEST_IMAGE}\n");
    for line in extra.lines() {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

fn build_corpus(c: &mut Corpus<'_>) {
    // Not YAML, or not the right shape.
    c.yaml(
        "invalid YAML (unclosed flow)",
        "services: [unclosed".into(),
        &["yaml|syntax|line|expected"],
    );
    c.yaml(
        "invalid YAML (tab indentation)",
        "services:\n\tweb:\n\t\timage: x\n".into(),
        &["yaml|tab|syntax|line"],
    );
    c.yaml(
        "document is a scalar",
        "just a string".into(),
        &["map|mapping|object|services|expected"],
    );
    c.yaml(
        "services is a list",
        "services:\n  - web\n".into(),
        &["services"],
    );
    c.yaml(
        "service is a string",
        "services:\n  web: nginx\n".into(),
        &["web"],
    );
    c.yaml(
        "billion laughs (alias expansion)",
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
         d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n\
         g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\nservices:\n  web:\n    image: x\n    labels: {l: *h}\n"
            .into(),
        &["alias|repetition|recursion|limit|too|labels|^a$|\"a\"|`a`|unknown"],
    );
    c.yaml(
        "30 KB alias fan-out (6,000 items referenced 6,000 times)",
        format!(
            "x-a: &a [{}]\nx-b: [{}]\n{}",
            vec!["x"; 6000].join(","),
            vec!["*a"; 6000].join(","),
            web_with("")
        ),
        &["YAML nodes", "--max-yaml-nodes"],
    );
    c.service(
        "deploy.replicas 4e9",
        "deploy: {replicas: 4000000000}",
        &["replicas", "--max-replicas"],
    );
    c.service(
        "scale 100000",
        "scale: 100000",
        &["replicas", "--max-replicas"],
    );
    c.service(
        "spec label in the server's namespace",
        "labels: {io.mcp-docker-server.project: other}",
        &["io.mcp-docker-server.project", "policy"],
    );
    c.service(
        "spec label in compose's namespace",
        "labels: [com.docker.compose.service=db]",
        &["com.docker.compose.service", "policy"],
    );
    c.yaml(
        "external network named container:X",
        format!(
            "{}    networks: [back]\nnetworks:\n  back: {{external: true, name: \"container:x\"}}\n",
            web_with("")
        ),
        &["networks.back.name", "shared_namespaces"],
    );
    c.service(
        "service network host",
        "networks: [host]",
        &["host_network"],
    );
    c.service(
        "bind of containerd's socket dir",
        "volumes: [\"/run/containerd:/c\"]",
        &["/run/containerd", "policy"],
    );
    c.service(
        "tmpfs with suid",
        "tmpfs: [\"/x:suid\"]",
        &["tmpfs", "suid"],
    );
    c.service(
        "security_opt label=type:spc_t",
        "security_opt: [\"label=type:spc_t\"]",
        &["security_opt", "policy"],
    );
    c.service(
        "remote logging driver",
        "logging: {driver: gelf, options: {gelf-address: \"udp://192.0.2.1:12201\"}}",
        &["logging.driver", "logging_driver"],
    );
    c.service(
        "required variable whose message names a server variable",
        "labels: {x: \"${NOPE:?${MCP_DOCKER_HTTP_TOKEN}}\"}",
        &["NOPE"],
    );
    c.yaml(
        "deeply nested YAML",
        format!("services: {}{}", "[".repeat(20_000), "]".repeat(20_000)),
        &["recursion|depth|nest|limit|services|expected"],
    );
    let ten_mb = format!(
        "services:\n  web:\n    image: {TEST_IMAGE}\n    labels:\n      big: \"{}\"\n",
        "x".repeat(10 << 20)
    );
    c.yaml(
        "10 MB compose_yaml",
        ten_mb,
        &["limit|too large|too big|bytes|size"],
    );
    let big_env: serde_json::Map<String, Value> = (0..10_000)
        .map(|i| (format!("K{i}"), json!("y".repeat(1_000))))
        .collect();
    c.spec(
        "10 MB JSON spec",
        json!({"services": {"web": {"image": TEST_IMAGE, "environment": big_env}}}),
        &["limit|too large|too big|bytes|size"],
    );

    // Wrong types.
    c.service("ports is a string", "ports: \"abc\"", &["ports"]);
    c.service("port entry not a port", "ports: [\"abc\"]", &["ports"]);
    c.service(
        "deploy.replicas is text",
        "deploy:\n  replicas: \"x\"",
        &["replicas"],
    );
    c.service("scale is text", "scale: \"x\"", &["scale"]);
    c.service(
        "environment is a number",
        "environment: 5",
        &["environment"],
    );
    c.service("command is a map", "command: {a: 1}", &["command"]);
    c.yaml(
        "image is a list",
        "services:\n  web:\n    image: [1, 2]\n".into(),
        &["image"],
    );
    c.service(
        "healthcheck interval not a duration",
        "healthcheck:\n  test: [\"CMD\", \"true\"]\n  interval: fast",
        &["interval"],
    );
    c.service(
        "stop_grace_period not a duration",
        "stop_grace_period: soon",
        &["stop_grace_period"],
    );
    c.service("mem_limit not a size", "mem_limit: lots", &["mem_limit"]);
    c.service("restart policy unknown", "restart: sometimes", &["restart"]);
    c.yaml(
        "depends_on condition unknown",
        format!("services:\n  web:\n    image: {TEST_IMAGE}\n    depends_on:\n      db: {{condition: service_maybe}}\n  db:\n    image: {TEST_IMAGE}\n"),
        &["condition"],
    );
    c.service(
        "volume entry with too many parts",
        "volumes: [\"a:b:c:d:e\"]",
        &["volumes"],
    );

    // Unknown and unsupported keys.
    c.service("typo enviroment", "enviroment: {A: b}", &["enviroment"]);
    c.yaml(
        "typo servics at the top",
        format!("servics:\n  web:\n    image: {TEST_IMAGE}\n"),
        &["servics"],
    );
    c.yaml(
        "extends of a service that does not exist",
        format!("services:\n  web:\n    extends: nowhere\n    image: {TEST_IMAGE}\n"),
        &["extends"],
    );
    c.service(
        "unsupported develop",
        "develop:\n  watch:\n    - action: sync\n      path: ./src\n      target: /src",
        &["develop"],
    );

    // Well-formed but wrong.
    c.yaml(
        "dependency cycle",
        format!(
            "services:\n  a:\n    image: {TEST_IMAGE}\n    depends_on: [b]\n  b:\n    image: {TEST_IMAGE}\n    depends_on: [c]\n  \
             c:\n    image: {TEST_IMAGE}\n    depends_on: [a]\n"
        ),
        &["cycle"],
    );
    c.service(
        "depends on itself",
        "depends_on: [web]",
        &["cycle|itself|web"],
    );
    c.service(
        "depends on undefined service",
        "depends_on: [ghost]",
        &["ghost"],
    );
    c.service("undefined network", "networks: [ghostnet]", &["ghostnet"]);
    c.service(
        "undefined named volume",
        "volumes: [\"ghostvol:/data\"]",
        &["ghostvol"],
    );
    c.service("container port 0", "ports: [\"8080:0\"]", &["port"]);
    c.service("host port 70000", "ports: [\"70000:80\"]", &["70000|port"]);
    c.service(
        "container port 70000",
        "ports: [\"8080:70000\"]",
        &["70000|port"],
    );
    c.service(
        "long-form port published 70000",
        "ports:\n  - target: 80\n    published: 70000",
        &["70000|port"],
    );
    c.yaml(
        "duplicate container_name",
        format!(
            "services:\n  a:\n    image: {TEST_IMAGE}\n    container_name: same\n  b:\n    image: {TEST_IMAGE}\n    container_name: same\n"
        ),
        &["container_name|duplicate", "same"],
    );
    c.yaml(
        "image with upper case",
        "services:\n  web:\n    image: UPPER/Case\n".into(),
        &["image"],
    );
    c.yaml(
        "image with a space",
        "services:\n  web:\n    image: \"a b\"\n".into(),
        &["image"],
    );
    c.yaml(
        "image with only a tag",
        "services:\n  web:\n    image: \":tag\"\n".into(),
        &["image"],
    );
    c.yaml(
        "image empty",
        "services:\n  web:\n    image: \"\"\n".into(),
        &["services.web.image|`image`"],
    );
    c.yaml(
        "service name in unicode",
        format!("services:\n  wéb☃:\n    image: {TEST_IMAGE}\n"),
        &["wéb☃|service name|name"],
    );
    c.yaml(
        "service name 300 chars",
        format!(
            "services:\n  {}:\n    image: {TEST_IMAGE}\n",
            "s".repeat(300)
        ),
        &["name|long"],
    );
    c.service(
        "missing required variable",
        "environment:\n  A: \"${SAFETY_SURELY_UNSET_VAR:?must be set}\"",
        &["SAFETY_SURELY_UNSET_VAR"],
    );
    c.service(
        "secret reference to nothing",
        "environment:\n  DB_PASSWORD: {secret: safety_no_such_secret}",
        &["safety_no_such_secret"],
    );

    // Project names.
    let spec = json!({"services": {"web": {"image": TEST_IMAGE}}});
    c.tool(
        "project name in unicode",
        "plan",
        json!({"project": "prøject☃", "spec": spec}),
        &["project"],
    );
    c.tool(
        "project name 300 chars",
        "plan",
        json!({"project": "p".repeat(300), "spec": spec}),
        &["project"],
    );
    c.tool(
        "project name with upper case",
        "plan",
        json!({"project": "MyProject", "spec": spec}),
        &["project"],
    );
    c.tool(
        "project name is a path",
        "plan",
        json!({"project": "../etc", "spec": spec}),
        &["project"],
    );
    c.tool(
        "project name empty",
        "plan",
        json!({"project": "", "spec": spec}),
        &["project"],
    );

    // Build contexts outside the project.
    c.service(
        "build context ../../etc",
        "build: ../../etc",
        &["context|outside|refused"],
    );
    c.service(
        "build context absolute /etc",
        "build:\n  context: /etc",
        &["/etc"],
    );
    c.service(
        "build context through a symlink out",
        "build:\n  context: ./escape",
        &["context|outside|symlink|/etc"],
    );
    c.service(
        "dockerfile escaping the context",
        "build:\n  context: .\n  dockerfile: ../../../etc/passwd",
        &["dockerfile|outside|/etc"],
    );
    c.service(
        "remote git build context",
        "build: https://github.com/docker/welcome-to-docker.git",
        &["not supported|remote|git|url"],
    );

    // Host files reached other ways than binds.
    c.yaml(
        "secret file /etc/shadow",
        format!("services:\n  web:\n    image: {TEST_IMAGE}\n    secrets: [s]\nsecrets:\n  s:\n    file: /etc/shadow\n"),
        &["/etc"],
    );
    c.yaml(
        "config file in /root/.ssh",
        format!("services:\n  web:\n    image: {TEST_IMAGE}\n    configs: [k]\nconfigs:\n  k:\n    file: /root/.ssh/id_rsa\n"),
        &[".ssh|/root"],
    );
    c.service(
        "env_file /etc/environment",
        "env_file: /etc/environment",
        &["/etc"],
    );
    c.yaml(
        "named volume that binds /etc through driver_opts",
        format!(
            "services:\n  web:\n    image: {TEST_IMAGE}\n    volumes: [\"data:/d\"]\nvolumes:\n  data:\n    driver_opts: {{type: none, o: bind, device: /etc}}\n"
        ),
        &["/etc|driver_opts|device"],
    );
    c.service(
        "host-wide sysctl",
        "sysctls:\n  kernel.core_pattern: \"|/bin/sh\"",
        &["sysctls", "kernel.core_pattern"],
    );
    c.service(
        "container_name with a space",
        "container_name: \"bad name\"",
        &["container_name"],
    );
    c.service(
        "extra_hosts without an address",
        "extra_hosts: [\"nocolon\"]",
        &["extra_hosts"],
    );

    // Sensitive binds and options.
    c.service(
        "bind the docker socket",
        "volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]",
        &["docker.sock|socket"],
    );
    c.service(
        "bind /",
        "volumes: [\"/:/host\"]",
        &["volumes", "`/`|\"/\"|refused|policy"],
    );
    c.service("bind /etc", "volumes: [\"/etc:/host-etc:ro\"]", &["/etc"]);
    c.service(
        "bind /root/.ssh",
        "volumes: [\"/root/.ssh:/keys\"]",
        &[".ssh|/root"],
    );
    c.service(
        "long-form bind of /proc",
        "volumes:\n  - type: bind\n    source: /proc\n    target: /p",
        &["/proc"],
    );
    c.service(
        "bind /etc through ..",
        "volumes: [\"/tmp/../etc:/e\"]",
        &["/etc"],
    );
    c.service("privileged", "privileged: true", &["privileged"]);
    c.service("cap_add", "cap_add: [SYS_ADMIN]", &["cap_add"]);
    c.service("pid host", "pid: host", &["pid"]);
    c.service("ipc host", "ipc: host", &["ipc"]);
    c.service("network_mode host", "network_mode: host", &["network_mode"]);
    c.service("devices", "devices: [\"/dev/sda:/dev/sda\"]", &["devices"]);
    c.service(
        "unconfined seccomp",
        "security_opt: [\"seccomp:unconfined\"]",
        &["security_opt"],
    );

    // Plans and applies.
    let p = c.project();
    c.tool(
        "apply a plan id that does not exist",
        "apply",
        json!({"project": p, "plan_id": "no-such-plan-0000"}),
        &["plan", "no-such-plan-0000|not found|unknown"],
    );
    let (p, foreign) = (c.project(), c.foreign_plan_id.to_string());
    c.tool(
        "apply another project's plan id",
        "apply",
        json!({"project": p, "plan_id": foreign}),
        &["plan"],
    );
    let p = c.project();
    c.tool(
        "apply with no plan_id",
        "apply",
        json!({"project": p}),
        &["plan_id"],
    );
    c.tool(
        "apply with no project",
        "apply",
        json!({"plan_id": foreign}),
        &["project"],
    );
    let p = c.project();
    c.tool(
        "apply with a numeric plan_id",
        "apply",
        json!({"project": p, "plan_id": 42}),
        &["plan_id"],
    );
    let p = c.project();
    c.tool(
        "plan with neither spec nor compose_yaml",
        "plan",
        json!({"project": p}),
        &["spec|compose_yaml"],
    );
    let p = c.project();
    c.tool(
        "plan spec is a string",
        "plan",
        json!({"project": p, "spec": "services: {}"}),
        &["spec"],
    );
    let p = c.project();
    c.tool(
        "export a project never applied",
        "export_project",
        json!({"project": p}),
        &["not found|unknown|no |never"],
    );

    // Images.
    c.tool(
        "pull a missing image from the local registry",
        "pull_image",
        json!({"image": "127.0.0.1:5000/nope/missing:1"}),
        &["127.0.0.1:5000"],
    );
    c.tool(
        "pull an invalid reference",
        "pull_image",
        json!({"image": "UPPER/Case"}),
        &["image|reference|UPPER/Case"],
    );
    c.tool(
        "build_image from /etc",
        "build_image",
        json!({"context": "/etc", "tag": format!("{}-img:1", c.token)}),
        &["/etc"],
    );
    let traversal = c.project_dir.join("../../../etc");
    c.tool(
        "build_image from a .. escape",
        "build_image",
        json!({"context": traversal, "tag": format!("{}-img:2", c.token)}),
        &["/etc|context|refused"],
    );

    // Primitive container tools.
    let n = c.container_name();
    c.tool(
        "create_container privileged",
        "create_container",
        json!({"name": n, "spec": {"image": TEST_IMAGE, "privileged": true}}),
        &["privileged"],
    );
    let n = c.container_name();
    c.tool(
        "create_container binding the docker socket",
        "create_container",
        json!({"name": n, "spec": {"image": TEST_IMAGE, "volumes": ["/var/run/docker.sock:/s"]}}),
        &["docker.sock|socket"],
    );
    let n = c.container_name();
    c.tool(
        "run_container with cap_add",
        "run_container",
        json!({"name": n, "spec": {"image": TEST_IMAGE, "cap_add": ["NET_ADMIN"]}}),
        &["cap_add"],
    );
    let n = c.container_name();
    c.tool(
        "run_container network_mode host",
        "run_container",
        json!({"name": n, "spec": {"image": TEST_IMAGE, "network_mode": "host"}}),
        &["network_mode"],
    );
    let n = c.container_name();
    c.tool(
        "create_container typo in spec",
        "create_container",
        json!({"name": n, "spec": {"image": TEST_IMAGE, "enviroment": {}}}),
        &["enviroment"],
    );
    let n = c.container_name();
    c.tool(
        "create_container spec is a number",
        "create_container",
        json!({"name": n, "spec": 5}),
        &["spec"],
    );
    let n = c.container_name();
    c.tool(
        "create_container bad name",
        "create_container",
        json!({"name": format!("{n}/../x"), "spec": {"image": TEST_IMAGE}}),
        &["name"],
    );
    let ghost = format!("{}-ghost", c.token);
    c.tool(
        "recreate_container of nothing",
        "recreate_container",
        json!({"container": ghost, "spec": {"image": TEST_IMAGE}}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "remove_container of nothing",
        "remove_container",
        json!({"container": ghost}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "stop_container of nothing",
        "stop_container",
        json!({"container": ghost}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "exec_in_container of nothing",
        "exec_in_container",
        json!({"container": ghost, "command": ["true"]}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "fetch_container_logs bad since",
        "fetch_container_logs",
        json!({"container": c.logs_container, "since": "yesterday-ish"}),
        &["since"],
    );
    c.tool(
        "fetch_container_logs tail negative",
        "fetch_container_logs",
        json!({"container": c.logs_container, "tail": -5}),
        &["tail"],
    );
    c.tool(
        "remove_volume of nothing",
        "remove_volume",
        json!({"name": ghost}),
        &["no such|not found|ghost|name"],
    );
    let missing = "127.0.0.1:5000/nope/missing:1";
    let logs = c.logs_container.to_string();
    let n = c.container_name();
    c.tool(
        "run_container of an image that exists nowhere",
        "run_container",
        json!({"name": n, "spec": {"image": missing}}),
        &["127.0.0.1:5000/nope/missing"],
    );
    c.tool(
        "recreate_container refused by policy keeps the old one",
        "recreate_container",
        json!({"container": logs, "spec": {"image": TEST_IMAGE, "privileged": true}}),
        &["privileged"],
    );
    c.tool(
        "recreate_container whose create fails keeps the old one",
        "recreate_container",
        json!({"container": logs, "spec": {"image": missing}}),
        &["127.0.0.1:5000/nope/missing"],
    );
    c.tool(
        "exec_in_container of a stopped container",
        "exec_in_container",
        json!({"container": logs, "command": ["true"]}),
        &["running"],
    );
    c.tool(
        "exec_in_container with an empty command",
        "exec_in_container",
        json!({"container": logs, "command": []}),
        &["command"],
    );
    for tool in [
        "start_container",
        "inspect_container",
        "get_container_stats",
    ] {
        c.tool(
            &format!("{tool} of nothing"),
            tool,
            json!({"container": ghost}),
            &["no such|not found|ghost"],
        );
    }
    c.tool(
        "remove_image of nothing",
        "remove_image",
        json!({"image": format!("{ghost}:1")}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "push_image of an image that is not here",
        "push_image",
        json!({"image": format!("127.0.0.1:5000/{ghost}:1")}),
        &["no such|not found|does not exist|ghost"],
    );
    c.tool(
        "remove_network of nothing",
        "remove_network",
        json!({"name": ghost}),
        &["no such|not found|ghost"],
    );
    c.tool(
        "create_volume with a path for a name",
        "create_volume",
        json!({"name": "../etc"}),
        &["name|../etc"],
    );
    c.tool(
        "create_network with a space in the name",
        "create_network",
        json!({"name": format!("{ghost} net")}),
        &["name|invalid"],
    );
    let tag_case = format!("{}-IMG:1", c.token);
    c.tool(
        "build_image with an upper-case tag",
        "build_image",
        json!({"context": c.project_dir, "tag": tag_case}),
        &["tag"],
    );
    c.tool(
        "build_image of a missing directory",
        "build_image",
        json!({"context": c.project_dir.join("missing-dir"), "tag": format!("{}-img:3", c.token)}),
        &["missing-dir"],
    );
    c.tool(
        "list_containers status unknown",
        "list_containers",
        json!({"status": "sleepy"}),
        &["status|sleepy"],
    );
    c.tool(
        "stop_container timeout is text",
        "stop_container",
        json!({"container": logs, "timeout_secs": "x"}),
        &["timeout_secs"],
    );
    let p = c.project();
    c.tool(
        "plan argument typo compose_yml",
        "plan",
        json!({"project": p, "compose_yml": "services: {}"}),
        &["compose_yml"],
    );
    c.tool(
        "list_containers limit negative",
        "list_containers",
        json!({"limit": -1}),
        &["limit"],
    );
}

/// Whether `message` names the problem: every fragment (with `|` alternatives) appears, ignoring case.
fn names_problem(message: &str, expect: &[&str]) -> bool {
    let lower = message.to_lowercase();
    expect
        .iter()
        .all(|alts| alts.split('|').any(|a| lower.contains(&a.to_lowercase())))
}

fn shorten(text: &str) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() > 400 {
        format!("{}…", one_line.chars().take(400).collect::<String>())
    } else {
        one_line
    }
}

fn setup_project_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), format!("FROM {TEST_IMAGE}\n")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("escape")).unwrap();
}

async fn start_server(state_dir: &Path, host: Option<&str>) -> McpServer {
    let mut setup = ServerSetup::new(state_dir);
    if let Some(h) = host {
        setup = setup.docker_host(h);
    }
    McpServer::start(setup).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_corpus() {
    let private = match PrivateEngine::start() {
        Ok(e) => Some(e),
        Err(why) => {
            eprintln!("no private dockerd ({why}); using the default engine and comparing this run's names only");
            None
        }
    };
    let host = private.as_ref().map(|e| e.host.clone());
    let token = unique("sbi");
    let only = if private.is_some() {
        None
    } else {
        Some(token.as_str())
    };

    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    let project_dir = tmp.path().join("project");
    setup_project_dir(&project_dir);

    // A stopped container whose logs the log cases read; it exists before and after the inventories.
    let logs_container = format!("{token}-logs");
    let out = docker_cli(
        host.as_deref(),
        &[
            "create",
            "--name",
            &logs_container,
            TEST_IMAGE,
            "echo",
            "hello",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut server = start_server(&state_dir, host.as_deref()).await;
    let before = inventory(host.as_deref(), only);

    let foreign_project = format!("{token}-foreign");
    let (foreign_plan_id, _) = server
        .plan_yaml(
            &foreign_project,
            &format!("services:\n  web:\n    image: {TEST_IMAGE}\n"),
        )
        .await;

    let mut corpus = Corpus {
        token: &token,
        project_dir: &project_dir,
        foreign_plan_id: &foreign_plan_id,
        logs_container: &logs_container,
        cases: Vec::new(),
    };
    build_corpus(&mut corpus);
    let cases = std::mem::take(&mut corpus.cases);
    assert!(
        cases.len() >= 50,
        "the corpus has only {} cases",
        cases.len()
    );

    let mut findings = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let started = std::time::Instant::now();
        let outcome = server
            .call_with_timeout(case.tool, case.args.clone(), Duration::from_secs(120))
            .await;
        let verdict = match &outcome {
            Err(e) => Some(format!(
                "protocol-level failure instead of isError: {}",
                shorten(e)
            )),
            Ok(r) if !r.is_error => {
                Some(format!("accepted (no isError): {}", shorten(&r.all_text())))
            }
            Ok(r) if !names_problem(&r.text, &case.expect) => Some(format!(
                "isError, but the message lacks {:?}: {}",
                case.expect,
                shorten(&r.text)
            )),
            Ok(_) => None,
        };
        let message = match &outcome {
            Ok(r) => shorten(&r.text),
            Err(e) => shorten(e),
        };
        eprintln!(
            "[{i:02}] {} {} ({} ms): {message}",
            if verdict.is_none() { "ok  " } else { "FAIL" },
            case.name,
            started.elapsed().as_millis()
        );
        if let Some(v) = verdict {
            findings.push(format!(
                "[{i:02}] {} — tool `{}`: {v}",
                case.name, case.tool
            ));
        }
        // The server must still answer.
        match server
            .call_with_timeout("list_projects", json!({}), Duration::from_secs(60))
            .await
        {
            Ok(r) if !r.is_error => {}
            other => {
                findings.push(format!(
                    "[{i:02}] {}: the server stopped answering list_projects afterwards: {other:?}",
                    case.name
                ));
                server = start_server(&state_dir, host.as_deref()).await;
            }
        }
    }

    let after = inventory(host.as_deref(), only);
    server.stop().await;
    let _ = docker_cli(host.as_deref(), &["rm", "-f", &logs_container]);
    let added: Vec<_> = after.difference(&before).collect();
    let removed: Vec<_> = before.difference(&after).collect();
    if !added.is_empty() || !removed.is_empty() {
        findings.push(format!(
            "the engine changed: added {added:?}, removed {removed:?}"
        ));
    }
    drop(private);
    assert!(
        findings.is_empty(),
        "{} of {} bad-input cases misbehaved:\n{}",
        findings.len(),
        cases.len(),
        findings.join("\n")
    );
}
