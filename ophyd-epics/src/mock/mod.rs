//! Mock mode: test your devices without hardware and without declaring a
//! single PV (ophyd-async's `connect(mock=True)` and its mock utilities).
//!
//! A [`MockIoc`] is a [simulated IOC](crate::sim::SimIoc) that makes each
//! PV when a signal first connects to it, from what the signal declares
//! ([`PvSignal::declarations`]): its value type (`f64` a DOUBLE, `i32` a
//! LONG, `String` a STRING, `Enum` an ENUM, a `Vec` an array), whether it
//! is written (a read-only signal's PV refuses client writes), and, for a
//! read-back pair (`EpicsSignalWithRbv`), which PV follows which. So
//! `det.connect(&mock.transport())` connects any derived device as it is.
//!
//! What a made PV does:
//!
//! - It starts at zero: `0.0`, `0`, `""`, enum index 0, an empty array
//!   (up to [`MOCK_ARRAY_CAPACITY`] elements); no units, precision or
//!   limits. [`MockIoc::set`] gives it another value, before or after
//!   connecting.
//! - A put is stored and completes at once, put-complete or not, unless a
//!   test [holds](MockIoc::hold_puts) it. A read-back takes every value
//!   put to its setpoint (before the put completes).
//! - Every put is recorded ([`MockIoc::puts`]), and a callback may answer
//!   it as the hardware would ([`MockIoc::on_put`]).
//! - An enum PV has no strings at first and takes the indexes 0 to 15,
//!   as an `mbbo` record whose states are not named. Give it its strings
//!   with [`MockIoc::set_enum_strings`]; a label the test [sets](MockIoc::set)
//!   that the PV does not have becomes its next string. A device's own
//!   write of a label must be one of the PV's strings, as on a real IOC,
//!   so a misspelt label in device code fails the test.
//!
//! The helpers take the signal itself, so they are typed:
//! `mock.set(&det.reading, 3.0)` does not compile for an `Enum` signal.
//! Nothing runs on a thread or in real time: under tokio's paused clock
//! (`#[tokio::test(start_paused = true)]`), a move's settle time or a
//! 60-second completion timeout passes at once, deterministically.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> ophyd_core::Result<()> {
//! use ophyd_core::prelude::*;
//! use ophyd_epics::{mock::MockIoc, EpicsSignal, EpicsSignalRO};
//!
//! #[derive(Device)]
//! #[device(custom(trigger))]
//! struct Det {
//!     #[component(suffix = ":reading", kind = "hinted")]
//!     reading: EpicsSignalRO<f64>,
//!     #[component(suffix = ":acquire", kind = "omitted", put_complete)]
//!     acquire: EpicsSignal<Enum>,
//! }
//!
//! impl Trigger for Det {
//!     fn trigger(&self) -> Status {
//!         self.acquire.set(1)
//!     }
//! }
//!
//! let mock = MockIoc::new();
//! let det = Det::new("XF:det", "det");
//! det.connect(&mock.transport()).await?; // no PV declared by hand
//! let reading = mock.pv(&det.reading);
//! mock.on_put(&det.acquire, move |_| reading.set(42.0)); // the detector, emulated
//! det.trigger().await?;
//! assert_eq!(det.reading.get().await?, 42.0);
//! assert_eq!(mock.puts(&det.acquire), [Enum::Index(1)]);
//! # Ok(()) }
//! ```

mod hold;
mod pv;

pub use hold::PutHold;
pub use pv::MockPv;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::__private::lock;
use ophyd_core::implement::PutComplete;
use ophyd_core::{Enum, Value};

use crate::sim::{PvSpec, SimIoc};
use crate::transport::{NativeType, PvChannel, PvDeclaration, PvError, PvMetadata, PvTransport, Transport};
use crate::PvSignal;
use pv::PvState;

/// How many elements an array PV the mock makes holds at most.
pub const MOCK_ARRAY_CAPACITY: usize = 1 << 20;

/// A simulated IOC that makes every PV a signal connects to, from the
/// signal's declaration, and lets a test play the hardware behind it.
/// Cheap to clone; clones share the PVs. See the [module](self) for what a
/// made PV does.
#[derive(Clone)]
pub struct MockIoc {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    ioc: SimIoc,
    /// The PVs the mock made, by name.
    pvs: Mutex<HashMap<String, Arc<PvState>>>,
}

impl Default for MockIoc {
    fn default() -> Self {
        MockIoc::new()
    }
}

impl MockIoc {
    /// A mock IOC with no PVs yet.
    pub fn new() -> MockIoc {
        MockIoc { inner: Arc::new(Inner { ioc: SimIoc::new(), pvs: Mutex::new(HashMap::new()) }) }
    }

