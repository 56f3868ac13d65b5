//! Shared helpers for the tests that drive the real Docker engine: unique names and cleanup by label.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use docker_layer::{DockerClient, DockerConnector};

pub const TEST_IMAGE: &str = "mcp-docker-test/busybox:latest";

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(8)
        .collect();
    format!("{prefix}{suffix}")
}

/// A raw bollard client, for the tests' own setup, inspection and cleanup.
pub async fn docker() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("the test engine must be reachable")
        .negotiate_version()
        .await
        .expect("the test engine must answer")
}

/// The Docker layer's client, for the functions under test.
pub async fn client() -> DockerClient {
    DockerConnector::from_env(None)
        .client()
        .await
        .expect("the test engine must be reachable")
}

/// The test engine's address as the connector describes it, for the calls that name it in errors.
pub fn host() -> String {
    DockerConnector::from_env(None).host_description()
}

/// Removes every container, network and volume labelled for `project` (ours or compose's label).
pub async fn cleanup_project(docker: &Docker, project: &str) {
    let filter = HashMap::from([(
        "label",
        vec![format!("{}={project}", planner::naming::LABEL_MANAGED_BY)],
    )]);
    if let Ok(list) = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
    {
        for c in list {
            if let Some(id) = c.id {
                let _ = docker
                    .remove_container(
                        &id,
                        Some(
                            RemoveContainerOptionsBuilder::new()
                                .force(true)
                                .v(true)
                                .build(),
                        ),
                    )
                    .await;
            }
        }
    }
    // Replacement containers under temporary names carry the same label; the loop above got them too.
    if let Ok(list) = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
    {
        for n in list {
            if let Some(id) = n.id {
                let _ = docker.remove_network(&id).await;
            }
        }
    }
    if let Ok(list) = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
    {
        for v in list.volumes.unwrap_or_default() {
            let _ = docker
                .remove_volume(
                    &v.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await;
        }
    }
}

/// Runs cleanup when dropped, so a panicking test still leaves the engine clean.
pub struct ProjectGuard {
    pub project: String,
}

impl Drop for ProjectGuard {
    fn drop(&mut self) {
        let project = self.project.clone();
        // The test's runtime may be shutting down; clean up on a runtime of our own, on a separate thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                cleanup_project(&docker().await, &project).await;
            });
        })
        .join();
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Force-removes one container by name when dropped, so a failed assertion leaves nothing behind.
pub struct ContainerGuard {
    pub name: String,
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let options = RemoveContainerOptionsBuilder::new().force(true).build();
                let _ = docker().await.remove_container(&name, Some(options)).await;
            });
        })
        .join();
    }
}

/// The planner's host for loading test specs: the real environment and file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

impl planner::load::Host for SystemHost {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &std::path::Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn canonicalize(&self, path: &std::path::Path) -> Result<std::path::PathBuf, String> {
        std::fs::canonicalize(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))
    }
}
