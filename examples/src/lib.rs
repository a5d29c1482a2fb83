//! The staging tutorial's `TriggeredDetector`, in its three variants, and
//! the tutorial's session as a function the example programs and the tests
//! share.
//!
//! | tutorial variant | module |
//! |---|---|
//! | hand-written `stage`/`unstage` calling `super()` | [`hand_staged`] |
//! | `stage_sigs` | [`stage_sigs`] (also [`TriggeredDetector`]) |
//! | `stop`, `pause`, `resume` overridden | [`stoppable`] |
//!
//! The example programs (`examples/`) share [`program`], [`runs`] and
//! [`Error`].

pub mod area_detector;
mod error;
pub mod hand_staged;
pub mod program;
pub mod runs;
pub mod session;
pub mod stage_sigs;
pub mod stoppable;

pub use error::Error;
pub use stage_sigs::TriggeredDetector;

/// The IOC's PV prefix in the tutorial (`trigger_with_pc:gain`, ...).
pub const TUTORIAL_PREFIX: &str = "trigger_with_pc";

/// The detector's name in the tutorial; data keys are `<name>_<field>`.
pub const TUTORIAL_NAME: &str = "triggered_detector";

/// The README's Rust code, compiled as a doctest so it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
