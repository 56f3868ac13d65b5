//! Primitive volume operations for the MCP tools: list, inspect, create, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};

use super::client::DockerClient;
use super::error::{api, DockerError};
use super::networks::ObjectFilter;

/// One volume as the list tool shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeSummary {
    pub name: String,
    pub driver: String,
    pub labels: HashMap<String, String>,
}

/// What a new volume is made from.
#[derive(Debug, Clone, Default)]
pub struct NewVolume {
    pub name: String,
    /// `local` when absent.
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// Volumes matching `filter`, by name.
pub async fn list(
    client: &DockerClient,
    filter: &ObjectFilter,
) -> Result<Vec<VolumeSummary>, DockerError> {
    let filters = filter.to_filters();
    let options = ListVolumesOptionsBuilder::new().filters(&filters).build();
    let listed = client
        .api
        .list_volumes(Some(options))
        .await
        .map_err(api(&client.host, "listing volumes"))?;
    let mut volumes: Vec<VolumeSummary> = listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| VolumeSummary {
            name: v.name,
            driver: v.driver,
            labels: v.labels,
        })
        .collect();
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(volumes)
}

/// One volume by name, with the labels that say who owns it.
pub async fn inspect(client: &DockerClient, volume: &str) -> Result<VolumeSummary, DockerError> {
    let v = client
        .api
        .inspect_volume(volume)
        .await
        .map_err(api(&client.host, format!("volume {volume:?}")))?;
    Ok(VolumeSummary {
        name: v.name,
        driver: v.driver,
        labels: v.labels,
    })
}

/// Creates (or, as Docker does, returns the existing) volume; returns its name.
pub async fn create(client: &DockerClient, volume: &NewVolume) -> Result<String, DockerError> {
    let request = VolumeCreateRequest {
        name: Some(volume.name.clone()),
        driver: volume.driver.clone(),
        labels: (!volume.labels.is_empty()).then(|| volume.labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let created = client.api.create_volume(request).await.map_err(api(
        &client.host,
        format!("creating volume {:?}", volume.name),
    ))?;
    Ok(created.name)
}

/// Removes a volume and its data; `force` also removes one the engine still counts as in use.
pub async fn remove(client: &DockerClient, volume: &str, force: bool) -> Result<(), DockerError> {
    let options = RemoveVolumeOptionsBuilder::new().force(force).build();
    client
        .api
        .remove_volume(volume, Some(options))
        .await
        .map_err(api(&client.host, format!("removing volume {volume:?}")))
}
