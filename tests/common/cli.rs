//! The real binary run as a command-line tool, each runner with a state directory of its own, and the docker
//! CLI for checking what it did.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-docker-server");

/// Runs the binary's commands against one private state directory, with fixed extra flags and environment.
pub struct CliRunner {
    state: tempfile::TempDir,
    flags: Vec<OsString>,
    env: Vec<(String, String)>,
    env_removed: Vec<String>,
}

impl CliRunner {
    /// A runner with a fresh state directory and `RUST_LOG=warn`.
    pub fn new() -> CliRunner {
        CliRunner {
            state: tempfile::tempdir().unwrap(),
            flags: Vec::new(),
            env: vec![("RUST_LOG".into(), "warn".into())],
            env_removed: Vec::new(),
        }
    }

    /// A flag (and its value) given before every command.
    pub fn flag(mut self, flag: &str, value: impl Into<OsString>) -> CliRunner {
        self.flags.push(flag.into());
        self.flags.push(value.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> CliRunner {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    /// A variable of the test's own environment the binary must not see.
    pub fn env_remove(mut self, key: &str) -> CliRunner {
        self.env_removed.push(key.into());
        self
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The command, ready to run or spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--state-dir")
            .arg(self.state.path())
            .args(&self.flags)
            .args(args);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        for k in &self.env_removed {
            command.env_remove(k);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs, asserts success, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs, asserts success, and returns stdout and stderr together (for searching both).
    pub fn ok_all_output(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?} failed:\n{all}");
        all
    }

    /// Destroys a project with its volumes, ignoring failure; for clean-up.
    pub fn destroy(&self, project: &str) {
        let _ = self.run(&["destroy", "-p", project, "--volumes", "--auto-approve"]);
    }
}

impl Default for CliRunner {
    fn default() -> Self {
        CliRunner::new()
    }
}

/// `apply -p PROJECT -f FILE --auto-approve`: plan and apply a file at once.
pub fn apply_file_args<'a>(project: &'a str, file: &'a str) -> [&'a str; 6] {
    ["apply", "-p", project, "-f", file, "--auto-approve"]
}

/// The plan id a `plan` command printed.
pub fn plan_id(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("Plan id: "))
        .unwrap_or_else(|| panic!("no plan id in:\n{output}"))
        .trim()
        .to_string()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the docker CLI against the default engine, asserts success, and returns stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `docker inspect` of one object, as JSON.
pub fn inspect(object: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&docker(&["inspect", object])).unwrap();
    v[0].clone()
}
