//! Smoke test of the CI path: connect through `DockerConnector`, run a container, read its output, remove it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StartContainerOptions, WaitContainerOptions,
};
use docker_support::{unique, ContainerGuard, TEST_IMAGE};
use futures_util::StreamExt;
use mcp_docker_server::docker::DockerConnector;

#[tokio::test]
async fn connects_runs_a_container_and_reads_its_output() {
    let connector = DockerConnector::from_env(None);
    let docker = connector.client().await.expect("connect to the engine");
    assert_eq!(docker.ping().await.expect("ping"), "OK");

    let health = connector.health().await.expect("health");
    assert!(!health.engine_version.is_empty());
    assert!(
        health.api_version.starts_with("1."),
        "negotiated api {}",
        health.api_version
    );
    assert_eq!(health.host, connector.host_description());

    let name = unique("mdt-smoke-");
    let _guard = ContainerGuard { name: name.clone() };
    let marker = unique("hello-");
    let body = ContainerCreateBody {
        image: Some(TEST_IMAGE.into()),
        cmd: Some(vec!["echo".into(), marker.clone()]),
        // No network needed to echo; also keeps the test independent of the default bridge.
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            body,
        )
        .await
        .expect("create");
    let outcome = async {
        docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .expect("start");
        let mut wait = docker.wait_container(&created.id, None::<WaitContainerOptions>);
        while let Some(status) = wait.next().await {
            assert_eq!(status.expect("wait").status_code, 0);
        }
        let mut logs = docker.logs(
            &created.id,
            Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()),
        );
        let mut output = String::new();
        while let Some(chunk) = logs.next().await {
            output.push_str(&chunk.expect("logs").to_string());
        }
        output
    }
    .await;
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await
        .expect("remove");
    assert_eq!(outcome.trim(), marker);
}

#[tokio::test]
async fn an_unreachable_engine_is_a_clear_error_and_the_connector_recovers() {
    let connector = DockerConnector::from_env(Some("unix:///tmp/mdt-no-such-docker.sock".into()));
    let err = connector.health().await.unwrap_err().to_string();
    assert!(
        err.contains("unix:///tmp/mdt-no-such-docker.sock") && err.contains("DOCKER_HOST"),
        "{err}"
    );
    // Nothing was cached: a second call tries again and gives the same clear error.
    assert!(connector.client().await.is_err());
}
