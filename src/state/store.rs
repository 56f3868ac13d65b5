//! The sled-backed store: typed records over the database that [`Lease`] holds open.
//!
//! Each operation checks the database out of the process's lease and does its work; one that writes flushes
//! before it returns, so a `kill -9` loses nothing written, while reads skip the flush. The lease lets the
//! directory go when another server process waits, so two chats can share one state directory.
//! Plans and history are kept with a bound per project ([`PLANS_KEPT`], [`HISTORY_KEPT`]). Every record is
//! wrapped as `{"v": 1, "data": ...}` so a future format is recognised instead of misread.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::lease::Lease;
use super::records::{
    HistoryEntry, JournalEntry, PlanStatus, ProjectRecord, RecordChange, StoredPlan,
};

/// The record format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

const TREE_PROJECTS: &str = "projects";
const TREE_PLANS: &str = "plans";
/// Keys of the plans still pending, so finishing one apply marks the others stale without reading every plan.
const TREE_PENDING: &str = "pending_plans";
const TREE_JOURNAL: &str = "journal";
/// Plan ids in creation order per project, so the oldest can be pruned.
const TREE_PLAN_ORDER: &str = "plan_order";
/// Plans kept per project; older ones (and their journals) are dropped when a new plan is saved.
pub const PLANS_KEPT: usize = 200;
const TREE_HISTORY: &str = "history";
/// History entries kept per project; the oldest are dropped as new ones come. Every plan adds one, so without
/// a bound a busy project's history (and sled's log with it) grew for as long as the server ran.
pub const HISTORY_KEPT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create the state directory {path}: {source} (fix: choose a writable --state-dir or MCP_DOCKER_STATE_DIR)")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the state database at {path} stayed locked by another process for {secs}s: {message} (fix: retry; if no other mcp-docker-server runs, check the directory's permissions)")]
    Locked {
        path: String,
        secs: u64,
        message: String,
    },
    #[error("state database error at {path}: {message}")]
    Db { path: String, message: String },
    #[error("state record {key} was written in format version {found}, newer than this server understands ({FORMAT_VERSION}) (fix: upgrade mcp-docker-server)")]
    FutureFormat { key: String, found: u64 },
    #[error("state record {key} is unreadable: {message}")]
    Corrupt { key: String, message: String },
    #[error("the secret-digest key {path}: {source} (fix: make the state directory writable)")]
    DigestKey {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the secret-digest key {path} is damaged (fix: remove it; the next plan creates a new one)"
    )]
    DigestKeyDamaged { path: String },
}

/// Handle on the state directory; opens sled on first use and lets it go when another process waits.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    lease: Lease,
}

