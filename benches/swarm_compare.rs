//! Time to converged on the swarm against `docker stack deploy` followed by polling.
//!
//! One 10-service spec (busybox `httpd`, 2 replicas each, `endpoint_mode: dnsrr`, no healthchecks) is deployed
//! with this tool's CLI (`apply -f --target swarm --auto-approve`, which returns once every service has
//! converged) and with `docker stack deploy --resolve-image never` followed by polling `docker service ls`
//! until every service runs all its replicas, over rounds that alternate who goes first. Prints medians and
//! the ours/stack ratio (lower is better; the goal is <= 1.0). It measures; it asserts nothing.
//!
//! Run: `cargo bench --bench swarm_compare` with `MCP_DOCKER_SWARM_HOST` set to a swarm manager whose nodes
//! hold the local test image (`scripts/swarm.sh up`, then `. target/swarm/env`).

use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "mcp-docker-test/busybox:latest";
const SERVICES: usize = 10;
const REPLICAS: usize = 2;
/// Rounds; the report shows medians.
const ROUNDS: usize = 5;
/// How often the stack side polls `docker service ls`.
const POLL: Duration = Duration::from_millis(250);

fn main() {
    let Ok(manager) = std::env::var("MCP_DOCKER_SWARM_HOST") else {
        eprintln!(
            "swarm_compare: skipped (MCP_DOCKER_SWARM_HOST is unset: start scripts/swarm.sh up)"
        );
        return;
    };
    let bin = std::env::var("MCP_DOCKER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-docker-server").to_string());
    let work = tempfile::tempdir().expect("temporary directory");
    let file = work.path().join("stack.yaml");
    std::fs::write(&file, stack_file()).expect("write the spec");
    let file = file.display().to_string();
    let state = work.path().join("state").display().to_string();
    let suffix = std::process::id();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (ours_name, theirs_name) = (
            format!("bso{suffix}r{round}"),
            format!("bss{suffix}r{round}"),
        );
        let mut run_ours = || {
            ours.push(time(|| ours_up(&bin, &state, &manager, &ours_name, &file)));
        };
        let mut run_theirs = || {
            theirs.push(time(|| stack_up(&manager, &theirs_name, &file)));
        };
        if round % 2 == 0 {
            run_ours();
            run_theirs();
        } else {
            run_theirs();
            run_ours();
        }
        let destroy = ["destroy", "-p", &ours_name, "--auto-approve"];
        run(Command::new(&bin)
            .args(["--state-dir", &state, "--swarm-host", &manager])
            .args(destroy));
        run(docker(&manager).args(["stack", "rm", &theirs_name]));
        wait_networks_gone(&manager, &[&ours_name, &theirs_name]);
    }
    report(median(&mut ours), median(&mut theirs));
}

/// The figures go to stdout: a bench is run by a person, not by an MCP client.
#[allow(clippy::print_stdout)]
fn report(ours: Duration, stack: Duration) {
    println!(
        "swarm_compare: {SERVICES} services x {REPLICAS} replicas to converged, median of {ROUNDS}"
    );
    println!(
        "  this tool (apply, waits for convergence)   {:>7.2} s",
        ours.as_secs_f64()
    );
    println!(
        "  docker stack deploy + polling               {:>7.2} s",
        stack.as_secs_f64()
    );
    println!(
        "  ratio (ours / stack)                        {:>7.2}",
        ours.as_secs_f64() / stack.as_secs_f64()
    );
}

fn stack_file() -> String {
    let mut text = String::from("services:\n");
    for i in 0..SERVICES {
        text.push_str(&format!(
            "  s{i}:\n    image: {IMAGE}\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n    init: true\n    \
             stop_grace_period: 1s\n    deploy:\n      replicas: {REPLICAS}\n      endpoint_mode: dnsrr\n"
        ));
    }
    text
}

fn docker(manager: &str) -> Command {
    let mut command = Command::new("docker");
    command.args(["-H", manager]);
    command
}

fn run(command: &mut Command) {
    let out = command.output().expect("command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ours_up(bin: &str, state: &str, manager: &str, project: &str, file: &str) {
    run(Command::new(bin)
        .args(["--state-dir", state, "--swarm-host", manager])
        .args(["apply", "-p", project, "-f", file, "--target", "swarm"])
        .arg("--auto-approve"));
}

/// `docker stack deploy`, then polls until every service of the stack runs all its replicas.
fn stack_up(manager: &str, project: &str, file: &str) {
    run(docker(manager).args([
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        file,
        project,
    ]));
    let label = format!("label=com.docker.stack.namespace={project}");
    loop {
        let out = docker(manager)
            .args([
                "service",
                "ls",
                "--filter",
                &label,
                "--format",
                "{{.Replicas}}",
            ])
            .output()
            .expect("docker service ls runs");
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        let done = listed.lines().filter(|l| converged(l)).count();
        if done == SERVICES {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// `2/2` (running/desired) with both equal.
fn converged(replicas: &str) -> bool {
    let counts = replicas.split_whitespace().next().unwrap_or("");
    matches!(counts.split_once('/'), Some((running, desired)) if running == desired)
}

/// The untimed teardown ends only once the removed stacks' networks are gone, so rounds do not overlap.
fn wait_networks_gone(manager: &str, projects: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let out = docker(manager)
            .args(["network", "ls", "--format", "{{.Name}}"])
            .output()
            .expect("docker network ls runs");
        let names = String::from_utf8_lossy(&out.stdout).into_owned();
        if !projects.iter().any(|p| names.contains(p)) {
            return;
        }
        std::thread::sleep(POLL);
    }
}

fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
