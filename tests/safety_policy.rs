//! The policy as a boundary, attacked through rmcp's client as a prompt-injected LLM would (issue 11).
//!
//! Each attack must come back as a tool error naming the rule, leave the engine without any resource of this
//! run, and leave the server answering; no server variable or secret value may appear in a reply or in the
//! state directory (searched byte for byte). Widening options that the operator allowed must be shown and
//! marked in the plan.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use common::engine::inventory;
use common::mcp::{McpServer, Reply, ServerSetup};
use common::{unique, TEST_IMAGE};

/// A server variable no client may read, and the HTTP token's variable.
const SERVER_SECRET_VAR: &str = "SAFETY_POLICY_DB_PASSWORD";

struct Attack {
    name: &'static str,
    tool: &'static str,
    args: Value,
    /// Fragments the error must contain (case-insensitive); `a|b` accepts either.
    expect: &'static [&'static str],
}

fn plan_yaml(project: &str, dir: &Path, yaml: String) -> Value {
    json!({"project": project, "compose_yaml": yaml, "project_dir": dir})
}

fn web(extra: &str) -> String {
    let mut yaml = format!("services:\n  web:\n    image: {TEST_IMAGE}\n");
    for line in extra.lines() {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

fn alias_fan_out() -> String {
    let items = vec!["x"; 6000].join(",");
    let refs = vec!["*a"; 6000].join(",");
    format!("x-a: &a [{items}]\nx-b: [{refs}]\n{}", web(""))
}

fn port_fan_out() -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..200 {
        yaml.push_str(&format!(
            "  s{i}: {{image: {TEST_IMAGE}, ports: [\"1-65535:1-65535\"]}}\n"
        ));
    }
    yaml
}

fn attacks(token: &str, dir: &Path, state_dir: &Path, secrets_file: &Path) -> Vec<Attack> {
    let p = |i: usize| format!("{token}-{i}");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let bind = |i: usize, source: &str| {
        plan_yaml(
            &p(i),
            dir,
            web(&format!("volumes: [\"{source}:/mnt/host\"]")),
        )
    };
    vec![
        // 2: namespaces through network names.
        Attack {
            name: "external network named container:X",
            tool: "plan",
            args: plan_yaml(
                &p(0),
                dir,
                format!(
                    "{}    networks: [back]\nnetworks:\n  back:\n    external: true\n    name: \"container:victim\"\n",
                    web("")
                ),
            ),
            expect: &["networks.back.name", "shared_namespaces"],
        },
        Attack {
            name: "service network named host",
            tool: "plan",
            args: plan_yaml(&p(1), dir, web("networks: [host]")),
            expect: &["network `host`", "host_network"],
        },
        Attack {
            name: "run_container on the host network",
            tool: "run_container",
            args: json!({"name": p(2), "spec": {"image": TEST_IMAGE, "networks": ["host"]}}),
            expect: &["host_network"],
        },
        // 4 and 7: paths refused whatever the operator allows.
        Attack {
            name: "bind /run/containerd",
            tool: "plan",
            args: bind(3, "/run/containerd"),
            expect: &["/run/containerd", "refused by policy"],
        },
        Attack {
            name: "bind /run/docker",
            tool: "plan",
            args: bind(4, "/run/docker"),
            expect: &["/run/docker", "refused by policy"],
        },
        Attack {
            name: "bind /var/lib/containerd",
            tool: "plan",
            args: bind(5, "/var/lib/containerd"),
            expect: &["/var/lib/containerd", "refused by policy"],
        },
        Attack {
            name: "bind the server's state dir",
            tool: "plan",
            args: bind(6, &state_dir.display().to_string()),
            expect: &["server's state or secrets"],
        },
        Attack {
            name: "bind the operator's secrets file",
            tool: "plan",
            args: bind(7, &secrets_file.display().to_string()),
            expect: &["server's state or secrets"],
        },
        Attack {
            name: "project_dir /",
            tool: "plan",
            args: json!({"project": p(20), "project_dir": "/", "compose_yaml": web("")}),
            expect: &["project_dir", "workspace roots"],
        },
        Attack {
            name: "bind ~/.bashrc",
            tool: "plan",
            args: bind(21, &format!("{home}/.bashrc")),
            expect: &[".bashrc", "workspace roots"],
        },
        Attack {
            name: "build context holding .ssh",
            tool: "plan",
            args: plan_yaml(
                &p(22),
                dir,
                format!("services:\n  web:\n    build: ./withkeys\n    image: {token}-img:1\n"),
            ),
            expect: &[".ssh", "private keys"],
        },
        Attack {
            name: "build_image of a folder holding .ssh",
            tool: "build_image",
            args: json!({"context": dir.join("withkeys"), "tag": format!("{token}-img:2")}),
            expect: &[".ssh"],
        },
        Attack {
            name: "env_file pointing at the operator's secrets file",
            tool: "plan",
            args: plan_yaml(
                &p(28),
                dir,
                web(&format!("env_file: [\"{}\"]", secrets_file.display())),
            ),
            expect: &["env_file", "server's state or secrets"],
        },
        Attack {
            name: "bind ~/.docker/config.json",
            tool: "plan",
            args: bind(8, &format!("{home}/.docker/config.json")),
            expect: &["/.docker/config.json", "refused by policy"],
        },
        Attack {
            name: "bind /usr/local/bin outside the workspace",
            tool: "plan",
            args: bind(23, "/usr/local/bin"),
            expect: &["/usr/local/bin", "workspace roots"],
        },
        Attack {
            name: "bind /opt outside the workspace",
            tool: "plan",
            args: bind(24, "/opt"),
            expect: &["/opt", "workspace roots"],
        },
        Attack {
            name: "bind /tmp outside the workspace",
            tool: "plan",
            args: bind(25, "/tmp"),
            expect: &["/tmp", "refused by policy"],
        },
        Attack {
            name: "bind /var/spool outside the workspace",
            tool: "plan",
            args: bind(26, "/var/spool"),
            expect: &["/var/spool", "workspace roots"],
        },
        Attack {
            name: "bind /usr/lib outside the workspace",
            tool: "plan",
            args: bind(27, "/usr/lib"),
            expect: &["/usr/lib", "workspace roots"],
        },
        // 5: the token echoed through a required variable's message.
        Attack {
            name: "token echo through ${NOPE:?${MCP_DOCKER_HTTP_TOKEN}}",
            tool: "plan",
            args: plan_yaml(
                &p(9),
                dir,
                web("labels: {x: \"${NOPE:?${MCP_DOCKER_HTTP_TOKEN}}\"}"),
            ),
            expect: &["NOPE"],
        },
        Attack {
            name: "{secret: SERVER_VAR}",
            tool: "plan",
            args: json!({
                "project": p(10),
                "project_dir": dir,
                "spec": {"services": {"web": {
                    "image": TEST_IMAGE,
                    "environment": {"LEAK": {"secret": SERVER_SECRET_VAR}},
                }}},
            }),
            expect: &[SERVER_SECRET_VAR, "--secret-env"],
        },
        // 6: small inputs that used to stop the server.
        Attack {
            name: "30 KB alias fan-out",
            tool: "plan",
            args: plan_yaml(&p(11), dir, alias_fan_out()),
            expect: &["YAML nodes", "--max-yaml-nodes"],
        },
        Attack {
            name: "deploy.replicas 4e9",
            tool: "plan",
            args: plan_yaml(&p(12), dir, web("deploy: {replicas: 4000000000}")),
            expect: &["replicas", "--max-replicas"],
        },
        Attack {
            name: "scale 100000",
            tool: "plan",
            args: plan_yaml(&p(13), dir, web("scale: 100000")),
            expect: &["replicas", "--max-replicas"],
        },
        Attack {
            name: "port range fan-out (200 services x 65535 ports)",
            tool: "plan",
            args: plan_yaml(&p(29), dir, port_fan_out()),
            expect: &["ports", "--max-ports"],
        },
        Attack {
            name: "interpolation nested 100,000 levels deep",
            tool: "plan",
            args: plan_yaml(
                &p(30),
                dir,
                web(&format!(
                    "labels: {{x: \"{}x{}\"}}",
                    "${A:-".repeat(100_000),
                    "}".repeat(100_000)
                )),
            ),
            expect: &["nested", "levels"],
        },
        // 8: label forgery.
        Attack {
            name: "spec sets our ownership label",
            tool: "plan",
            args: plan_yaml(
                &p(14),
                dir,
                web("labels: {io.mcp-docker-server.project: other}"),
            ),
            expect: &["io.mcp-docker-server.project", "refused by policy"],
        },
        Attack {
            name: "spec sets a compose label",
            tool: "plan",
            args: plan_yaml(
                &p(15),
                dir,
                web("labels: {com.docker.compose.project: other}"),
            ),
            expect: &["com.docker.compose.project", "refused by policy"],
        },
        Attack {
            name: "primitive container sets our ownership label",
            tool: "create_container",
            args: json!({"name": p(16), "spec": {
                "image": TEST_IMAGE,
                "labels": {"io.mcp-docker-server.project": "other"},
            }}),
            expect: &["io.mcp-docker-server.project"],
        },
        // The primitive tools, through the same rules as specs.
        Attack {
            name: "run_container joining another container's namespace",
            tool: "run_container",
            args: json!({"name": p(20), "spec": {"image": TEST_IMAGE, "networks": ["container:victim"]}}),
            expect: &["container:victim", "shared_namespaces"],
        },
        Attack {
            name: "create_container with network_mode service:x",
            tool: "create_container",
            args: json!({"name": p(21), "spec": {"image": TEST_IMAGE, "network_mode": "service:x"}}),
            expect: &["network_mode", "shared_namespaces"],
        },
        Attack {
            name: "run_container with network_mode host",
            tool: "run_container",
            args: json!({"name": p(22), "spec": {"image": TEST_IMAGE, "network_mode": "host"}}),
            expect: &["network_mode", "host_network"],
        },
        Attack {
            name: "run_container binding the server's state dir",
            tool: "run_container",
            args: json!({"name": p(23), "spec": {
                "image": TEST_IMAGE,
                "volumes": [format!("{}:/state", state_dir.display())],
            }}),
            expect: &["server's state or secrets"],
        },
        Attack {
            name: "create_container binding the operator's secrets file",
            tool: "create_container",
            args: json!({"name": p(24), "spec": {
                "image": TEST_IMAGE,
                "volumes": [format!("{}:/s:ro", secrets_file.display())],
            }}),
            expect: &["server's state or secrets"],
        },
        Attack {
            name: "primitive container sets a compose label",
            tool: "run_container",
            args: json!({"name": p(25), "spec": {
                "image": TEST_IMAGE,
                "labels": {"com.docker.compose.project": "other"},
            }}),
            expect: &["com.docker.compose.project", "refused by policy"],
        },
        Attack {
            name: "stop_container with timeout_secs 4294967295",
            tool: "stop_container",
            args: json!({"container": p(26), "timeout_secs": 4_294_967_295_u64}),
            expect: &["timeout_secs", "bound"],
        },
        Attack {
            name: "exec_in_container with a century-long timeout",
            tool: "exec_in_container",
            args: json!({"container": p(27), "command": "true", "timeout_secs": u64::MAX}),
            expect: &["timeout_secs", "bound"],
        },
        Attack {
            name: "fetch_container_logs with tail 4294967295",
            tool: "fetch_container_logs",
            args: json!({"container": p(28), "tail": 4_294_967_295_u64}),
            expect: &["tail", "bound"],
        },
        // 10: the lower ones.
        Attack {
            name: "tmpfs with dev and suid",
            tool: "plan",
            args: plan_yaml(&p(17), dir, web("tmpfs: [\"/x:dev,suid\"]")),
            expect: &["tmpfs option", "dev"],
        },
        Attack {
            name: "security_opt label=type:spc_t",
            tool: "plan",
            args: plan_yaml(&p(18), dir, web("security_opt: [\"label=type:spc_t\"]")),
            expect: &["security_opt", "super-privileged"],
        },
        Attack {
            name: "remote logging driver",
            tool: "plan",
            args: plan_yaml(
                &p(19),
                dir,
                web("logging: {driver: syslog, options: {syslog-address: \"udp://203.0.113.1:514\"}}"),
            ),
            expect: &["logging.driver", "logging_driver"],
        },
        // Issue 15: every file `include` and `extends` name passes the host-path policy before it is read.
        Attack {
            name: "include /etc/passwd",
            tool: "plan",
            args: plan_yaml(&p(40), dir, format!("include: [/etc/passwd]\n{}", web(""))),
            expect: &["include[0].path[0]", "refused by policy"],
        },
        Attack {
            name: "extends a file outside the workspace",
            tool: "plan",
            args: plan_yaml(
                &p(41),
                dir,
                web("extends: {file: ../../../../outside.yaml, service: base}"),
            ),
            expect: &["extends.file", "workspace roots"],
        },
        Attack {
            name: "include with the operator's secrets file as env_file",
            tool: "plan",
            args: plan_yaml(
                &p(42),
                dir,
                format!(
                    "include:\n  - {{path: inc.yaml, env_file: \"{}\"}}\n{}",
                    secrets_file.display(),
                    web("")
                ),
            ),
            expect: &["env_file", "server's state or secrets"],
        },
    ]
}

fn names_rule(message: &str, expect: &[&str]) -> bool {
    let lower = message.to_lowercase();
    expect
        .iter()
        .all(|alts| alts.split('|').any(|a| lower.contains(&a.to_lowercase())))
}

/// Every file under `dir` that holds `needle`, byte for byte.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

async fn answers(server: &McpServer) -> bool {
    matches!(
        server
            .call_with_timeout("list_projects", json!({}), Duration::from_secs(30))
            .await,
        Ok(Reply {
            is_error: false,
            ..
        })
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_is_a_tool_error_and_leaks_nothing() {
    let token = unique("spol");
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&state_dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(dir.join("withkeys/.ssh")).unwrap();
    std::fs::write(
        dir.join("withkeys/Dockerfile"),
        format!("FROM {TEST_IMAGE}\n"),
    )
    .unwrap();
    // An included file that would print the operator's secrets, were the secrets file its env_file.
    std::fs::write(
        dir.join("inc.yaml"),
        format!(
            "services:\n  leak: {{image: {TEST_IMAGE}, environment: {{X: \"${{db_url}}\"}}}}\n"
        ),
    )
    .unwrap();
    let secrets_file = tmp.path().join("operator-secrets.env");
    let file_secret = unique("filesecretvalue");
    std::fs::write(&secrets_file, format!("db_url={file_secret}\n")).unwrap();
    let env_secret = unique("envsecretvalue");
    let http_token = unique("httptokenvalue");

    let server = McpServer::start(
        ServerSetup::new(&state_dir)
            .env(
                "MCP_DOCKER_WORKSPACE_ROOTS",
                tmp.path().display().to_string(),
            )
            .env(SERVER_SECRET_VAR, env_secret.clone())
            .env("MCP_DOCKER_HTTP_TOKEN", http_token.clone())
            .env(
                "MCP_DOCKER_SECRETS_FILE",
                secrets_file.display().to_string(),
            ),
    )
    .await;

    let mut findings = Vec::new();
    let mut seen = String::new();
    for attack in attacks(&token, &dir, &state_dir, &secrets_file) {
        let started = std::time::Instant::now();
        let outcome = server
            .call_with_timeout(attack.tool, attack.args.clone(), Duration::from_secs(60))
            .await;
        let elapsed = started.elapsed();
        match &outcome {
            Err(e) => findings.push(format!("{}: protocol failure: {e}", attack.name)),
            Ok(r) if !r.is_error => {
                findings.push(format!("{}: accepted: {}", attack.name, r.all_text()))
            }
            Ok(r) if !names_rule(&r.text, attack.expect) => findings.push(format!(
                "{}: the error lacks {:?}: {}",
                attack.name, attack.expect, r.text
            )),
            Ok(_) => {}
        }
        if let Ok(r) = &outcome {
            seen.push_str(&r.all_text());
        }
        if elapsed > Duration::from_secs(10) {
            findings.push(format!("{}: took {elapsed:?}", attack.name));
        }
        if !answers(&server).await {
            findings.push(format!(
                "{}: the server stopped answering afterwards",
                attack.name
            ));
            break;
        }
    }

    // Interpolation of a server variable that the operator did not pass reads nothing.
    let reply = server
        .ok(
            "plan",
            plan_yaml(
                &format!("{token}-interp"),
                &dir,
                web(&format!(
                    "command: [\"echo\", \"${{{SERVER_SECRET_VAR}}}\"]"
                )),
            ),
        )
        .await;
    seen.push_str(&reply.all_text());

    for (what, value) in [
        ("server variable", &env_secret),
        ("HTTP token", &http_token),
        ("secrets-file value", &file_secret),
    ] {
        if seen.contains(value.as_str()) {
            findings.push(format!("the {what} appeared in a tool result"));
        }
        let files = files_containing(&state_dir, value.as_bytes());
        if !files.is_empty() {
            findings.push(format!("the {what} is in the state dir: {files:?}"));
        }
    }
    server.stop().await;
    let left = inventory(None, Some(&token));
    if !left.is_empty() {
        findings.push(format!("the engine changed: {left:?}"));
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_widenings_are_shown_and_marked_in_the_plan() {
    let token = unique("spolw");
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let server = McpServer::start(ServerSetup::new(&state_dir).env(
        "MCP_DOCKER_ALLOW_OPTIONS",
        "privileged,host_network,host_pid,security_opt",
    ))
    .await;
    let yaml = web(
        "privileged: true\nnetwork_mode: host\npid: host\nsecurity_opt: [seccomp=unconfined]\n\
         entrypoint: [/bin/sh, -c]\ncommand: [\"sleep 1\"]",
    );
    let reply = server
        .ok("plan", plan_yaml(&token, &dir, yaml))
        .await
        .all_text();
    server.stop().await;
    for field in ["privileged", "network_mode", "pid", "security_opt"] {
        assert!(
            reply
                .lines()
                .any(|l| l.contains(&format!("+ {field}:")) && l.contains("widens host access")),
            "`{field}` not shown and marked:\n{reply}"
        );
    }
    assert!(reply.contains("+ entrypoint:"), "{reply}");
}