    /// A transport that reaches this IOC, making PVs as signals connect.
    /// Completion timeouts of the signals connected through it run on
    /// tokio's clock ([`Transport::with_tokio_clock`]).
    pub fn transport(&self) -> Transport {
        Transport::new(MockTransport { mock: self.clone(), sim: self.inner.ioc.transport() }).with_tokio_clock(true)
    }

    /// The simulated IOC underneath: alarm severities, access rights, PVs
    /// of your own (`add`), which the mock serves as they are and does
    /// not record or hold puts of.
    pub fn ioc(&self) -> &SimIoc {
        &self.inner.ioc
    }

    /// A handle on `signal`'s PVs (made now if no signal has connected to
    /// them yet) that outlives the borrow of the signal: what a callback
    /// of [`MockIoc::on_put`] sets other signals with.
    ///
    /// # Panics
    /// If the PV the signal writes was added to [`MockIoc::ioc`] by hand:
    /// the mock records nothing about it.
    pub fn pv<S: PvSignal>(&self, signal: &S) -> MockPv<S::Value> {
        for (pv, declaration) in signal.declarations() {
            self.declare(&pv, &declaration);
        }
        let pvs = signal.pvs();
        let written = pvs.write.unwrap_or(pvs.read);
        let state = lock(&self.inner.pvs).get(written).cloned().unwrap_or_else(|| {
            panic!(
                "`{}`'s PV {written} was added to the simulated IOC by hand, so the mock records nothing \
                 about it; let the mock make it (do not add it)",
                signal.name()
            )
        });
        MockPv::new(Arc::downgrade(&self.inner), signal.name(), pvs.read, state)
    }

    /// Change `signal`'s value as if the IOC did: its PV (for a read-back
    /// pair, the setpoint and its read-back) takes `value`, and monitors
    /// and subscribers see it. Puts are not recorded and callbacks not
    /// called: nothing was put. See [`MockPv::set`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{mock::MockIoc, EpicsSignalRO};
    /// let mock = MockIoc::new();
    /// let temperature = EpicsSignalRO::<f64>::new("oven:T", "temperature");
    /// mock.set(&temperature, 21.5); // before connecting: its starting value
    /// temperature.connect(&mock.transport()).await?;
    /// assert_eq!(temperature.get().await?, 21.5);
    /// # Ok(()) }
    /// ```
    pub fn set<S: PvSignal>(&self, signal: &S, value: impl Into<S::Value>) {
        self.pv(signal).set(value)
    }

    /// `signal`'s value as the IOC holds it (for a read-back pair, the
    /// read-back), without a client read.
    pub fn value<S: PvSignal>(&self, signal: &S) -> S::Value {
        self.pv(signal).value()
    }

    /// Every value put to `signal` by a client, in order, as the IOC
    /// received it (an enum label as its index): ophyd-async's
    /// `get_mock_put`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{mock::MockIoc, EpicsSignal};
    /// let mock = MockIoc::new();
    /// let gain = EpicsSignal::<f64>::new("det:gain", "gain");
    /// gain.connect(&mock.transport()).await?;
    /// gain.put(2.0).await?;
    /// gain.put(4.0).await?;
    /// assert_eq!(mock.puts(&gain), [2.0, 4.0]);
    /// # Ok(()) }
    /// ```
    pub fn puts<S: PvSignal + PutComplete>(&self, signal: &S) -> Vec<S::Value> {
        self.pv(signal).puts()
    }

    /// Forget the puts recorded for `signal`.
    pub fn clear_puts<S: PvSignal + PutComplete>(&self, signal: &S) {
        self.pv(signal).clear_puts()
    }

    /// Call `callback` with each value a client puts to `signal`, when the
    /// put arrives (before the value is stored and the put completes), to
    /// emulate the hardware: ophyd-async's `callback_on_mock_put`. It
    /// replaces any callback set before. See [`MockPv::on_put`].
    pub fn on_put<S: PvSignal + PutComplete>(&self, signal: &S, callback: impl Fn(&S::Value) + Send + Sync + 'static) {
        self.pv(signal).on_put(callback)
    }

    /// Hold the completion of every put to `signal` until the returned
    /// [`PutHold`] is released (or dropped): ophyd-async's
    /// `set_mock_put_proceeds(signal, False)`. The value is stored at once;
    /// only the put-callback waits, so a put-complete write's Status stays
    /// pending, and its completion timeout runs.
    pub fn hold_puts<S: PvSignal + PutComplete>(&self, signal: &S) -> PutHold {
        self.pv(signal).hold_puts()
    }

