//! EPICS signals: [`EpicsSignal`] (read/write, optionally with a separate
//! read-back PV) and [`EpicsSignalRO`] (read-only: no write methods at all).

use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::{BoxFuture, Either};
use ophyd_core::__private::lock;
use ophyd_core::implement::{AtomicChoice, ComponentSpec, ConnectCtx, Gather, PendingConnect, SignalMeta};
use ophyd_core::{DataKey, Dtype, Error, Reading, Result, Status, Subscription, Tolerance};

use crate::transport::{NativeType, PvChannel, PvDeclaration, PvError, PvMetadata, PvReading, Transport};
use crate::value::{EpicsValue, TextOn};

pub(crate) mod text;

/// The PVs of an EPICS signal: the one it reads, and the one it writes
/// (`None` for a read-only signal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalPvs<'a> {
    /// The PV read from.
    pub read: &'a str,
    /// The PV written to; the read PV itself unless the signal has a
    /// separate read-back.
    pub write: Option<&'a str>,
}

/// An EPICS signal seen through its PVs: which it reads and writes, and
/// what it declares about them when it connects
/// ([`PvTransport::connect_declared`](crate::PvTransport::connect_declared)).
/// The [mock IOC](crate::mock::MockIoc)'s helpers take any signal that is
/// one, so they are typed: `mock.set(&det.reading, 3.0)`.
///
/// ```
/// use ophyd_epics::{EpicsSignalRO, EpicsSignalWithRbv, PvSignal, SignalPvs};
/// let time = EpicsSignalWithRbv::<f64>::new("cam:AcquireTime", "acquire_time");
/// assert_eq!(time.pvs(), SignalPvs { read: "cam:AcquireTime_RBV", write: Some("cam:AcquireTime") });
/// let reading = EpicsSignalRO::<f64>::new("det:reading", "reading");
/// assert_eq!(reading.pvs().write, None);
/// let declared = time.declarations();
/// assert_eq!(declared[0].1.read_back_of.as_deref(), Some("cam:AcquireTime"));
/// assert!(declared[1].1.written);
/// ```
pub trait PvSignal: ophyd_core::DynComponent {
    /// The type of value the signal writes or reads.
    type Value: EpicsValue;

    /// The PVs the signal reads and writes.
    fn pvs(&self) -> SignalPvs<'_>;

    /// What the signal declares about each of its PVs when it connects,
    /// the read PV first: its type from [`Signal::Value`](ophyd_core::Signal::Value),
    /// whether it is written, and, for a separate read-back, the PV it
    /// reads back.
    fn declarations(&self) -> Vec<(String, PvDeclaration)> {
        let (read, write) = declarations::<Self::Value>(self.pvs());
        [Some(read), write].into_iter().flatten().map(|(pv, declaration)| (pv.to_owned(), declaration)).collect()
    }
}

/// A PV and what a signal declares about it.
type Declared<'a> = (&'a str, PvDeclaration);

/// What a signal holding `T` on `pvs` declares about its read PV, and
/// about its write PV if that is another.
fn declarations<T: EpicsValue>(pvs: SignalPvs<'_>) -> (Declared<'_>, Option<Declared<'_>>) {
    let declared = PvDeclaration::new(T::NATIVE, T::DTYPE == Dtype::Array);
    match pvs.write {
        None => ((pvs.read, declared), None),
        Some(write) if write == pvs.read => ((pvs.read, declared.written()), None),
        Some(write) => ((pvs.read, declared.clone().read_back_of(write)), Some((write, declared.written()))),
    }
}

/// Where an [`EpicsSignal`] reads back from, given the PV it writes.
pub trait PvLayout: Send + Sync + 'static {
    /// The read-back PV for write PV `write_pv`.
    fn read_pv(write_pv: &str) -> String;
}

/// Read back from the PV that is written.
pub struct SamePv;

impl PvLayout for SamePv {
    fn read_pv(write_pv: &str) -> String {
        write_pv.to_owned()
    }
}

/// Read back from `<PV>_RBV` (areaDetector's convention; ophyd's
/// `EpicsSignalWithRBV`).
pub struct Rbv;

impl PvLayout for Rbv {
    fn read_pv(write_pv: &str) -> String {
        format!("{write_pv}_RBV")
    }
}

/// A slot holding a value that a connect sets and later calls read.
type Slot<V> = RwLock<Option<V>>;

