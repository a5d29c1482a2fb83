//! Helpers shared by the integration tests.

#[cfg(feature = "ca")]
pub mod ioc;
pub mod stuck;
pub mod venv;
