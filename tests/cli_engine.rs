//! The engine end to end, through the built CLI, against the real Docker engine.
//!
//! A busybox project: `web` serves HTTP on a published port and waits for `db` to be healthy; both share a
//! network, and `db` keeps a volume. Every test uses its own project name and state directory, and removes
//! what it created even when it fails.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{apply_file_args, docker, plan_id, text, CliRunner};
use common::engine::{container_ids_labelled, ProjectGuard};
use common::TEST_IMAGE as IMAGE;

const LABEL: &str = "io.mcp-docker-server.project";

/// One project under test; destroys it (and anything left with its label) on drop.
struct Project {
    name: String,
    cli: CliRunner,
    dir: tempfile::TempDir,
    port: u16,
    _guard: ProjectGuard,
}

impl Project {
    fn new(prefix: &str) -> Project {
        let name = common::unique(&format!("{prefix}-"));
        Project {
            _guard: ProjectGuard::new(&name),
            name,
            cli: CliRunner::new(),
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    /// Writes the compose file with `greeting` as web's environment.
    fn write_spec(&self, greeting: &str) {
        let yaml = format!(
            r#"services:
  db:
    image: {IMAGE}
    init: true
    command: ["sh", "-c", "sleep 2; touch /ready; sleep 3600"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /ready"]
      interval: 1s
      timeout: 1s
      retries: 30
    volumes:
      - data:/data
    networks: [backend]
  web:
    image: {IMAGE}
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo \"hello $$GREETING\" > /www/index.html && exec httpd -f -p 80 -h /www"]
    environment:
      GREETING: {greeting}
    ports:
      - "127.0.0.1:{port}:80"
    depends_on:
      db:
        condition: service_healthy
    networks: [backend]
networks:
  backend: {{}}
volumes:
  data: {{}}
"#,
            port = self.port
        );
        std::fs::write(self.file(), yaml).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        self.cli.command(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.cli.ok(args)
    }

    fn plan(&self) -> (String, String) {
        let file = self.file();
        let out = self.ok(&["plan", "-p", &self.name, "-f", file.to_str().unwrap()]);
        let id = plan_id(&out);
        (out, id)
    }

    fn apply_file_child(&self) -> Child {
        let file = self.file();
        self.command(&apply_file_args(&self.name, file.to_str().unwrap()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// `name id` of every container with our label, sorted.
    fn containers(&self) -> Vec<(String, String)> {
        container_ids_labelled(LABEL, &self.name)
            .into_iter()
            .collect()
    }

    fn container_id(&self, service: &str) -> String {
        let name = self.container(service);
        self.containers()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    fn labelled(&self, what: &str) -> Vec<String> {
        docker(&[
            what,
            "ls",
            "-q",
            "--filter",
            &format!("label={LABEL}={}", self.name),
        ])
        .lines()
        .map(str::to_string)
        .collect()
    }

    fn http_body(&self) -> String {
        http_get(self.port)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // Whatever the tool could not remove (a test failed half-way), the project guard removes by label.
        self.cli.destroy(&self.name);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GETs `/` on the port, retrying while httpd starts.
fn http_get(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(3)))?;
            stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        })();
        match attempt {
            Ok(response) if response.contains("200") => {
                return response
                    .split("\r\n\r\n")
                    .nth(1)
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            }
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(250)),
            other => panic!("port {port} did not answer HTTP 200: {other:?}"),
        }
    }
}

fn label_of(object: &str, label: &str) -> String {
    docker(&[
        "inspect",
        "--format",
        &format!("{{{{index .Config.Labels \"{label}\"}}}}"),
        object,
    ])
    .trim()
    .to_string()
}

fn labels_json(kind: &str, name: &str) -> String {
    docker(&[kind, "inspect", "--format", "{{json .Labels}}", name])
}

#[test]
fn plan_apply_change_drift_stale_and_destroy() {
    let p = Project::new("cli-life");
    p.write_spec("one");

    // Apply creates everything, with our labels and compose's, and the port answers.
    let (rendering, plan_id) = p.plan();
    assert!(rendering.contains("to add"), "{rendering}");
    p.ok(&["apply", "-p", &p.name, "--plan", &plan_id]);
    let web = p.container("web");
    let db = p.container("db");
    let names: Vec<String> = p.containers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![db.clone(), web.clone()]);
    for c in [&web, &db] {
        assert_eq!(label_of(c, LABEL), p.name);
        assert_eq!(label_of(c, "com.docker.compose.project"), p.name);
        assert_eq!(label_of(c, "com.docker.compose.oneoff"), "False");
        assert!(!label_of(c, "com.docker.compose.config-hash").is_empty());
    }
    assert_eq!(label_of(&web, "com.docker.compose.service"), "web");
    let network = format!("{}_backend", p.name);
    let volume = format!("{}_data", p.name);
    assert!(labels_json("network", &network).contains(&p.name));
    assert!(labels_json("volume", &volume).contains(&p.name));
    assert_eq!(p.http_body(), "hello one");

    // compose v2 sees the project as its own.
    let ps = Command::new("docker-compose")
        .args(["-p", &p.name, "ps", "--format", "{{.Name}}"])
        .output()
        .unwrap();
    let ps_out = text(&ps.stdout);
    assert!(
        ps.status.success(),
        "docker-compose ps: {}",
        text(&ps.stderr)
    );
    assert!(
        ps_out.contains(&web) && ps_out.contains(&db),
        "docker-compose ps listed:\n{ps_out}"
    );

    // A second plan has nothing to do.
    let (again, _) = p.plan();
    assert!(again.contains("No changes"), "{again}");

    // Changing web's environment replaces web only; db keeps its container.
    let db_id = p.container_id("db");
    let web_id = p.container_id("web");
    p.write_spec("two");
    let (changed, plan_id) = p.plan();
    assert!(
        changed.contains(&web) && changed.contains("GREETING"),
        "{changed}"
    );
    p.ok(&["apply", "-p", &p.name, "--plan", &plan_id]);
    assert_eq!(p.container_id("db"), db_id);
    assert_ne!(p.container_id("web"), web_id);
    assert_eq!(p.http_body(), "hello two");
    assert_eq!(p.containers().len(), 2);

    // Status of an untouched project shows no drift; a container removed outside is missing and re-planned.
    let status = p.ok(&["status", "-p", &p.name]);
    assert!(status.contains("No drift"), "{status}");
    docker(&["rm", "-f", &web]);
    let status = p.ok(&["status", "-p", &p.name]);
    assert!(status.contains("missing"), "{status}");
    let (recreate, plan_id) = p.plan();
    assert!(
        recreate.contains(&web) && recreate.contains("1 to add"),
        "{recreate}"
    );
    assert!(
        recreate.contains("1 to add, 0 to change, 0 to destroy"),
        "{recreate}"
    );

    // That plan goes stale when the engine changes under it: refused, and nothing changes.
    docker(&["stop", "-t", "1", &db]);
    let before = p.containers();
    let refused = p.run(&["apply", "-p", &p.name, "--plan", &plan_id]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("plan is stale: run plan again"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(p.containers(), before);
    let db_state = docker(&["inspect", "--format", "{{.State.Status}}", &db]);
    assert_eq!(db_state.trim(), "exited");
    let status = p.ok(&["status", "-p", &p.name]);
    assert!(
        status.contains("stopped") && status.contains("missing"),
        "{status}"
    );

    // A fresh plan starts db and recreates web.
    let (fix, plan_id) = p.plan();
    assert!(fix.contains(&web), "{fix}");
    p.ok(&["apply", "-p", &p.name, "--plan", &plan_id]);
    assert_eq!(p.http_body(), "hello two");
    assert_eq!(p.container_id("db"), db_id);

    // Destroy keeps volumes; destroy --volumes removes them too.
    let shown = p.ok(&["destroy", "-p", &p.name]);
    assert!(shown.contains("Plan id:"), "{shown}");
    assert_eq!(
        p.containers().len(),
        2,
        "destroy without --auto-approve only plans"
    );
    p.ok(&["destroy", "-p", &p.name, "--auto-approve"]);
    assert!(p.containers().is_empty());
    assert!(p.labelled("network").is_empty());
    assert_eq!(p.labelled("volume").len(), 1);
    p.ok(&["destroy", "-p", &p.name, "--volumes", "--auto-approve"]);
    assert!(p.containers().is_empty());
    assert!(p.labelled("network").is_empty());
    assert!(p.labelled("volume").is_empty());
}

#[test]
fn kill_mid_apply_then_converge_without_duplicates() {
    let p = Project::new("cli-kill");
    p.write_spec("one");
    let mut child = p.apply_file_child();
    // db's healthcheck holds web back for a couple of seconds: kill while the apply waits on it.
    let db = p.container("db");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !p.containers().iter().any(|(n, _)| *n == db) {
        assert!(Instant::now() < deadline, "db was never created");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let web = p.container("web");
    assert!(
        !p.containers().iter().any(|(n, _)| *n == web),
        "the apply was not interrupted mid-way"
    );

    // The interrupted apply is on record: its plan in the history, its first steps in the journal.
    let history = p.ok(&["history", "-p", &p.name]);
    let killed_plan = history
        .lines()
        .find(|l| l.contains(" plan "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no plan in history:\n{history}"))
        .to_string();
    let journal = p.ok(&["history", "-p", &p.name, "--plan", &killed_plan]);
    assert!(journal.contains("started"), "{journal}");

    // The next plan and apply converge, and each service has exactly one container.
    let (plan, plan_id) = p.plan();
    assert!(plan.contains(&p.container("web")), "{plan}");
    p.ok(&["apply", "-p", &p.name, "--plan", &plan_id]);
    let names: Vec<String> = p.containers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![db, web]);
    assert_eq!(p.http_body(), "hello one");
    let (again, _) = p.plan();
    assert!(again.contains("No changes"), "{again}");
}

#[test]
fn concurrent_applies_are_serialized() {
    let p = Project::new("cli-conc");
    p.write_spec("one");
    let first = p.apply_file_child();
    let second = p.apply_file_child();
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for out in &outputs {
        assert!(
            out.status.success(),
            "stdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    // One apply created the project; the other waited for the lock, planned afterwards and found nothing to do.
    let stdouts: Vec<String> = outputs.iter().map(|o| text(&o.stdout)).collect();
    assert_eq!(
        stdouts
            .iter()
            .filter(|s| s.contains("Apply complete"))
            .count(),
        1,
        "{stdouts:?}"
    );
    assert_eq!(
        stdouts.iter().filter(|s| s.contains("No changes")).count(),
        1,
        "{stdouts:?}"
    );
    assert_eq!(p.containers().len(), 2);
    assert_eq!(p.http_body(), "hello one");
    let projects = p.ok(&["projects"]);
    assert!(projects.contains(&p.name), "{projects}");
    let exported = p.ok(&["export", "-p", &p.name]);
    assert!(
        exported.contains("GREETING") && exported.contains("service_healthy"),
        "{exported}"
    );
}

#[test]
fn unknown_plan_and_bad_file_fail_clearly() {
    let p = Project::new("cli-bad");
    let out = p.run(&["apply", "-p", &p.name, "--plan", "nope"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
    let bad = p.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "services:\n  web:\n    image: x\n    privileged: true\n",
    )
    .unwrap();
    let out = p.run(&["plan", "-p", &p.name, "-f", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("privileged"),
        "{}",
        text(&out.stderr)
    );

    // An unreachable engine is a clear error naming the host tried.
    std::fs::write(&bad, "services:\n  web:\n    image: x\n").unwrap();
    let nowhere = format!("unix://{}/no-docker.sock", p.dir.path().display());
    let out = p.run(&[
        "--docker-host",
        &nowhere,
        "plan",
        "-p",
        &p.name,
        "-f",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no-docker.sock"),
        "{}",
        text(&out.stderr)
    );
}
