//! The engine's record of what happened to a project's containers between two times (`docker events`),
//! so status can say what changed outside the tool and when.

use std::collections::HashMap;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

use super::client::DockerClient;
use super::error::{api, DockerError};

/// Most events one call keeps (the newest), so a flapping container cannot flood a status.
pub const MAX_EVENTS: usize = 100;

/// Container actions that change what runs; `die` is kept to tell a crash from a `docker stop`.
const ACTIONS: [&str; 9] = [
    "stop", "die", "destroy", "pause", "unpause", "restart", "rename", "oom", "start",
];

/// One thing that happened to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub container: String,
    /// Docker's action word: `stop`, `die`, `destroy`, ...
    pub action: String,
    /// Seconds since the Unix epoch.
    pub at_unix: i64,
}

/// Events of containers labelled `label=value` from `since` to `until` (Unix seconds with a fraction,
/// as `docker events --since` takes them), oldest first, at most [`MAX_EVENTS`].
pub async fn container_events(
    client: &DockerClient,
    label: &str,
    value: &str,
    since: &str,
    until: &str,
) -> Result<Vec<ContainerEvent>, DockerError> {
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), vec![format!("{label}={value}")]),
        (
            "event".to_string(),
            ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ]);
    let options = EventsOptions {
        since: Some(since.to_string()),
        until: Some(until.to_string()),
        filters: Some(filters),
    };
    let mut stream = client.api.events(Some(options));
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        let message = item.map_err(api(&client.host, "reading the engine's events"))?;
        let actor = message.actor.unwrap_or_default();
        let name = actor
            .attributes
            .and_then(|mut attributes| attributes.remove("name"))
            .or(actor.id)
            .unwrap_or_default();
        events.push(ContainerEvent {
            container: name,
            action: message.action.unwrap_or_default(),
            at_unix: message.time.unwrap_or_default(),
        });
        if events.len() > MAX_EVENTS {
            events.remove(0);
        }
    }
    Ok(events)
}