    /// Take `signal`'s PVs off the network: its reads and writes fail as
    /// disconnected until [`MockIoc::reconnect`].
    pub fn disconnect<S: PvSignal>(&self, signal: &S) {
        self.pv(signal).disconnect()
    }

    /// Bring `signal`'s PVs back on the network.
    pub fn reconnect<S: PvSignal>(&self, signal: &S) {
        self.pv(signal).reconnect()
    }

    /// Give `signal`'s enum PVs `strings`, so that it is written and read
    /// by label. Clients read them afresh (see [`SimIoc::set_metadata`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{mock::MockIoc, EpicsSignal};
    /// let mock = MockIoc::new();
    /// let mode = EpicsSignal::<Enum>::new("det:mode", "mode");
    /// mode.connect(&mock.transport()).await?;
    /// mock.set_enum_strings(&mode, &["Single", "Continuous"]);
    /// mode.put("Continuous").await?;
    /// assert_eq!(mode.get_label().await?, "Continuous");
    /// assert!(mode.put("Continous").await.is_err(), "a misspelt label is refused");
    /// # Ok(()) }
    /// ```
    pub fn set_enum_strings<S: PvSignal<Value = Enum>>(&self, signal: &S, strings: &[&str]) {
        self.pv(signal).set_enum_strings(strings)
    }

    /// The state of `pv`, made now from `declaration` if the mock has not
    /// made it yet (`None` if it was added by hand); for a read-back, its
    /// setpoint is made too, and followed.
    fn declare(&self, pv: &str, declaration: &PvDeclaration) -> Option<Arc<PvState>> {
        let state = self.make(pv, declaration);
        if let Some(setpoint) = &declaration.read_back_of {
            let written = PvDeclaration { written: true, read_back_of: None, ..declaration.clone() };
            if let Some(setpoint) = self.make(setpoint, &written) {
                setpoint.follow_with(pv);
            }
        }
        state
    }

    fn make(&self, pv: &str, declaration: &PvDeclaration) -> Option<Arc<PvState>> {
        let mut pvs = lock(&self.inner.pvs);
        if let Some(state) = pvs.get(pv) {
            if declaration.written && state.make_writable() {
                self.inner.ioc.set_writable(pv, true);
            }
            return Some(state.clone());
        }
        if self.inner.ioc.get(pv).is_some() {
            return None;
        }
        let state = Arc::new(PvState::new(pv, declaration.written));
        self.inner.ioc.add(spec_for(pv, declaration, state.clone()));
        pvs.insert(pv.to_owned(), state.clone());
        Some(state)
    }
}

/// The PV the mock makes for `declaration`, whose client puts `state` answers.
fn spec_for(pv: &str, declaration: &PvDeclaration, state: Arc<PvState>) -> PvSpec {
    let float = matches!(declaration.native, NativeType::Double | NativeType::Float);
    let string = declaration.native == NativeType::String;
    let (value, count) = match declaration.array {
        false if float => (Value::Float(0.0), 1),
        false if string => (Value::String(String::new()), 1),
        false => (Value::Int(0), 1),
        true if float => (Value::FloatArray(Vec::new()), MOCK_ARRAY_CAPACITY),
        true if string => (Value::StringArray(Vec::new()), MOCK_ARRAY_CAPACITY),
        true => (Value::IntArray(Vec::new()), MOCK_ARRAY_CAPACITY),
    };
    let metadata =
        PvMetadata { enum_strs: (declaration.native == NativeType::Enum).then(Vec::new), ..PvMetadata::default() };
    let spec = PvSpec::new(pv, declaration.native, count, value, metadata)
        .on_put(move |ioc, value| state.client_put(ioc, value));
    if declaration.written {
        spec
    } else {
        spec.read_only()
    }
}

/// The mock's transport: the simulated IOC's, making each declared PV first.
struct MockTransport {
    mock: MockIoc,
    sim: Transport,
}

impl PvTransport for MockTransport {
    fn describe(&self) -> String {
        "mock IOC".into()
    }

    fn connect(&self, pv: &str) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        if self.mock.inner.ioc.get(pv).is_some() {
            return self.sim.connect(pv);
        }
        let reason = format!(
            "the mock IOC makes a PV from what the signal connecting to it declares, and {pv} was asked for \
             without a declaration; connect an EPICS signal to it, or add it with `ioc().add(..)`"
        );
        std::future::ready(Err(PvError::Other(reason))).boxed()
    }

    fn connect_declared(
        &self,
        pv: &str,
        declaration: &PvDeclaration,
    ) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        self.mock.declare(pv, declaration);
        self.sim.connect(pv)
    }
}

#[cfg(test)]
mod tests;
