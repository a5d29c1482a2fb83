//! Helpers shared by the integration tests.

pub mod ioc;
pub mod stuck;
pub mod venv;
