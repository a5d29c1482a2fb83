//! Locking shared by ophyd-core and ophyd-epics.

use std::sync::{Mutex, MutexGuard};

/// Lock a mutex, recovering the data if a panicking holder poisoned it:
/// the data guarded in ophyd-rs stays consistent because every critical
/// section is a single move or a single push.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}
