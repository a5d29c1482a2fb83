//! Tearing libca state down off libca's own threads.
//!
//! libca runs every callback on threads of its own, and the code those
//! callbacks reach (a status finishing, a user's subscription callback) may
//! drop the last handle to a channel, a subscription or a whole context: a
//! `Status::when` that outlives its signal and transport does exactly that
//! when its predicate comes true. Destroying a context joins libca's
//! threads, so on one of them it would wait for itself forever. So the
//! callbacks mark their thread ([`CallbackScope`]), and a [`Reaped`] value
//! dropped on a marked thread is dropped on a reaper thread instead.

use std::cell::Cell;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;

thread_local! {
    /// Whether this thread is inside a libca callback right now.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as running a libca callback until dropped.
/// Create it first in a callback, so that it outlives everything the
/// callback drops.
pub(crate) struct CallbackScope {
    outer: bool,
}

impl CallbackScope {
    pub(crate) fn enter() -> CallbackScope {
        CallbackScope { outer: IN_CALLBACK.replace(true) }
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.set(self.outer);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The reaper thread's queue, started on first need; `None` if the thread
/// could not be started.
fn reaper() -> Option<&'static mpsc::Sender<Job>> {
    static REAPER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let (sender, jobs) = mpsc::channel::<Job>();
            let spawned = thread::Builder::new().name("ca-reaper".into()).spawn(move || {
                for job in jobs {
                    if catch_unwind(AssertUnwindSafe(job)).is_err() {
                        tracing::error!("tearing down Channel Access state panicked");
                    }
                }
            });
            match spawned {
                Ok(_) => Some(sender),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the thread that tears down Channel Access state");
                    None
                }
            }
        })
        .as_ref()
}

/// A value whose drop never runs inside a libca callback: dropped there,
/// it is handed to the reaper thread, which drops it soon after.
pub(crate) struct Reaped<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> Reaped<T> {
    pub(crate) fn new(value: T) -> Reaped<T> {
        Reaped(Some(value))
    }
}

impl<T: Send + 'static> Deref for Reaped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("only `drop` takes the value")
    }
}

impl<T: Send + 'static> Drop for Reaped<T> {
    fn drop(&mut self) {
        let Some(value) = self.0.take() else { return };
        if !IN_CALLBACK.get() {
            drop(value);
            return;
        }
        let Some(reaper) = reaper() else {
            // Leaked: libca's state stays alive, which is better than a
            // callback thread that never returns.
            std::mem::forget(value);
            return;
        };
        if let Err(mpsc::SendError(job)) = reaper.send(Box::new(move || drop(value))) {
            std::mem::forget(job);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records the thread it is dropped on.
    struct Witness(Arc<Mutex<Option<thread::ThreadId>>>);

    impl Drop for Witness {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(thread::current().id());
        }
    }

    fn dropped_on(in_callback: bool) -> thread::ThreadId {
        let seen = Arc::new(Mutex::new(None));
        let value = Reaped::new(Witness(seen.clone()));
        let _scope = in_callback.then(CallbackScope::enter);
        drop(value);
        for _ in 0..500 {
            if let Some(id) = *seen.lock().unwrap() {
                return id;
            }
            thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("never dropped");
    }

    #[test]
    fn values_dropped_inside_a_callback_are_dropped_on_another_thread() {
        assert_eq!(dropped_on(false), thread::current().id());
        assert_ne!(dropped_on(true), thread::current().id());
    }

    #[test]
    fn a_callback_scope_restores_the_outer_state() {
        let outer = CallbackScope::enter();
        drop(CallbackScope::enter());
        assert!(IN_CALLBACK.get(), "still inside the outer callback");
        drop(outer);
        assert!(!IN_CALLBACK.get());
    }
}
