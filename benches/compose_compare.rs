//! Apply speed against `docker compose` v2 on the same compose files.
//!
//! Two shapes of 20 busybox services: a fan-out (all independent) and a `depends_on` chain. Each is applied
//! with this tool's CLI (`apply -f --auto-approve`) and with `docker-compose up -d`, then re-applied with
//! nothing to do. Prints the wall times and our/compose ratios (lower is better; the goal is <= 1.0).
//!
//! Run: `cargo bench --bench compose_compare` (needs a Docker engine, the local busybox test image and
//! `docker-compose` on PATH). Set `MCP_DOCKER_BIN` to time another build of the binary.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "mcp-docker-test/busybox:latest";
const SERVICES: usize = 20;

fn main() {
    let bin = std::env::var("MCP_DOCKER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-docker-server").to_string());
    if !tool_runs("docker", &["info"]) || !tool_runs("docker-compose", &["version"]) {
        eprintln!("compose_compare: skipped (needs a Docker engine and docker-compose on PATH)");
        return;
    }
    let work = tempfile::tempdir().expect("temporary directory");
    let state = work.path().join("state");
    let suffix = std::process::id();
    let mut rows = Vec::new();
    for (shape, chain) in [("fan-out", false), ("chain", true)] {
        let file = work.path().join(format!("{shape}.yaml"));
        std::fs::write(&file, compose_file(chain)).expect("write compose file");
        let ours = format!("bench-ours-{shape}-{suffix}");
        let theirs = format!("bench-compose-{shape}-{suffix}");
        let ours_apply = time(|| ours_up(&bin, &state, &ours, &file));
        let theirs_apply = time(|| compose_up(&theirs, &file));
        let ours_noop = time(|| ours_up(&bin, &state, &ours, &file));
        let theirs_noop = time(|| compose_up(&theirs, &file));
        run(Command::new(&bin).arg("--state-dir").arg(&state).args([
            "destroy",
            "-p",
            &ours,
            "--volumes",
            "--auto-approve",
        ]));
        run(Command::new("docker-compose")
            .args(["-p", &theirs, "-f"])
            .arg(&file)
            .args(["down", "-v", "-t", "1"]));
        rows.push((shape, "apply", ours_apply, theirs_apply));
        rows.push((shape, "no-op", ours_noop, theirs_noop));
    }
    report(&rows);
}

fn compose_file(chain: bool) -> String {
    let mut text = String::from("services:\n");
    for i in 1..=SERVICES {
        text.push_str(&format!(
            "  svc{i:02}:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
        ));
        if chain && i > 1 {
            text.push_str(&format!("    depends_on: [svc{:02}]\n", i - 1));
        }
    }
    text
}

fn ours_up(bin: &str, state: &Path, project: &str, file: &Path) {
    run(Command::new(bin)
        .arg("--state-dir")
        .arg(state)
        .args(["apply", "-p", project, "-f"])
        .arg(file)
        .arg("--auto-approve"));
}

fn compose_up(project: &str, file: &Path) {
    run(Command::new("docker-compose")
        .args(["-p", project, "-f"])
        .arg(file)
        .args(["up", "-d"]));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run command");
    if !out.status.success() {
        eprintln!(
            "command failed: {cmd:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
}

fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

#[allow(clippy::print_stdout)]
fn report(rows: &[(&str, &str, Duration, Duration)]) {
    println!("{SERVICES} services      step    mcp-docker-server  docker compose  ratio");
    for (shape, step, ours, theirs) in rows {
        println!(
            "{shape:<18} {step:<7} {:>15.2}s {:>14.2}s  {:>5.2}",
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64().max(f64::EPSILON)
        );
    }
}
