//! The PV-transport abstraction: how an EPICS signal reaches its PV. The
//! simulated IOC and Channel Access both implement it; devices never know
//! which one is under them.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use ophyd_core::{Subscription, Value};

/// A PV's native (DBR) field type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NativeType {
    /// `DBF_DOUBLE`.
    Double,
    /// `DBF_FLOAT`.
    Float,
    /// `DBF_LONG` (32-bit).
    Long,
    /// `DBF_SHORT` (16-bit).
    Short,
    /// `DBF_CHAR` (8-bit).
    Char,
    /// `DBF_STRING` (up to 40 characters).
    String,
    /// `DBF_ENUM`: an index into a list of strings.
    Enum,
}

impl NativeType {
    /// Whether the type holds numbers (everything but strings).
    pub fn is_numeric(self) -> bool {
        !matches!(self, NativeType::String)
    }

    /// Whether the type holds integers.
    pub fn is_integer(self) -> bool {
        matches!(self, NativeType::Long | NativeType::Short | NativeType::Char | NativeType::Enum)
    }
}

impl fmt::Display for NativeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NativeType::Double => "DOUBLE",
            NativeType::Float => "FLOAT",
            NativeType::Long => "LONG",
            NativeType::Short => "SHORT",
            NativeType::Char => "CHAR",
            NativeType::String => "STRING",
            NativeType::Enum => "ENUM",
        })
    }
}

/// A PV's type and element count, known once it is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PvInfo {
    /// The native field type.
    pub native: NativeType,
    /// The element count (1 for scalars).
    pub count: usize,
}

impl fmt::Display for PvInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = if self.native == NativeType::Enum { "an" } else { "a" };
        if self.count == 1 {
            write!(f, "{article} {} scalar", self.native)
        } else {
            write!(f, "{article} {} array of {}", self.native, self.count)
        }
    }
}

/// A PV's control metadata: what `describe()` reports beyond the type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PvMetadata {
    /// Engineering units.
    pub units: Option<String>,
    /// Display precision.
    pub precision: Option<i16>,
    /// Lower control limit, in the PV's number type (`Int` or `Float`).
    pub lower_ctrl_limit: Option<Value>,
    /// Upper control limit.
    pub upper_ctrl_limit: Option<Value>,
    /// Enum strings, for enum PVs.
    pub enum_strs: Option<Vec<String>>,
}

/// One value read from a PV.
#[derive(Clone, Debug, PartialEq)]
pub struct PvReading {
    /// The value, in the PV's native form (enums as their index).
    pub value: Value,
    /// The server's timestamp, in Unix seconds.
    pub timestamp: f64,
    /// The alarm severity (0 none, 1 minor, 2 major, 3 invalid).
    pub severity: i32,
}

/// Why a PV operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PvError {
    /// The connection to the PV is down.
    #[error("disconnected")]
    Disconnected,
    /// The server refused the operation, with its reason.
    #[error("{0}")]
    Refused(String),
    /// The value does not fit the PV.
    #[error("{0}")]
    BadValue(String),
    /// Anything else the transport reports.
    #[error("{0}")]
    Other(String),
}

/// What a signal declares about one of its PVs when it connects: enough
/// for a transport that makes PVs on demand (the [mock
/// IOC](crate::mock::MockIoc)) to make one the signal fits. Transports to
/// real IOCs ignore it: the IOC says what the PV is.
///
/// ```
/// use ophyd_epics::{NativeType, PvDeclaration};
/// let rbv = PvDeclaration::new(NativeType::Double, false).read_back_of("cam:AcquireTime");
/// assert!(!rbv.written && rbv.read_back_of.as_deref() == Some("cam:AcquireTime"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PvDeclaration {
    /// The native type that holds the signal's value type exactly
    /// ([`EpicsValue::NATIVE`](crate::EpicsValue::NATIVE)); for an array,
    /// its elements'.
    pub native: NativeType,
    /// Whether the signal holds an array (a `Vec`).
    pub array: bool,
    /// Whether the signal writes this PV.
    pub written: bool,
    /// For the read-back PV of a pair (`EpicsSignalWithRbv`'s `<PV>_RBV`):
    /// the PV the signal writes, whose values this one takes.
    pub read_back_of: Option<String>,
}

