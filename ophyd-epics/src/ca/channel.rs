//! One Channel Access channel: [`CaChannel`], the [`PvChannel`] of the CA
//! transport.
//!
//! Every operation is a libca request with a callback. The callback's
//! argument is the request's number in the channel's table of pending
//! requests, so a request whose future was dropped, or whose channel was
//! closed, is simply forgotten: no pointer handed to libca can dangle.
//! Requests on one channel are independent (libca pipelines them on the
//! IOC's TCP circuit), so a slow put-callback never holds up a read.
//!
//! Callbacks run on libca's threads and do as little as they can: issuing
//! requests from them (to fetch the metadata as soon as a channel connects,
//! say) measurably slows down how fast libca works through a burst of
//! connections, so every request is issued by the caller.
//!
//! # What keeps the callbacks' state alive
//!
//! libca holds a strong count of each channel's `Shared` (the channel's
//! user pointer) and of each subscription's `Monitor` (its callback
//! argument), made with `Arc::into_raw`. A count is let go only once
//! `ca_clear_channel` or `ca_clear_subscription` has returned, and from then
//! on libca calls nothing back with it: the clear cancels the channel's
//! pending gets and puts without calling them back. A clear made while a
//! callback of the context runs on another thread waits for it to return
//! (it takes the context's callback lock, which libca holds while running
//! one), and no clear is ever made on a callback's own thread, where the
//! lock, which is recursive, would not hold it back: channels and
//! subscriptions are closed through [`Reaped`]. So, for as long as a
//! callback runs, its pointer holds a count, and the callback takes one of
//! its own from it first thing, as what it runs may let the channel go.

use std::collections::HashMap;
use std::ffi::{c_long, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use epics_ca_sys as sys;
use futures::future::BoxFuture;
use futures::task::AtomicWaker;
use futures::FutureExt;
use ophyd_core::__private::lock;
use ophyd_core::implement::flush_soon;
use ophyd_core::{Subscription, Value};
use tokio::sync::oneshot;

use super::context::Context;
use super::dbr::{self, Reply};
use super::reaper::{run_callback, Reaped};
use super::status;
use crate::transport::{NativeType, PutDone, PvCallback, PvChannel, PvError, PvInfo, PvMetadata, PvReading};

/// What to do with the reply to one request.
type Pending = Box<dyn FnOnce(&Reply) + Send>;

/// The state libca's callbacks see, through the channel's user pointer.
struct Shared {
    /// The PV name, as given to libca (kept rather than copied as a `String`).
    name: CString,
    context: Arc<Context>,
    /// Up or down, as the last connection callback said.
    up: AtomicBool,
    /// The task waiting in [`CaChannel::connected`], woken when the channel
    /// comes up. A channel is waited for once, by the connect that created
    /// it, so one waker does; a tree of thousands of channels waits on
    /// nothing heavier (no lock, no list of waiters, no task budget).
    on_up: AtomicWaker,
    /// The field type and element count libca gave when the channel last
    /// came up (`Err`: a field type this crate does not handle), set by
    /// the connection callback. A channel's type cannot change while it is
    /// connected, and asking libca on every operation takes its context's
    /// lock, which its receive thread holds through a burst of connections.
    field: Mutex<Option<Result<PvInfo, i16>>>,
    /// Type and element count as last seen while connected.
    info: Mutex<Option<PvInfo>>,
    pending: Mutex<HashMap<usize, Pending>>,
    next_request: AtomicUsize,
    /// How many times the channel has connected.
    connections: AtomicU64,
}

impl Shared {
    fn pv(&self) -> &str {
        // Made from a `&str` (see `CaChannel::create`), so always UTF-8.
        self.name.to_str().unwrap_or_default()
    }

    fn register(&self, pending: Pending) -> usize {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        lock(&self.pending).insert(id, pending);
        id
    }

    fn take(&self, id: usize) -> Option<Pending> {
        lock(&self.pending).remove(&id)
    }

    /// Issue one request through `call` (given the request's callback
    /// argument) and have it flushed (at once, or with the other requests
    /// of a device tree issued together: see [`flush_soon`]); `on_reply`
    /// runs on libca's callback thread with the reply.
    fn request_then(
        &self,
        on_reply: impl FnOnce(&Reply) + Send + 'static,
        call: impl FnOnce(*mut c_void) -> i32,
    ) -> Result<(), PvError> {
        // Registered first: the reply may come before the call returns.
        let id = self.register(Box::new(on_reply));
        let issued = self.context.with(|| call(id as *mut c_void));
        if let Err(e) = status::check(issued) {
            self.take(id);
            return Err(e);
        }
        flush_soon(&self.context);
        Ok(())
    }

    /// [`Shared::request_then`], with the outcome delivered to a receiver.
    fn request<T: Send + 'static>(
        &self,
        on_reply: impl FnOnce(&Reply) -> Result<T, PvError> + Send + 'static,
        call: impl FnOnce(*mut c_void) -> i32,
    ) -> Result<oneshot::Receiver<Result<T, PvError>>, PvError> {
        let (sender, receiver) = oneshot::channel();
        // The requester may have stopped waiting by the time the reply comes; that is fine.
        self.request_then(move |reply| drop(sender.send(on_reply(reply))), call)?;
        Ok(receiver)
    }
}

