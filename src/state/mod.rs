//! Per-project records in sled, and the per-project apply lock.
//!
//! Projects outlive a chat: the last-applied spec, plans, the apply journal and history are kept under one
//! state directory. Several server processes may share it, so each process holds the database open and
//! lets it go when another process waits (`lease`); `store` keeps the typed
//! records, and applies are serialized by a kernel file lock (`lock`) that dies with its holder.

pub mod lease;
pub mod lock;
pub mod records;
pub mod store;

pub use lock::ProjectLock;
pub use records::{
    ApplyFailure, FailedStep, HistoryEntry, HistoryKind, JournalEntry, PlanStatus, ProjectRecord,
    RecordChange, ResourceRecord, StoredPlan, SwarmApplied,
};
pub use store::{StateError, Store};