impl PvDeclaration {
    /// A PV of `native` type (an array of them if `array`) that the signal
    /// reads and does not write.
    pub fn new(native: NativeType, array: bool) -> PvDeclaration {
        PvDeclaration { native, array, written: false, read_back_of: None }
    }

    /// The signal writes this PV too.
    pub fn written(mut self) -> PvDeclaration {
        self.written = true;
        self
    }

    /// This PV reads back what the signal writes to `write_pv`.
    pub fn read_back_of(mut self, write_pv: &str) -> PvDeclaration {
        self.read_back_of = Some(write_pv.to_owned());
        self
    }
}

/// Value-change callback of a PV subscription.
pub type PvCallback = Arc<dyn Fn(&PvReading) + Send + Sync>;

/// What [`PvChannel::put_then`] calls with the outcome of a write.
pub type PutDone = Box<dyn FnOnce(Result<(), PvError>) + Send>;

/// Run `future` on a tokio task and hand its outcome to `done`; if the task
/// never finishes (it panicked, or its runtime shut down), `done` gets an
/// error instead of never being called.
pub(crate) fn spawn_then(future: BoxFuture<'static, Result<(), PvError>>, done: PutDone) {
    struct Once(Option<PutDone>);
    impl Drop for Once {
        fn drop(&mut self) {
            if let Some(done) = self.0.take() {
                done(Err(PvError::Other("the write's processing was abandoned".into())));
            }
        }
    }
    let mut once = Once(Some(done));
    tokio::spawn(async move {
        let outcome = future.await;
        if let Some(done) = once.0.take() {
            done(outcome);
        }
    });
}

/// A way to reach PVs: the simulated IOC, Channel Access.
pub trait PvTransport: Send + Sync + 'static {
    /// A short description for messages (`"simulated IOC"`, `"Channel Access"`).
    fn describe(&self) -> String;

    /// Connect to `pv`. The future resolves once the PV is reachable (it may
    /// never resolve for a PV nobody serves; callers put a timeout on it).
    fn connect(&self, pv: &str) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>>;

    /// Connect to `pv`, which a signal declares as `declaration`: EPICS
    /// signals connect this way. A transport that makes PVs on demand
    /// makes one to fit the declaration; the default, for transports to
    /// IOCs that serve their own PVs, ignores it and calls
    /// [`PvTransport::connect`].
    fn connect_declared(
        &self,
        pv: &str,
        declaration: &PvDeclaration,
    ) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        let _ = declaration;
        self.connect(pv)
    }
}

/// A connection to one PV.
pub trait PvChannel: Send + Sync + 'static {
    /// The PV name.
    fn pv(&self) -> &str;

    /// Type and element count.
    fn info(&self) -> PvInfo;

    /// Whether the connection is up now.
    fn connected(&self) -> bool;

    /// How many times the channel has connected: 1 once it first has, one
    /// more on each reconnection (the IOC rebooted, the network came back).
    /// What a client keeps about a PV — its control metadata, a monitored
    /// value — holds for one connection: the PV may have changed while it
    /// was away.
    fn connections(&self) -> u64;

    /// Read the value, timestamp and severity.
    fn get(&self) -> BoxFuture<'static, Result<PvReading, PvError>>;

    /// Read the control metadata.
    fn metadata(&self) -> BoxFuture<'static, Result<PvMetadata, PvError>>;

    /// Check, without writing, that `value` could be written to this PV as
    /// it is now: the checks [`PvChannel::put_then`] makes before sending.
    /// Staging checks every value it will write (the staged ones and the
    /// originals it must put back) before it changes anything.
    fn check_put(&self, value: &Value) -> Result<(), PvError> {
        let _ = value;
        Ok(())
    }

    /// Write `value`, calling `done` with the outcome once the write is done
    /// — with `wait_complete`, when the server reports that processing
    /// finished (EPICS put-callback).
    ///
    /// Returns `Err`, and never calls `done`, when the write could not be
    /// issued: nothing left the client (the channel is down, the value does
    /// not encode for the PV, the client knows it has no write access).
    /// Otherwise the write has been issued, and the server may have taken
    /// the value even if `done` later reports an error (a connection lost
    /// before the reply, processing that failed after storing it). A
    /// transport that drops `done` without calling it (its channel closed)
    /// leaves the outcome unknown; callers treat that as a failure.
    ///
    /// Transports that learn of completion on a callback of their own call
    /// `done` from it, so no task sits between the server and the caller.
    fn put_then(&self, value: Value, wait_complete: bool, done: PutDone) -> Result<(), PvError>;

    /// [`PvChannel::put_then`] as a future: the write is issued before this
    /// returns, and the future resolves with its outcome.
    fn put(&self, value: Value, wait_complete: bool) -> BoxFuture<'static, Result<(), PvError>> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        if let Err(e) = self.put_then(value, wait_complete, Box::new(move |outcome| drop(sender.send(outcome)))) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let pv = self.pv().to_owned();
        Box::pin(async move {
            receiver.await.unwrap_or_else(|_| {
                Err(PvError::Other(format!("the write to {pv} was abandoned before the IOC replied")))
            })
        })
    }

    /// Call `callback` on every value change, starting with the current value.
    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError>;
}