impl Store {
    pub fn new(dir: PathBuf) -> Self {
        Store {
            lease: Lease::new(dir.clone()),
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn db_path(&self) -> PathBuf {
        self.dir.join("db")
    }

    /// Runs `work`, which only reads, on the process's open database.
    fn reading<T>(
        &self,
        work: impl FnOnce(&sled::Db) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let db = self.lease.checkout()?;
        let result = work(&db);
        self.check_in(db);
        result
    }

    /// Runs `work` on the process's open database and flushes what it wrote, so a `kill -9` loses nothing.
    fn writing<T>(
        &self,
        work: impl FnOnce(&sled::Db) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let db = self.lease.checkout()?;
        let result = work(&db).and_then(|value| {
            db.flush().map_err(|e| self.db_error(e))?;
            Ok(value)
        });
        self.check_in(db);
        result
    }

    /// Ends a use of the database.
    fn check_in(&self, db: sled::Db) {
        // Let go of this clone first: an open waiting under the lease's lock needs every clone of a
        // database the lease already dropped to be gone.
        drop(db);
    }

    fn db_error(&self, e: sled::Error) -> StateError {
        StateError::Db {
            path: self.db_path().display().to_string(),
            message: e.to_string(),
        }
    }

    fn tree(&self, db: &sled::Db, name: &str) -> Result<sled::Tree, StateError> {
        db.open_tree(name).map_err(|e| self.db_error(e))
    }

    fn put<T: Serialize>(&self, tree: &sled::Tree, key: &str, value: &T) -> Result<(), StateError> {
        let bytes = encode(key, value)?;
        tree.insert(key.as_bytes(), bytes)
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    fn get<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        match tree.get(key.as_bytes()).map_err(|e| self.db_error(e))? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        prefix: &str,
    ) -> Result<Vec<T>, StateError> {
        let mut out = Vec::new();
        for item in tree.scan_prefix(prefix.as_bytes()) {
            let (key, bytes) = item.map_err(|e| self.db_error(e))?;
            out.push(decode(&String::from_utf8_lossy(&key), &bytes)?);
        }
        Ok(out)
    }

    // ---- last applied ----

    pub fn last_applied(&self, project: &str) -> Result<Option<ProjectRecord>, StateError> {
        self.reading(|db| {
            let tree = self.tree(db, TREE_PROJECTS)?;
            self.get(&tree, project)
        })
    }

    pub fn projects(&self) -> Result<Vec<ProjectRecord>, StateError> {
        self.reading(|db| {
            let tree = self.tree(db, TREE_PROJECTS)?;
            self.scan(&tree, "")
        })
    }

    // ---- plans ----

    pub fn save_plan(&self, plan: &StoredPlan, history: &HistoryEntry) -> Result<(), StateError> {
        self.writing(|db| self.save_plan_in(db, plan, history))
    }

    /// Saves a plan that was applied as soon as it was made, and finishes it as [`Store::finish_plan`] does,
    /// in one write: the records are those of `save_plan` then `finish_plan`, for one flush instead of two.
    pub fn save_finished_plan(
        &self,
        plan: &StoredPlan,
        plan_history: &HistoryEntry,
        status: PlanStatus,
        change: &RecordChange,
        history: &HistoryEntry,
    ) -> Result<(), StateError> {
        self.writing(|db| {
            self.save_plan_in(db, plan, plan_history)?;
            self.finish_plan_in(db, &plan.project, &plan.id, status, change, history)
        })
    }

    fn save_plan_in(
        &self,
        db: &sled::Db,
        plan: &StoredPlan,
        history: &HistoryEntry,
    ) -> Result<(), StateError> {
        let plans = self.tree(db, TREE_PLANS)?;
        let key = plan_key(&plan.project, &plan.id);
        self.put(&plans, &key, plan)?;
        if plan.status == PlanStatus::Pending {
            let pending = self.tree(db, TREE_PENDING)?;
            pending
                .insert(key.as_bytes(), Vec::<u8>::new())
                .map_err(|e| self.db_error(e))?;
        }
        self.prune_plans(db, &plan.project, &plan.id)?;
        self.put_history(db, &plan.project, history)
    }

    /// Records `plan_id` as the newest plan and drops the oldest beyond [`PLANS_KEPT`].
    fn prune_plans(&self, db: &sled::Db, project: &str, plan_id: &str) -> Result<(), StateError> {
        let order = self.tree(db, TREE_PLAN_ORDER)?;
        let seq = db.generate_id().map_err(|e| self.db_error(e))?;
        order
            .insert(
                format!("{project}/{seq:020}").as_bytes(),
                plan_id.as_bytes(),
            )
            .map_err(|e| self.db_error(e))?;
        let entries: Vec<(sled::IVec, sled::IVec)> = order
            .scan_prefix(format!("{project}/").as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))?;
        if entries.len() <= PLANS_KEPT {
            return Ok(());
        }
        let (plans, pending, journal) = (
            self.tree(db, TREE_PLANS)?,
            self.tree(db, TREE_PENDING)?,
            self.tree(db, TREE_JOURNAL)?,
        );
        for (order_key, id) in &entries[..entries.len() - PLANS_KEPT] {
            let key = plan_key(project, &String::from_utf8_lossy(id));
            plans.remove(key.as_bytes()).map_err(|e| self.db_error(e))?;
            pending
                .remove(key.as_bytes())
                .map_err(|e| self.db_error(e))?;
            let steps: Vec<sled::IVec> = journal
                .scan_prefix(format!("{key}/").as_bytes())
                .keys()
                .collect::<Result<_, _>>()
                .map_err(|e| self.db_error(e))?;
            for step in steps {
                journal.remove(step).map_err(|e| self.db_error(e))?;
            }
            order.remove(order_key).map_err(|e| self.db_error(e))?;
        }
        Ok(())
    }

    pub fn plan(&self, project: &str, plan_id: &str) -> Result<Option<StoredPlan>, StateError> {
        self.reading(|db| {
            let plans = self.tree(db, TREE_PLANS)?;
            self.get(&plans, &plan_key(project, plan_id))
        })
    }

    /// Finds a plan id under any project, to tell "wrong project" from "no such plan".
    pub fn plan_project(&self, plan_id: &str) -> Result<Option<String>, StateError> {
        self.reading(|db| {
            let plans = self.tree(db, TREE_PLANS)?;
            let suffix = format!("/{plan_id}");
            for item in plans.iter() {
                let (key, _) = item.map_err(|e| self.db_error(e))?;
                let key = String::from_utf8_lossy(&key);
                if let Some(project) = key.strip_suffix(&suffix) {
                    return Ok(Some(project.to_string()));
                }
            }
            Ok(None)
        })
    }

    pub fn plans(&self, project: &str) -> Result<Vec<StoredPlan>, StateError> {
        self.reading(|db| {
            let plans = self.tree(db, TREE_PLANS)?;
            self.scan(&plans, &format!("{project}/"))
        })
    }

    /// Marks one plan, records history, and when it was applied also stores the new last-applied record and
    /// marks the project's other pending plans stale (they were computed against a state that no longer is).
    pub fn finish_plan(
        &self,
        project: &str,
        plan_id: &str,
        status: PlanStatus,
        change: &RecordChange,
        history: &HistoryEntry,
    ) -> Result<(), StateError> {
        self.writing(|db| self.finish_plan_in(db, project, plan_id, status, change, history))
    }

    fn finish_plan_in(
        &self,
        db: &sled::Db,
        project: &str,
        plan_id: &str,
        status: PlanStatus,
        change: &RecordChange,
        history: &HistoryEntry,
    ) -> Result<(), StateError> {
        let plans = self.tree(db, TREE_PLANS)?;
        let pending = self.tree(db, TREE_PENDING)?;
        let key = plan_key(project, plan_id);
        let mark = |key: &str, status: PlanStatus| -> Result<(), StateError> {
            if let Some(mut plan) = self.get::<StoredPlan>(&plans, key)? {
                plan.status = status;
                self.put(&plans, key, &plan)?;
            }
            pending
                .remove(key.as_bytes())
                .map_err(|e| self.db_error(e))?;
            Ok(())
        };
        mark(&key, status)?;
        if status == PlanStatus::Applied || matches!(change, RecordChange::Write(_)) {
            let others: Vec<String> = pending
                .scan_prefix(format!("{project}/").as_bytes())
                .keys()
                .map(|k| k.map(|k| String::from_utf8_lossy(&k).into_owned()))
                .collect::<Result<_, _>>()
                .map_err(|e| self.db_error(e))?;
            for other in others.iter().filter(|k| **k != key) {
                mark(other, PlanStatus::Stale)?;
            }
        }
        let projects = self.tree(db, TREE_PROJECTS)?;
        match change {
            RecordChange::Keep => {}
            RecordChange::Write(record) => self.put(&projects, project, record)?,
            RecordChange::Remove => {
                projects
                    .remove(project.as_bytes())
                    .map_err(|e| self.db_error(e))?;
            }
        }
        self.put_history(db, project, history)
    }

    /// Stores an import in one write: its plan (marked applied, though nothing was executed), the record of
    /// what it adopted, and its history entry.
    pub fn record_import(
        &self,
        plan: &StoredPlan,
        record: &ProjectRecord,
        history: &HistoryEntry,
    ) -> Result<(), StateError> {
        self.writing(|db| {
            let plans = self.tree(db, TREE_PLANS)?;
            self.put(&plans, &plan_key(&plan.project, &plan.id), plan)?;
            self.prune_plans(db, &plan.project, &plan.id)?;
            let projects = self.tree(db, TREE_PROJECTS)?;
            self.put(&projects, &plan.project, record)?;
            self.put_history(db, &plan.project, history)
        })
    }

    // ---- journal ----

    /// Appends step events of one apply; `first_seq` numbers them so batches keep their order.
    pub fn append_journal(
        &self,
        project: &str,
        first_seq: u64,
        entries: &[JournalEntry],
    ) -> Result<(), StateError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.writing(|db| {
            let journal = self.tree(db, TREE_JOURNAL)?;
            for (offset, entry) in entries.iter().enumerate() {
                let key = format!(
                    "{project}/{}/{:010}",
                    entry.plan_id,
                    first_seq + offset as u64
                );
                self.put(&journal, &key, entry)?;
            }
            Ok(())
        })
    }

