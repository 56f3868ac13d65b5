//! Drift explained: what the engine's event stream says happened to the project's containers since the
//! last apply, as lines for status ("container demo-web-1 stopped by `docker stop` at ...").

use planner::naming::LABEL_MANAGED_BY;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::Engine;
use crate::docker::events::{container_events, ContainerEvent};
use crate::state::ProjectRecord;

/// A `die` or `start` this close before a `stop`, `restart` or `destroy` of the same container is part of it.
const SAME_COMMAND_SECS: i64 = 30;

impl Engine {
    /// One line per outside change since `record` was applied; empty when the engine cannot say (a status
    /// is still useful without it, so failures are logged, not returned).
    pub(super) async fn drift_explained(&self, record: &ProjectRecord) -> Vec<String> {
        let Ok(applied) = OffsetDateTime::parse(&record.applied_at, &Rfc3339) else {
            return Vec::new();
        };
        let client = match self.docker.client().await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the engine's events for drift");
                return Vec::new();
            }
        };
        let (since, until) = (docker_time(applied), docker_time(OffsetDateTime::now_utc()));
        match container_events(&client, LABEL_MANAGED_BY, &record.project, &since, &until).await {
            Ok(events) => describe(&events),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the engine's events for drift");
                Vec::new()
            }
        }
    }
}

/// `1764500000.123456789`, the form `docker events --since` takes.
fn docker_time(at: OffsetDateTime) -> String {
    format!("{}.{:09}", at.unix_timestamp(), at.nanosecond())
}

/// The events as sentences, leaving out the `die`/`start` steps that a `stop` or `restart` is made of.
pub fn describe(events: &[ContainerEvent]) -> Vec<String> {
    events
        .iter()
        .enumerate()
        .filter(|(i, event)| !is_part_of_later_command(event, &events[i + 1..]))
        .filter_map(|(_, event)| {
            let what = match event.action.as_str() {
                "stop" => "stopped by `docker stop`",
                "die" => "exited on its own (its command ended or crashed)",
                "destroy" => "removed (`docker rm`)",
                "pause" => "paused by `docker pause`",
                "unpause" => "unpaused",
                "restart" => "restarted by `docker restart`",
                "rename" => "renamed",
                "oom" => "ran out of memory",
                "start" => "started outside plan/apply",
                _ => return None,
            };
            Some(format!(
                "container {} {what} at {}",
                event.container,
                clock(event.at_unix)
            ))
        })
        .collect()
}

fn is_part_of_later_command(event: &ContainerEvent, later: &[ContainerEvent]) -> bool {
    let wrapped_by = match event.action.as_str() {
        "die" => ["stop", "restart", "destroy"].as_slice(),
        "start" | "stop" => ["restart"].as_slice(),
        _ => return false,
    };
    later.iter().any(|next| {
        next.container == event.container
            && wrapped_by.contains(&next.action.as_str())
            && next.at_unix - event.at_unix <= SAME_COMMAND_SECS
    })
}

/// `2026-11-30 12:03:05 UTC`.
fn clock(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map(|t| t.replacen('T', " ", 1).replacen('Z', " UTC", 1))
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(container: &str, action: &str, at_unix: i64) -> ContainerEvent {
        ContainerEvent {
            container: container.into(),
            action: action.into(),
            at_unix,
        }
    }

    #[test]
    fn a_docker_stop_reads_as_one_stop_and_a_crash_as_an_exit() {
        let events = [
            event("p-web-1", "die", 100),
            event("p-web-1", "stop", 101),
            event("p-db-1", "die", 200),
            event("p-db-1", "destroy", 300),
        ];
        assert_eq!(
            describe(&events),
            vec![
                "container p-web-1 stopped by `docker stop` at 1970-01-01 00:01:41 UTC",
                "container p-db-1 exited on its own (its command ended or crashed) at 1970-01-01 00:03:20 UTC",
                "container p-db-1 removed (`docker rm`) at 1970-01-01 00:05:00 UTC",
            ]
        );
    }

    #[test]
    fn a_restart_hides_its_steps() {
        let events = [
            event("w", "die", 10),
            event("w", "stop", 10),
            event("w", "start", 11),
            event("w", "restart", 11),
        ];
        assert_eq!(describe(&events).len(), 1);
        assert!(describe(&events)[0].contains("restarted"));
    }
}
