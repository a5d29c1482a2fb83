//! The CA client context: libca's per-client state (search and TCP
//! circuits, auxiliary threads), shared by every channel of a transport.

use std::ffi::{c_char, CStr};
use std::ptr;

use epics_ca_sys as sys;

use super::reaper::{run_callback, Reaped};
use super::status;
use crate::transport::PvError;

/// A libca client context with preemptive callbacks: libca's own threads
/// run every callback, so nothing needs to poll it.
pub(crate) struct Context {
    /// Destroying the context joins libca's threads, so it must not happen
    /// on one of them.
    inner: Reaped<epics_ca::Context>,
}

// SAFETY: a preemptive libca context is made to be used by several threads
// at once: any thread may attach to it and call libca, which locks the
// context's state itself. `epics_ca::Context` is `!Sync` only for the raw
// pointer it holds; the one method reached through `&Context`, `with`, reads
// that pointer and changes nothing but the calling thread's own attachment.
unsafe impl Sync for Context {}

impl Context {
    /// Create a context. libca reads the `EPICS_CA_*` environment when the
    /// context starts searching, that is at the first channel.
    pub(crate) fn new() -> Result<Context, PvError> {
        let inner = epics_ca::Context::new().map_err(|e| {
            PvError::Other(format!("cannot create a CA client context: {}", status::message(e.into_raw())))
        })?;
        let context = Context { inner: Reaped::new(inner) };
        // SAFETY: `with` attaches this thread to the new context, the one
        // ca_add_exception_event installs the handler in; the handler's
        // argument is null and never read, and the handler reads only what
        // libca passes it (see `on_exception`).
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

impl ophyd_core::implement::Flush for Context {
    fn flush(&self) {
        // SAFETY: no arguments; `with` attaches this thread to this
        // context, the one whose send buffer is flushed.
        self.with(|| unsafe { sys::ca_flush_io() });
    }
}

/// C text that may be null, as an owned string: a borrow would be free to
/// outlive the C text.
///
/// # Safety
/// `text` must be null or point to a NUL-terminated string that stays valid
/// during the call.
unsafe fn text_or(text: *const c_char, fallback: &str) -> String {
    if text.is_null() {
        fallback.to_owned()
    } else {
        // SAFETY: non-null, so NUL-terminated and valid during the call, by
        // the function's contract; nothing borrows it past the call.
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }
}

/// Asynchronous errors (a plain put the IOC refused, a PV served by two
/// IOCs, ...) go to the log instead of libca's default of printing them on
/// standard error.
///
/// # Safety
/// Only libca calls it, as a context's exception handler.
unsafe extern "C" fn on_exception(args: sys::exception_handler_args) {
    run_callback(move || {
        let pv = if args.chid.is_null() {
            "(no channel)".to_owned()
        } else {
            // SAFETY: a non-null `chid` is the channel the exception is
            // about, which libca keeps live while the handler runs (its
            // clear waits for the callback lock the handler runs under);
            // ca_name gives its NUL-terminated name, as long-lived as it.
            unsafe { text_or(sys::ca_name(args.chid), "?") }
        };
        // SAFETY: `ctx` is null or libca's NUL-terminated description of the
        // exception, valid while the handler runs.
        let context = unsafe { text_or(args.ctx, "") };
        let status =
            i32::try_from(args.stat).map(status::message).unwrap_or_else(|_| format!("CA status {}", args.stat));
        tracing::warn!(pv = %pv, status = %status, context = %context, "Channel Access exception");
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::reaper::tests::PanickingLog;

    #[test]
    fn a_log_subscriber_that_panics_in_the_exception_handler_does_not_unwind_into_libca() {
        let args = sys::exception_handler_args {
            usr: ptr::null_mut(),
            chid: ptr::null_mut(),
            type_: -1,
            count: 0,
            addr: ptr::null_mut(),
            stat: sys::ECA_PUTFAIL.into(),
            op: sys::CA_OP_PUT.into(),
            ctx: c"a plain put the IOC refused".as_ptr(),
            pFile: ptr::null(),
            lineNo: 0,
        };
        // Unwinding out of the handler would abort this test's process.
        // SAFETY: `args` is as libca passes it: no channel, and `ctx` a
        // NUL-terminated string that outlives the call.
        tracing::subscriber::with_default(PanickingLog, || unsafe { on_exception(args) });
    }
}
