//! The CA client context: libca's per-client state (search and TCP
//! circuits, auxiliary threads), shared by every channel of a transport.

use std::borrow::Cow;
use std::ffi::{c_char, CStr};
use std::ptr;

use epics_ca_sys as sys;

use super::reaper::Reaped;
use super::status;
use crate::transport::PvError;

/// A libca client context with preemptive callbacks: libca's own threads
/// run every callback, so nothing needs to poll it.
pub(crate) struct Context {
    /// Destroying the context joins libca's threads, so it must not happen
    /// on one of them.
    inner: Reaped<epics_ca::Context>,
}

// SAFETY: libca contexts are made to be shared by threads: any thread may
// attach to one and call libca. `epics_ca::Context` is only `!Sync` because
// it holds a raw pointer; its `with` touches nothing but the calling
// thread's own attachment.
unsafe impl Sync for Context {}

impl Context {
    /// Create a context. libca reads the `EPICS_CA_*` environment when the
    /// context starts searching, that is at the first channel.
    pub(crate) fn new() -> Result<Context, PvError> {
        let inner = epics_ca::Context::new().map_err(|e| {
            PvError::Other(format!("cannot create a CA client context: {}", status::message(e.into_raw())))
        })?;
        let context = Context { inner: Reaped::new(inner) };
        // SAFETY: the handler is a plain function that only reads its arguments.
        let installed = context.with(|| unsafe { sys::ca_add_exception_event(Some(on_exception), ptr::null_mut()) });
        status::check(installed)?;
        Ok(context)
    }

    /// Run `f` with this context attached to the calling thread, as every
    /// libca call that is not about one existing channel requires.
    pub(crate) fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        self.inner.with(f)
    }
}

/// C text that may be null.
///
/// # Safety
/// `text` must be null or point to a NUL-terminated string.
unsafe fn text_or<'a>(text: *const c_char, fallback: &'a str) -> Cow<'a, str> {
    if text.is_null() {
        fallback.into()
    } else {
        CStr::from_ptr(text).to_string_lossy()
    }
}

/// Asynchronous errors (a plain put the IOC refused, a PV served by two
/// IOCs, ...) go to the log instead of libca's default of printing them on
/// standard error.
unsafe extern "C" fn on_exception(args: sys::exception_handler_args) {
    let pv = if args.chid.is_null() { "(no channel)".into() } else { text_or(sys::ca_name(args.chid), "?") };
    let context = text_or(args.ctx, "");
    let status = i32::try_from(args.stat).map(status::message).unwrap_or_else(|_| format!("CA status {}", args.stat));
    tracing::warn!(pv = %pv, status = %status, context = %context, "Channel Access exception");
}