fn load<V: Clone>(slot: &Slot<V>) -> Option<V> {
    slot.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn store<V>(slot: &Slot<V>, value: Option<V>) {
    *slot.write().unwrap_or_else(|p| p.into_inner()) = value;
}

/// How long a put-complete write may take by default before its Status
/// fails with a timeout naming the PV (a put-callback the IOC never
/// completes must not hang a run). Change it per signal with
/// [`EpicsSignal::set_completion_timeout`], or per write with
/// [`EpicsSignal::set_with_timeout`].
pub const DEFAULT_COMPLETION_TIMEOUT: Duration = Duration::from_secs(60);

const NO_TIMEOUT: u64 = u64::MAX;

/// A connection requested from a transport, until it is up.
type PendingChannel = BoxFuture<'static, std::result::Result<Arc<dyn PvChannel>, PvError>>;

fn millis(timeout: Option<Duration>) -> u64 {
    timeout.map_or(NO_TIMEOUT, |t| u64::try_from(t.as_millis()).unwrap_or(NO_TIMEOUT - 1))
}

/// What every EPICS signal has: names, PVs, and, once connected, channels.
/// The control metadata (units, limits, enum strings) is read on first
/// need, not at connect (connecting stays one round trip per PV), and kept
/// for as long as the connection it was read on lasts.
struct PvCore<T> {
    meta: SignalMeta,
    read_pv: String,
    write_pv: String,
    /// Whether the signal writes (`write_pv`); a read-only signal does not.
    writable: bool,
    source: Arc<str>,
    put_complete: bool,
    tolerance: Option<Tolerance>,
    /// How long a put-complete write may take, in milliseconds
    /// ([`NO_TIMEOUT`]: forever).
    completion_timeout_ms: AtomicU64,
    read: Slot<Arc<dyn PvChannel>>,
    write: Slot<Arc<dyn PvChannel>>,
    /// The read PV's control metadata, with the connection it was read on
    /// (see [`PvChannel::connections`]).
    metadata: Arc<Slot<(u64, PvMetadata)>>,
    /// This signal's own choice of monitored reads (open: as its device,
    /// or the transport, says).
    auto_monitor: AtomicChoice,
    /// The transport's choice, for signals and devices that make none.
    transport_auto_monitor: AtomicBool,
    /// Whether completion timeouts run on tokio's clock, as the transport
    /// connected through says ([`Transport::tokio_clock`]).
    tokio_clock: AtomicBool,
    /// The read PV's monitor, while reads are monitored.
    monitor: Mutex<Option<Monitor>>,
    _value: PhantomData<fn() -> T>,
}

/// One connection of a signal's read PV, kept apart from the signal (a
/// task that outlives a borrow of it can hold it): whether that connection
/// has been lost since, asked of the client, without a round trip.
pub(crate) struct ConnectionWatch {
    channel: Arc<dyn PvChannel>,
    connection: u64,
    signal: String,
    pv: String,
}

impl ConnectionWatch {
    /// `Disconnected`, naming the signal and PV, once the connection
    /// watched has dropped — also when the PV has connected again since:
    /// what it said while away is lost.
    pub(crate) fn check(&self) -> Result<()> {
        if self.channel.connected() && self.channel.connections() == self.connection {
            return Ok(());
        }
        Err(Error::Disconnected { signal: self.signal.clone(), pv: self.pv.clone() })
    }
}

/// The subscription of a monitored signal, and the last value it brought.
struct Monitor {
    _subscription: Subscription,
    /// The last value, with the connection it came on.
    latest: Arc<Mutex<Option<(u64, PvReading)>>>,
}

impl<T: EpicsValue> PvCore<T> {
    fn new(meta: SignalMeta, read_pv: String, write_pv: String, writable: bool, put_complete: bool) -> Self {
        PvCore {
            meta,
            source: format!("PV:{read_pv}").into(),
            read_pv,
            write_pv,
            writable,
            put_complete,
            tolerance: None,
            completion_timeout_ms: AtomicU64::new(millis(Some(DEFAULT_COMPLETION_TIMEOUT))),
            read: RwLock::new(None),
            write: RwLock::new(None),
            metadata: Arc::new(RwLock::new(None)),
            auto_monitor: AtomicChoice::default(),
            transport_auto_monitor: AtomicBool::new(false),
            tokio_clock: AtomicBool::new(false),
            monitor: Mutex::new(None),
            _value: PhantomData,
        }
    }

    fn name(&self) -> String {
        self.meta.name().to_owned()
    }

    fn separate_write_pv(&self) -> bool {
        self.write_pv != self.read_pv
    }

    fn pvs(&self) -> SignalPvs<'_> {
        SignalPvs { read: &self.read_pv, write: self.writable.then_some(self.write_pv.as_str()) }
    }

    /// Request the connection of each PV from `transport`, with what the
    /// signal declares about it: the read PV's first.
    fn request_connections(&self, transport: &Transport) -> (PendingChannel, Option<PendingChannel>) {
        self.tokio_clock.store(transport.tokio_clock(), Ordering::Relaxed);
        let request = |(pv, declaration): Declared<'_>| transport.connect_declared(pv, &declaration);
        let (read, write) = declarations::<T>(self.pvs());
        (request(read), write.map(request))
    }

    fn read_channel(&self) -> Result<Arc<dyn PvChannel>> {
        load(&self.read).ok_or_else(|| Error::NotConnected { signal: self.name(), pv: self.read_pv.clone() })
    }

    fn write_channel(&self) -> Result<Arc<dyn PvChannel>> {
        let slot = if self.separate_write_pv() { &self.write } else { &self.read };
        load(slot).ok_or_else(|| Error::NotConnected { signal: self.name(), pv: self.write_pv.clone() })
    }

    fn connected(&self) -> bool {
        let up = |c: Result<Arc<dyn PvChannel>>| c.map(|c| c.connected()).unwrap_or(false);
        up(self.read_channel()) && up(self.write_channel())
    }

    fn pv_error(&self, pv: &str, error: PvError, action: Action) -> Error {
        let (signal, pv) = (self.name(), pv.to_owned());
        match (error, action) {
            (PvError::Disconnected, _) => Error::Disconnected { signal, pv },
            (e, Action::Get) => Error::Get { signal, pv, reason: e.to_string() },
            (e, Action::Connect) => Error::Connect { signal, pv, reason: e.to_string() },
        }
    }

    /// One pending connection per PV, so a timeout names exactly the PVs
    /// that did not connect. Each connection is requested here, not when
    /// its future is first polled, so that a device tree's requests go out
    /// together (see `Device::connect`).
    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        let Some(transport) = ctx.backend::<Transport>() else {
            let backend_type = ctx.backend_type();
            let missing = |pv: &str| Error::Connect {
                signal: self.name(),
                pv: pv.to_owned(),
                reason: format!(
                    "EPICS signals connect through an `ophyd_epics::Transport`, but `{backend_type}` was given"
                ),
            };
            out.push(PendingConnect {
                what: self.read_pv.clone(),
                future: Box::pin(std::future::ready(Err(missing(&self.read_pv)))),
            });
            if self.separate_write_pv() {
                let error = missing(&self.write_pv);
                out.push(PendingConnect {
                    what: self.write_pv.clone(),
                    future: Box::pin(std::future::ready(Err(error))),
                });
            }
            return;
        };
        let auto_monitor = transport.auto_monitor();
        let (read, write) = self.request_connections(transport);
        out.push(PendingConnect {
            what: self.read_pv.clone(),
            future: Box::pin(self.connect_read(read, auto_monitor)),
        });
        if let Some(write) = write {
            out.push(PendingConnect { what: self.write_pv.clone(), future: Box::pin(self.connect_write(write)) });
        }
    }

    async fn connect(&self, transport: &Transport) -> Result<()> {
        let (read, write) = self.request_connections(transport);
        let read = self.connect_read(read, transport.auto_monitor());
        match write {
            Some(write) => {
                let (read, write) = futures::join!(read, self.connect_write(write));
                read.and(write)
            }
            None => read.await,
        }
    }

    /// Finish connecting the read PV once `channel`, its connection as
    /// requested from a transport whose choice of monitored reads is
    /// `auto_monitor`, is up.
    async fn connect_read(&self, channel: PendingChannel, auto_monitor: bool) -> Result<()> {
        let channel = channel.await.map_err(|e| self.pv_error(&self.read_pv, e, Action::Connect))?;
        let info = channel.info();
        if !T::fits(info) {
            return Err(Error::TypeMismatch {
                signal: self.name(),
                pv: self.read_pv.clone(),
                expected: T::TYPE_NAME.to_owned(),
                actual: info.to_string(),
                fits: crate::value::value_type_for(info).map(str::to_owned),
            });
        }
        let channel = match TextOn::of::<T>(info) {
            None => channel,
            Some(TextOn::Chars) => text::chars(channel),
            Some(TextOn::Labels) => {
                text::labels(channel).await.map_err(|e| self.pv_error(&self.read_pv, e, Action::Connect))?
            }
        };
        store(&self.metadata, None);
        *lock(&self.monitor) = None;
        self.transport_auto_monitor.store(auto_monitor, Ordering::Relaxed);
        if self.monitored() {
            *lock(&self.monitor) = self.start_monitor(&channel);
        }
        store(&self.read, Some(channel));
        Ok(())
    }

    /// Finish connecting the separate write PV once `channel` is up.
    async fn connect_write(&self, channel: PendingChannel) -> Result<()> {
        let channel = channel.await.map_err(|e| self.pv_error(&self.write_pv, e, Action::Connect))?;
        // An enum's labels are written as they are (see `set`); a CHAR
        // array's text as its bytes.
        let channel = match TextOn::of::<T>(channel.info()) {
            Some(TextOn::Chars) => text::chars(channel),
            _ => channel,
        };
        store(&self.write, Some(channel));
        Ok(())
    }

    /// The read channel, if it is up now: what is kept about the PV
    /// (metadata, a monitored value) is not served while it is down.
    fn live_read_channel(&self) -> Result<Arc<dyn PvChannel>> {
        let channel = self.read_channel()?;
        if !channel.connected() {
            return Err(self.pv_error(&self.read_pv, PvError::Disconnected, Action::Get));
        }
        Ok(channel)
    }

    /// The read PV's connection as it is now, to check later without the
    /// signal (see [`ConnectionWatch`]); an error if it is down now.
    fn watch_connection(&self) -> Result<ConnectionWatch> {
        let channel = self.live_read_channel()?;
        let connection = channel.connections();
        Ok(ConnectionWatch { channel, connection, signal: self.name(), pv: self.read_pv.clone() })
    }

    /// The metadata kept from `channel`'s current connection, if any.
    fn kept_metadata(&self, channel: &dyn PvChannel) -> Option<PvMetadata> {
        load(&self.metadata).filter(|(connection, _)| *connection == channel.connections()).map(|(_, m)| m)
    }

    /// The read PV's control metadata, read once per connection and kept.
    async fn metadata(&self) -> Result<PvMetadata> {
        let channel = self.live_read_channel()?;
        match self.kept_metadata(&*channel) {
            Some(m) => Ok(m),
            None => self.fetch_metadata(&channel).await,
        }
    }

    /// Read the metadata from the IOC (the request is issued now) and keep
    /// it for the connection it is read on.
    fn fetch_metadata(&self, channel: &Arc<dyn PvChannel>) -> impl Future<Output = Result<PvMetadata>> + Send + '_ {
        let (connection, reply) = (channel.connections(), channel.metadata());
        async move {
            let m = reply.await.map_err(|e| self.pv_error(&self.read_pv, e, Action::Get))?;
            store(&self.metadata, Some((connection, m.clone())));
            Ok(m)
        }
    }

    /// Whether reads are served by a monitor: as the signal says, else as
    /// its nearest device that says, else as its transport says.
    fn monitored(&self) -> bool {
        self.auto_monitor
            .get()
            .or_else(|| self.meta.parent().and_then(|device| device.auto_monitor()))
            .unwrap_or_else(|| self.transport_auto_monitor.load(Ordering::Relaxed))
    }

    /// Subscribe to `channel` for monitored reads; `None` (reads then make
    /// the round trip) if the transport refuses.
    fn start_monitor(&self, channel: &Arc<dyn PvChannel>) -> Option<Monitor> {
        let latest = Arc::new(Mutex::new(None));
        let (kept, source) = (Arc::clone(&latest), Arc::downgrade(channel));
        let subscribed = channel.subscribe(Arc::new(move |reading: &PvReading| {
            if let Some(channel) = source.upgrade() {
                *lock(&kept) = Some((channel.connections(), reading.clone()));
            }
        }));
        match subscribed {
            Ok(subscription) => Some(Monitor { _subscription: subscription, latest }),
            Err(e) => {
                tracing::warn!(pv = %self.read_pv, error = %e, "cannot monitor the PV; its reads make a round trip");
                None
            }
        }
    }

    /// For a monitored signal, the last value its monitor brought on the
    /// current connection of `channel`, which is up. `None` when there is
    /// none yet (the monitor starts now if it had not, and this read makes
    /// the round trip) or reads are not monitored (a monitor of earlier
    /// reads is stopped).
    fn monitored_reading(&self, channel: &Arc<dyn PvChannel>) -> Option<PvReading> {
        let monitored = self.monitored();
        let mut monitor = lock(&self.monitor);
        match &*monitor {
            Some(m) if monitored => {
                let latest = lock(&m.latest);
                latest.as_ref().filter(|(connection, _)| *connection == channel.connections()).map(|(_, r)| r.clone())
            }
            Some(_) => {
                *monitor = None;
                None
            }
            None if monitored => {
                *monitor = self.start_monitor(channel);
                None
            }
            None => None,
        }
    }

    /// The current reading, from the monitor or the IOC: the request, if
    /// one is needed, is issued now, before the future is polled.
    fn request_reading(&self) -> Result<Requested> {
        let channel = self.live_read_channel()?;
        Ok(match self.monitored_reading(&channel) {
            Some(reading) => Requested::Kept(reading),
            None => Requested::Issued(channel.get()),
        })
    }

    /// The reply to a request of [`PvCore::request_reading`].
    async fn reply(&self, reply: BoxFuture<'static, std::result::Result<PvReading, PvError>>) -> Result<PvReading> {
        reply.await.map_err(|e| self.pv_error(&self.read_pv, e, Action::Get))
    }

    async fn reading(&self) -> Result<PvReading> {
        match self.request_reading()? {
            Requested::Kept(reading) => Ok(reading),
            Requested::Issued(reply) => self.reply(reply).await,
        }
    }

    fn typed(&self, reading: &PvReading) -> Result<T> {
        T::from_value(&reading.value).ok_or_else(|| Error::Get {
            signal: self.name(),
            pv: self.read_pv.clone(),
            reason: format!("the PV sent {}, which is not a {}", reading.value, T::TYPE_NAME),
        })
    }

    async fn get(&self) -> Result<T> {
        let reading = self.reading().await?;
        self.typed(&reading)
    }

    /// [`PvCore::get`] with the request issued now and a future that owns
    /// what it needs.
    fn get_detached(&self) -> BoxFuture<'static, Result<T>> {
        let (name, pv) = (self.name(), self.read_pv.clone());
        let typed = move |reading: PvReading| {
            T::from_value(&reading.value).ok_or_else(|| Error::Get {
                signal: name,
                pv,
                reason: format!("the PV sent {}, which is not a {}", reading.value, T::TYPE_NAME),
            })
        };
        match self.request_reading() {
            Ok(Requested::Kept(reading)) => Box::pin(std::future::ready(typed(reading))),
            Ok(Requested::Issued(reply)) => {
                let failed = {
                    let (signal, pv) = (self.name(), self.read_pv.clone());
                    move |e: PvError| match e {
                        PvError::Disconnected => Error::Disconnected { signal, pv },
                        e => Error::Get { signal, pv, reason: e.to_string() },
                    }
                };
                Box::pin(async move { typed(reply.await.map_err(failed)?) })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        let key = self.meta.key().clone();
        match self.request_reading() {
            Ok(Requested::Kept(r)) => out.ready(key, as_reading(r)),
            Ok(Requested::Issued(reply)) => out.waiting(key, async move { self.reply(reply).await.map(as_reading) }),
            Err(e) => out.failed(e),
        }
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        let key = self.meta.key().clone();
        let channel = match self.live_read_channel() {
            Ok(channel) => channel,
            Err(e) => return out.failed(e),
        };
        let kept = self.kept_metadata(&*channel);
        // As ophyd: an array's shape is its current length, not its capacity.
        let shape = match T::DTYPE {
            Dtype::Array => Some(self.request_reading()),
            _ => None,
        };
        let (kept, shape) = match (kept, shape) {
            (Some(m), None) => return out.ready(key, self.data_key(m, Vec::new())),
            (kept, shape) => (kept, shape),
        };
        let metadata = match kept {
            Some(m) => Either::Left(std::future::ready(Ok(m))),
            None => Either::Right(self.fetch_metadata(&channel)),
        };
        out.waiting(key, async move {
            let shape = match shape {
                None => Vec::new(),
                Some(Ok(Requested::Kept(r))) => r.value.shape(),
                Some(Ok(Requested::Issued(reply))) => self.reply(reply).await?.value.shape(),
                Some(Err(e)) => return Err(e),
            };
            Ok(self.data_key(metadata.await?, shape))
        });
    }

    /// The data key, as ophyd 1.11 describes an EPICS signal: units and
    /// limits always (null when unknown), precision and enum strings only
    /// when the PV has them.
    fn data_key(&self, m: PvMetadata, shape: Vec<usize>) -> DataKey {
        DataKey {
            units: Some(m.units),
            lower_ctrl_limit: Some(m.lower_ctrl_limit),
            upper_ctrl_limit: Some(m.upper_ctrl_limit),
            precision: m.precision,
            enum_strs: m.enum_strs,
            ..DataKey::new(self.source.clone(), T::DTYPE, shape)
        }
    }

    fn subscribe(&self, callback: impl Fn(&T, f64) + Send + Sync + 'static) -> Result<Subscription> {
        let channel = self.read_channel()?;
        channel
            .subscribe(Arc::new(move |r: &PvReading| {
                if let Some(v) = T::from_value(&r.value) {
                    callback(&v, r.timestamp)
                }
            }))
            .map_err(|e| self.pv_error(&self.read_pv, e, Action::Get))
    }

    /// An enum label becomes its index (as the PV reads back), from the
    /// enum strings; text stays text (a `String` signal reads an enum's
    /// label back).
    async fn normalize(&self, value: T) -> Result<T> {
        if T::DTYPE == Dtype::String {
            return Ok(value);
        }
        let ophyd_core::Value::String(label) = value.to_value() else { return Ok(value) };
        let Some(strings) = self.metadata().await?.enum_strs else { return Ok(value) };
        let index = enum_index(&label, &strings).map_err(|e| Error::NotSent {
            signal: self.name(),
            pv: self.write_pv.clone(),
            value: format!("{label:?}"),
            reason: e.to_string(),
        })?;
        T::from_value(&ophyd_core::Value::Int(index as i64)).ok_or_else(|| Error::ValueType {
            signal: self.name(),
            expected: T::TYPE_NAME.to_owned(),
            given: format!("{label:?}"),
        })
    }

    /// ophyd's default: 10^-precision when the PV has a precision.
    async fn tolerance(&self) -> Tolerance {
        if let Some(t) = self.tolerance {
            return t;
        }
        match self.metadata().await.ok().and_then(|m| m.precision) {
            Some(p) if T::DTYPE == Dtype::Number => Tolerance { atol: 10f64.powi(-i32::from(p)), rtol: 0.0 },
            _ => Tolerance::EXACT,
        }
    }

    /// The transport's checks of a write, without writing.
    fn check_put(&self, value: &T) -> Result<()> {
        let Ok(channel) = self.write_channel() else { return Ok(()) };
        let value = value.to_value();
        let write = Write {
            signal: self.name(),
            pv: self.write_pv.clone(),
            put_complete: false,
            completion_timeout: None,
            tokio_clock: false,
        };
        channel.check_put(&value).map_err(|e| write.error(&value, e, false))
    }

    /// An enum label is checked against the enum strings and written as
    /// its index, so an unknown label is an error here (a plain put the IOC
    /// refuses later could not be reported).
    fn set(&self, value: T, completion_timeout: Option<Duration>) -> Status {
        let value = value.to_value();
        let write = Write {
            signal: self.name(),
            pv: self.write_pv.clone(),
            put_complete: self.put_complete,
            completion_timeout,
            tokio_clock: self.tokio_clock.load(Ordering::Relaxed),
        };
        let status = Status::new(format!("put of {value} to `{}` ({})", write.signal, write.pv));
        let channel = match self.write_channel() {
            Ok(c) => c,
            Err(e) => {
                status.set_exception(e);
                return status;
            }
        };
        let label = match &value {
            ophyd_core::Value::String(label) if channel.info().native == NativeType::Enum => label.clone(),
            _ => {
                // Issued now, so writes happen in the order they were asked
                // for; the transport finishes the status when it is done.
                write.issue(&*channel, value, &status);
                return status;
            }
        };
        let read = self.live_read_channel();
        let kept = read.as_ref().ok().and_then(|channel| self.kept_metadata(&**channel));
        let slot = self.metadata.clone();
        let what = status.what().to_owned();
        Status::from_future(what, async move {
            let m = match kept {
                Some(m) => m,
                None => {
                    let read = read?;
                    let connection = read.connections();
                    let m = read.metadata().await.map_err(|e| write.error(&value, e, false))?;
                    store(&slot, Some((connection, m.clone())));
                    m
                }
            };
            let strings = m.enum_strs.unwrap_or_default();
            let index = enum_index(&label, &strings).map_err(|e| write.error(&value, e, false))?;
            write.issue(&*channel, ophyd_core::Value::Int(index as i64), &status);
            status.await
        })
    }
}

