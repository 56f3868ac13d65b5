//! Secrets by reference through the CLI, against the real engine: values reach the container, never the
//! output or the state directory, and a changed value replaces the container that uses it.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-docker-server");
const LABEL: &str = "io.mcp-docker-server.project";

struct Fixture {
    name: String,
    state: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--state-dir")
            .arg(self.state.path())
            .arg("--secrets-file")
            .arg(self.secrets_file())
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    }

    /// Runs, asserts success, and returns stdout and stderr together (both are searched for leaks).
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?} failed:\n{all}");
        all
    }

    fn secrets_file(&self) -> PathBuf {
        self.dir.path().join("server-secrets.env")
    }

    fn compose(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    fn container(&self) -> String {
        format!("{}-app-1", self.name)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.cli(&["destroy", "-p", &self.name, "--volumes", "--auto-approve"]);
        let ids = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label={LABEL}={}", self.name),
            ])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default();
        for id in ids.lines() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &format!("{}_default", self.name)])
            .output();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Every file under `dir`, searched byte-wise for `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(path);
                }
            }
        }
    }
    hits
}

#[test]
fn secret_values_reach_the_container_and_nothing_else() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let f = Fixture {
        name: format!("cli-secret-{:x}{nanos:x}", std::process::id()),
        state: tempfile::tempdir().unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    let token = format!("tok-{nanos:x}-value");
    let password = format!("pw-{nanos:x}-value");
    std::fs::write(
        f.secrets_file(),
        format!("# operator secrets\napi_token={token}\n"),
    )
    .unwrap();
    std::fs::write(f.dir.path().join("db_pass.txt"), &password).unwrap();
    std::fs::write(
        f.compose(),
        "services:
  app:
    image: mcp-docker-test/busybox:latest
    init: true
    command: [\"sleep\", \"3600\"]
    environment:
      TOKEN: {secret: api_token}
    secrets: [db_pass]
secrets:
  db_pass:
    file: ./db_pass.txt
",
    )
    .unwrap();
    let file = f.compose();
    let file = file.to_str().unwrap();

    let mut seen = String::new();
    seen += &f.ok(&["apply", "-p", &f.name, "-f", file, "--auto-approve"]);
    let env = docker(&["exec", &f.container(), "sh", "-c", "echo $TOKEN"]);
    assert_eq!(env.trim(), token);
    let mounted = docker(&["exec", &f.container(), "cat", "/run/secrets/db_pass"]);
    assert_eq!(mounted.trim(), password);

    seen += &f.ok(&["plan", "-p", &f.name, "-f", file]);
    assert!(seen.contains("No changes"), "{seen}");
    seen += &f.ok(&["status", "-p", &f.name]);
    let exported = f.ok(&["export", "-p", &f.name]);
    assert!(
        exported.contains("api_token") && exported.contains("db_pass"),
        "{exported}"
    );
    seen += &exported;

    // A new value replaces the container without showing either value.
    let old_id = docker(&["inspect", "--format", "{{.Id}}", &f.container()]);
    let new_token = format!("tok-{nanos:x}-rotated");
    std::fs::write(f.secrets_file(), format!("api_token={new_token}\n")).unwrap();
    let replan = f.ok(&["plan", "-p", &f.name, "-f", file]);
    assert!(
        replan.contains(&f.container()) && !replan.contains("No changes"),
        "{replan}"
    );
    seen += &replan;
    seen += &f.ok(&["apply", "-p", &f.name, "-f", file, "--auto-approve"]);
    assert_ne!(
        docker(&["inspect", "--format", "{{.Id}}", &f.container()]),
        old_id
    );
    assert_eq!(
        docker(&["exec", &f.container(), "sh", "-c", "echo $TOKEN"]).trim(),
        new_token
    );

    for value in [&token, &new_token, &password] {
        assert!(
            !seen.contains(value.as_str()),
            "secret value leaked into CLI output"
        );
        assert!(
            files_containing(f.state.path(), value).is_empty(),
            "secret value leaked into the state directory"
        );
    }
}

#[test]
fn a_missing_secret_is_a_clear_error() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let f = Fixture {
        name: format!("cli-nosecret-{:x}{nanos:x}", std::process::id()),
        state: tempfile::tempdir().unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(f.secrets_file(), "other=1\n").unwrap();
    std::fs::write(
        f.compose(),
        "services:\n  app:\n    image: mcp-docker-test/busybox:latest\n    environment:\n      TOKEN: {secret: absent_secret_name}\n",
    )
    .unwrap();
    let out = f.cli(&["plan", "-p", &f.name, "-f", f.compose().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("absent_secret_name") && err.contains("services.app.environment.TOKEN"),
        "{err}"
    );
}
