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

use std::collections::HashMap;
use std::ffi::{c_long, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use epics_ca_sys as sys;
use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::{Subscription, Value};
use tokio::sync::{oneshot, watch};

use super::context::Context;
use super::dbr::{self, Reply};
use super::reaper::{CallbackScope, Reaped};
use super::status;
use crate::transport::{NativeType, PutDone, PvCallback, PvChannel, PvError, PvInfo, PvMetadata, PvReading};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What to do with the reply to one request.
type Pending = Box<dyn FnOnce(&Reply) + Send>;

/// The state libca's callbacks see, through the channel's user pointer.
struct Shared {
    name: String,
    context: Arc<Context>,
    /// Up or down, as the last connection callback said.
    connection: watch::Sender<bool>,
    /// Type and element count as last seen while connected.
    info: Mutex<Option<PvInfo>>,
    pending: Mutex<HashMap<usize, Pending>>,
    next_request: AtomicUsize,
}

impl Shared {
    fn register(&self, pending: Pending) -> usize {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        lock(&self.pending).insert(id, pending);
        id
    }

    fn take(&self, id: usize) -> Option<Pending> {
        lock(&self.pending).remove(&id)
    }

    /// Issue one request through `call` (given the request's callback
    /// argument) and flush it; `on_reply` runs on libca's callback thread
    /// with the reply.
    fn request_then(
        &self,
        on_reply: impl FnOnce(&Reply) + Send + 'static,
        call: impl FnOnce(*mut c_void) -> i32,
    ) -> Result<(), PvError> {
        // Registered first: the reply may come before the call returns.
        let id = self.register(Box::new(on_reply));
        let issued = self.context.with(|| {
            let status = call(id as *mut c_void);
            if status::check(status).is_ok() {
                unsafe { sys::ca_flush_io() };
            }
            status
        });
        if let Err(e) = status::check(issued) {
            self.take(id);
            return Err(e);
        }
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

// SAFETY: a channel id is a handle into the context, which libca lets any
// thread use (with the context attached, which `Context::with` does); libca
// locks its own state.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

impl Drop for Inner {
    fn drop(&mut self) {
        // After ca_clear_channel returns, libca calls none of this channel's
        // callbacks any more, so its reference to `shared` can go.
        self.shared.context.with(|| unsafe {
            sys::ca_clear_channel(self.chid);
            sys::ca_flush_io();
        });
        // SAFETY: the count handed to libca in `CaChannel::create`.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(&self.shared)) };
    }
}

impl Inner {
    fn connected(&self) -> bool {
        *self.shared.connection.borrow()
    }

    /// The channel's native type and element count right now (remembered
    /// for [`PvChannel::info`]); an error when it is disconnected.
    fn native(&self) -> Result<PvInfo, PvError> {
        if !self.connected() {
            return Err(PvError::Disconnected);
        }
        // SAFETY: `chid` is valid until `drop`.
        let (field_type, count) = unsafe { (sys::ca_field_type(self.chid), sys::ca_element_count(self.chid)) };
        if i32::from(field_type) == sys::TYPENOTCONN {
            return Err(PvError::Disconnected);
        }
        let native = dbr::native_type(field_type).ok_or_else(|| unsupported(field_type))?;
        let info = PvInfo { native, count: usize::try_from(count).unwrap_or(usize::MAX) };
        *lock(&self.shared.info) = Some(info);
        Ok(info)
    }

    /// `value` laid out for a put to this channel as it is now, or why it
    /// cannot be sent: every check libca would make before sending, made
    /// here so that a dry run ([`PvChannel::check_put`]) gives the same
    /// answer as the put.
    fn payload(&self, value: &Value) -> Result<dbr::Payload, PvError> {
        let info = self.native()?;
        // SAFETY: `chid` is valid until `drop`.
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
                // SAFETY: called from `on_reply`, while libca's payload lives.
                unsafe { decode(reply) }.map_err(PvError::Other)
            },
            |usr| unsafe { sys::ca_array_get_callback(dbr_type, count as _, chid, Some(on_reply), usr) },
        );
        awaiting(issued, &self.shared.name)
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
            name: pv.to_owned(),
            context: Arc::clone(context),
            connection: watch::Sender::new(false),
            info: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicUsize::new(1),
        });
        let puser = Arc::into_raw(shared.clone()) as *mut c_void;
        let mut chid: sys::chid = ptr::null_mut();
        let created = context.with(|| unsafe {
            let status = sys::ca_create_channel(
                name.as_ptr(),
                Some(on_connection),
                puser,
                sys::CA_PRIORITY_DEFAULT as sys::capri,
                &mut chid,
            );
            if status::check(status).is_ok() {
                sys::ca_flush_io();
            }
            status
        });
        if let Err(e) = status::check(created) {
            // SAFETY: libca refused the channel, so it holds no pointer.
            unsafe { drop(Arc::from_raw(puser as *const Shared)) };
            return Err(e);
        }
        Ok(CaChannel { inner: Arc::new(Reaped::new(Inner { chid, shared })) })
    }

    /// Wait until the channel is connected (forever, for a PV nobody serves)
    /// with a type this crate handles.
    pub(crate) async fn connected(self) -> Result<CaChannel, PvError> {
        let mut connection = self.inner.shared.connection.subscribe();
        loop {
            // The sender lives in `shared`, which `self` keeps alive.
            let _ = connection.wait_for(|up| *up).await;
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
        &self.inner.shared.name
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
            // SAFETY: `chid` lives as long as `self.inner`; `data` points to
            // `count` elements of `dbr_type` in `payload`, which libca copies
            // before returning.
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
            // SAFETY: as for the plain put; `usr` is a request number, not a pointer.
            |usr| unsafe { sys::ca_array_put_callback(dbr_type, count, chid, data, Some(on_reply), usr) },
        )
    }

    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError> {
        let native = self.inner.native()?.native;
        let monitor = Monitor { pv: self.inner.shared.name.clone(), callback, ended: AtomicBool::new(false) };
        let monitor = Arc::into_raw(Arc::new(monitor));
        let mut evid: sys::evid = ptr::null_mut();
        let subscribed = self.inner.shared.context.with(|| unsafe {
            let status = sys::ca_create_subscription(
                dbr::time_request(native),
                0,
                self.inner.chid,
                c_long::from(sys::DBE_VALUE | sys::DBE_ALARM),
                Some(on_monitor),
                monitor as *mut c_void,
                &mut evid,
            );
            if status::check(status).is_ok() {
                sys::ca_flush_io();
            }
            status
        });
        if let Err(e) = status::check(subscribed) {
            // SAFETY: libca refused the subscription, so it holds no pointer.
            unsafe { drop(Arc::from_raw(monitor)) };
            return Err(e);
        }
        let guard = Reaped::new(MonitorGuard { channel: self.inner.clone(), evid, monitor });
        Ok(Subscription::new(move || {
            // Ended now, even when clearing it waits for the reaper.
            // SAFETY: libca's count keeps the monitor alive until the guard goes.
            unsafe { (*guard.monitor).ended.store(true, Ordering::SeqCst) };
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
    /// libca's strong count of the monitor: its callback argument.
    monitor: *const Monitor,
}

// SAFETY: the subscription id is a handle like the channel id (see `Inner`),
// and the monitor pointer is an `Arc` of a `Send + Sync` type.
unsafe impl Send for MonitorGuard {}
unsafe impl Sync for MonitorGuard {}

impl Drop for MonitorGuard {
    fn drop(&mut self) {
        // After ca_clear_subscription returns, no callback of it runs or will
        // run (libca waits for one in progress, unless that is this thread's).
        self.channel.shared.context.with(|| unsafe {
            sys::ca_clear_subscription(self.evid);
            sys::ca_flush_io();
        });
        // SAFETY: the count handed to libca in `subscribe`.
        unsafe { drop(Arc::from_raw(self.monitor)) };
    }
}

impl Reply {
    /// # Safety
    /// `args` must come from libca, inside the callback.
    unsafe fn from_args(args: &sys::event_handler_args) -> Reply {
        Reply {
            status: args.status,
            dbr_type: args.type_,
            count: usize::try_from(args.count).unwrap_or(0),
            dbr: args.dbr,
            element_count: usize::try_from(sys::ca_element_count(args.chid)).unwrap_or(usize::MAX),
        }
    }
}

unsafe extern "C" fn on_connection(args: sys::connection_handler_args) {
    let _scope = CallbackScope::enter();
    // SAFETY: the user pointer is the `Shared` that `Inner` keeps alive
    // until after ca_clear_channel, which stops these callbacks.
    let shared = &*(sys::ca_puser(args.chid) as *const Shared);
    let up = args.op == c_long::from(sys::CA_OP_CONN_UP);
    // Only `CaChannel::connected` waits on `connection`, and only for up.
    shared.connection.send_if_modified(|connected| {
        *connected = up;
        up
    });
}

unsafe extern "C" fn on_reply(args: sys::event_handler_args) {
    let _scope = CallbackScope::enter();
    // SAFETY: as in `on_connection`.
    let shared = &*(sys::ca_puser(args.chid) as *const Shared);
    if let Some(pending) = shared.take(args.usr as usize) {
        let reply = Reply::from_args(&args);
        if catch_unwind(AssertUnwindSafe(|| pending(&reply))).is_err() {
            tracing::error!(pv = %shared.name, "a Channel Access reply handler panicked");
        }
    }
}

unsafe extern "C" fn on_monitor(args: sys::event_handler_args) {
    // First, so that it covers the drop of everything below.
    let _scope = CallbackScope::enter();
    // Our own count, so that dropping the subscription from inside its
    // callback does not free the callback while it runs.
    let monitor = args.usr as *const Monitor;
    Arc::increment_strong_count(monitor);
    let monitor = Arc::from_raw(monitor);
    if monitor.ended.load(Ordering::SeqCst) {
        return;
    }
    if status::check(args.status).is_err() {
        tracing::debug!(pv = %monitor.pv, status = %status::message(args.status), "monitor event without data");
        return;
    }
    match dbr::decode_time(&Reply::from_args(&args)) {
        Ok(reading) => {
            if catch_unwind(AssertUnwindSafe(|| (monitor.callback)(&reading))).is_err() {
                tracing::error!(pv = %monitor.pv, "a subscription callback panicked");
            }
        }
        Err(e) => tracing::warn!(pv = %monitor.pv, error = %e, "cannot decode a monitor event"),
    }
}