/// The index of enum `label` among the PV's `strings`.
fn enum_index(label: &str, strings: &[String]) -> std::result::Result<usize, PvError> {
    strings
        .iter()
        .position(|s| s == label)
        .ok_or_else(|| PvError::BadValue(format!("not one of the PV's enum strings {strings:?}")))
}

/// A reading of [`PvCore::request_reading`].
enum Requested {
    /// The value a monitor brought.
    Kept(PvReading),
    /// The reply to a get issued to the IOC.
    Issued(BoxFuture<'static, std::result::Result<PvReading, PvError>>),
}

fn as_reading(r: PvReading) -> Reading {
    Reading { value: r.value, timestamp: r.timestamp, alarm_severity: Some(r.severity) }
}

/// One write of a signal: who it is for, and how to report its outcome.
struct Write {
    signal: String,
    pv: String,
    put_complete: bool,
    completion_timeout: Option<Duration>,
    /// Whether the completion timeout runs on tokio's clock.
    tokio_clock: bool,
}

impl Write {
    /// The error for a transport failure; `sent` says whether the request
    /// had left the client (then the IOC may have taken the value).
    fn error(&self, value: &ophyd_core::Value, e: PvError, sent: bool) -> Error {
        let (signal, pv) = (self.signal.clone(), self.pv.clone());
        match e {
            PvError::Disconnected => Error::Disconnected { signal, pv },
            e if sent => Error::Put { signal, pv, value: value.to_string(), reason: e.to_string() },
            e => Error::NotSent { signal, pv, value: value.to_string(), reason: e.to_string() },
        }
    }

