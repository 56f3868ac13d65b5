//! Docker engines for tests: a private `dockerd` with its own roots and socket, and inventories of what an
//! engine holds, so a test can prove it changed nothing.
//!
//! The private engine runs on a bridge of its own with `--iptables=false --ip-masq=false`, so it never touches
//! the host's networking and stopping it disturbs no one else's containers. (`--bridge=none` would look simpler,
//! but dockerd then deletes the host's `docker0`, breaking the main engine's default network for every later test.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TEST_IMAGE;

/// A `dockerd` owned by one test. Dropping it removes its containers, stops it and deletes its roots.
pub struct PrivateEngine {
    dir: PathBuf,
    /// `unix:///tmp/.../docker.sock`, for `DOCKER_HOST`.
    pub host: String,
    /// The private engine's default bridge interface, created for it and deleted with it.
    bridge: String,
    daemon: Option<Child>,
}

impl PrivateEngine {
    /// Starts a daemon and loads the busybox test image into it from the default engine.
    pub fn start() -> Result<PrivateEngine, String> {
        // Unix socket paths are limited to ~108 bytes, so keep the directory short.
        let dir = PathBuf::from(format!("/tmp/mds-{}", super::unique("")));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let host = format!("unix://{}/docker.sock", dir.display());
        // Interface names are limited to 15 bytes.
        let bridge = super::unique("mds")[..11].to_string();
        create_bridge(&bridge)?;
        let mut engine = PrivateEngine {
            dir,
            host,
            bridge,
            daemon: None,
        };
        engine.launch()?;
        let save = Command::new("docker")
            .args(["save", TEST_IMAGE])
            .env_remove("DOCKER_HOST")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("docker save: {e}"))?;
        let load = Command::new("docker")
            .args(["-H", &engine.host, "load"])
            .stdin(save.stdout.ok_or("docker save gave no stdout")?)
            .output()
            .map_err(|e| format!("docker load: {e}"))?;
        if !load.status.success() {
            return Err(format!(
                "loading {TEST_IMAGE} failed: {}",
                String::from_utf8_lossy(&load.stderr)
            ));
        }
        Ok(engine)
    }

    fn launch(&mut self) -> Result<(), String> {
        let d = &self.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("dockerd")
            .arg(format!("--data-root={}/data", d.display()))
            .arg(format!("--exec-root={}/exec", d.display()))
            .arg(format!("--pidfile={}/dockerd.pid", d.display()))
            .arg(format!("-H={}", self.host))
            .arg(format!("--bridge={}", self.bridge))
            .args(["--iptables=false", "--ip-masq=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot run dockerd: {e}"))?;
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.answers() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.daemon.as_mut().map(|c| c.try_wait()) {
                return Err(format!("dockerd exited with {status}: {}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "dockerd did not answer within 60s: {}",
            self.log_tail()
        ))
    }

    /// Whether the daemon answers `docker version`.
    pub fn answers(&self) -> bool {
        Command::new("docker")
            .args([
                "-H",
                &self.host,
                "version",
                "--format",
                "{{.Server.Version}}",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// The socket path (without `unix://`), which error messages should name.
    pub fn socket_path(&self) -> String {
        self.host.trim_start_matches("unix://").to_string()
    }

    /// Stops the daemon with SIGTERM (containers stop with it), waiting at most 30s before SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut child) = self.daemon.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the daemon again on the same roots and socket.
    pub fn restart(&mut self) -> Result<(), String> {
        self.launch()
    }

    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        docker_cli(Some(&self.host), args)
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            let ids = self.docker(&["ps", "-aq"]);
            let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.docker(&args);
            }
        }
        self.stop();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bridge with a link-local /24 of its own, for a private engine's default network. The address only names
/// the bridge for dockerd; nothing is routed through it.
fn create_bridge(name: &str) -> Result<(), String> {
    let octet = 1 + name.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % 250;
    let address = format!("169.254.{octet}.1/24");
    for args in [
        vec!["link", "add", name, "type", "bridge"],
        vec!["addr", "add", address.as_str(), "dev", name],
        vec!["link", "set", name, "up"],
    ] {
        let out = Command::new("ip")
            .args(&args)
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        if !out.status.success() {
            let _ = Command::new("ip").args(["link", "del", name]).status();
            return Err(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

/// Runs the docker CLI against `host` (or the default engine).
pub fn docker_cli(host: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("docker");
    if let Some(h) = host {
        cmd.args(["-H", h]);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("docker CLI runs")
}

fn lines_of(host: Option<&str>, args: &[&str]) -> Vec<String> {
    let out = docker_cli(host, args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Every container, network, volume and image tag the engine holds, as `kind:name`. With `only`, just the
/// names containing that token (for a shared engine where other tests come and go).
pub fn inventory(host: Option<&str>, only: Option<&str>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (kind, args) in [
        (
            "container",
            &["ps", "-a", "--format", "{{.Names}} {{.State}}"][..],
        ),
        ("network", &["network", "ls", "--format", "{{.Name}}"][..]),
        ("volume", &["volume", "ls", "--format", "{{.Name}}"][..]),
        (
            "image",
            &["images", "--format", "{{.Repository}}:{{.Tag}}"][..],
        ),
    ] {
        for name in lines_of(host, args) {
            if only.is_none_or(|token| name.contains(token)) {
                all.insert(format!("{kind}:{name}"));
            }
        }
    }
    all
}

/// Names of the containers labelled as belonging to compose project `project`, with their state.
pub fn project_containers(host: Option<&str>, project: &str) -> Vec<(String, String)> {
    let filter = format!("label=com.docker.compose.project={project}");
    lines_of(
        host,
        &[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.State}}",
        ],
    )
    .into_iter()
    .map(|l| {
        let (n, s) = l.split_once(' ').unwrap_or((&l, ""));
        (n.to_string(), s.to_string())
    })
    .collect()
}

/// The labels that mark a project's resources: compose's, and the server's own.
const PROJECT_LABELS: [&str; 2] = ["com.docker.compose.project", "io.mcp-docker-server.project"];

/// Removes everything of project `project` from an engine: resources carrying either project label, and
/// containers and networks whose names contain the (unique) project name; for cleanup after a failed test.
pub fn purge_project(host: Option<&str>, project: &str) {
    for label in PROJECT_LABELS {
        purge_filtered(host, &format!("label={label}={project}"));
    }
    purge_filtered(host, &format!("name={project}"));
}

fn purge_filtered(host: Option<&str>, filter: &str) {
    for (kind, list) in [
        ("container", vec!["ps", "-aq", "--filter", filter]),
        ("network", vec!["network", "ls", "-q", "--filter", filter]),
        ("volume", vec!["volume", "ls", "-q", "--filter", filter]),
    ] {
        let ids = lines_of(host, &list);
        if ids.is_empty() {
            continue;
        }
        let mut args: Vec<&str> = match kind {
            "container" => vec!["rm", "-f", "-v"],
            "network" => vec!["network", "rm"],
            _ => vec!["volume", "rm", "-f"],
        };
        args.extend(ids.iter().map(String::as_str));
        let _ = docker_cli(host, &args);
    }
}

/// Removes a project's resources from an engine when dropped (see [`purge_project`]), so a failing test leaves
/// nothing. Tests that drive a server destroy the project through it first; the guard removes what is left.
pub struct ProjectGuard {
    pub host: Option<String>,
    pub project: String,
}

impl ProjectGuard {
    /// A guard for `project` on the default engine.
    pub fn new(project: &str) -> ProjectGuard {
        ProjectGuard {
            host: None,
            project: project.to_string(),
        }
    }
}

impl Drop for ProjectGuard {
    fn drop(&mut self) {
        purge_project(self.host.as_deref(), &self.project);
    }
}

/// `docker inspect --type KIND NAME` on the default engine: the object as JSON, or the CLI's error.
pub fn inspect_object(kind: &str, name: &str) -> Result<serde_json::Value, String> {
    let out = docker_cli(None, &["inspect", "--type", kind, name]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let all: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("docker inspect output: {e}"))?;
    Ok(all[0].clone())
}

/// Whether the default engine holds an object of this kind and name.
pub fn object_exists(kind: &str, name: &str) -> bool {
    inspect_object(kind, name).is_ok()
}

/// `name -> id` of the containers (any state) on the default engine carrying `label=value`.
pub fn container_ids_labelled(
    label: &str,
    value: &str,
) -> std::collections::BTreeMap<String, String> {
    let filter = format!("label={label}={value}");
    lines_of(
        None,
        &[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.ID}}",
        ],
    )
    .iter()
    .filter_map(|l| l.split_once(' '))
    .map(|(n, i)| (n.to_string(), i.to_string()))
    .collect()
}

/// Names of the containers (any state) on the default engine carrying `label=value`.
pub fn containers_labelled(label: &str, value: &str) -> Vec<String> {
    let filter = format!("label={label}={value}");
    lines_of(
        None,
        &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
    )
}

/// Whether the tests run as root, where starting a private `dockerd` must work (CI).
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Starts compose project `project` from `file` with compose v2 (`docker-compose -p project -f file up -d`),
/// as a person would before handing the project to `import`.
/// Writes `yaml` to a compose file in a new temporary directory and runs `docker-compose up -d` on it; the
/// directory lives as long as the returned guard.
pub fn compose_up_yaml(project: &str, yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    compose_up(project, &file);
    dir
}

pub fn compose_up(project: &str, file: &std::path::Path) {
    let out = Command::new("docker-compose")
        .arg("-p")
        .arg(project)
        .arg("-f")
        .arg(file)
        .args(["up", "-d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose up failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The engine id of container `name`.
pub fn container_id(name: &str) -> String {
    inspect_object("container", name)
        .ok()
        .and_then(|v| v["Id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no container {name}"))
}