/// The libca channel; closed when the last handle (the [`CaChannel`] or a
/// subscription) goes.
struct Inner {
    chid: sys::chid,
    /// One strong count of this is libca's: the channel's user pointer.
    shared: Arc<Shared>,
}

// SAFETY: `chid` is a handle that libca lets any thread use: each call
// locks the channel's context itself, and those that need the context
// attached to the calling thread get it through `Context::with` on whichever
// thread they run. `shared` is an `Arc` of a `Send + Sync` type.
unsafe impl Send for Inner {}
// SAFETY: through `&Inner`, `chid` is only read and handed to libca, which
// serialises calls on one channel from several threads with the context's
// lock; `drop`, the one call that ends it, takes `&mut`.
unsafe impl Sync for Inner {}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: `chid` is live: this is its one clear. `with` attaches
        // this thread to the channel's context, which `shared` keeps alive.
        // `Inner` only ever goes through `Reaped`, so this is no callback
        // thread, and the clear waits for a callback of the channel in
        // progress.
        self.shared.context.with(|| unsafe {
            sys::ca_clear_channel(self.chid);
            sys::ca_flush_io();
        });
        // SAFETY: releases the count `CaChannel::create` handed libca as the
        // user pointer, which nothing reads any more: ca_clear_channel has
        // returned, after any callback in progress, and calls nothing back
        // (see the module documentation). `self.shared` holds another count,
        // so this one is not the last.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(&self.shared)) };
    }
}

impl Inner {
    fn connected(&self) -> bool {
        self.shared.up.load(Ordering::SeqCst)
    }

    /// The channel's native type and element count on its current
    /// connection; an error when it is disconnected.
    fn native(&self) -> Result<PvInfo, PvError> {
        if !self.connected() {
            return Err(PvError::Disconnected);
        }
        match *lock(&self.shared.field) {
            Some(Ok(info)) => Ok(info),
            Some(Err(field_type)) => Err(unsupported(field_type)),
            None => Err(PvError::Disconnected),
        }
    }

    /// `value` laid out for a put to this channel as it is now, or why it
    /// cannot be sent: every check libca would make before sending, made
    /// here so that a dry run ([`PvChannel::check_put`]) gives the same
    /// answer as the put.
    fn payload(&self, value: &Value) -> Result<dbr::Payload, PvError> {
        let info = self.native()?;
        // SAFETY: `chid` is live until `drop` clears it, and `&self` lasts
        // through the call, which locks the channel's context itself.
        if unsafe { sys::ca_write_access(self.chid) } == 0 {
            return Err(status::error(sys::ECA_NOWTACCESS));
        }
        let payload = dbr::encode(value, info.native)?;
        if payload.count() == 0 {
            return Err(PvError::BadValue(
                "Channel Access cannot write an empty array (libca refuses a put of 0 elements)".into(),
            ));
        }
        if payload.count() > info.count {
            return Err(PvError::BadValue(format!(
                "{} elements do not fit: the PV holds at most {}",
                payload.count(),
                info.count
            )));
        }
        Ok(payload)
    }

