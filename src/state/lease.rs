//! One open sled database per process, held from the first call until another process waits for it.
//!
//! sled locks its directory for as long as a `Db` is open, and two server processes (two chats) must share
//! one state directory. Opening the database for every operation kept that promise but cost a fresh sled
//! instance (page cache, log reader, threads' allocator arenas) per call, so memory grew with concurrency.
//! A lease keeps one `Db` for the whole process instead, shared by every operation running at once. It is
//! not closed when idle: each close and reopen left the heap larger (measured by `benches/soak.rs`), and a
//! waiting process does not need it, because it marks itself in a waiters file (a shared `flock`) while it
//! retries; the holder sees the mark within [`TICK`] and lets go after holding at least [`LEASE_MIN`], then
//! gives the waiter up to [`YIELD_WAIT`] before taking it back.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use fs2::FileExt;

use super::store::StateError;

/// How often the holder looks for idleness and waiters.
pub const TICK: Duration = Duration::from_millis(20);
/// The least a process holds the database before it yields to a waiter, so each turn does some work.
pub const LEASE_MIN: Duration = Duration::from_millis(50);
/// How long a process that yielded lets the waiter go first.
pub const YIELD_WAIT: Duration = Duration::from_millis(250);
/// How long an open waits for another process to let go.
pub const OPEN_PATIENCE: Duration = Duration::from_secs(30);
/// sled's page cache; what we store is small, and sled's default (1 GiB) would let it grow far past that.
pub const CACHE_BYTES: u64 = 2 * 1024 * 1024;

/// The process's handle on the database directory.
#[derive(Debug)]
pub struct Lease {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    db: Option<sled::Db>,
    opened_at: Option<Instant>,
    /// When this process last let go for a waiter.
    yielded_at: Option<Instant>,
}

impl Lease {
    pub fn new(dir: PathBuf) -> Self {
        Lease {
            shared: Arc::new(Shared {
                dir,
                held: Mutex::new(Held::default()),
            }),
        }
    }

    /// The open database, opening it (and waiting for another process) when this process does not hold it.
    pub fn checkout(&self) -> Result<sled::Db, StateError> {
        let mut held = self.shared.lock();
        if let Some(db) = &held.db {
            return Ok(db.clone());
        }
        if let Some(yielded) = held.yielded_at.take() {
            self.shared.let_waiter_go_first(yielded);
        }
        let db = self.shared.open()?;
        held.db = Some(db.clone());
        held.opened_at = Some(Instant::now());
        drop(held);
        let shared = Arc::downgrade(&self.shared);
        std::thread::Builder::new()
            .name("state-lease".into())
            .spawn(move || Shared::watch(&shared))
            .map_err(|source| StateError::Db {
                path: self.shared.db_path().display().to_string(),
                message: format!("cannot start the state watcher thread: {source}"),
            })?;
        Ok(db)
    }

