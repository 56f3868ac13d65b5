//! Primitive network operations for the MCP tools: list, inspect, create, remove.
//!
//! Removal is the plan executor's own (`steps::remove_network`), so both retry the engine's slow endpoint
//! release the same way.

use std::collections::{BTreeMap, HashMap};

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::client::DockerClient;
use super::error::{api, DockerError};
use super::steps;

/// Which objects to list; every set field must match. Shared by networks and volumes.
#[derive(Debug, Clone, Default)]
pub struct ObjectFilter {
    /// `key` or `key=value` label filters.
    pub labels: Vec<String>,
    /// Substring of the name.
    pub name: Option<String>,
}

impl ObjectFilter {
    /// Docker's filter map for this filter.
    pub(crate) fn to_filters(&self) -> HashMap<&'static str, Vec<String>> {
        let mut filters = HashMap::new();
        if !self.labels.is_empty() {
            filters.insert("label", self.labels.clone());
        }
        if let Some(name) = &self.name {
            filters.insert("name", vec![name.clone()]);
        }
        filters
    }
}

/// One network as the list tool shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    pub internal: bool,
    pub labels: HashMap<String, String>,
}

/// What a new network is made from.
#[derive(Debug, Clone, Default)]
pub struct NewNetwork {
    pub name: String,
    /// `bridge` when absent.
    pub driver: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

/// Networks matching `filter`, by name.
pub async fn list(
    client: &DockerClient,
    filter: &ObjectFilter,
) -> Result<Vec<NetworkSummary>, DockerError> {
    let filters = filter.to_filters();
    let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
    let mut networks: Vec<NetworkSummary> = client
        .api
        .list_networks(Some(options))
        .await
        .map_err(api(&client.host, "listing networks"))?
        .into_iter()
        .map(|n| NetworkSummary {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            driver: n.driver.unwrap_or_default(),
            scope: n.scope.unwrap_or_default(),
            internal: n.internal == Some(true),
            labels: n.labels.unwrap_or_default(),
        })
        .collect();
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(networks)
}

/// One network by name or id, with the labels that say who owns it.
pub async fn inspect(client: &DockerClient, network: &str) -> Result<NetworkSummary, DockerError> {
    let n = client
        .api
        .inspect_network(network, None)
        .await
        .map_err(api(&client.host, format!("network {network:?}")))?;
    Ok(NetworkSummary {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        driver: n.driver.unwrap_or_default(),
        scope: n.scope.unwrap_or_default(),
        internal: n.internal == Some(true),
        labels: n.labels.unwrap_or_default(),
    })
}

/// Creates a network; returns its id.
pub async fn create(client: &DockerClient, network: &NewNetwork) -> Result<String, DockerError> {
    let request = NetworkCreateRequest {
        name: network.name.clone(),
        driver: network.driver.clone(),
        internal: network.internal.then_some(true),
        labels: (!network.labels.is_empty()).then(|| network.labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let created = client.api.create_network(request).await.map_err(api(
        &client.host,
        format!("creating network {:?}", network.name),
    ))?;
    Ok(created.id)
}

/// Removes a network, waiting briefly for endpoints of just-removed containers to go away.
pub async fn remove(client: &DockerClient, network: &str) -> Result<(), DockerError> {
    steps::remove_network(&client.api, &client.host, network).await
}

/// True for the engine's "network ... has active endpoints" refusal.
pub fn has_active_endpoints(err: &DockerError) -> bool {
    steps::has_active_endpoints(err)
}
