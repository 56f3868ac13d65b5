//! Apply speed against `docker compose` v2 on the same compose files.
//!
//! Two shapes of 20 busybox services: a fan-out (all independent) and a `depends_on` chain. Each is applied
//! with this tool's CLI (`apply -f --auto-approve`) and with compose's `up -d`, then re-applied with nothing
//! to do, over several rounds that alternate who goes first. Prints median wall times and the our/compose
//! ratios (lower is better).
//!
//! Compose is timed as its own Go binary, found at run time (`support/compose_bin.rs`), never through a
//! wrapper script whose interpreter start would be charged to compose.
//!
//! Run: `cargo bench --bench compose_compare` (needs a Docker engine, the local busybox test image and
//! compose v2). Set `MCP_DOCKER_BIN` to time another build of this binary, `MCP_BENCH_COMPOSE` to name the
//! compose binary.

#[path = "support/compose_bin.rs"]
mod compose_bin;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "mcp-docker-test/busybox:latest";
const SERVICES: usize = 20;
/// Rounds per shape; the report shows medians.
const ROUNDS: usize = 3;
/// No-op re-applies timed per round: they are short, so more samples steady the median.
const NOOPS_PER_ROUND: usize = 5;

fn main() {
    let bin = std::env::var("MCP_DOCKER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-docker-server").to_string());
    if !tool_runs(Path::new("docker"), &["info"]) {
        eprintln!("compose_compare: skipped (needs a Docker engine)");
        return;
    }
    let compose = match compose_bin::find() {
        Ok(found) if tool_runs(&found.path, &["version"]) => found,
        Ok(found) => {
            eprintln!(
                "compose_compare: skipped ({} does not run)",
                found.path.display()
            );
            return;
        }
        Err(why) => {
            eprintln!("compose_compare: skipped ({why})");
            return;
        }
    };
    let compose_path = compose.path.clone();
    let work = tempfile::tempdir().expect("temporary directory");
    let state = work.path().join("state");
    let suffix = std::process::id();
    let mut rows = Vec::new();
    for (shape, chain) in [("fan-out", false), ("chain", true)] {
        let file = work.path().join(format!("{shape}.yaml"));
        std::fs::write(&file, compose_file(chain)).expect("write compose file");
        let (mut ours_apply, mut theirs_apply, mut ours_noop, mut theirs_noop) =
            (vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let ours = format!("bench-ours-{shape}-{suffix}-{round}");
            let theirs = format!("bench-compose-{shape}-{suffix}-{round}");
            // Alternate who goes first, so neither always pays the engine's warm-up.
            let mut run_ours = || {
                ours_apply.push(time(|| ours_up(&bin, &state, &ours, &file)));
                for _ in 0..NOOPS_PER_ROUND {
                    ours_noop.push(time(|| ours_up(&bin, &state, &ours, &file)));
                }
            };
            let mut run_theirs = || {
                theirs_apply.push(time(|| compose_up(&compose_path, &theirs, &file)));
                for _ in 0..NOOPS_PER_ROUND {
                    theirs_noop.push(time(|| compose_up(&compose_path, &theirs, &file)));
                }
            };
            if round % 2 == 0 {
                run_ours();
                run_theirs();
            } else {
                run_theirs();
                run_ours();
            }
            // Teardown is not timed; a destroy that trips over the engine's endpoint cleanup is retried.
            let destroyed = (0..3).any(|attempt| {
                if attempt > 0 {
                    std::thread::sleep(Duration::from_secs(1));
                }
                succeeds(Command::new(&bin).arg("--state-dir").arg(&state).args([
                    "destroy",
                    "-p",
                    &ours,
                    "--volumes",
                    "--auto-approve",
                ]))
            });
            if !destroyed {
                eprintln!("compose_compare: could not destroy {ours}; remove it by its label");
            }
            let down = Command::new(&compose_path)
                .args(["-p", &theirs, "-f"])
                .arg(&file)
                .args(["down", "-v", "-t", "1"])
                .output();
            if !down.map(|o| o.status.success()).unwrap_or(false) {
                eprintln!("compose_compare: could not remove compose project {theirs}");
            }
        }
        rows.push((shape, "apply", median(ours_apply), median(theirs_apply)));
        rows.push((shape, "no-op", median(ours_noop), median(theirs_noop)));
    }
    report(&compose.found_by, &rows);
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

fn compose_up(compose: &Path, project: &str, file: &Path) {
    run(Command::new(compose)
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

fn succeeds(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn tool_runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

#[allow(clippy::print_stdout)]
fn report(compose: &str, rows: &[(&str, &str, Duration, Duration)]) {
    println!("compose: {compose}");
    println!(
        "{SERVICES} services; medians of {ROUNDS} applies and {} no-op re-applies",
        ROUNDS * NOOPS_PER_ROUND
    );
    println!("shape              step    mcp-docker-server  docker compose  ratio");
    for (shape, step, ours, theirs) in rows {
        println!(
            "{shape:<18} {step:<7} {:>15.3}s {:>14.3}s  {:>5.2}",
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64().max(f64::EPSILON)
        );
    }
}