    /// A `ca_array_get_callback` of `dbr_type`, decoded by `decode`.
    fn get_with<T: Send + 'static>(
        &self,
        dbr_type: c_long,
        count: usize,
        decode: unsafe fn(&Reply) -> Result<T, String>,
    ) -> BoxFuture<'static, Result<T, PvError>> {
        let chid = self.chid;
        let issued = self.shared.request(
            move |reply| {
                status::check(reply.status)?;
                // SAFETY: a request's closure runs only in `on_reply`, on the
                // reply libca delivered to this request, whose payload lives
                // until that callback returns; `decode` reads the structure
                // `reply.dbr_type` names.
                unsafe { decode(reply) }.map_err(PvError::Other)
            },
            // SAFETY: `request` runs this at once, while `self` keeps `chid`
            // live, with the context attached; `usr` is a request number that
            // `on_reply` looks up, never a pointer.
            |usr| unsafe { sys::ca_array_get_callback(dbr_type, count as _, chid, Some(on_reply), usr) },
        );
        awaiting(issued, self.shared.pv())
    }
}

fn unsupported(field_type: i16) -> PvError {
    PvError::Other(format!("the PV's field type ({field_type}) is not one ophyd-epics handles"))
}

/// The future of an issued request.
fn awaiting<T: Send + 'static>(
    issued: Result<oneshot::Receiver<Result<T, PvError>>, PvError>,
    pv: &str,
) -> BoxFuture<'static, Result<T, PvError>> {
    match issued {
        Err(e) => std::future::ready(Err(e)).boxed(),
        Ok(receiver) => {
            let pv = pv.to_owned();
            async move {
                receiver.await.unwrap_or_else(|_| {
                    Err(PvError::Other(format!("the channel to {pv} was closed before the IOC replied")))
                })
            }
            .boxed()
        }
    }
}

/// A connection to one PV over Channel Access.
pub(crate) struct CaChannel {
    /// Reaped: a status or subscription callback may drop the last handle.
    inner: Arc<Reaped<Inner>>,
}

impl CaChannel {
    /// Create the channel; libca starts searching for the PV at once.
    pub(crate) fn create(context: &Arc<Context>, pv: &str) -> Result<CaChannel, PvError> {
        let name = CString::new(pv).map_err(|_| PvError::BadValue(format!("the PV name {pv:?} contains a NUL")))?;
        let shared = Arc::new(Shared {
            name,
            context: Arc::clone(context),
            up: AtomicBool::new(false),
            on_up: AtomicWaker::new(),
            field: Mutex::new(None),
            info: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicUsize::new(1),
            connections: AtomicU64::new(0),
        });
        // libca's strong count, the channel's user pointer; see the module documentation.
        let puser = Arc::into_raw(shared.clone()).cast_mut().cast::<c_void>();
        let mut chid: sys::chid = ptr::null_mut();
        // SAFETY: `shared.name` is NUL-terminated and outlives the call
        // (libca copies it); `chid` is ours for libca to write the id to;
        // `with` attaches this thread to `context`, which is where
        // ca_create_channel creates the channel. `puser` stays valid for as
        // long as libca holds it (until `Inner::drop`).
        let created = context.with(|| unsafe {
            sys::ca_create_channel(
                shared.name.as_ptr(),
                Some(on_connection),
                puser,
                sys::CA_PRIORITY_DEFAULT as sys::capri,
                &mut chid,
            )
        });
        if let Err(e) = status::check(created) {
            // SAFETY: reclaims the count made into `puser` above: libca
            // refused the channel, so it kept no copy and calls nothing back.
            unsafe { drop(Arc::from_raw(puser.cast_const().cast::<Shared>())) };
            return Err(e);
        }
        // Once for all the channels of a device tree that connects them
        // together, not once per channel.
        flush_soon(context);
        Ok(CaChannel { inner: Arc::new(Reaped::new(Inner { chid, shared })) })
    }