    pub fn journal(&self, project: &str, plan_id: &str) -> Result<Vec<JournalEntry>, StateError> {
        self.reading(|db| {
            let journal = self.tree(db, TREE_JOURNAL)?;
            self.scan(&journal, &format!("{project}/{plan_id}/"))
        })
    }

    // ---- history ----

    pub fn record_history(&self, project: &str, entry: &HistoryEntry) -> Result<(), StateError> {
        self.writing(|db| self.put_history(db, project, entry))
    }

    fn put_history(
        &self,
        db: &sled::Db,
        project: &str,
        entry: &HistoryEntry,
    ) -> Result<(), StateError> {
        let history = self.tree(db, TREE_HISTORY)?;
        // sled ids are unique and increasing per database, so they order entries across processes.
        let seq = db.generate_id().map_err(|e| self.db_error(e))?;
        self.put(&history, &format!("{project}/{seq:020}"), entry)?;
        self.prune_history(&history, project)
    }

    /// Drops the project's oldest history entries beyond [`HISTORY_KEPT`].
    fn prune_history(&self, history: &sled::Tree, project: &str) -> Result<(), StateError> {
        let keys: Vec<sled::IVec> = history
            .scan_prefix(format!("{project}/").as_bytes())
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))?;
        let excess = keys.len().saturating_sub(HISTORY_KEPT);
        for key in &keys[..excess] {
            history.remove(key).map_err(|e| self.db_error(e))?;
        }
        Ok(())
    }

    pub fn history(&self, project: &str) -> Result<Vec<HistoryEntry>, StateError> {
        self.reading(|db| {
            let history = self.tree(db, TREE_HISTORY)?;
            self.scan(&history, &format!("{project}/"))
        })
    }
}