    /// Issue the write and finish `status` with its outcome: at once if it
    /// cannot be sent, when the transport reports back otherwise, with an
    /// error if the transport drops the write without reporting (its
    /// channel was closed), and, for a put-complete write, with a timeout
    /// error if the IOC does not complete it in time.
    fn issue(self, channel: &dyn PvChannel, value: ophyd_core::Value, status: &Status) {
        let (put_complete, completion_timeout, tokio_clock) =
            (self.put_complete, self.completion_timeout, self.tokio_clock);
        // One allocation for everything the outcome needs; error texts are
        // made only on failure (this is the trigger path).
        let write = Arc::new(InFlight { write: self, value, status: status.clone(), issued: AtomicU8::new(ISSUING) });
        let guard = AbandonGuard(write.clone());
        let done = Box::new(move |outcome: std::result::Result<(), PvError>| {
            let write = &guard.0;
            write.status.finish(outcome.map_err(|e| write.write.error(&write.value, e, true)));
        });
        match channel.put_then(write.value.clone(), put_complete, done) {
            Err(e) => {
                write.issued.store(REFUSED, Ordering::SeqCst);
                status.set_exception(write.write.error(&write.value, e, false));
            }
            Ok(()) => {
                // `done` dropped while the write was being issued: abandoned.
                if write.issued.swap(ISSUED, Ordering::SeqCst) == DROPPED {
                    write.abandon();
                }
                if let (true, Some(after)) = (put_complete, completion_timeout) {
                    if tokio_clock {
                        fail_on_tokio_clock(status, after);
                    } else {
                        status.fail_after(after);
                    }
                }
            }
        }
    }
}

/// [`Status::fail_after`], measured on tokio's clock by a timer task that
/// ends when the status does (outside a tokio runtime: in real time).
fn fail_on_tokio_clock(status: &Status, after: Duration) {
    if tokio::runtime::Handle::try_current().is_err() {
        return status.fail_after(after);
    }
    let expiring = status.clone();
    let timer = tokio::spawn(async move {
        tokio::time::sleep(after).await;
        expiring.set_exception(Error::Timeout { what: expiring.what().to_owned(), after });
    });
    status.add_callback(move |_| timer.abort());
}

const ISSUING: u8 = 0;
const ISSUED: u8 = 1;
const REFUSED: u8 = 2;
const DROPPED: u8 = 3;

/// A write that has been handed to the transport: what its outcome is
/// reported with.
struct InFlight {
    write: Write,
    value: ophyd_core::Value,
    status: Status,
    issued: AtomicU8,
}

impl InFlight {
    /// The transport dropped the write's completion callback uncalled.
    fn abandon(&self) {
        if !self.status.done() {
            let closed =
                PvError::Other("the write was abandoned before the IOC replied (its channel was closed)".into());
            self.status.set_exception(self.write.error(&self.value, closed, true));
        }
    }
}

/// Lives in the completion callback: its drop with the status not done
/// means the transport abandoned the write.
struct AbandonGuard(Arc<InFlight>);

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        match self.0.issued.compare_exchange(ISSUING, DROPPED, Ordering::SeqCst, Ordering::SeqCst) {
            // Refused before sending: the caller reports that.
            Ok(_) => {}
            Err(REFUSED) => {}
            Err(_) => self.0.abandon(),
        }
    }
}