    /// True while this process holds the database open.
    pub fn is_held(&self) -> bool {
        self.shared.lock().db.is_some()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn db_path(&self) -> PathBuf {
        self.dir.join("db")
    }

    fn waiters_path(&self) -> PathBuf {
        self.dir.join("db.waiters")
    }

    /// Runs on its own thread while the database is held; drops this process's handle when another process
    /// waits. Operations in flight keep their clones, so sled closes when the last ends. It holds the lease
    /// weakly, so dropping the lease closes the database and ends this thread.
    fn watch(shared: &Weak<Shared>) {
        loop {
            std::thread::sleep(TICK);
            let Some(shared) = shared.upgrade() else {
                return;
            };
            // The waiters file is read before taking the lock, so a checkout never waits on file I/O.
            let someone_waits = others_waiting(&shared.waiters_path());
            let mut held = shared.lock();
            let Some(opened) = held.opened_at else {
                held.db = None;
                return;
            };
            if someone_waits && opened.elapsed() >= LEASE_MIN {
                held.db = None;
                held.opened_at = None;
                held.yielded_at = Some(Instant::now());
                drop(held);
                return_freed_memory();
                return;
            }
        }
    }

    /// After yielding, waits (bounded) until the waiter has had its turn.
    fn let_waiter_go_first(&self, yielded: Instant) {
        let path = self.waiters_path();
        while yielded.elapsed() < YIELD_WAIT && others_waiting(&path) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Opens sled, retrying with a bound while another process holds it, marked as a waiter meanwhile.
    fn open(&self) -> Result<sled::Db, StateError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| StateError::CreateDir {
            path: self.dir.display().to_string(),
            source,
        })?;
        let path = self.db_path();
        let started = Instant::now();
        let mut backoff = Duration::from_millis(2);
        let mut waiting: Option<File> = None;
        loop {
            let config = sled::Config::new()
                .path(&path)
                .cache_capacity(CACHE_BYTES)
                .flush_every_ms(None);
            match config.open() {
                Ok(db) => return Ok(db),
                Err(sled::Error::Io(e)) if !is_lock_held(&e) => {
                    return Err(StateError::Db {
                        path: path.display().to_string(),
                        message: format!("{e} (fix: check that the state directory is writable)"),
                    })
                }
                Err(sled::Error::Io(e)) if started.elapsed() < OPEN_PATIENCE => {
                    tracing::debug!(error = %e, "state database busy; retrying");
                    if waiting.is_none() {
                        waiting = mark_waiting(&self.waiters_path());
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(20));
                }
                Err(sled::Error::Io(e)) => {
                    return Err(StateError::Locked {
                        path: path.display().to_string(),
                        secs: OPEN_PATIENCE.as_secs(),
                        message: e.to_string(),
                    })
                }
                Err(e) => {
                    return Err(StateError::Db {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })
                }
            }
        }
    }
}

/// Hands the heap that a closed sled instance freed back to the system. glibc keeps freed memory in its
/// arenas, so without this each open-close cycle left the process's RSS higher (measured by `benches/soak.rs`).
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own allocator state under its locks; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Holds a shared lock on the waiters file until dropped; `None` when the file cannot be opened (then the
/// holder only lets go when idle, which still bounds the wait).
fn mark_waiting(path: &Path) -> Option<File> {
    let file = open_waiters(path)?;
    FileExt::lock_shared(&file).ok()?;
    Some(file)
}

/// True when some other handle holds the waiters file's shared lock.
fn others_waiting(path: &Path) -> bool {
    let Some(file) = open_waiters(path) else {
        return false;
    };
    match FileExt::try_lock_exclusive(&file) {
        Ok(()) => {
            let _ = FileExt::unlock(&file);
            false
        }
        Err(_) => true,
    }
}

fn open_waiters(path: &Path) -> Option<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .ok()
}

/// sled reports a directory locked by another process as an I/O error with this wording.
fn is_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_database_stays_open_until_the_lease_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let lease = Lease::new(dir.path().to_path_buf());
        drop(lease.checkout().unwrap());
        std::thread::sleep(TICK * 10);
        assert!(lease.is_held());
        drop(lease);
        // The directory is free again for another lease in this process, without waiting for a yield.
        std::thread::sleep(TICK * 3);
        let next = Lease::new(dir.path().to_path_buf());
        let started = Instant::now();
        drop(next.checkout().unwrap());
        assert!(started.elapsed() < LEASE_MIN, "{:?}", started.elapsed());
    }

    #[test]
    fn a_busy_holder_yields_to_a_waiting_one() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (
            Lease::new(dir.path().to_path_buf()),
            Lease::new(dir.path().to_path_buf()),
        );
        let busy = std::thread::spawn(move || {
            // Keep the first lease busy (a call every few milliseconds) for two seconds.
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                drop(first.checkout().unwrap());
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        drop(second.checkout().unwrap());
        // Well before the first lease's busy time ends: it yielded because the second one waited.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        busy.join().unwrap();
    }
}
