//! Channel Access: EPICS signals on real IOCs, through EPICS's own client
//! library, libca (feature `ca`).
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ophyd_core::prelude::*;
//! use ophyd_epics::{ca::CaTransport, EpicsSignal};
//!
//! let transport = CaTransport::new()?.into_transport();
//! let gain = EpicsSignal::<f64>::new("trigger_with_pc:gain", "gain");
//! tokio::time::timeout(Duration::from_secs(5), gain.connect(&transport)).await??;
//! gain.put(3.0).await?;
//! println!("gain = {}", gain.get().await?);
//! # Ok(()) }
//! ```
//!
//! # Finding IOCs
//!
//! libca finds PVs the EPICS way, configured by the environment: it reads
//! `EPICS_CA_ADDR_LIST`, `EPICS_CA_AUTO_ADDR_LIST`, `EPICS_CA_SERVER_PORT`
//! and the other `EPICS_CA_*` variables when a [`CaTransport`]'s context
//! first searches, that is at its first `connect`. Set them before that;
//! changing them later affects only transports created afterwards. Several
//! IOCs on one host need distinct ports, all listed in
//! `EPICS_CA_ADDR_LIST` (`"127.0.0.1:5064 127.0.0.1:5066"`).
//!
//! IOCs announce themselves with beacons to the host's CA repeater
//! (`EPICS_CA_REPEATER_PORT`, 5065 by default), which relays them to the
//! clients. Where none runs, [`CaTransport::new`] starts one in the process
//! (as libca would start EPICS's `caRepeater` program, which the Python
//! packages that provide libca do not install); where one runs already, it
//! uses that.
//!
//! # Behaviour
//!
//! - `connect` resolves once the PV is found and connected; it waits forever
//!   for a PV nobody serves (callers put a timeout on it). A channel whose
//!   IOC goes away reports [`PvError::Disconnected`] at once for every
//!   operation, including those in flight, and works again, without being
//!   rebuilt, when libca finds the IOC again (libca searches for
//!   disconnected channels every 10 s, so that takes up to about 10 s;
//!   subscriptions resume by themselves, starting with the current value).
//! - Reads ask for `DBR_TIME_*` in the PV's native type: the value (an
//!   array's current length, a scalar when the PV holds one element), the
//!   IOC's timestamp in Unix seconds and the alarm severity. Metadata comes
//!   from `DBR_CTRL_*`.
//! - Strings are bytes to Channel Access. Valid UTF-8 reads as the text it
//!   encodes; a byte that is not part of valid UTF-8 (Latin-1 `°`, `B0`,
//!   from an old IOC) reads as the private-use character U+EF00 + byte
//!   (U+EF80 to U+EFFF), and a character of that range that the IOC holds
//!   as UTF-8 reads as the three characters of its three bytes. Writing
//!   turns those characters back into their bytes, so a string read and
//!   written back (a staged value restored) gives the IOC exactly the bytes
//!   it had.
//! - A put with `wait_complete` is a put-callback: it finishes when the IOC
//!   has processed the record. Without, it is a plain put, done once libca
//!   has it. A refused put (no write access, an IOC that rejects the value)
//!   is [`PvError::Refused`] with libca's text for the IOC's answer; a plain
//!   put the IOC rejects later can only be logged (target
//!   `ophyd_epics::ca::context`), as libca reports it asynchronously.
//! - Channel Access cannot write an empty array (libca refuses a put of 0
//!   elements), so an empty waveform's value cannot be put back once
//!   changed. Such a put, like one without write access or with more
//!   elements than the PV holds, is refused before anything is sent, and
//!   [`PvChannel::check_put`] (what staging asks first) gives the same
//!   answer without writing.
//! - Subscriptions deliver every value and alarm change, from libca's
//!   threads; keep their callbacks short, as libca runs one at a time.
//!
//! # Design
//!
//! The context comes from the `epics-ca` crate. Channels and their
//! operations use libca directly (`epics-ca-sys`): an `epics-ca` channel
//! allows one operation at a time through futures that borrow it, while a
//! signal's channel is shared, is read while a put-callback is pending, and
//! hands out `'static` futures. Each request carries its number in the
//! channel's table of pending requests, so libca never holds a pointer that
//! a dropped future could invalidate.
//!
//! Code that libca's callbacks run (a status finishing, a subscription's
//! callback) may drop the last handle to a channel, a subscription or the
//! context itself. Destroying a context joins libca's threads, which would
//! never return on one of them, so what is dropped there is closed on a
//! reaper thread instead, a moment later; a subscription dropped there
//! delivers nothing more meanwhile.

// Every unsafe operation of the transport, down to those inside an
// `unsafe fn`, states the invariant that makes it sound.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod channel;
mod context;
mod dbr;
mod reaper;
mod repeater;
mod status;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::transport::{PvChannel, PvError, PvTransport, Transport};
use channel::CaChannel;
use context::Context;
pub use repeater::start_repeater;

/// The Channel Access transport: a libca client context. Cheap to clone;
/// clones share the context.
///
/// ```no_run
/// use ophyd_epics::{ca::CaTransport, Transport};
/// let transport: Transport = CaTransport::new()?.into();
/// assert_eq!(transport.describe(), "Channel Access");
/// # Ok::<(), ophyd_epics::PvError>(())
/// ```
#[derive(Clone)]
pub struct CaTransport {
    context: Arc<Context>,
}

impl CaTransport {
    /// Create a CA client context. It reads the `EPICS_CA_*` environment at
    /// its first `connect` (see the [module documentation](self)).
    ///
    /// When no CA repeater serves `EPICS_CA_REPEATER_PORT` (5065 by
    /// default) yet, this process runs one, on a thread, for as long as it
    /// lives (see [`start_repeater`]).
    pub fn new() -> Result<CaTransport, PvError> {
        repeater::ensure_running();
        Ok(CaTransport { context: Arc::new(Context::new()?) })
    }

    /// This transport as the [`Transport`] devices connect through.
    pub fn into_transport(self) -> Transport {
        Transport::new(self)
    }
}

impl From<CaTransport> for Transport {
    fn from(transport: CaTransport) -> Transport {
        transport.into_transport()
    }
}

impl fmt::Debug for CaTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaTransport")
    }
}

impl PvTransport for CaTransport {
    fn describe(&self) -> String {
        "Channel Access".into()
    }

    fn connect(&self, pv: &str) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        // Created now, not when first polled, so that a device's PVs are all
        // searched for at once.
        let channel = CaChannel::create(&self.context, pv);
        async move {
            let channel = channel?.connected().await?;
            Ok(Arc::new(channel) as Arc<dyn PvChannel>)
        }
        .boxed()
    }
}