enum Action {
    Get,
    Connect,
}

macro_rules! pv_signal {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> ophyd_core::Signal for $ty {
            type Value = T;

            fn signal_meta(&self) -> &SignalMeta {
                &self.core.meta
            }

            fn source_name(&self) -> &str {
                &self.core.source
            }

            fn get(&self) -> impl std::future::Future<Output = Result<T>> + Send {
                self.core.get()
            }

            fn subscribe(&self, callback: impl Fn(&T, f64) + Send + Sync + 'static) -> Result<Subscription> {
                self.core.subscribe(callback)
            }

            fn normalize(&self, value: T) -> impl std::future::Future<Output = Result<T>> + Send {
                self.core.normalize(value)
            }
        }

        impl<$($generics)*> ophyd_core::Component for $ty {
            fn build(spec: &ComponentSpec<'_>) -> Self {
                Self::from_spec(spec)
            }

            fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
                self.core.read_into(out)
            }

            fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
                self.core.describe_into(out)
            }

            fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
                self.core.read_into(out)
            }

            fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
                self.core.describe_into(out)
            }

            fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
                self.core.collect_connects(ctx, out)
            }
        }

        impl<$($generics)*> PvSignal for $ty {
            type Value = T;

            fn pvs(&self) -> SignalPvs<'_> {
                self.core.pvs()
            }
        }

        impl<$($generics)*> $ty {
            /// Whether the signal is connected.
            pub fn connected(&self) -> bool {
                self.core.connected()
            }

            /// The read PV's connection as it is now, to check later
            /// without the signal; an error if it is down now.
            pub(crate) fn watch_connection(&self) -> Result<ConnectionWatch> {
                self.core.watch_connection()
            }

            /// The PV read from.
            pub fn read_pv(&self) -> &str {
                &self.core.read_pv
            }

            /// The read PV's control metadata (read from the PV once per
            /// connection, then kept).
            pub async fn metadata(&self) -> Result<PvMetadata> {
                self.core.metadata().await
            }

            /// Whether reads come from a monitor of the PV, without a round
            /// trip: as the signal says, else as its nearest device that says
            /// ([`DeviceMeta::set_auto_monitor`](ophyd_core::DeviceMeta::set_auto_monitor)),
            /// else as the transport it was connected through says
            /// ([`Transport::with_auto_monitor`]).
            pub fn auto_monitor(&self) -> bool {
                self.core.monitored()
            }

            /// Choose monitored reads for this signal (ophyd's
            /// `auto_monitor`); `None` leaves the choice to its device or
            /// transport. A monitored signal's `read()` and `get()` return
            /// the latest value the IOC sent, with the IOC's timestamp and
            /// alarm severity. They never serve it stale: while the PV is
            /// disconnected they fail naming it, and after a reconnection
            /// they serve what the IOC sends on the new connection (until it
            /// comes, they read from the IOC).
            ///
            /// ```
            /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
            /// # use ophyd_core::prelude::*;
            /// # use ophyd_epics::{sim::SimIoc, EpicsSignalRO};
            /// # let ioc = SimIoc::trigger_with_pc("tpc:");
            /// let reading = EpicsSignalRO::<f64>::new("tpc:reading", "reading");
            /// reading.set_auto_monitor(Some(true));
            /// reading.connect(&ioc.transport()).await?;
            /// ioc.write("tpc:reading", 4.0);
            /// assert_eq!(reading.get().await?, 4.0); // from the monitor
            /// # Ok(()) }
            /// ```
            pub fn set_auto_monitor(&self, auto_monitor: Option<bool>) {
                self.core.auto_monitor.set(auto_monitor);
            }

            /// Read the value, as `get` does, with the request issued now
            /// and a future that borrows nothing: for a [`Status`] whose
            /// task needs the value (a trigger's timeout made of the
            /// exposure time), or a read awaited after the signal is gone.
            ///
            /// ```
            /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
            /// # use ophyd_epics::{sim::SimIoc, EpicsSignal};
            /// # let ioc = SimIoc::trigger_with_pc("tpc:");
            /// let gain = EpicsSignal::<f64>::new("tpc:gain", "gain");
            /// gain.connect(&ioc.transport()).await?;
            /// let reply = gain.get_detached(); // asked for now
            /// drop(gain);
            /// assert_eq!(reply.await?, 2.0);
            /// # Ok(()) }
            /// ```
            pub fn get_detached(&self) -> BoxFuture<'static, Result<T>> {
                self.core.get_detached()
            }

            /// Connect this signal alone (devices connect all their signals
            /// at once with `Device::connect`).
            pub async fn connect(&self, transport: &Transport) -> Result<()> {
                self.core.connect(transport).await
            }
        }
    };
}

