//! [`Error`]: what can stop an example program.

use std::path::PathBuf;

/// Why an example program failed.
///
/// An enum rather than `Box<dyn Error>`: the programs share code that is a
/// library ([`runs`](crate::runs), [`program`](crate::program)), and a
/// library's caller should be able to tell a failure to start Channel
/// Access from a failed write or a device that would not stage without
/// parsing a message. `?` turns an [`ophyd_core::Error`] into one directly,
/// so a program reads like the ophyd calls it makes. Each variant's text
/// says only what it adds; the cause is its [`source`](std::error::Error::source),
/// and [`program::fail`](crate::program::fail) prints the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A device or a run failed: connecting, reading, staging, triggering,
    /// unstaging.
    #[error(transparent)]
    Ophyd(#[from] ophyd_core::Error),

    /// libca did not start.
    #[error("cannot start Channel Access")]
    ChannelAccess(#[source] ophyd_epics::PvError),

    /// `--ca` in a program built without the `ca` feature.
    #[error("this build has no Channel Access: build with `--features ca` (see the README)")]
    NoChannelAccess,

    /// A file the user named could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },

    /// A result could not be written as JSON.
    #[error("cannot write JSON")]
    Json(#[from] serde_json::Error),
}
