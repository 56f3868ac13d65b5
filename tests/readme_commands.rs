//! Every shell command in the README works: the CLI ones run here against the real engine, in README order,
//! and the rest (install, the test script itself, MCP client set-up) are named with what covers them.
//!
//! A new `sh` block line in the README that is neither run here nor named in `COVERED_ELSEWHERE` fails the
//! test, so the README cannot drift from what the binary does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::path::Path;

use common::cli::{plan_id, text, CliRunner};
use common::engine::ProjectGuard;
use common::unique;

/// README commands this test does not run, and what runs or checks them instead.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "cargo run --release --",
        "builds and starts the stdio server; the MCP tests start the same binary",
    ),
    ("./scripts/test.sh", "the test script itself (CI runs it)"),
    (
        "mcp-docker-server import -p demo -f compose.yaml",
        "needs a project docker-compose started; tests/cli_import.rs starts one and imports it",
    ),
    (
        "cargo install --path .",
        "installs the binary this suite builds into ~/.cargo/bin",
    ),
    (
        "claude mcp add docker -- mcp-docker-server",
        "Claude Code's own command; the MCP tests speak the protocol it uses",
    ),
    (
        "mcp-docker-server plan -p shop -f compose.yaml --target swarm --swarm-host unix:///run/manager.sock",
        "tests/swarm_cli.rs plans with --target swarm and --swarm-host on the test swarm",
    ),
    (
        "mcp-docker-server apply -p shop --plan ID --swarm-host unix:///run/manager.sock",
        "tests/swarm_cli.rs applies a swarm plan by id",
    ),
    (
        "claude mcp add docker-remote -e DOCKER_HOST=ssh://build-box -- mcp-docker-server",
        "Claude Code's own command; no ssh host here, docker/src/ssh_transport.rs tests parse the address",
    ),
];

/// The command lines of the README's `sh` blocks, comments and blank lines left out.
fn readme_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_sh_block = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh_block = !in_sh_block && trimmed == "```sh";
            continue;
        }
        if in_sh_block {
            let command = trimmed.split(" #").next().unwrap_or("").trim();
            if !command.is_empty() && !command.starts_with('#') {
                commands.push(command.to_string());
            }
        }
    }
    commands
}

/// The README's CLI command as arguments for the test's project: `demo` becomes `project`, `ID` the plan id,
/// `[--volumes]` the flag, and `schema` writes into `schema_dir`.
fn cli_args(command: &str, project: &str, plan: &str, schema_dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|word| match word {
            "demo" => project.to_string(),
            "ID" => plan.to_string(),
            other => other
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        })
        .collect();
    if args.first().map(String::as_str) == Some("schema") {
        args.extend(["--out".to_string(), schema_dir.display().to_string()]);
    }
    args
}

#[test]
fn every_readme_command_runs_or_is_covered() {
    let commands = readme_commands();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("mcp-docker-server plan")),
        "no CLI example found in {commands:#?}"
    );
    let project = unique("readme");
    let _guard = ProjectGuard::new(&project);
    let cli = CliRunner::new();
    let schema_dir = tempfile::tempdir().unwrap();
    let mut plan = String::from("no-plan-yet");
    for command in &commands {
        if let Some((_, why)) = COVERED_ELSEWHERE.iter().find(|(c, _)| c == command) {
            eprintln!("covered elsewhere: {command} ({why})");
            continue;
        }
        assert!(
            command.starts_with("mcp-docker-server "),
            "README command `{command}` is neither run by this test nor in COVERED_ELSEWHERE"
        );
        let args = cli_args(command, &project, &plan, schema_dir.path());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli
            .command(&arg_refs)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "README command `{command}` failed:\nstdout:\n{stdout}\nstderr:\n{}",
            text(&out.stderr)
        );
        eprintln!("ran: {command}");
        if args.first().map(String::as_str) == Some("plan") {
            plan = plan_id(&stdout);
        }
    }
    assert!(
        schema_dir.path().join("project.schema.json").exists(),
        "schema wrote nothing"
    );
    cli.destroy(&project);
}
