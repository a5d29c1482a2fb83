//! Connecting a device tree: the [`Backend`] a user connects through, the
//! [`ConnectCtx`] every component is handed, and the one timer that bounds
//! the connections of a whole tree.

use std::any::Any;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{Error, Result};

/// What a device connects through: a PV transport (`ophyd_epics::Transport`,
/// made by the simulated IOC or by Channel Access) or another backend that
/// its signals understand. Anything else is a compile error, not a run-time
/// one per PV.
///
/// ```
/// use ophyd_core::Backend;
/// struct MyBackend;
/// impl Backend for MyBackend {}
/// fn takes<B: Backend>(_: &B) {}
/// takes(&MyBackend);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something devices can connect through",
    label = "not a backend",
    note = "connect through a transport: `&ioc.transport()` for the simulated IOC, \
            `&CaTransport::new()?.into_transport()` for Channel Access (both are `ophyd_epics::Transport`)"
)]
pub trait Backend: Any + Send + Sync {}

/// What `connect` hands every component: the backend the user passed (a PV
/// transport, say), type-erased so that `ophyd-core` knows nothing of EPICS.
pub struct ConnectCtx<'a> {
    backend: &'a (dyn Any + Send + Sync),
    backend_type: &'static str,
}

impl<'a> ConnectCtx<'a> {
    /// A context around `backend`.
    pub fn new<B: Backend>(backend: &'a B) -> Self {
        ConnectCtx { backend, backend_type: std::any::type_name::<B>() }
    }

    /// The backend, if it is a `B`.
    pub fn backend<B: Any>(&self) -> Option<&'a B> {
        self.backend.downcast_ref()
    }

    /// The type name of the backend given, for error messages.
    pub fn backend_type(&self) -> &'static str {
        self.backend_type
    }
}

/// One connection in progress: what it is for (a PV name) and its future.
pub struct PendingConnect<'a> {
    /// The PV (or other resource) being connected, listed on timeout.
    pub what: String,
    /// Resolves when connected.
    pub future: BoxFuture<'a, Result<()>>,
}

pub(crate) async fn connect_all(device: String, pending: Vec<PendingConnect<'_>>, timeout: Duration) -> Result<()> {
    // One timer for the whole tree (not one per PV); each connection
    // records its own outcome, so on timeout the unfinished ones are known.
    let outcomes: Vec<std::sync::Mutex<Option<Result<()>>>> =
        pending.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let mut names = Vec::with_capacity(pending.len());
    let attempts = pending.into_iter().zip(&outcomes).map(|(p, slot)| {
        names.push(p.what);
        async move {
            let outcome = p.future.await;
            *crate::sync::lock(slot) = Some(outcome);
        }
    });
    let attempts: Vec<_> = attempts.collect();
    let _ = tokio::time::timeout(timeout, futures::future::join_all(attempts)).await;
    let mut timed_out = Vec::new();
    let mut errors = Vec::new();
    for (name, slot) in names.into_iter().zip(outcomes) {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(())) => {}
            Some(Err(e)) => errors.push(e),
            None => timed_out.push(name),
        }
    }
    if !timed_out.is_empty() {
        errors.insert(0, Error::ConnectTimeout { device, after: timeout, pvs: timed_out });
    }
    Error::bundle(errors)
}
