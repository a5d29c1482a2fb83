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
//!
//! It also keeps libca's clears off the callback's own thread: a clear waits
//! for a callback in progress on another thread, not for one on its own
//! (libca's callback lock is recursive), so the state a callback borrows
//! stays alive for as long as it runs (see `channel`).

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
/// callback drops ([`run_callback`] does).
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

/// Run the body of a libca callback: inside a [`CallbackScope`] for all of
/// it, the drops at its end included, and with no panic unwinding into
/// libca, which is C (undefined behaviour up to Rust 1.80, an abort since).
/// Everything a callback runs may be user code that panics: a status's or
/// a subscription's callback, a waker, a drop, the log subscriber.
pub(crate) fn run_callback(body: impl FnOnce()) {
    let _scope = CallbackScope::enter();
    if let Err(panic) = catch_unwind(AssertUnwindSafe(body)) {
        // Logging runs the subscriber and dropping the payload runs its
        // `Drop`: user code that may panic again. A leaked payload is the
        // lesser harm.
        let logged = catch_unwind(|| tracing::error!("a Channel Access callback panicked"));
        std::mem::forget(panic);
        std::mem::forget(logged);
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
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A log subscriber that panics at every event, as a broken one may.
    pub(crate) struct PanickingLog;

    impl tracing::Subscriber for PanickingLog {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, _: &tracing::Event<'_>) {
            panic!("the log subscriber failed");
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    /// A panic payload whose drop panics too.
    struct PanicsWhenDropped;

    impl Drop for PanicsWhenDropped {
        fn drop(&mut self) {
            panic!("dropping the payload panicked");
        }
    }

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
    fn a_callback_body_runs_in_a_callback_scope_and_no_panic_gets_out() {
        let mut marked = false;
        run_callback(|| marked = IN_CALLBACK.get());
        assert!(marked);
        assert!(!IN_CALLBACK.get());
        // The body panics, so does logging that, and so would dropping the payload.
        tracing::subscriber::with_default(PanickingLog, || {
            run_callback(|| std::panic::panic_any(PanicsWhenDropped));
        });
        assert!(!IN_CALLBACK.get(), "the scope ended with the panic");
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
