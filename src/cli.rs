//! TODO: being written.
pub fn main() -> anyhow::Result<()> { Ok(()) }
