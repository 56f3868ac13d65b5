//! Per-project records in sled.

pub mod lock;
pub mod store;
