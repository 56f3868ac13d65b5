//! Reading from containers and the engine for the MCP tools: exec, logs, stats, disk usage.
//!
//! Every output is bounded: exec keeps at most 64 KB per stream and stops at its timeout, logs keep the
//! newest lines up to 64 KB.

use std::collections::VecDeque;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCpuStats, ContainerStatsResponse};
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListVolumesOptions, LogsOptions, StatsOptions,
};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;

use super::client::DockerClient;
use super::error::{api, DockerError};

/// Most bytes kept of each exec output stream.
const MAX_EXEC_BYTES: usize = 64 * 1024;

/// Most bytes of log text one call returns unless the operator sets another bound (`LogQuery::max_bytes`).
pub const DEFAULT_MAX_LOG_BYTES: usize = 64 * 1024;

/// One command to run in a running container.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// How long to collect output before giving up (the command keeps running).
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExecOutcome {
    /// The command's exit code; absent if it was still running at the timeout.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// True when output exceeded 64 KB per stream or the timeout hit.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContainerStats {
    pub container: String,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UsageLine {
    pub total: i64,
    /// In use by at least one container.
    pub active: i64,
    /// Bytes; absent when the engine does not report it.
    pub size_bytes: Option<i64>,
    /// Bytes that a prune would free, when known.
    pub reclaimable_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DiskUsage {
    pub images: UsageLine,
    pub containers: UsageLine,
    pub volumes: UsageLine,
    pub build_cache: UsageLine,
}

/// Which log lines to read.
#[derive(Debug, Clone)]
pub struct LogQuery {
    /// Newest lines to keep.
    pub tail: u32,
    /// Unix seconds; 0 means no bound.
    pub since: i64,
    /// Unix seconds; 0 means no bound.
    pub until: i64,
    /// Keep only lines containing this text.
    pub grep: Option<String>,
    /// Most bytes of log text kept (the newest ones); older lines are dropped and the result says so.
    pub max_bytes: usize,
}

impl Default for LogQuery {
    /// Every line (up to the default byte bound) of the whole log.
    fn default() -> Self {
        LogQuery {
            tail: u32::MAX,
            since: 0,
            until: 0,
            grep: None,
            max_bytes: DEFAULT_MAX_LOG_BYTES,
        }
    }
}

/// One line of container output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// The lines a log query kept, and whether the byte bound cut them.
#[derive(Debug, Clone, Default)]
pub struct LogLines {
    pub lines: Vec<LogLine>,
    pub truncated: bool,
}

/// Runs `request` in `container` and collects its output and exit code.
pub async fn exec(
    client: &DockerClient,
    container: &str,
    request: ExecRequest,
) -> Result<ExecOutcome, DockerError> {
    let context = format!("exec in {container:?}");
    let options = CreateExecOptions {
        cmd: Some(request.argv),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        working_dir: request.workdir,
        user: request.user,
        env: (!request.env.is_empty()).then_some(request.env),
        ..Default::default()
    };
    let exec = client
        .api
        .create_exec(container, options)
        .await
        .map_err(api(&client.host, &context))?;
    let started = client
        .api
        .start_exec(&exec.id, None)
        .await
        .map_err(api(&client.host, &context))?;
    let mut outcome = ExecOutcome {
        exit_code: None,
        stdout: String::new(),
        stderr: String::new(),
        truncated: false,
    };
    if let StartExecResults::Attached { mut output, .. } = started {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut truncated = false;
        let collect = async {
            while let Some(item) = output.next().await {
                match item.map_err(api(&client.host, "reading exec output"))? {
                    LogOutput::StdErr { message } => {
                        append_capped(&mut stderr, &message, &mut truncated)
                    }
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        append_capped(&mut stdout, &message, &mut truncated)
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
            Ok::<(), DockerError>(())
        };
        let timed_out = match tokio::time::timeout(request.timeout, collect).await {
            Ok(result) => {
                result?;
                false
            }
            Err(_) => true,
        };
        outcome.stdout = String::from_utf8_lossy(&stdout).into_owned();
        outcome.stderr = String::from_utf8_lossy(&stderr).into_owned();
        outcome.truncated = truncated || timed_out;
    }
    let inspect = client.api.inspect_exec(&exec.id).await.ok();
    outcome.exit_code = inspect
        .filter(|i| i.running != Some(true))
        .and_then(|i| i.exit_code);
    Ok(outcome)
}

fn append_capped(buffer: &mut Vec<u8>, bytes: &[u8], truncated: &mut bool) {
    let room = MAX_EXEC_BYTES.saturating_sub(buffer.len());
    if bytes.len() > room {
        *truncated = true;
    }
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// The newest `query.tail` matching lines of `container`, at most 64 KB of them.
pub async fn logs(
    client: &DockerClient,
    container: &str,
    query: &LogQuery,
) -> Result<LogLines, DockerError> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: if query.grep.is_some() {
            "all".into()
        } else {
            query.tail.to_string()
        },
        since: clamp_seconds(query.since),
        until: clamp_seconds(query.until),
        ..Default::default()
    };
    let mut stream = client.api.logs(container, Some(options));
    // Only the newest lines within `tail` and `max_bytes` are ever held, so a chatty container filtered
    // by `grep` (which reads the whole log) costs bounded memory.
    let mut kept = NewestLines::new(query.tail as usize, query.max_bytes);
    while let Some(item) = stream.next().await {
        let (stream_name, bytes) = match item.map_err(api(&client.host, "reading logs"))? {
            LogOutput::StdErr { message } => ("stderr", message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => ("stdout", message),
            LogOutput::StdIn { .. } => continue,
        };
        for text in String::from_utf8_lossy(&bytes).lines() {
            if query.grep.as_deref().is_none_or(|g| text.contains(g)) {
                kept.push(LogLine {
                    stream: stream_name.into(),
                    text: text.to_string(),
                });
            }
        }
    }
    Ok(kept.into_lines())
}

/// The newest log lines, at most `tail` of them and `max_bytes` of text.
struct NewestLines {
    tail: usize,
    max_bytes: usize,
    lines: VecDeque<LogLine>,
    bytes: usize,
    /// True once a line was dropped for the byte bound (not for `tail`).
    truncated: bool,
}

impl NewestLines {
    fn new(tail: usize, max_bytes: usize) -> Self {
        NewestLines {
            tail,
            max_bytes,
            lines: VecDeque::new(),
            bytes: 0,
            truncated: false,
        }
    }

    fn push(&mut self, line: LogLine) {
        self.bytes += line.text.len() + 1;
        self.lines.push_back(line);
        if self.lines.len() > self.tail {
            self.drop_oldest();
        }
        while self.bytes > self.max_bytes {
            self.drop_oldest();
            self.truncated = true;
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(old) = self.lines.pop_front() {
            self.bytes -= old.text.len() + 1;
        }
    }

    fn into_lines(self) -> LogLines {
        LogLines {
            lines: self.lines.into(),
            truncated: self.truncated,
        }
    }
}

/// Bollard's log options carry 32-bit timestamps; out-of-range values mean "no bound".
fn clamp_seconds(seconds: i64) -> i32 {
    i32::try_from(seconds).unwrap_or(0)
}

/// One stats sample of a running container, summarized; `name` is what the summary calls it.
pub async fn stats(
    client: &DockerClient,
    container: &str,
    name: &str,
) -> Result<ContainerStats, DockerError> {
    let mut stream = client.api.stats(
        container,
        Some(StatsOptions {
            stream: false,
            one_shot: false,
        }),
    );
    match stream.next().await {
        Some(Ok(sample)) => Ok(summarize_stats(name, &sample)),
        Some(Err(e)) => Err(DockerError::from_bollard(
            e,
            &client.host,
            &format!("stats of {name:?}"),
        )),
        None => Err(DockerError::Api {
            context: format!("stats of {name:?}"),
            status: 0,
            message: "the engine sent no stats".into(),
        }),
    }
}

/// Percentages computed the way `docker stats` computes them.
fn summarize_stats(name: &str, s: &ContainerStatsResponse) -> ContainerStats {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let cpus = cpu
        .online_cpus
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as f64)
        })
        .unwrap_or(1.0);
    let cpu_percent = if system_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.clone().unwrap_or_default();
    let cache = memory
        .stats
        .as_ref()
        .and_then(|m| {
            m.get("inactive_file")
                .or_else(|| m.get("total_inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    let memory_bytes = memory.usage.unwrap_or(0).saturating_sub(cache);
    let memory_limit_bytes = memory.limit.unwrap_or(0);
    let memory_percent = if memory_limit_bytes > 0 {
        memory_bytes as f64 / memory_limit_bytes as f64 * 100.0
    } else {
        0.0
    };
    let (rx, tx) = s
        .networks
        .as_ref()
        .map(|n| {
            n.values().fold((0, 0), |(rx, tx), v| {
                (rx + v.rx_bytes.unwrap_or(0), tx + v.tx_bytes.unwrap_or(0))
            })
        })
        .unwrap_or((0, 0));
    let (read, write) = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.clone())
        .unwrap_or_default()
        .iter()
        .fold((0, 0), |(r, w), e| {
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => (r + e.value.unwrap_or(0), w),
                Some("write") => (r, w + e.value.unwrap_or(0)),
                _ => (r, w),
            }
        });
    ContainerStats {
        container: name.to_string(),
        cpu_percent: (cpu_percent * 10.0).round() / 10.0,
        memory_bytes,
        memory_limit_bytes,
        memory_percent: (memory_percent * 10.0).round() / 10.0,
        network_rx_bytes: rx,
        network_tx_bytes: tx,
        block_read_bytes: read,
        block_write_bytes: write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}

/// Disk used by images, containers, volumes and the build cache.
pub async fn disk_usage(client: &DockerClient) -> Result<DiskUsage, DockerError> {
    // Engines before API 1.44 answer /system/df in a shape bollard 0.21 cannot map, so count from the lists.
    let images = client
        .api
        .list_images(Some(ListImagesOptions {
            all: false,
            ..Default::default()
        }))
        .await
        .map_err(api(&client.host, "listing images"))?;
    let containers = client
        .api
        .list_containers(Some(ListContainersOptions {
            all: true,
            size: true,
            ..Default::default()
        }))
        .await
        .map_err(api(&client.host, "listing containers"))?;
    let volumes = client
        .api
        .list_volumes(None::<ListVolumesOptions>)
        .await
        .map_err(api(&client.host, "listing volumes"))?;
    let df = client.api.df(None).await.ok();
    let used_images: std::collections::BTreeSet<String> = containers
        .iter()
        .filter_map(|c| c.image_id.clone())
        .collect();
    let image_size: i64 = images
        .iter()
        .map(|i| i.size - i.shared_size.max(0))
        .sum::<i64>()
        + images
            .iter()
            .map(|i| i.shared_size.max(0))
            .max()
            .unwrap_or(0);
    let unused_size: i64 = images
        .iter()
        .filter(|i| !used_images.contains(&i.id))
        .map(|i| i.size)
        .sum();
    let running = containers
        .iter()
        .filter(|c| c.state.map(|s| s.to_string()) == Some("running".into()))
        .count() as i64;
    let container_size: i64 = containers.iter().filter_map(|c| c.size_rw).sum();
    let stopped_size: i64 = containers
        .iter()
        .filter(|c| c.state.map(|s| s.to_string()) != Some("running".into()))
        .filter_map(|c| c.size_rw)
        .sum();
    let volume_list = volumes.volumes.unwrap_or_default();
    let volume_df = df.as_ref().and_then(|d| d.volume_usage.clone());
    let cache_df = df.as_ref().and_then(|d| d.build_cache_usage.clone());
    Ok(DiskUsage {
        images: UsageLine {
            total: images.len() as i64,
            active: images
                .iter()
                .filter(|i| used_images.contains(&i.id))
                .count() as i64,
            size_bytes: Some(image_size),
            reclaimable_bytes: Some(unused_size),
        },
        containers: UsageLine {
            total: containers.len() as i64,
            active: running,
            size_bytes: Some(container_size),
            reclaimable_bytes: Some(stopped_size),
        },
        volumes: UsageLine {
            total: volume_list.len() as i64,
            active: volume_df.as_ref().and_then(|v| v.active_count).unwrap_or(0),
            size_bytes: volume_df.as_ref().and_then(|v| v.total_size),
            reclaimable_bytes: volume_df.as_ref().and_then(|v| v.reclaimable),
        },
        build_cache: UsageLine {
            total: cache_df.as_ref().and_then(|c| c.total_count).unwrap_or(0),
            active: cache_df.as_ref().and_then(|c| c.active_count).unwrap_or(0),
            size_bytes: cache_df.as_ref().and_then(|c| c.total_size),
            reclaimable_bytes: cache_df.as_ref().and_then(|c| c.reclaimable),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> LogLine {
        LogLine {
            stream: "stdout".into(),
            text: text.into(),
        }
    }

    #[test]
    fn keeps_the_newest_lines_within_tail_and_bytes() {
        let mut kept = NewestLines::new(2, DEFAULT_MAX_LOG_BYTES);
        for text in ["a", "b", "c"] {
            kept.push(line(text));
        }
        let lines = kept.into_lines();
        assert_eq!(lines.lines, vec![line("b"), line("c")]);
        assert!(!lines.truncated, "tail is not truncation");

        let mut kept = NewestLines::new(1000, DEFAULT_MAX_LOG_BYTES);
        let long = "x".repeat(DEFAULT_MAX_LOG_BYTES / 2);
        for _ in 0..3 {
            kept.push(line(&long));
        }
        let lines = kept.into_lines();
        assert_eq!(lines.lines.len(), 1);
        assert!(lines.truncated);
    }
}
