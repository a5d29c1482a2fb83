//! Reading a device tree in one round trip.
//!
//! `read()`, `describe()` and the configuration pair work in two phases.
//! First every component of the tree, in order, *issues* what it needs
//! ([`Component::read_into`](crate::Component::read_into) and its siblings
//! are plain functions, not futures): a soft signal adds its entry at once,
//! an EPICS signal sends its request and adds the reply to come. Then the
//! replies are awaited together and the map is assembled in component
//! order, ophyd's order. So reading N PVs costs one round trip, not N.
//!
//! A transport that buffers requests (Channel Access does) asks
//! [`flush_soon`] rather than flushing after each request: while a tree
//! issues its requests, each buffer is flushed once, when the last request
//! of the tree is issued.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use futures::future::{join_all, BoxFuture};

use crate::data::DataMap;
use crate::error::{Error, Result};

/// The entries of a `read()` or `describe()` of a device tree in progress:
/// what each component has added so far, in component order, some known
/// at once, others awaiting a reply. What `Component`'s `*_into` methods
/// add to.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::implement::Gather;
/// use ophyd_core::Reading;
///
/// let gather = Gather::collect(2, |out| {
///     out.ready("det_gain".into(), Reading::new(2.0.into(), 1.0));
///     out.waiting("det_count".into(), async { Ok(Reading::new(7.into(), 2.0)) });
/// });
/// let readings = gather.await?;
/// assert_eq!(readings.keys().collect::<Vec<_>>(), ["det_gain", "det_count"]);
/// # Ok(()) }
/// ```
pub struct Gather<'a, T> {
    /// The entries known so far, in order: those known at once, then, as
    /// the replies come, each in its place.
    entries: Vec<(Arc<str>, T)>,
    /// The entries awaiting a reply, each with its place in the result.
    waiting: Vec<Waiting<'a, T>>,
    /// The errors so far, each with the place its entry would have had, so
    /// that they are reported in component order.
    errors: Vec<(usize, Error)>,
}

struct Waiting<'a, T> {
    place: usize,
    key: Arc<str>,
    reply: BoxFuture<'a, Result<T>>,
}

impl<'a, T: Send + 'a> Gather<'a, T> {
    /// Let `issue` add every entry — each component issues its requests,
    /// the transports flushing their buffers once at the end (see
    /// [`flush_soon`]) — then await the replies together. The result is
    /// in the order the entries were added; when entries fail, every error
    /// is reported, in that order.
    pub fn collect(
        capacity: usize,
        issue: impl FnOnce(&mut Gather<'a, T>),
    ) -> impl Future<Output = Result<DataMap<T>>> + Send + 'a {
        let mut gather = Gather { entries: Vec::with_capacity(capacity), waiting: Vec::new(), errors: Vec::new() };
        issue_together(|| issue(&mut gather));
        gather.finish()
    }

    /// The place in the result of the next entry added.
    fn next_place(&self) -> usize {
        self.entries.len() + self.waiting.len()
    }

    /// Add an entry that is known now.
    pub fn ready(&mut self, key: Arc<str>, value: T) {
        self.entries.push((key, value));
    }

    /// Add an entry that `reply` will give. Issue the request before
    /// calling this (not when `reply` is first polled): that is what lets
    /// the requests of a tree travel together.
    pub fn waiting(&mut self, key: Arc<str>, reply: impl Future<Output = Result<T>> + Send + 'a) {
        let place = self.next_place();
        self.waiting.push(Waiting { place, key, reply: Box::pin(reply) });
    }

    /// Report an entry that cannot be had (its signal is not connected, say).
    /// The other entries are still gathered, so that their errors are
    /// reported too.
    pub fn failed(&mut self, error: Error) {
        self.errors.push((self.next_place(), error));
    }

    async fn finish(self) -> Result<DataMap<T>> {
        let Gather { mut entries, waiting, mut errors } = self;
        if !waiting.is_empty() {
            let (places, replies): (Vec<_>, Vec<_>) = waiting.into_iter().map(|w| ((w.place, w.key), w.reply)).unzip();
            // In increasing order of place, each insertion lands where it
            // belongs: every entry before it is already in.
            for ((place, key), reply) in places.into_iter().zip(join_all(replies).await) {
                match reply {
                    // Once an entry failed there is no result to place it in.
                    Ok(value) if errors.is_empty() => entries.insert(place, (key, value)),
                    Ok(_) => {}
                    Err(e) => errors.push((place, e)),
                }
            }
        }
        if errors.is_empty() {
            return Ok(DataMap::from_entries(entries));
        }
        // Stable: errors at one place stay in the order they came.
        errors.sort_by_key(|(place, _)| *place);
        Err(Error::bundle(errors.into_iter().map(|(_, e)| e).collect()).expect_err("there are errors"))
    }
}