/// A read/write EPICS signal holding `T`, reading back from the PV it
/// writes, or, with `L = Rbv`, from `<PV>_RBV`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_epics::{sim::SimIoc, EpicsSignal};
/// let ioc = SimIoc::trigger_with_pc("trigger_with_pc:");
/// let gain = EpicsSignal::<f64>::new("trigger_with_pc:gain", "gain");
/// gain.connect(&ioc.transport()).await?;
/// set_and_wait(&gain, 3.0).await?;
/// assert_eq!(gain.get().await?, 3.0);
/// # Ok(()) }
/// ```
pub struct EpicsSignal<T, L: PvLayout = SamePv> {
    /// Boxed: devices are built by value, field by field, so a signal's
    /// size is paid in every move of every device that holds it; unboxed,
    /// a tree of 10,000 signals is 2.5 MB by value, more than a thread's
    /// stack.
    core: Box<PvCore<T>>,
    _layout: PhantomData<L>,
}

/// An [`EpicsSignal`] that reads back from `<PV>_RBV`.
pub type EpicsSignalWithRbv<T> = EpicsSignal<T, Rbv>;

impl<T: EpicsValue, L: PvLayout> EpicsSignal<T, L> {
    /// A standalone signal on `pv` (read back per `L`), named `name`.
    pub fn new(pv: &str, name: &str) -> Self {
        Self::with_pvs(&L::read_pv(pv), pv, name)
    }

