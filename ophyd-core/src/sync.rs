//! Locking shared by ophyd-core and ophyd-epics.

use std::sync::{Mutex, MutexGuard};

/// Lock a mutex, recovering the data if a panicking holder poisoned it:
/// the data guarded in ophyd-rs stays consistent because every critical
/// section is a single move or a single push.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A choice that may be left open (`Option<bool>`), shared between
/// threads: a setting such as `auto_monitor` that a signal, a device or
/// its parent may make or leave to the next one up.
#[derive(Debug, Default)]
pub struct AtomicChoice(std::sync::atomic::AtomicU8);

impl AtomicChoice {
    const OPEN: u8 = 0;
    const YES: u8 = 1;
    const NO: u8 = 2;

    /// The choice, `None` while it is left open.
    pub fn get(&self) -> Option<bool> {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Self::YES => Some(true),
            Self::NO => Some(false),
            _ => None,
        }
    }

    /// Make the choice, or (`None`) leave it open.
    pub fn set(&self, choice: Option<bool>) {
        let stored = match choice {
            None => Self::OPEN,
            Some(true) => Self::YES,
            Some(false) => Self::NO,
        };
        self.0.store(stored, std::sync::atomic::Ordering::Relaxed);
    }
}
