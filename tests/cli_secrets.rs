//! Secrets by reference through the CLI, against the real engine: values reach the container, never the
//! output or the state directory, and a changed value replaces the container that uses it.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use std::path::PathBuf;

use common::cli::{apply_file_args, docker, text, CliRunner};
use common::engine::ProjectGuard;
use common::{files_containing, unique};

/// One project with its own state directory and operator secrets file; destroyed (and anything left with its
/// labels removed) on drop.
struct Fixture {
    name: String,
    dir: tempfile::TempDir,
    cli: CliRunner,
    _guard: ProjectGuard,
}

impl Fixture {
    fn new(prefix: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let name = unique(prefix);
        let cli = CliRunner::new()
            .flag("--secrets-file", dir.path().join("server-secrets.env"))
            .env("RUST_LOG", "trace");
        Fixture {
            _guard: ProjectGuard::new(&name),
            name,
            dir,
            cli,
        }
    }

    /// Runs, asserts success, and returns stdout and stderr together (both are searched for leaks).
    fn ok(&self, args: &[&str]) -> String {
        self.cli.ok_all_output(args)
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
        self.cli.destroy(&self.name);
    }
}

#[test]
fn secret_values_reach_the_container_and_nothing_else() {
    let nonce = unique("");
    let f = Fixture::new("cli-secret-");
    let token = format!("tok-{nonce}-value");
    let password = format!("pw-{nonce}-value");
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
    seen += &f.ok(&apply_file_args(&f.name, file));
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
    let new_token = format!("tok-{nonce}-rotated");
    std::fs::write(f.secrets_file(), format!("api_token={new_token}\n")).unwrap();
    let replan = f.ok(&["plan", "-p", &f.name, "-f", file]);
    assert!(
        replan.contains(&f.container()) && !replan.contains("No changes"),
        "{replan}"
    );
    seen += &replan;
    seen += &f.ok(&apply_file_args(&f.name, file));
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
            files_containing(f.cli.state_dir(), value).is_empty(),
            "secret value leaked into the state directory"
        );
    }
}

#[test]
fn a_missing_secret_is_a_clear_error() {
    let f = Fixture::new("cli-nosecret-");
    std::fs::write(f.secrets_file(), "other=1\n").unwrap();
    std::fs::write(
        f.compose(),
        "services:\n  app:\n    image: mcp-docker-test/busybox:latest\n    environment:\n      TOKEN: {secret: absent_secret_name}\n",
    )
    .unwrap();
    let out = f
        .cli
        .run(&["plan", "-p", &f.name, "-f", f.compose().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("absent_secret_name") && err.contains("services.app.environment.TOKEN"),
        "{err}"
    );
}
