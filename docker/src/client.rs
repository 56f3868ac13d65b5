//! `DockerClient`: a connected engine handle that keeps bollard inside this crate.
//!
//! Callers outside the Docker layer hold this and pass it to the layer's functions; they never see bollard's
//! `Docker`, so a `use bollard` elsewhere in the workspace does not compile.

use bollard::Docker;

/// A negotiated connection to one engine, with the host as the user configured it (named in errors).
#[derive(Clone)]
pub struct DockerClient {
    pub(crate) api: Docker,
    pub(crate) host: String,
}

impl DockerClient {
    pub(crate) fn new(api: Docker, host: String) -> Self {
        DockerClient { api, host }
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
