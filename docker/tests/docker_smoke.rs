//! Smoke test of the CI path: connect through `DockerConnector`, run a container, read its output, remove it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StartContainerOptions, WaitContainerOptions,
};
use docker_layer::DockerConnector;
use docker_support::{unique, ContainerGuard, TEST_IMAGE};
use futures_util::StreamExt;

#[tokio::test]
async fn connects_runs_a_container_and_reads_its_output() {
    let connector = DockerConnector::from_env(None);
    let client = connector.client().await.expect("connect to the engine");
    assert_eq!(client.host(), connector.host_description());
    let docker = docker_support::docker().await;
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

/// Forwards a unix socket to the real engine until `stop` fires, standing in for a dockerd that goes away.
async fn engine_proxy(path: std::path::PathBuf, stop: tokio_util::sync::CancellationToken) {
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((mut client, _)) = accepted else { continue };
                tokio::spawn(async move {
                    if let Ok(mut engine) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn the_connector_recovers_when_the_engine_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let host = format!("unix://{}", socket.display());
    let connector = DockerConnector::from_env(Some(host.clone()));

    let stop = tokio_util::sync::CancellationToken::new();
    let proxy = tokio::spawn(engine_proxy(socket.clone(), stop.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    connector
        .health()
        .await
        .expect("engine reachable through the proxy");

    // The engine goes away: a clear error naming the host and the fix, and no panic.
    stop.cancel();
    proxy.await.unwrap();
    let err = connector.health().await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&host) && text.contains("is dockerd running"),
        "{text}"
    );
    assert!(
        connector.client().await.is_err(),
        "a dead engine is not served from the cache"
    );

    // It comes back: the same connector works again.
    let stop = tokio_util::sync::CancellationToken::new();
    let proxy = tokio::spawn(engine_proxy(socket.clone(), stop.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let health = connector.health().await.expect("the connector reconnects");
    assert_eq!(health.host, host);
    stop.cancel();
    proxy.await.unwrap();
}
