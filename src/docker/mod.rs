//! Docker access through bollard.

pub mod connect;
pub mod execute;
pub mod observe;
pub mod container_config;
