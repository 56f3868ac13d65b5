//! `DockerError`: every failure of the Docker layer, worded for the person (or LLM) who has to fix it.
//!
//! Connection failures name the host that was tried and how to point the server elsewhere; API failures keep
//! Docker's own message, because that is what people search for.

/// A failure talking to, or acting through, the Docker engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached at all.
    #[error(
        "cannot reach the Docker engine at {host}: {reason} (is dockerd running? set DOCKER_HOST or \
         --docker-host to the engine's address, e.g. unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host)"
    )]
    Unreachable { host: String, reason: String },
    /// `DOCKER_HOST` (or the override) cannot be used as given.
    #[error("cannot use Docker host {host:?}: {message} (fix: {fix})")]
    BadHost {
        host: String,
        message: String,
        fix: String,
    },
    /// Docker answered with an error; `message` is Docker's own text.
    #[error("{context}: Docker says: {message}")]
    Api {
        context: String,
        status: u16,
        message: String,
    },
    /// The named object does not exist on the engine; `what` is the operation, `message` Docker's words
    /// (`No such image: web:2`).
    #[error("{what}: {message}")]
    NotFound { what: String, message: String },
    /// A resource with one of our names exists without our ownership label; it is never touched.
    #[error(
        "a {kind} named {name} already exists and is not managed by this project, so it is left alone (fix: \
         remove or rename it, or give ours another name)"
    )]
    NotOurs { kind: String, name: String },
    /// A secret or config the container needs has no value on the server.
    #[error(
        "{kind} {name:?} has no value on the server (fix: define it in the server's environment or secrets file, \
         or remove the reference from the spec)"
    )]
    MissingSecret { kind: String, name: String },
    /// A build context cannot be read or would leak files outside itself.
    #[error("build context {path}: {message}")]
    BuildContext { path: String, message: String },
    /// A container's bind could be redirected by a symlink, so it is not started.
    #[error("not starting {container}: {why} (fix: {fix})")]
    BindRedirect {
        container: String,
        why: String,
        fix: String,
    },
    /// A wait (dependency condition, engine answer) ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// An operation failed and what it had done so far was undone; `undone` says what state was restored.
    #[error("{source} ({undone})")]
    RolledBack {
        source: Box<DockerError>,
        undone: String,
    },
    /// A created container carries a reserved label (ours or compose's) that its image gave it after the
    /// image was inspected (a retag in between), so it would pass for a project's container.
    #[error(
        "the image gave the container the reserved label {label}, which only this server and compose set \
         (the image changed while the container was created; fix: check the image with inspect_image and \
         try again)"
    )]
    InheritedLabel { label: String },
    /// The target of an action does not fit the operation (a plan that was not produced by the planner).
    #[error("invalid plan action: {0}")]
    InvalidAction(String),
}

impl DockerError {
    /// Classifies a bollard error: transport failures become `Unreachable`, 404s `NotFound`, the rest `Api`.
    pub(crate) fn from_bollard(
        err: bollard::errors::Error,
        host: &str,
        context: &str,
    ) -> DockerError {
        use bollard::errors::Error as E;
        match err {
            E::DockerResponseServerError {
                status_code: 404,
                message,
            } => DockerError::NotFound {
                what: context.to_string(),
                message,
            },
            E::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::Api {
                context: context.to_string(),
                status: status_code,
                message,
            },
            E::DockerStreamError { error } => DockerError::Api {
                context: context.to_string(),
                status: 0,
                message: error,
            },
            E::DockerContainerWaitError { error, code } => DockerError::Api {
                context: context.to_string(),
                status: 0,
                message: format!("{error} (exit code {code})"),
            },
            E::RequestTimeoutError => DockerError::Unreachable {
                host: host.to_string(),
                reason: format!("{context}: the engine did not answer in time"),
            },
            other @ (E::IOError { .. }
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::SocketNotFoundError(_)) => DockerError::Unreachable {
                host: host.to_string(),
                reason: format!("{context}: {other}"),
            },
            other => DockerError::Api {
                context: context.to_string(),
                status: 0,
                message: other.to_string(),
            },
        }
    }

    /// True when the engine itself was not reachable (the cached client should be dropped).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DockerError::Unreachable { .. })
    }

    /// True when Docker reported that the object does not exist (also beneath a rollback).
    pub fn is_not_found(&self) -> bool {
        match self {
            DockerError::NotFound { .. } => true,
            DockerError::RolledBack { source, .. } => source.is_not_found(),
            _ => false,
        }
    }
}

/// Shorthand for errors raised while acting through an already connected client: `host` is the connector's
/// `host_description()`, so an engine that dies mid-operation is named as the user configured it.
pub(crate) fn api<'a>(
    host: &'a str,
    context: impl AsRef<str> + 'a,
) -> impl FnOnce(bollard::errors::Error) -> DockerError + 'a {
    move |err| DockerError::from_bollard(err, host, context.as_ref())
}