/// A shared handle to a [`PvTransport`]: what a device is connected through.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ophyd_epics::sim::SimIoc;
/// let transport = SimIoc::trigger_with_pc("trigger_with_pc:").transport();
/// assert_eq!(transport.describe(), "simulated IOC");
/// # }
/// ```
#[derive(Clone)]
pub struct Transport {
    transport: Arc<dyn PvTransport>,
    auto_monitor: bool,
    tokio_clock: bool,
}

impl Transport {
    /// Wrap a transport.
    pub fn new(transport: impl PvTransport) -> Transport {
        Transport { transport: Arc::new(transport), auto_monitor: false, tokio_clock: false }
    }

    /// This transport, with the completion timeouts of the signals
    /// connected through it measured on tokio's clock (a timer task per
    /// put-complete write), so that a test with a paused clock
    /// (`#[tokio::test(start_paused = true)]`) sees a 60-second timeout fire
    /// at once. Without it, one thread keeps every deadline in real time,
    /// which costs a write much less. The [mock
    /// IOC](crate::mock::MockIoc)'s transport has it.
    ///
    /// ```
    /// # use ophyd_epics::sim::SimIoc;
    /// let transport = SimIoc::new().transport().with_tokio_clock(true);
    /// assert!(transport.tokio_clock());
    /// ```
    pub fn with_tokio_clock(mut self, tokio_clock: bool) -> Transport {
        self.tokio_clock = tokio_clock;
        self
    }

    /// Whether completion timeouts are measured on tokio's clock (see
    /// [`Transport::with_tokio_clock`]).
    pub fn tokio_clock(&self) -> bool {
        self.tokio_clock
    }

    /// This transport, with monitored reads for every signal connected
    /// through it that does not say otherwise (itself or through one of its
    /// devices): ophyd's `auto_monitor`. A monitored signal reads the
    /// latest value the IOC sent, without a round trip (see
    /// [`EpicsSignal::set_auto_monitor`](crate::EpicsSignal::set_auto_monitor)).
    ///
    /// ```
    /// # use ophyd_epics::sim::SimIoc;
    /// let transport = SimIoc::trigger_with_pc("trigger_with_pc:").transport().with_auto_monitor(true);
    /// assert!(transport.auto_monitor());
    /// ```
    pub fn with_auto_monitor(mut self, auto_monitor: bool) -> Transport {
        self.auto_monitor = auto_monitor;
        self
    }

    /// Whether signals connected through this transport monitor their PVs
    /// unless they (or their devices) say otherwise.
    pub fn auto_monitor(&self) -> bool {
        self.auto_monitor
    }

    /// A description for messages.
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// Connect to one PV.
    pub fn connect(&self, pv: &str) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        self.transport.connect(pv)
    }

    /// Connect to one PV, declared as `declaration` (see
    /// [`PvTransport::connect_declared`]).
    pub fn connect_declared(
        &self,
        pv: &str,
        declaration: &PvDeclaration,
    ) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        self.transport.connect_declared(pv, declaration)
    }
}

impl ophyd_core::Backend for Transport {}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transport({})", self.transport.describe())
    }
}