    /// Wait until the channel is connected (forever, for a PV nobody serves)
    /// with a type this crate handles.
    pub(crate) async fn connected(self) -> Result<CaChannel, PvError> {
        loop {
            std::future::poll_fn(|cx| {
                // Registered before looking, so an up that comes in between wakes us.
                self.inner.shared.on_up.register(cx.waker());
                if self.inner.connected() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            match self.inner.native() {
                Ok(_) => return Ok(self),
                // Down again already: wait for the next connection.
                Err(PvError::Disconnected) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl PvChannel for CaChannel {
    fn pv(&self) -> &str {
        self.inner.shared.pv()
    }

    fn info(&self) -> PvInfo {
        // While disconnected, as last seen; `connected` hands out no channel
        // before it has seen a type we handle, so there is one.
        self.inner.native().unwrap_or_else(|_| {
            lock(&self.inner.shared.info).unwrap_or(PvInfo { native: NativeType::Double, count: 1 })
        })
    }

    fn connected(&self) -> bool {
        self.inner.connected()
    }

    fn connections(&self) -> u64 {
        self.inner.shared.connections.load(Ordering::SeqCst)
    }

    fn get(&self) -> BoxFuture<'static, Result<PvReading, PvError>> {
        match self.inner.native() {
            // Count 0: the array as long as it is now, not its capacity.
            Ok(info) => self.inner.get_with(dbr::time_request(info.native), 0, dbr::decode_time),
            Err(e) => std::future::ready(Err(e)).boxed(),
        }
    }

    fn metadata(&self) -> BoxFuture<'static, Result<PvMetadata, PvError>> {
        match self.inner.native() {
            Ok(info) => match dbr::ctrl_request(info.native) {
                // One element: the metadata is what is wanted, not the array.
                Some(dbr_type) => self.inner.get_with(dbr_type, 1, dbr::decode_ctrl),
                None => std::future::ready(Ok(PvMetadata::default())).boxed(),
            },
            Err(e) => std::future::ready(Err(e)).boxed(),
        }
    }

    /// The checks of [`CaChannel::put_then`] before it sends anything.
    fn check_put(&self, value: &Value) -> Result<(), PvError> {
        self.inner.payload(value).map(|_| ())
    }

    /// The put-callback finishes `done` straight from libca's callback
    /// thread: no task in between. Everything checked before libca sends
    /// the request (connection, write access, encoding, element count) is an
    /// `Err` here, as [`CaChannel::check_put`] reports it: nothing was sent.
    fn put_then(&self, value: Value, wait_complete: bool, done: PutDone) -> Result<(), PvError> {
        let payload = self.inner.payload(&value)?;
        let (chid, dbr_type, count, data) =
            (self.inner.chid, payload.dbr_type(), payload.count() as _, payload.as_ptr());
        if !wait_complete {
            // SAFETY: `self.inner` keeps `chid` live through the call; `data`
            // points to `count` elements of `dbr_type` in `payload`, which
            // outlives the call, and libca copies them into its send buffer
            // before returning; `with` has the channel's context attached.
            let written = self.inner.shared.context.with(|| unsafe {
                let status = sys::ca_array_put(dbr_type, count, chid, data);
                if status::check(status).is_ok() {
                    sys::ca_flush_io();
                }
                status
            });
            status::check(written)?;
            done(Ok(()));
            return Ok(());
        }
        self.inner.shared.request_then(
            move |reply: &Reply| done(status::check(reply.status)),
            // SAFETY: as for the plain put (`request_then` runs this at once,
            // with the context attached); `usr` is a request number, never a
            // pointer.
            |usr| unsafe { sys::ca_array_put_callback(dbr_type, count, chid, data, Some(on_reply), usr) },
        )
    }

    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError> {
        let native = self.inner.native()?.native;
        let monitor =
            Arc::new(Monitor { pv: self.inner.shared.pv().to_owned(), callback, ended: AtomicBool::new(false) });
        // libca's strong count, the callback argument; see the module documentation.
        let usr = Arc::into_raw(monitor.clone());
        let mut evid: sys::evid = ptr::null_mut();
        // SAFETY: `self.inner` keeps `chid` live through the call; `evid` is
        // ours for libca to write the id to; `with` attaches this thread to
        // the channel's context. `usr` stays valid for as long as libca holds
        // it (until `MonitorGuard::drop`).
        let subscribed = self.inner.shared.context.with(|| unsafe {
            sys::ca_create_subscription(
                dbr::time_request(native),
                0,
                self.inner.chid,
                c_long::from(sys::DBE_VALUE | sys::DBE_ALARM),
                Some(on_monitor),
                usr.cast_mut().cast::<c_void>(),
                &mut evid,
            )
        });
        if let Err(e) = status::check(subscribed) {
            // SAFETY: reclaims the count made into `usr` above: libca refused
            // the subscription, so it kept no copy and calls nothing back.
            unsafe { drop(Arc::from_raw(usr)) };
            return Err(e);
        }
        flush_soon(&self.inner.shared.context);
        let guard = Reaped::new(MonitorGuard { channel: self.inner.clone(), evid, monitor });
        Ok(Subscription::new(move || {
            // Ended now, even when clearing it waits for the reaper.
            guard.monitor.ended.store(true, Ordering::SeqCst);
            drop(guard);
        }))
    }
}

/// What a subscription's callbacks see.
struct Monitor {
    pv: String,
    callback: PvCallback,
    /// The subscription was dropped: deliver nothing more.
    ended: AtomicBool,
}

/// Ends a subscription when dropped; keeps its channel open until then.
struct MonitorGuard {
    channel: Arc<Reaped<Inner>>,
    evid: sys::evid,
    /// libca holds a strong count of this of its own: the callback argument.
    monitor: Arc<Monitor>,
}

// SAFETY: `evid` is a handle like `chid` (see `Inner`), used only by the
// clear in `drop`, with the context attached through `with` on whichever
// thread that runs; the other fields are `Send`.
unsafe impl Send for MonitorGuard {}
// SAFETY: nothing reachable through `&MonitorGuard` touches `evid`; the
// other fields are `Sync`.
unsafe impl Sync for MonitorGuard {}

impl Drop for MonitorGuard {
    fn drop(&mut self) {
        // SAFETY: `evid` is live: this is its one clear, and its channel is
        // still open (`self.channel` is dropped after this). `with` attaches
        // this thread to the channel's context. `MonitorGuard` only ever goes
        // through `Reaped`, so this is no callback thread, and the clear
        // waits for a callback of the subscription in progress.
        self.channel.shared.context.with(|| unsafe {
            sys::ca_clear_subscription(self.evid);
            sys::ca_flush_io();
        });
        // SAFETY: releases the count `subscribe` handed libca as the callback
        // argument, which nothing reads any more: ca_clear_subscription has
        // returned, after any callback in progress, and calls nothing back.
        // `self.monitor` holds another count, so this one is not the last.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(&self.monitor)) };
    }
}

impl Reply {
    /// # Safety
    /// `args` must be what libca passed to a get, put or monitor callback
    /// that is still running.
    unsafe fn from_args(args: &sys::event_handler_args) -> Reply {
        // SAFETY: `args.chid` is the channel the running callback is for,
        // which libca keeps live until the callback returns.
        let element_count = unsafe { sys::ca_element_count(args.chid) };
        Reply {
            status: args.status,
            dbr_type: args.type_,
            count: usize::try_from(args.count).unwrap_or(0),
            dbr: args.dbr,
            element_count: usize::try_from(element_count).unwrap_or(usize::MAX),
        }
    }
}

/// A strong count of the state of the channel `chid`, for a callback to
/// hold while it runs.
///
/// # Safety
/// `chid` must be a channel of [`CaChannel::create`] that libca passed to a
/// callback that is still running.
unsafe fn channel_state(chid: sys::chid) -> Arc<Shared> {
    // SAFETY: libca keeps `chid` live while its callback runs.
    let shared = unsafe { sys::ca_puser(chid) }.cast_const().cast::<Shared>();
    // SAFETY: the user pointer is the count `CaChannel::create` made with
    // `Arc::into_raw`, still held while the callback runs (see the module
    // documentation).
    unsafe { Arc::increment_strong_count(shared) };
    // SAFETY: takes over the count just added, not libca's.
    unsafe { Arc::from_raw(shared) }
}

/// A strong count of a subscription's state, for its callback to hold while
/// it runs.
///
/// # Safety
/// `usr` must be the callback argument that libca passed to a callback of a
/// subscription made by [`CaChannel::subscribe`], still running.
unsafe fn monitor_state(usr: *mut c_void) -> Arc<Monitor> {
    let monitor = usr.cast_const().cast::<Monitor>();
    // SAFETY: the callback argument is the count `subscribe` made with
    // `Arc::into_raw`, still held while the callback runs (see the module
    // documentation).
    unsafe { Arc::increment_strong_count(monitor) };
    // SAFETY: takes over the count just added, not libca's.
    unsafe { Arc::from_raw(monitor) }
}

/// libca's connection callback, for every channel.
///
/// # Safety
/// Only libca calls it, for a channel of [`CaChannel::create`].
unsafe extern "C" fn on_connection(args: sys::connection_handler_args) {
    run_callback(move || {
        // SAFETY: `args.chid` is the channel this running callback is for,
        // one of `create`'s, the only code that registers this callback.
        let shared = unsafe { channel_state(args.chid) };
        let up = args.op == c_long::from(sys::CA_OP_CONN_UP);
        if up {
            // SAFETY: `args.chid` is live while this callback runs; libca
            // knows its field now that it is up.
            let (field_type, count) = unsafe { (sys::ca_field_type(args.chid), sys::ca_element_count(args.chid)) };
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            let field = (i32::from(field_type) != sys::TYPENOTCONN)
                .then(|| dbr::native_type(field_type).map(|native| PvInfo { native, count }).ok_or(field_type));
            if let Some(Ok(info)) = field {
                *lock(&shared.info) = Some(info);
            }
            // Before `up`, so that whoever sees the channel up sees its field.
            *lock(&shared.field) = field;
            // Before the monitors' first events of this connection, which
            // libca delivers after this callback.
            shared.connections.fetch_add(1, Ordering::SeqCst);
        }
        shared.up.store(up, Ordering::SeqCst);
        // Only `CaChannel::connected` waits, and only for up.
        if up {
            shared.on_up.wake();
        }
    });
}

/// libca's callback for every get and put-callback request; `usr` is the
/// request's number.
///
/// # Safety
/// Only libca calls it, for a request of [`Shared::request_then`].
unsafe extern "C" fn on_reply(args: sys::event_handler_args) {
    run_callback(move || {
        // SAFETY: `args.chid` is the channel the request was made on, one of
        // `create`'s (requests are made only on those), and this callback
        // is running.
        let shared = unsafe { channel_state(args.chid) };
        let Some(pending) = shared.take(args.usr as usize) else { return };
        // SAFETY: `args` is what libca passed to this callback, which runs.
        let reply = unsafe { Reply::from_args(&args) };
        // `args.chid` is not used past this point: `pending` may let the
        // channel go.
        if catch_unwind(AssertUnwindSafe(|| pending(&reply))).is_err() {
            tracing::error!(pv = %shared.pv(), "a Channel Access reply handler panicked");
        }
    });
}

/// libca's callback for every subscription.
///
/// # Safety
/// Only libca calls it, for a subscription of [`CaChannel::subscribe`].
unsafe extern "C" fn on_monitor(args: sys::event_handler_args) {
    run_callback(move || {
        // SAFETY: `args.usr` is the callback argument `subscribe` registered
        // this callback with (nothing else does), and this callback is
        // running.
        let monitor = unsafe { monitor_state(args.usr) };
        if monitor.ended.load(Ordering::SeqCst) {
            return;
        }
        if status::check(args.status).is_err() {
            tracing::debug!(pv = %monitor.pv, status = %status::message(args.status), "monitor event without data");
            return;
        }
        // SAFETY: `args` is what libca passed to this callback, which runs.
        let reply = unsafe { Reply::from_args(&args) };
        // SAFETY: `reply.dbr` is libca's payload for this event, laid out for
        // `reply.dbr_type` and `reply.count`, valid until this callback
        // returns.
        match unsafe { dbr::decode_time(&reply) } {
            Ok(reading) => {
                if catch_unwind(AssertUnwindSafe(|| (monitor.callback)(&reading))).is_err() {
                    tracing::error!(pv = %monitor.pv, "a subscription callback panicked");
                }
            }
            Err(e) => tracing::warn!(pv = %monitor.pv, error = %e, "cannot decode a monitor event"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::sync::{mpsc, OnceLock};
    use std::time::Duration;

    use crate::ca::repeater::start_repeater;

    /// A context that searches only a loopback port nobody answers on, with
    /// a repeater of this process, so that the test stays off the network.
    fn quiet_context() -> Arc<Context> {
        static NOWHERE: OnceLock<UdpSocket> = OnceLock::new();
        NOWHERE.get_or_init(|| {
            let nowhere = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let repeater = start_repeater((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
            // Before any context of this process reads the environment.
            std::env::set_var("EPICS_CA_ADDR_LIST", nowhere.local_addr().unwrap().to_string());
            std::env::set_var("EPICS_CA_AUTO_ADDR_LIST", "NO");
            std::env::set_var("EPICS_CA_REPEATER_PORT", repeater.port().to_string());
            nowhere
        });
        Arc::new(Context::new().unwrap())
    }

    /// Says when it is dropped.
    struct Dropped(mpsc::Sender<()>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    #[test]
    fn a_reply_that_lets_the_channel_go_leaves_the_callback_the_channels_state() {
        let context = quiet_context();
        let channel = CaChannel::create(&context, "ophyd-epics:unit-test:nobody-serves-this").unwrap();
        let chid = channel.inner.chid;
        let state = Arc::downgrade(&channel.inner.shared);
        let (counted, counts) = mpsc::channel();
        let shared = Arc::clone(&channel.inner.shared);
        let id = shared.register(Box::new({
            let state = state.clone();
            move |_: &Reply| {
                drop(channel);
                // The reaper closes the channel, then drops what is reaped after it.
                let (dropped, reaped) = mpsc::channel();
                drop(Reaped::new(Dropped(dropped)));
                reaped.recv_timeout(Duration::from_secs(10)).expect("the reaper closed the channel");
                let _ = counted.send(state.strong_count());
            }
        }));
        drop(shared);
        let args = sys::event_handler_args {
            usr: id as *mut c_void,
            chid,
            type_: c_long::from(sys::DBR_DOUBLE),
            count: 0,
            dbr: ptr::null(),
            status: sys::ECA_NORMAL,
        };
        // SAFETY: as libca would call it: `chid` is a live channel of
        // `create` (until the reply handler lets it go), `usr` one of its
        // request numbers, and a reply without data needs no payload.
        unsafe { on_reply(args) };
        assert_eq!(
            counts.recv_timeout(Duration::from_secs(1)),
            Ok(1),
            "with libca's count and the channel's gone, the callback's own keeps the state alive"
        );
        assert_eq!(state.strong_count(), 0, "and goes when the callback returns");
    }
}
