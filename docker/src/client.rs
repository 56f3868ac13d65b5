//! `DockerClient`: a connected engine handle that keeps bollard inside this crate.
//!
//! Callers outside the Docker layer hold this and pass it to the layer's functions; they never see bollard's
//! `Docker`, so a `use bollard` elsewhere in the workspace does not compile.

use bollard::{Docker, API_DEFAULT_VERSION};

use super::error::DockerError;
use super::raw_api::RawRoute;

/// Seconds an unverified client waits for an answer.
const REQUEST_TIMEOUT_SECS: u64 = 5;

/// A negotiated connection to one engine, with the host as the user configured it (named in errors).
#[derive(Clone)]
pub struct DockerClient {
    pub(crate) api: Docker,
    pub(crate) host: String,
    /// How to reach the same engine outside bollard (`raw_api`).
    pub(crate) raw: RawRoute,
}

impl DockerClient {
    pub(crate) fn new(api: Docker, host: String, raw: RawRoute) -> Self {
        DockerClient { api, host, raw }
    }

    /// A client for the engine socket at `unix://PATH` that asks the engine nothing until first used (no
    /// version negotiation), so it exists even while nothing listens there. `DockerConnector::client` is the
    /// normal way in; this one serves callers that must not block, such as tests of a dead engine.
    pub fn unix_unverified(host: &str) -> Result<Self, DockerError> {
        let api = Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(|e| DockerError::BadHost {
                host: host.to_string(),
                message: e.to_string(),
                fix: "use unix:///path/to/docker.sock".into(),
            })?;
        let path = host.strip_prefix("unix://").unwrap_or(host).to_string();
        Ok(DockerClient::new(
            api,
            host.to_string(),
            RawRoute::Unix(path),
        ))
    }

    /// The engine's address as configured (`unix:///var/run/docker.sock`, `ssh://alias`).
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl std::fmt::Debug for DockerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerClient")
            .field("host", &self.host)
            .finish()
    }
}
