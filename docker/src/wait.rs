//! Waiting for `depends_on` conditions before a container is created or started, as compose does, and for a
//! replaced container's healthcheck to pass when the apply asks for that gate.
//!
//! A condition that can no longer come true (the dependency exited, turned unhealthy, or has no healthcheck
//! to become healthy with) fails at once instead of running out the clock; either way the error carries the
//! dependency's state and its last log lines, which is usually all one needs to see why.

use std::time::{Duration, Instant};

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use planner::model::{DependsCondition, Healthcheck};
use planner::plan::WaitFor;
use tokio_util::sync::CancellationToken;

use super::error::DockerError;

const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How many log lines of a failed dependency an error shows.
const LOG_LINES: usize = 10;

/// What a dependency looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    status: Option<ContainerStateStatusEnum>,
    health: Option<HealthStatusEnum>,
    has_healthcheck: bool,
    exit_code: Option<i64>,
}

impl Snapshot {
    fn describe(&self) -> String {
        let status = self.status.map_or("unknown".to_string(), |s| s.to_string());
        let mut text = format!("state {status}");
        if let Some(health) = self
            .health
            .filter(|h| !matches!(h, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
        {
            text.push_str(&format!(", health {health}"));
        }
        if self.status == Some(ContainerStateStatusEnum::EXITED) {
            text.push_str(&format!(
                ", exit code {}",
                self.exit_code.unwrap_or_default()
            ));
        }
        text
    }
}

enum Verdict {
    Met,
    Pending,
    /// The condition can no longer be met; the text says why.
    Impossible(String),
}

fn judge(condition: DependsCondition, s: &Snapshot) -> Verdict {
    use ContainerStateStatusEnum as S;
    let exited = s.status == Some(S::EXITED) || s.status == Some(S::DEAD);
    match condition {
        DependsCondition::ServiceStarted => match s.status {
            Some(S::RUNNING) | Some(S::EXITED) => Verdict::Met,
            Some(S::DEAD) => Verdict::Impossible("it is dead".into()),
            _ => Verdict::Pending,
        },
        DependsCondition::ServiceHealthy => {
            if !s.has_healthcheck {
                return Verdict::Impossible(
                    "it has no healthcheck, so it can never become healthy".into(),
                );
            }
            match s.health {
                Some(HealthStatusEnum::HEALTHY) => Verdict::Met,
                Some(HealthStatusEnum::UNHEALTHY) => Verdict::Impossible("it is unhealthy".into()),
                _ if exited => Verdict::Impossible("it exited before becoming healthy".into()),
                _ => Verdict::Pending,
            }
        }
        DependsCondition::ServiceCompletedSuccessfully => match (s.status, s.exit_code) {
            (Some(S::EXITED), Some(0)) => Verdict::Met,
            (Some(S::EXITED), Some(code)) => {
                Verdict::Impossible(format!("it exited with code {code}"))
            }
            (Some(S::DEAD), _) => Verdict::Impossible("it is dead".into()),
            _ => Verdict::Pending,
        },
    }
}

fn condition_name(c: DependsCondition) -> &'static str {
    match c {
        DependsCondition::ServiceStarted => "service_started",
        DependsCondition::ServiceHealthy => "service_healthy",
        DependsCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
    }
}

/// Waits until `wait`'s condition holds, it can no longer hold, `timeout` passes, or `cancel` fires.
/// `host` (the connector's `host_description()`) is named when the engine stops answering.
pub async fn wait_for(
    docker: &Docker,
    host: &str,
    wait: &WaitFor,
    timeout: Duration,
    cancel: &CancellationToken,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<(), DockerError> {
    let started = Instant::now();
    let what = format!(
        "dependency {} (container {}) to reach {}",
        wait.service,
        wait.container,
        condition_name(wait.condition)
    );
    progress(format!("waiting for {what}"));
    loop {
        let last = match snapshot(docker, host, &wait.container).await {
            Ok(s) => match judge(wait.condition, &s) {
                Verdict::Met => return Ok(()),
                Verdict::Impossible(why) => {
                    let logs = last_logs(docker, &wait.container).await;
                    return Err(DockerError::Timeout(format!(
                        "gave up waiting for {what}: {why} ({}){logs}",
                        s.describe()
                    )));
                }
                Verdict::Pending => Some(s),
            },
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        if started.elapsed() >= timeout {
            let state = last.map_or("the container does not exist".to_string(), |s| s.describe());
            let logs = last_logs(docker, &wait.container).await;
            return Err(DockerError::Timeout(format!(
                "timed out after {}s waiting for {what}: {state}{logs} (fix: check the dependency, or raise the \
                 dependency timeout)",
                timeout.as_secs()
            )));
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(DockerError::Timeout(format!("cancelled while waiting for {what}"))),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

/// Which replaced containers a step waits on before it counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthGate {
    /// A replace is done once the new container started.
    #[default]
    Started,
    /// A replace whose new container has a healthcheck is done only once it reports healthy; unhealthy,
    /// exited, or not healthy within the healthcheck's own window fails the step (an apply that reverts on
    /// failure then returns to the previous spec).
    ReplacedMustBeHealthy,
}

/// Docker's defaults for a healthcheck field left unset.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// Slack for the engine to run the last probe and record its result.
const HEALTH_SLACK: Duration = Duration::from_secs(2);

/// How long a new container has to become healthy: its start period plus `retries` probes of an interval and
/// a timeout each (Docker's defaults where unset), at most `cap`.
pub fn health_window(check: &Healthcheck, cap: Duration) -> Duration {
    let nanos = |v: Option<i64>, default: Duration| {
        v.and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0)
            .map_or(default, Duration::from_nanos)
    };
    let retries = check
        .retries
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_RETRIES);
    let probe = nanos(check.interval_ns, DEFAULT_INTERVAL)
        .saturating_add(nanos(check.timeout_ns, DEFAULT_TIMEOUT));
    nanos(check.start_period_ns, Duration::ZERO)
        .saturating_add(probe.saturating_mul(retries))
        .saturating_add(HEALTH_SLACK)
        .min(cap)
}

/// Whether `check` probes anything (`["NONE"]` or an empty test disables the image's healthcheck).
pub fn probes(check: &Healthcheck) -> bool {
    check.test.first().is_some_and(|t| t != "NONE")
}

/// Waits until the just-started `container` reports healthy; fails when it turns unhealthy, exits, or is
/// not healthy within [`health_window`] of `check` (at most `cap`), or when `cancel` fires.
pub async fn wait_healthy(
    docker: &Docker,
    host: &str,
    container: &str,
    check: &Healthcheck,
    cap: Duration,
    cancel: &CancellationToken,
) -> Result<(), DockerError> {
    let window = health_window(check, cap);
    let started = Instant::now();
    let what = format!("the new container {container} to become healthy");
    loop {
        let now = snapshot(docker, host, container).await?;
        match judge(DependsCondition::ServiceHealthy, &now) {
            Verdict::Met => return Ok(()),
            Verdict::Impossible(why) => {
                let logs = last_logs(docker, container).await;
                return Err(DockerError::Timeout(format!(
                    "gave up waiting for {what}: {why} ({}){logs}",
                    now.describe()
                )));
            }
            Verdict::Pending if started.elapsed() >= window => {
                let logs = last_logs(docker, container).await;
                return Err(DockerError::Timeout(format!(
                    "{container} was not healthy within {}s, its healthcheck's start period and retries: {}{logs}",
                    window.as_secs(),
                    now.describe()
                )));
            }
            Verdict::Pending => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(DockerError::Timeout(format!("cancelled while waiting for {what}"))),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

async fn snapshot(docker: &Docker, host: &str, container: &str) -> Result<Snapshot, DockerError> {
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| DockerError::from_bollard(e, host, &format!("container {container}")))?;
    let state = inspect.state.unwrap_or_default();
    let has_healthcheck = inspect
        .config
        .and_then(|c| c.healthcheck)
        .and_then(|h| h.test)
        .is_some_and(|t| !t.is_empty() && t.first().map(String::as_str) != Some("NONE"));
    Ok(Snapshot {
        status: state.status,
        health: state.health.and_then(|h| h.status),
        has_healthcheck,
        exit_code: state.exit_code,
    })
}

/// The container's last log lines, formatted for an error message (empty when there are none).
pub async fn last_logs(docker: &Docker, container: &str) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&LOG_LINES.to_string())
        .build();
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_LINES)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last log lines:\n  {}", tail.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(interval_s: Option<i64>, retries: Option<i64>, start_s: Option<i64>) -> Healthcheck {
        let ns = |s: i64| s * 1_000_000_000;
        Healthcheck {
            test: vec!["CMD".into(), "false".into()],
            interval_ns: interval_s.map(ns),
            timeout_ns: interval_s.map(ns),
            retries,
            start_period_ns: start_s.map(ns),
        }
    }

    #[test]
    fn the_window_is_the_start_period_plus_each_probe_and_is_capped() {
        let cap = Duration::from_secs(120);
        let table = [
            // start 1s + 2 probes of (1s interval + 1s timeout) + slack
            (check(Some(1), Some(2), Some(1)), 1 + 2 * 2 + 2),
            // Docker's defaults: 3 probes of 30s + 30s, capped
            (check(None, None, None), 120),
            (check(Some(1), Some(0), None), 3 * 2 + 2),
            (check(Some(-5), Some(1), Some(-1)), 60 + 2),
        ];
        for (check, secs) in table {
            assert_eq!(
                health_window(&check, cap),
                Duration::from_secs(secs),
                "{check:?}"
            );
        }
    }

    #[test]
    fn none_disables_the_probe() {
        let mut none = check(None, None, None);
        none.test = vec!["NONE".into()];
        assert!(!probes(&none));
        assert!(probes(&check(None, None, None)));
        none.test.clear();
        assert!(!probes(&none));
    }
}
