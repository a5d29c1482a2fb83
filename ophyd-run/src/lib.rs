//! A small run engine for ophyd-rs: `count` and `scan` plans whose cleanup
//! cannot be skipped, pause/resume/abort from outside (Ctrl-C included),
//! and event-model documents that the whole bluesky ecosystem reads.
//!
//! The tutorial promises that "even if a plan is interrupted by the user or
//! an exception is raised, `unstage()` will be called", and that `stop`,
//! `pause` and `resume` are called by the run machinery. Here that is
//! [`RunEngine::run`].

mod callbacks;
mod control;
mod documents;
mod engine;

pub use callbacks::{Callback, JsonLines, LiveTable, ProgressBar};
pub use control::{Request, RunControl};
pub use documents::{
    new_uid, Document, Event, EventDescriptor, ExitStatus, RunStart, RunStop, StreamDatum, StreamRange, StreamResource,
};
pub use engine::{count, scan, Plan, RunEngine, RunSummary};
