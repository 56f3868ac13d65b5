//! `DOCKER_HOST=ssh://alias` through the system OpenSSH, against a throwaway sshd on 127.0.0.1.
//!
//! The alias lives in a test ssh config; a wrapper `ssh` first on PATH passes `-F` to it, so the real
//! `~/.ssh/config` is never touched while alias, Port, User and IdentityFile resolution still happen in the
//! system ssh exactly as for a user's own config. The remote side runs `docker system dial-stdio`. Both the
//! alias form and `ssh://user@host:port` are exercised, and a refused login must surface ssh's own message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docker_layer::DockerConnector;
use docker_support::free_port;

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_sshd() -> Option<PathBuf> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen must be installed (openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn write(path: &Path, text: &str, mode: u32) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn docker_host_ssh_alias_goes_through_the_system_ssh() {
    let sshd = find_sshd().unwrap_or_else(|| {
        panic!("sshd is not installed, so the ssh transport cannot be tested: run `apt-get install -y openssh-server`")
    });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    keygen(&root.join("host_key"));
    keygen(&root.join("client_key"));
    let public = std::fs::read_to_string(root.join("client_key.pub")).unwrap();
    write(&root.join("authorized_keys"), &public, 0o600);
    let port = free_port();
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into());
    write(
        &root.join("sshd_config"),
        &format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nLogLevel ERROR\n",
            hk = root.join("host_key").display(),
            ak = root.join("authorized_keys").display(),
            pid = root.join("sshd.pid").display(),
        ),
        0o600,
    );
    // sshd insists on its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let child = Command::new(&sshd)
        .args(["-D", "-e", "-f"])
        .arg(root.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", sshd.display()));
    let mut guard = Sshd(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = guard.0.try_wait() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(guard.0.stderr.as_mut().unwrap(), &mut err);
            panic!("sshd exited ({status}) before listening: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd did not listen on port {port} within 10s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    write(
        &root.join("ssh_config"),
        &format!(
            "Host mdt-test\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n\
             Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            key = root.join("client_key").display(),
        ),
        0o600,
    );
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let system_ssh = ["/usr/bin/ssh", "/usr/local/bin/ssh", "/bin/ssh"]
        .iter()
        .find(|p| Path::new(p).exists())
        .expect("the OpenSSH client must be installed");
    write(
        &bin.join("ssh"),
        &format!(
            "#!/bin/sh\nexec {system_ssh} -F {} \"$@\"\n",
            root.join("ssh_config").display()
        ),
        0o755,
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // This test binary holds only this test, so changing the process environment races with nothing.
    std::env::set_var("PATH", &path);

    let connector = DockerConnector::from_env(Some("ssh://mdt-test".into()));
    assert_eq!(connector.host_description(), "ssh://mdt-test");
    let health = match tokio::time::timeout(Duration::from_secs(60), connector.health()).await {
        Ok(result) => result.unwrap_or_else(|e| panic!("docker over ssh failed: {e}")),
        Err(_) => panic!("docker over ssh did not answer within 60s"),
    };
    assert_eq!(health.host, "ssh://mdt-test");
    assert!(health.api_version.starts_with("1."), "{health:?}");

    let docker = connector.client().await.unwrap();
    let local = docker_support::docker().await.version().await.unwrap();
    let remote = health.engine_version.clone();
    assert_eq!(
        local.version.as_deref(),
        Some(remote.as_str()),
        "the same engine answers through ssh"
    );
    let images = docker_layer::images::list(&docker, &Default::default())
        .await
        .unwrap();
    assert!(
        images
            .iter()
            .any(|i| i.tags.iter().any(|t| t == docker_support::TEST_IMAGE)),
        "listing through ssh sees the local test image"
    );

    // The URL form with user and port goes through the same system ssh, with the port passed as `-p`.
    let with_port = DockerConnector::from_env(Some(format!("ssh://{user}@127.0.0.1:{port}")));
    let health = match tokio::time::timeout(Duration::from_secs(60), with_port.health()).await {
        Ok(result) => {
            result.unwrap_or_else(|e| panic!("docker over ssh://user@host:port failed: {e}"))
        }
        Err(_) => panic!("docker over ssh://user@host:port did not answer within 60s"),
    };
    assert_eq!(health.engine_version, remote);
    let through_port = with_port.client().await.unwrap();
    let all = docker_layer::containers::ContainerFilter {
        all: true,
        ..Default::default()
    };
    let containers = docker_layer::containers::list(&through_port, &all)
        .await
        .unwrap();
    let direct = docker_support::docker()
        .await
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::new()
                .all(true)
                .build(),
        ))
        .await
        .unwrap();
    assert!(
        containers.len().abs_diff(direct.len()) <= 5,
        "both views list the same engine's containers"
    );

    // A refused login is a clear error that carries ssh's own words.
    let refused = DockerConnector::from_env(Some(format!("ssh://mdt-nobody@127.0.0.1:{port}")));
    let err = match tokio::time::timeout(Duration::from_secs(60), refused.health()).await {
        Ok(result) => result
            .expect_err("an unknown user must not get in")
            .to_string(),
        Err(_) => panic!("a refused ssh login must fail, not hang"),
    };
    assert!(
        err.contains("ssh://mdt-nobody@127.0.0.1") && err.contains("ssh says"),
        "{err}"
    );
    assert!(err.contains("Permission denied"), "{err}");
    drop(guard);
}
