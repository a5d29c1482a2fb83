//! What staging changed: the data behind a device's staging, in a home of
//! its own so that the device's metadata can hold it and staging can
//! change it without importing each other.

use crate::value::Value;

/// Where a device is in its staging life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Staged {
    /// Not staged.
    #[default]
    No,
    /// Staged.
    Yes,
    /// Half-way: a stage or unstage is running, or an unstage failed.
    Partially,
}

/// A device's staging state: what to put back on unstage.
#[derive(Debug, Default)]
pub struct StagingState {
    pub(crate) staged: Staged,
    /// Every stage_sig applied (or whose write may have landed), in order.
    pub(crate) originals: Vec<Original>,
    /// Sub-devices staged, in order, each with how many default stages it
    /// had started before this device staged it (see [`restore`]).
    pub(crate) children: Vec<(&'static str, u64)>,
    /// The last stage or unstage was cut off (its future dropped, a panic):
    /// the next one finishes putting the device back first, on behalf of
    /// whoever abandoned it.
    pub(crate) abandoned: bool,
}

/// A value to put back on unstage.
#[derive(Debug, Clone)]
pub(crate) struct Original {
    /// The component's dotted path.
    pub(crate) path: String,
    /// What it held before staging.
    pub(crate) value: Value,
    /// Whether the write that staged it failed after reaching the IOC,
    /// which answered (a refusal, a lost connection): nothing of it can
    /// still land, so the PV is read first and written only if it no
    /// longer holds the original. Other entries are always written back.
    pub(crate) check_first: bool,
}
