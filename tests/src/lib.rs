//! Helpers shared by the integration tests.

pub mod ioc;
pub mod venv;
