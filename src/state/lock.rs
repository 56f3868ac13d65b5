//! The per-project apply lock: a kernel file lock, so a killed holder cannot keep it.
//!
//! `flock` belongs to the open file; the kernel drops it when the holder's process dies, `kill -9` included,
//! so a crash mid-apply never wedges the project. A second apply waits for the first instead of failing,
//! which serializes concurrent applies from any number of processes.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs2::FileExt;

/// A held lock; released on drop (or by the kernel if the process dies).
#[derive(Debug)]
pub struct ProjectLock {
    file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cannot open the lock file {path}: {source} (fix: check the state directory's permissions)"
    )]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("project {project} is still being applied by another process after {secs}s (fix: wait for that apply to finish, then retry)")]
    Timeout { project: String, secs: u64 },
}

impl ProjectLock {
    /// Waits up to `patience` for the lock of `project` under `state_dir/locks`.
    pub async fn acquire(
        state_dir: &Path,
        project: &str,
        patience: Duration,
    ) -> Result<ProjectLock, LockError> {
        let dir = state_dir.join("locks");
        let path = dir.join(format!("{project}.lock"));
        let open_error = |source| LockError::Open {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(open_error)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let started = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock_exclusive() {
                Ok(()) => return Ok(ProjectLock { file, path }),
                Err(_) if started.elapsed() < patience => {
                    if !announced {
                        tracing::info!(
                            project,
                            "another apply holds the project lock; waiting for it"
                        );
                        announced = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(_) => {
                    return Err(LockError::Timeout {
                        project: project.to_string(),
                        secs: patience.as_secs(),
                    })
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the release immediate and explicit.
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_waits_then_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProjectLock::acquire(dir.path(), "p", Duration::from_secs(1))
            .await
            .unwrap();
        let err = ProjectLock::acquire(dir.path(), "p", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("still being applied"), "{err}");
        let path = dir.path().to_path_buf();
        let waiter =
            tokio::spawn(
                async move { ProjectLock::acquire(&path, "p", Duration::from_secs(5)).await },
            );
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(first);
        assert!(waiter.await.unwrap().is_ok());
    }
}