    /// A standalone signal that reads `read_pv` and writes `write_pv`.
    pub fn with_pvs(read_pv: &str, write_pv: &str, name: &str) -> Self {
        EpicsSignal {
            core: Box::new(PvCore::new(
                SignalMeta::standalone(name),
                read_pv.to_owned(),
                write_pv.to_owned(),
                true,
                false,
            )),
            _layout: PhantomData,
        }
    }

    fn from_spec(spec: &ComponentSpec<'_>) -> Self {
        let write_pv = spec.pv_name();
        EpicsSignal {
            core: Box::new(PvCore::new(
                SignalMeta::from_spec(spec),
                L::read_pv(&write_pv),
                write_pv,
                true,
                spec.put_complete,
            )),
            _layout: PhantomData,
        }
    }

    /// Make writes wait for the IOC's completion (EPICS put-callback).
    pub fn with_put_complete(mut self, put_complete: bool) -> Self {
        self.core.put_complete = put_complete;
        self
    }

    /// Set the tolerance `set_and_wait` uses (default: 10^-precision).
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Self {
        self.core.tolerance = Some(tolerance);
        self
    }

    /// The PV written to.
    pub fn write_pv(&self) -> &str {
        &self.core.write_pv
    }

    /// Whether writes wait for completion.
    pub fn put_complete(&self) -> bool {
        self.core.put_complete
    }

