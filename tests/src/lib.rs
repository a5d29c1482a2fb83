//! Helpers shared by the integration tests.

#[cfg(feature = "ca")]
pub mod bench;
#[cfg(feature = "ca")]
pub mod block;
#[cfg(feature = "ca")]
pub mod ioc;
pub mod parity;
pub mod soft_sim;
pub mod stuck;
pub mod venv;