fn plan_key(project: &str, plan_id: &str) -> String {
    format!("{project}/{plan_id}")
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u64,
    data: &'a T,
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(&Envelope {
        v: FORMAT_VERSION,
        data: value,
    })
    .map_err(|e| StateError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StateError> {
    let corrupt = |message: String| StateError::Corrupt {
        key: key.to_string(),
        message,
    };
    let mut envelope: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let version = envelope
        .get("v")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| corrupt("no format version".to_string()))?;
    if version > FORMAT_VERSION {
        return Err(StateError::FutureFormat {
            key: key.to_string(),
            found: version,
        });
    }
    let data = envelope
        .get_mut("data")
        .map(serde_json::Value::take)
        .unwrap_or(serde_json::Value::Null);
    serde_json::from_value(data).map_err(|e| corrupt(e.to_string()))
}

/// The current UTC time as RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| String::from("unknown"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::state::records::HistoryKind;

    fn entry(summary: &str) -> HistoryEntry {
        HistoryEntry {
            at: now_rfc3339(),
            kind: HistoryKind::Plan,
            plan_id: "p1".into(),
            summary: summary.into(),
        }
    }

    #[test]
    fn history_keeps_order_and_projects_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.record_history("a", &entry("one")).unwrap();
        store.record_history("ab", &entry("other")).unwrap();
        store.record_history("a", &entry("two")).unwrap();
        let got: Vec<String> = store
            .history("a")
            .unwrap()
            .into_iter()
            .map(|h| h.summary)
            .collect();
        assert_eq!(got, vec!["one", "two"]);
    }

    fn plan(id: &str) -> StoredPlan {
        let empty = planner::Project {
            name: "p".into(),
            ..Default::default()
        };
        StoredPlan {
            id: id.into(),
            project: "p".into(),
            spec: empty,
            source: String::new(),
            rendering: String::new(),
            fingerprint: "f".into(),
            created_at: now_rfc3339(),
            status: PlanStatus::Pending,
            options: Default::default(),
            destroy: false,
            digests: Default::default(),
            plan: planner::Plan {
                project: "p".into(),
                actions: vec![],
                waves: vec![],
                fingerprint: "f".into(),
                summary: Default::default(),
                warnings: vec![],
                orphans: vec![],
                kept_volumes: vec![],
            },
            swarm: None,
        }
    }

    #[test]
    fn applying_one_plan_makes_the_others_stale() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.save_plan(&plan("a"), &entry("a")).unwrap();
        store.save_plan(&plan("b"), &entry("b")).unwrap();
        let record = ProjectRecord {
            project: "p".into(),
            spec: plan("a").spec,
            source: String::new(),
            applied_at: now_rfc3339(),
            plan_id: "a".into(),
            complete: true,
            resources: vec![],
            failure: None,
            adopted: Vec::new(),
            swarm: None,
        };
        store
            .finish_plan(
                "p",
                "a",
                PlanStatus::Applied,
                &RecordChange::Write(Box::new(record)),
                &entry("applied"),
            )
            .unwrap();
        assert_eq!(
            store.plan("p", "a").unwrap().unwrap().status,
            PlanStatus::Applied
        );
        assert_eq!(
            store.plan("p", "b").unwrap().unwrap().status,
            PlanStatus::Stale
        );
        assert_eq!(store.last_applied("p").unwrap().unwrap().plan_id, "a");
        assert_eq!(store.plan_project("b").unwrap().as_deref(), Some("p"));
        assert_eq!(store.history("p").unwrap().len(), 3);
    }

    #[test]
    fn a_plan_saved_finished_leaves_the_records_of_save_then_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.save_plan(&plan("older"), &entry("older")).unwrap();
        store
            .save_finished_plan(
                &plan("a"),
                &entry("planned"),
                PlanStatus::Applied,
                &RecordChange::Keep,
                &entry("applied"),
            )
            .unwrap();
        assert_eq!(
            store.plan("p", "a").unwrap().unwrap().status,
            PlanStatus::Applied
        );
        assert_eq!(
            store.plan("p", "older").unwrap().unwrap().status,
            PlanStatus::Stale
        );
        let summaries: Vec<String> = store
            .history("p")
            .unwrap()
            .into_iter()
            .map(|h| h.summary)
            .collect();
        assert_eq!(summaries, ["older", "planned", "applied"]);
    }

    #[test]
    fn old_plans_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        for n in 0..PLANS_KEPT + 2 {
            store
                .save_plan(&plan(&format!("id{n}")), &entry("plan"))
                .unwrap();
        }
        assert!(store.plan("p", "id0").unwrap().is_none());
        assert!(store.plan("p", "id1").unwrap().is_none());
        assert!(store.plan("p", "id2").unwrap().is_some());
        assert_eq!(store.plans("p").unwrap().len(), PLANS_KEPT);
    }

    #[test]
    fn old_history_is_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        for n in 0..HISTORY_KEPT + 3 {
            store.record_history("p", &entry(&format!("h{n}"))).unwrap();
        }
        store.record_history("other", &entry("kept")).unwrap();
        let kept = store.history("p").unwrap();
        assert_eq!(kept.len(), HISTORY_KEPT);
        assert_eq!(kept[0].summary, "h3");
        assert_eq!(store.history("other").unwrap().len(), 1);
    }

    #[test]
    fn future_format_is_refused_clearly() {
        let err = decode::<HistoryEntry>("k", br#"{"v": 99, "data": {}}"#).unwrap_err();
        assert!(err.to_string().contains("format version 99"), "{err}");
    }

    #[test]
    fn two_threads_share_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Separate Store values behave like separate processes: each opens sled itself.
                    let store = Store::new(path);
                    for n in 0..5 {
                        store
                            .record_history("p", &entry(&format!("{i}-{n}")))
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(Store::new(path).history("p").unwrap().len(), 10);
    }
}
