//! Secrets through the MCP surface, end to end over stdio against the real engine: a compose `file:` secret and
//! a `{secret: NAME}` environment reference reach the container, and their values appear in nothing else the
//! session produces — no tool result, resource, prompt, server log line (at `RUST_LOG=debug`) or byte of the
//! state directory. Rotating the values replaces the consumer without showing them either.
//!
//! The one place a value may show is the `exec_in_container` call that reads it inside the container, which is
//! how the test proves the value arrived; exactly those calls are left out of the search. Since replies are
//! redacted, that call prints the value with `|` after every character (a shape no filter knows).

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use std::path::PathBuf;

use common::engine::{inspect_object, ProjectGuard};
use common::files_containing;
use common::mcp::{McpServer, ServerSetup};
use serde_json::{json, Value};

/// Everything the session showed, labelled by where it came from.
#[derive(Default)]
struct Transcript(Vec<(String, String)>);

impl Transcript {
    fn add(&mut self, from: impl Into<String>, text: impl Into<String>) {
        self.0.push((from.into(), text.into()));
    }

    /// Where each output holding `needle` came from, with the first line that holds it (shortened), so a
    /// failure points at the leaking code.
    fn holding(&self, needle: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, t)| t.contains(needle))
            .map(|(from, t)| {
                let line = t.lines().find(|l| l.contains(needle)).unwrap_or_default();
                let at = line.find(needle).unwrap_or(0);
                let start = boundary(line, at.saturating_sub(200));
                let end = boundary(line, (at + needle.len() + 60).min(line.len()));
                format!("{from}: …{}…", &line[start..end])
            })
            .collect()
    }
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn random_value(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

const COMPOSE: &str = r#"services:
  app:
    image: mcp-docker-test/busybox:latest
    init: true
    command: ["sh", "-c", "echo app started; exec sleep 3600"]
    environment:
      DATABASE_URL: {secret: db_url}
      API_TOKEN: {secret: db_url}
      COLOR: blue
    secrets: [db_pass]
secrets:
  db_pass:
    file: ./db_pass.txt
"#;

struct Session {
    server: McpServer,
    project: String,
    dir: PathBuf,
    seen: Transcript,
}

impl Session {
    /// A tool call whose whole result goes into the transcript.
    async fn call(&mut self, tool: &str, args: Value) -> common::mcp::Reply {
        let r = self.server.ok(tool, args.clone()).await;
        self.seen.add(format!("tool {tool} {args}"), r.all_text());
        r
    }

    async fn resource(&mut self, uri: &str) -> String {
        let body = self
            .server
            .read_resource(uri)
            .await
            .unwrap_or_else(|e| panic!("reading {uri}: {e}"));
        self.seen.add(format!("resource {uri}"), body.clone());
        body
    }

    async fn plan_and_apply(&mut self) -> (String, String) {
        let r = self
            .call(
                "plan",
                json!({
                    "project": self.project,
                    "compose_yaml": COMPOSE,
                    "project_dir": self.dir,
                }),
            )
            .await;
        let plan_id = r.str_field("plan_id").expect("plan_id");
        let rendering = r.str_field("rendering").unwrap_or_else(|| r.text.clone());
        let applied = self
            .call(
                "apply",
                json!({"project": self.project, "plan_id": plan_id}),
            )
            .await;
        assert_ne!(
            applied.field("succeeded"),
            Some(Value::Bool(false)),
            "apply failed: {}",
            applied.all_text()
        );
        (plan_id, rendering)
    }

    /// Reads inside the container, one `|` after each character so redaction lets it through; the output is
    /// the expected place for a value and is NOT recorded.
    async fn read_inside(&self, container: &str, shell: &str) -> String {
        let command = format!("{shell} | sed 's/./&|/g'");
        let r = self
            .server
            .ok(
                "exec_in_container",
                json!({"container": container, "command": command}),
            )
            .await;
        assert_eq!(r.field("exit_code"), Some(json!(0)), "{}", r.all_text());
        let stdout = r.str_field("stdout").unwrap_or_default();
        stdout.trim_end_matches('\n').replace('|', "")
    }

    /// Every read-only view of the project an LLM might ask for.
    async fn look_everywhere(&mut self, container: &str, plan_id: &str) {
        let p = self.project.clone();
        self.call("project_status", json!({"project": p})).await;
        let export = self.call("export_project", json!({"project": p})).await;
        let yaml = export.str_field("compose_yaml").unwrap_or_default();
        assert!(
            yaml.contains("db_url") && yaml.contains("db_pass"),
            "the export should keep the secret references: {yaml}"
        );
        self.call("inspect_container", json!({"container": container}))
            .await;
        self.call("list_containers", json!({"project": p, "all": true}))
            .await;
        self.call("list_projects", json!({})).await;
        self.call("fetch_container_logs", json!({"container": container}))
            .await;
        self.resource(&format!("docker://projects/{p}")).await;
        self.resource(&format!("docker://projects/{p}/plans/{plan_id}"))
            .await;
        self.resource(&format!("docker://containers/{container}/logs"))
            .await;
        let listed = self
            .server
            .peer()
            .list_all_resources()
            .await
            .map(|r| serde_json::to_string(&r).unwrap())
            .unwrap_or_else(|e| panic!("resources/list: {e}"));
        self.seen.add("resources/list", listed);
        let prompt = self
            .server
            .prompt_text(
                "docker_compose",
                json!({"name": p, "containers": "an app with a database password"}),
            )
            .await
            .unwrap_or_else(|e| panic!("prompts/get: {e}"));
        assert!(
            prompt.contains("db_url"),
            "the prompt for an existing project should carry its spec: {prompt}"
        );
        self.seen.add("prompt docker_compose", prompt);
    }
}

fn container_id(name: &str) -> String {
    let container =
        inspect_object("container", name).unwrap_or_else(|e| panic!("no container {name}: {e}"));
    container["Id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_reach_the_container_and_no_output_of_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let secrets_file = tmp.path().join("operator-secrets.env");

    let env_value = random_value("envref");
    let file_value = random_value("filesecret");
    std::fs::write(&secrets_file, format!("db_url={env_value}\n")).unwrap();
    std::fs::write(dir.join("db_pass.txt"), &file_value).unwrap();

    let project = common::unique("mcpsecret");
    let _guard = ProjectGuard::new(&project);
    let server = McpServer::start(
        ServerSetup::new(&state)
            .env(
                "MCP_DOCKER_SECRETS_FILE",
                secrets_file.display().to_string(),
            )
            .env("RUST_LOG", "debug"),
    )
    .await;
    let mut s = Session {
        server,
        project: project.clone(),
        dir: dir.clone(),
        seen: Transcript::default(),
    };
    let container = format!("{project}-app-1");

    let (plan_id, _) = s.plan_and_apply().await;
    assert_eq!(
        s.read_inside(&container, "cat /run/secrets/db_pass").await,
        file_value
    );
    assert_eq!(
        s.read_inside(&container, "printf %s \"$DATABASE_URL\"")
            .await,
        env_value
    );
    s.look_everywhere(&container, &plan_id).await;

    // A second plan is `No changes`: the values' digests are stable.
    let again = s
        .call(
            "plan",
            json!({"project": project, "compose_yaml": COMPOSE, "project_dir": dir}),
        )
        .await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "{}",
        again.all_text()
    );

    // Rotation: new values replace the consumer, and still show nowhere.
    let old_id = container_id(&container);
    let new_env_value = random_value("envref-rotated");
    let new_file_value = random_value("filesecret-rotated");
    std::fs::write(&secrets_file, format!("db_url={new_env_value}\n")).unwrap();
    std::fs::write(dir.join("db_pass.txt"), &new_file_value).unwrap();
    let (rotated_plan, rendering) = s.plan_and_apply().await;
    assert!(
        rendering.contains(&container),
        "the rotation plan should name the consumer: {rendering}"
    );
    assert_ne!(
        container_id(&container),
        old_id,
        "a rotated secret must replace its consumer"
    );
    assert_eq!(
        s.read_inside(&container, "cat /run/secrets/db_pass").await,
        new_file_value
    );
    assert_eq!(
        s.read_inside(&container, "printf %s \"$DATABASE_URL\"")
            .await,
        new_env_value
    );
    s.look_everywhere(&container, &rotated_plan).await;

    s.server.destroy(&project).await;
    let stderr = s.server.stderr();
    assert!(
        stderr.contains("DEBUG"),
        "RUST_LOG=debug should give debug lines to search; stderr was:\n{stderr}"
    );
    s.seen.add("server stderr", stderr);
    s.server.stop().await;

    let mut leaks = Vec::new();
    for value in [&env_value, &file_value, &new_env_value, &new_file_value] {
        for from in s.seen.holding(value) {
            leaks.push(format!("value {value} in {from}"));
        }
        for path in files_containing(&state, value) {
            leaks.push(format!("value {value} in state file {}", path.display()));
        }
    }
    assert!(
        leaks.is_empty(),
        "secret values leaked:\n  {}",
        leaks.join("\n  ")
    );
}

/// Keys for every fragment of the planner's one sensitive-key rule (plus `DB_PASSWD`, the key the two old
/// lists disagreed on), each with a random literal value.
fn sensitive_env() -> Vec<(String, String)> {
    planner::sensitive::SENSITIVE_FRAGMENTS
        .iter()
        .map(|fragment| format!("APP_{fragment}"))
        .chain(["DB_PASSWD".to_string()])
        .map(|key| {
            let value = random_value("literal");
            (key, value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_literal_env_is_masked_in_plan_and_inspect_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let project = common::unique("mcpmask");
    let _guard = ProjectGuard {
        host: None,
        project: project.clone(),
    };
    let server = McpServer::start(ServerSetup::new(tmp.path())).await;
    let env = sensitive_env();
    let environment: String = env
        .iter()
        .map(|(key, value)| format!("      {key}: {value}\n"))
        .collect();
    let compose = format!(
        "services:\n  app:\n    image: mcp-docker-test/busybox:latest\n    init: true\n    \
         command: [\"sleep\", \"3600\"]\n    environment:\n{environment}"
    );
    let (plan_id, planned) = server.plan_yaml(&project, &compose).await;
    let applied = server.apply(&project, &plan_id).await.unwrap();
    assert!(!applied.is_error, "{}", applied.all_text());
    let inspected = server
        .ok(
            "inspect_container",
            json!({"container": format!("{project}-app-1")}),
        )
        .await;
    server.destroy(&project).await;
    server.stop().await;
    for (key, value) in &env {
        assert!(
            inspected.all_text().contains(key.as_str()),
            "inspect should still name {key}: {}",
            inspected.all_text()
        );
        for (from, text) in [
            ("plan", planned.all_text()),
            ("inspect", inspected.all_text()),
        ] {
            assert!(
                !text.contains(value.as_str()),
                "{key}'s value shown by {from}: {text}"
            );
        }
    }
}
