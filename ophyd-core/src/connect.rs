//! Connecting a device tree: the [`Backend`] a user connects through, the
//! [`ConnectCtx`] every component is handed, and the one timer that bounds
//! the connections of a whole tree.

use std::any::Any;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

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
    let mut names = Vec::with_capacity(pending.len());
    let mut attempts = FuturesUnordered::new();
    for (index, PendingConnect { what, future }) in pending.into_iter().enumerate() {
        names.push(what);
        attempts.push(future.map(move |outcome| (index, outcome)));
    }
    // Whether each connection has finished, and the errors of those that
    // failed: a tree of thousands of PVs, nearly all of which connect, keeps
    // a flag per PV, not room for an error.
    let mut finished = vec![false; names.len()];
    let mut errors = Vec::new();
    // One timer for the whole tree (not one per PV). Only the connections
    // that made progress are polled, so a tree of N PVs costs O(N) polls in
    // all, not O(N) per connection made; each outcome is recorded as it
    // comes, so on timeout the unfinished ones are known.
    let record = async {
        while let Some((index, outcome)) = attempts.next().await {
            finished[index] = true;
            if let Err(e) = outcome {
                errors.push((index, e));
            }
        }
    };
    let _ = tokio::time::timeout(timeout, record).await;
    // In the tree's order, as the PVs were collected.
    errors.sort_by_key(|(index, _)| *index);
    let mut errors: Vec<Error> = errors.into_iter().map(|(_, e)| e).collect();
    let timed_out: Vec<String> =
        names.into_iter().zip(finished).filter(|(_, finished)| !finished).map(|(name, _)| name).collect();
    if !timed_out.is_empty() {
        errors.insert(0, Error::ConnectTimeout { device, after: timeout, pvs: timed_out });
    }
    Error::bundle(errors)
}