    /// How long a put-complete write may take before its Status fails with
    /// a timeout ([`DEFAULT_COMPLETION_TIMEOUT`] unless changed; `None`:
    /// forever).
    pub fn completion_timeout(&self) -> Option<Duration> {
        match self.core.completion_timeout_ms.load(Ordering::Relaxed) {
            NO_TIMEOUT => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Change how long put-complete writes may take (`None`: forever).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let acquire = ophyd_epics::EpicsSignal::<f64>::new("det:acquire", "acquire").with_put_complete(true);
    /// acquire.set_completion_timeout(Some(Duration::from_secs(600))); // long exposures
    /// assert_eq!(acquire.completion_timeout(), Some(Duration::from_secs(600)));
    /// ```
    pub fn set_completion_timeout(&self, timeout: Option<Duration>) {
        self.core.completion_timeout_ms.store(millis(timeout), Ordering::Relaxed);
    }

    /// Start writing `value`, with a completion timeout for this write alone
    /// (see [`EpicsSignal::set_completion_timeout`]).
    pub fn set_with_timeout(&self, value: impl Into<T>, timeout: Option<Duration>) -> Status {
        self.core.set(value.into(), timeout)
    }
}

pv_signal!([T: EpicsValue, L: PvLayout] EpicsSignal<T, L>);
ophyd_core::impl_signal_component!([T: EpicsValue, L: PvLayout] EpicsSignal<T, L>, writable = true);

impl<T: EpicsValue, L: PvLayout> ophyd_core::Writable for EpicsSignal<T, L> {
    fn set(&self, value: impl Into<T>) -> Status {
        self.core.set(value.into(), self.completion_timeout())
    }

    fn tolerance(&self) -> impl std::future::Future<Output = Tolerance> + Send {
        self.core.tolerance()
    }

    fn check_put(&self, value: &T) -> Result<()> {
        self.core.check_put(value)
    }
}

/// A read-only EPICS signal: it has no `put` or `set`, so writing it does
/// not compile.
pub struct EpicsSignalRO<T> {
    /// Boxed, as [`EpicsSignal`]'s.
    core: Box<PvCore<T>>,
}

impl<T: EpicsValue> EpicsSignalRO<T> {
    /// A standalone read-only signal on `pv`, named `name`.
    pub fn new(pv: &str, name: &str) -> Self {
        EpicsSignalRO {
            core: Box::new(PvCore::new(SignalMeta::standalone(name), pv.to_owned(), pv.to_owned(), false, false)),
        }
    }

    fn from_spec(spec: &ComponentSpec<'_>) -> Self {
        let pv = spec.pv_name();
        EpicsSignalRO { core: Box::new(PvCore::new(SignalMeta::from_spec(spec), pv.clone(), pv, false, false)) }
    }
}

pv_signal!([T: EpicsValue] EpicsSignalRO<T>);
ophyd_core::impl_signal_component!([T: EpicsValue] EpicsSignalRO<T>, writable = false);