/// A buffer of requests a transport sends in one go (Channel Access's
/// send buffer, flushed with `ca_flush_io`).
pub trait Flush: Send + Sync {
    /// Send what is buffered.
    fn flush(&self);
}

thread_local! {
    /// While requests are being issued together, the buffers to flush at
    /// the end; `None` otherwise.
    static DEFERRED: RefCell<Option<Vec<Arc<dyn Flush>>>> = const { RefCell::new(None) };
}

/// Flush `buffer` now — or, while a device tree is issuing its requests
/// together, once, when the last of them is issued. A transport calls this
/// after queueing a request, instead of flushing itself.
pub fn flush_soon<F: Flush + 'static>(buffer: &Arc<F>) {
    let deferred = DEFERRED.with(|deferred| match deferred.borrow_mut().as_mut() {
        Some(buffers) => {
            let this = Arc::as_ptr(buffer).cast::<()>();
            if !buffers.iter().any(|b| Arc::as_ptr(b).cast::<()>() == this) {
                buffers.push(buffer.clone());
            }
            true
        }
        None => false,
    });
    if !deferred {
        buffer.flush();
    }
}

/// Run `issue`, deferring the flushes [`flush_soon`] asks for to its end
/// (a panic included). Nested calls join the outermost one.
pub fn issue_together<R>(issue: impl FnOnce() -> R) -> R {
    struct FlushOnExit;
    impl Drop for FlushOnExit {
        fn drop(&mut self) {
            let buffers = DEFERRED.with(|deferred| deferred.borrow_mut().take()).unwrap_or_default();
            for buffer in buffers {
                buffer.flush();
            }
        }
    }
    let outermost = DEFERRED.with(|deferred| {
        let mut deferred = deferred.borrow_mut();
        deferred.is_none().then(|| *deferred = Some(Vec::new())).is_some()
    });
    let _flush = outermost.then(|| FlushOnExit);
    issue()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::data::Reading;

    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Flush for Counted {
        fn flush(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn requests_issued_together_flush_each_buffer_once_at_the_end() {
        let (a, b) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        issue_together(|| {
            for _ in 0..5 {
                flush_soon(&a);
                issue_together(|| flush_soon(&b));
            }
            assert_eq!(a.0.load(Ordering::SeqCst), 0, "nothing is flushed before the last request");
        });
        assert_eq!((a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)), (1, 1));
        flush_soon(&a);
        assert_eq!(a.0.load(Ordering::SeqCst), 2, "outside, a flush is immediate");
    }

    #[test]
    fn a_panic_while_issuing_still_flushes() {
        let a = Arc::new(Counted::default());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            issue_together(|| {
                flush_soon(&a);
                panic!("a component panicked");
            })
        }));
        assert!(caught.is_err());
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        flush_soon(&a);
        assert_eq!(a.0.load(Ordering::SeqCst), 2, "and no batch is left open");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn entries_keep_their_order_and_every_error_is_reported_in_order() {
        let (tx, rx) = tokio::sync::oneshot::channel::<f64>();
        let gathered = Gather::collect(4, |out| {
            out.waiting("a".into(), async { Ok(Reading::new(rx.await.unwrap().into(), 0.0)) });
            out.ready("b".into(), Reading::new(2.0.into(), 0.0));
            out.failed(Error::NotConnected { signal: "c".into(), pv: "C".into() });
            out.waiting("d".into(), async { Err(Error::Disconnected { signal: "d".into(), pv: "D".into() }) });
        });
        tx.send(1.0).unwrap();
        let err = gathered.await.unwrap_err();
        let Error::Many(errors) = err else { panic!("expected both errors, got {err}") };
        let signals: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(signals[0].contains("`c`") && signals[1].contains("`d`"), "{signals:?}");

        let (tx, rx) = tokio::sync::oneshot::channel::<f64>();
        let gathered = Gather::collect(2, |out| {
            out.waiting("a".into(), async { Ok(Reading::new(rx.await.unwrap().into(), 0.0)) });
            out.ready("b".into(), Reading::new(2.0.into(), 0.0));
        });
        tx.send(1.0).unwrap();
        let readings = gathered.await.unwrap();
        assert_eq!(readings.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(readings.get("a").unwrap().value, 1.0.into());
    }
}
