//! The simulated IOC: an in-process PV database with EPICS semantics — typed
//! values with conversion on write, enum strings, units, precision and
//! limits, timestamps, alarm severities, access rights, put-completion
//! handlers and monitors. It is the embedded default transport: examples and
//! most tests run on it with nothing installed.
//!
//! Declare PVs with [`PvSpec`] and [`SimIoc::add`]; [`PvSpec::busy`] makes a
//! put-complete PV that finishes after a [`Delay`], and
//! [`SimIoc::add_with_rbv`] a setpoint with its `_RBV` read-back. A PV the
//! IOC does not have fails to connect at once, naming the nearest it has.
//! To test a device without declaring its PVs, let the [mock
//! IOC](crate::mock::MockIoc), built on this one, make them.

mod motor;
mod pvs;
mod tutorial;
mod unknown;

pub use motor::SimMotor;
pub use pvs::Delay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::__private::lock;
use ophyd_core::{now, Subscription, Value};

use crate::transport::{
    NativeType, PutDone, PvCallback, PvChannel, PvError, PvInfo, PvMetadata, PvReading, PvTransport, Transport,
};

/// What a put handler decides about a client's write.
pub enum PutAction {
    /// Refuse the write, with the reason the client sees (the PV keeps its value).
    Refuse(String),
    /// Write `value`; the put completes when `completion` (if any) resolves.
    Write {
        /// The value stored (usually the one put).
        value: Value,
        /// Processing that must finish before the put completes; an `Err`
        /// fails the client's put-callback with its message.
        completion: Option<BoxFuture<'static, Result<(), String>>>,
    },
}

impl PutAction {
    /// Store the value as put and complete at once.
    pub fn accept(value: &Value) -> PutAction {
        PutAction::Write { value: value.clone(), completion: None }
    }
}

/// Decides what a client's write does: `(ioc, value already converted to
/// the PV's type) -> action`.
pub type PutHandler = Arc<dyn Fn(&SimIoc, &Value) -> PutAction + Send + Sync>;

/// How to create one simulated PV.
///
/// ```
/// use ophyd_epics::sim::{PvSpec, SimIoc};
/// let ioc = SimIoc::new();
/// ioc.add(PvSpec::double("m1:position", 0.0).units("mm").precision(3).limits(-10.0, 10.0));
/// ioc.add(PvSpec::enumeration("m1:enabled", &["off", "on"], 1));
/// assert_eq!(ioc.get("m1:enabled"), Some(ophyd_core::Value::Int(1)));
/// ```
#[derive(Clone)]
pub struct PvSpec {
    name: String,
    info: PvInfo,
    value: Value,
    metadata: PvMetadata,
    writable: bool,
    on_put: Option<PutHandler>,
}

impl PvSpec {
    pub(crate) fn new(name: &str, native: NativeType, count: usize, value: Value, metadata: PvMetadata) -> PvSpec {
        PvSpec { name: name.to_owned(), info: PvInfo { native, count }, value, metadata, writable: true, on_put: None }
    }

    /// A double PV (units `""`, precision 0, limits 0/0 until set, as a
    /// caproto `pvproperty` reports).
    pub fn double(name: &str, value: f64) -> PvSpec {
        let metadata = PvMetadata {
            units: Some(String::new()),
            precision: Some(0),
            lower_ctrl_limit: Some(Value::Float(0.0)),
            upper_ctrl_limit: Some(Value::Float(0.0)),
            enum_strs: None,
        };
        PvSpec::new(name, NativeType::Double, 1, Value::Float(value), metadata)
    }

    /// A 32-bit integer PV.
    pub fn long(name: &str, value: i32) -> PvSpec {
        let metadata = PvMetadata {
            units: Some(String::new()),
            precision: None,
            lower_ctrl_limit: Some(Value::Int(0)),
            upper_ctrl_limit: Some(Value::Int(0)),
            enum_strs: None,
        };
        PvSpec::new(name, NativeType::Long, 1, Value::Int(value.into()), metadata)
    }

    /// An enum PV with `strings`, at index `index`. With no strings it
    /// takes the indexes 0 to 15, as an `mbbo` record whose states are not
    /// named.
    pub fn enumeration(name: &str, strings: &[&str], index: u16) -> PvSpec {
        let metadata =
            PvMetadata { enum_strs: Some(strings.iter().map(|s| s.to_string()).collect()), ..PvMetadata::default() };
        PvSpec::new(name, NativeType::Enum, 1, Value::Int(index.into()), metadata)
    }

    /// A string PV.
    pub fn string(name: &str, value: &str) -> PvSpec {
        PvSpec::new(name, NativeType::String, 1, Value::String(value.to_owned()), PvMetadata::default())
    }

    /// A waveform of doubles with room for `capacity` elements.
    pub fn waveform(name: &str, value: Vec<f64>, capacity: usize) -> PvSpec {
        let metadata = PvMetadata { precision: Some(0), ..PvSpec::double(name, 0.0).metadata };
        PvSpec::new(name, NativeType::Double, capacity.max(1), Value::FloatArray(value), metadata)
    }

    /// A long string: a CHAR array with room for `capacity` bytes, holding
    /// `text` and its terminating NUL, as areaDetector's file paths and
    /// names are (waveform records of FTVL `CHAR`). An
    /// `EpicsSignal<String>` reads and writes it as text; the IOC itself
    /// writes text into it with [`SimIoc::write`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{sim::{PvSpec, SimIoc}, EpicsSignal};
    /// let ioc = SimIoc::new();
    /// ioc.add(PvSpec::long_string("HDF1:FilePath", "/data/", 256));
    /// let path = EpicsSignal::<String>::new("HDF1:FilePath", "file_path");
    /// path.connect(&ioc.transport()).await?;
    /// assert_eq!(path.get().await?, "/data/");
    /// path.put("/data/2024/".to_owned()).await?; // longer than a STRING's 39 bytes is fine too
    /// assert_eq!(ioc.get_text("HDF1:FilePath").as_deref(), Some("/data/2024/"));
    /// # Ok(()) }
    /// ```
    pub fn long_string(name: &str, text: &str, capacity: usize) -> PvSpec {
        let spec = PvSpec::int_waveform(name, NativeType::Char, Vec::new(), capacity.max(2));
        let value = text_bytes(text, spec.info.count);
        PvSpec { value, ..spec }
    }

    /// An array of integers of `native` type (`Long`, `Short` or `Char`)
    /// with room for `capacity` elements, holding `value`.
    ///
    /// # Panics
    /// If `native` is not an integer type: that is a bug in the simulation.
    pub fn int_waveform(name: &str, native: NativeType, value: Vec<i64>, capacity: usize) -> PvSpec {
        assert!(
            matches!(native, NativeType::Long | NativeType::Short | NativeType::Char),
            "an integer waveform holds LONG, SHORT or CHAR elements, not {native}"
        );
        let metadata = PvSpec::long(name, 0).metadata;
        PvSpec::new(name, native, capacity.max(1), Value::IntArray(value), metadata)
    }

    /// Engineering units.
    pub fn units(mut self, units: &str) -> PvSpec {
        self.metadata.units = Some(units.to_owned());
        self
    }

    /// Display precision.
    pub fn precision(mut self, precision: i16) -> PvSpec {
        self.metadata.precision = Some(precision);
        self
    }

    /// Control limits; writes outside them are clamped, as EPICS records do.
    pub fn limits(mut self, low: f64, high: f64) -> PvSpec {
        let as_value = |x: f64| if self.info.native.is_integer() { Value::Int(x as i64) } else { Value::Float(x) };
        self.metadata.lower_ctrl_limit = Some(as_value(low));
        self.metadata.upper_ctrl_limit = Some(as_value(high));
        self
    }

    /// Refuse client writes (as EPICS access security does).
    pub fn read_only(mut self) -> PvSpec {
        self.writable = false;
        self
    }

    /// Decide what client writes do (validation, processing, put-completion).
    pub fn on_put(mut self, handler: impl Fn(&SimIoc, &Value) -> PutAction + Send + Sync + 'static) -> PvSpec {
        self.on_put = Some(Arc::new(handler));
        self
    }
}

/// `text` as a CHAR array of `capacity` holds it: its bytes (cut to fit,
/// as a driver copying a C string does) and a NUL.
fn text_bytes(text: &str, capacity: usize) -> Value {
    let mut bytes = crate::signal::text::encode_text(text);
    bytes.truncate(capacity.saturating_sub(1));
    bytes.push(0);
    Value::IntArray(bytes.into_iter().map(i64::from).collect())
}

struct PvState {
    value: Value,
    timestamp: f64,
    severity: i32,
}

/// The states of an enum PV with no strings: an `mbbo` record's 16.
const UNNAMED_ENUM_STATES: usize = 16;

struct SimPv {
    name: String,
    info: PvInfo,
    metadata: Mutex<PvMetadata>,
    state: Mutex<PvState>,
    subscribers: Mutex<Vec<(u64, PvCallback)>>,
    next_subscriber: AtomicU64,
    writable: AtomicBool,
    connected: AtomicBool,
    /// How many times the PV has come on the network (see
    /// [`PvChannel::connections`]).
    connections: AtomicU64,
    on_put: Mutex<Option<PutHandler>>,
}

impl SimPv {
    fn reading(&self) -> PvReading {
        let s = lock(&self.state);
        PvReading { value: s.value.clone(), timestamp: s.timestamp, severity: s.severity }
    }

    /// Store a value (already converted) and post it to the monitors.
    fn store(&self, value: Value, severity: i32) {
        let reading = {
            let mut s = lock(&self.state);
            *s = PvState { value, timestamp: now(), severity };
            PvReading { value: s.value.clone(), timestamp: s.timestamp, severity }
        };
        self.post(&reading);
    }

    fn post(&self, reading: &PvReading) {
        let subscribers: Vec<PvCallback> = lock(&self.subscribers).iter().map(|(_, c)| c.clone()).collect();
        for cb in subscribers {
            cb(reading);
        }
    }

    /// `value` as the IOC itself writes it: text into a CHAR array as its
    /// bytes and a NUL (clients write the bytes).
    fn inside(&self, value: Value) -> Value {
        match value {
            Value::String(text) if self.info.native == NativeType::Char && self.info.count > 1 => {
                text_bytes(&text, self.info.count)
            }
            other => other,
        }
    }

    /// What a client's write of `value` would store, or why it would not
    /// get through: the checks a CA client makes before sending.
    fn check_put(&self, value: &Value) -> Result<Value, PvError> {
        if !self.connected.load(Ordering::SeqCst) {
            return Err(PvError::Disconnected);
        }
        if !self.writable.load(Ordering::SeqCst) {
            return Err(PvError::Refused("no write access".into()));
        }
        self.convert(value).map_err(PvError::BadValue)
    }

    /// Convert a client's value to this PV's type, as an IOC does on a put.
    fn convert(&self, value: &Value) -> Result<Value, String> {
        let native = self.info.native;
        let metadata = lock(&self.metadata);
        let strings = metadata.enum_strs.as_deref().unwrap_or_default();
        let scalar = |v: &Value| -> Result<Value, String> {
            match (native, v) {
                (NativeType::String, v) => Ok(Value::String(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                (NativeType::Enum, Value::String(label)) => strings
                    .iter()
                    .position(|s| s == label)
                    .map(|i| Value::Int(i as i64))
                    .ok_or_else(|| format!("{label:?} is not one of the enum strings {strings:?}")),
                (NativeType::Enum, v) => {
                    let states = if strings.is_empty() { UNNAMED_ENUM_STATES } else { strings.len() };
                    match v.as_f64() {
                        Some(i) if i >= 0.0 && (i as usize) < states => Ok(Value::Int(i as i64)),
                        _ if strings.is_empty() => Err(format!(
                            "enum index {v} is out of range: the PV has no strings, and takes 0 to {}",
                            UNNAMED_ENUM_STATES - 1
                        )),
                        _ => Err(format!("enum index {v} is out of range: the PV has {} strings", strings.len())),
                    }
                }
                (n, Value::String(s)) => {
                    let x: f64 = s.trim().parse().map_err(|_| format!("cannot convert {s:?} to a number"))?;
                    Ok(clamp(&metadata, n, x))
                }
                (n, v) => match v.as_f64() {
                    Some(x) => Ok(clamp(&metadata, n, x)),
                    None => Err(format!("cannot write {} {v} to a scalar PV", v.type_name())),
                },
            }
        };
        if self.info.count == 1 {
            return scalar(value);
        }
        let elements: Vec<Value> = match value {
            Value::FloatArray(v) => v.iter().map(|x| Value::Float(*x)).collect(),
            Value::IntArray(v) => v.iter().map(|x| Value::Int(*x)).collect(),
            Value::StringArray(v) => v.iter().map(|x| Value::String(x.clone())).collect(),
            scalar_value => vec![scalar_value.clone()],
        };
        if elements.len() > self.info.count {
            return Err(format!("{} elements do not fit in a waveform of {}", elements.len(), self.info.count));
        }
        let converted = elements.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
        Ok(match native {
            NativeType::String => Value::StringArray(
                converted.into_iter().map(|v| if let Value::String(s) = v { s } else { String::new() }).collect(),
            ),
            NativeType::Double | NativeType::Float => {
                Value::FloatArray(converted.iter().filter_map(Value::as_f64).collect())
            }
            _ => Value::IntArray(converted.iter().filter_map(Value::as_f64).map(|x| x as i64).collect()),
        })
    }
}

/// `x` within the control limits of `metadata`, as a value of `native` type.
fn clamp(metadata: &PvMetadata, native: NativeType, x: f64) -> Value {
    let (lo, hi) = (
        metadata.lower_ctrl_limit.as_ref().and_then(Value::as_f64),
        metadata.upper_ctrl_limit.as_ref().and_then(Value::as_f64),
    );
    let x = match (lo, hi) {
        (Some(lo), Some(hi)) if lo < hi => x.clamp(lo, hi),
        _ => x,
    };
    match native {
        NativeType::Double | NativeType::Float => Value::Float(x),
        _ => Value::Int(x.round() as i64),
    }
}

struct Db {
    pvs: RwLock<HashMap<String, Arc<SimPv>>>,
    changed: tokio::sync::Notify,
}

/// A simulated IOC. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct SimIoc {
    db: Arc<Db>,
}

impl Default for SimIoc {
    fn default() -> Self {
        SimIoc::new()
    }
}

impl SimIoc {
    /// An IOC with no PVs.
    pub fn new() -> SimIoc {
        SimIoc { db: Arc::new(Db { pvs: RwLock::new(HashMap::new()), changed: tokio::sync::Notify::new() }) }
    }

    /// Add (or replace) a PV.
    pub fn add(&self, spec: PvSpec) -> &SimIoc {
        let pv = Arc::new(SimPv {
            name: spec.name.clone(),
            info: spec.info,
            metadata: Mutex::new(spec.metadata),
            state: Mutex::new(PvState { value: spec.value, timestamp: now(), severity: 0 }),
            subscribers: Mutex::new(Vec::new()),
            next_subscriber: AtomicU64::new(0),
            writable: AtomicBool::new(spec.writable),
            connected: AtomicBool::new(true),
            connections: AtomicU64::new(1),
            on_put: Mutex::new(spec.on_put),
        });
        self.db.pvs.write().unwrap_or_else(|p| p.into_inner()).insert(spec.name, pv);
        self.db.changed.notify_waiters();
        self
    }

    /// A transport that reaches this IOC's PVs.
    pub fn transport(&self) -> Transport {
        Transport::new(SimTransport { ioc: self.clone() })
    }

    fn pv(&self, name: &str) -> Option<Arc<SimPv>> {
        self.db.pvs.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    fn expect_pv(&self, name: &str) -> Arc<SimPv> {
        self.pv(name).unwrap_or_else(|| panic!("the simulated IOC has no PV {name:?}"))
    }

    /// The names of all PVs, sorted.
    pub fn pv_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.db.pvs.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort();
        names
    }

    /// The current value of `pv`, as the IOC holds it.
    pub fn get(&self, pv: &str) -> Option<Value> {
        self.pv(pv).map(|p| p.reading().value)
    }

    /// The current value of `pv` as a float (numbers and enum indexes).
    pub fn get_f64(&self, pv: &str) -> Option<f64> {
        self.get(pv).as_ref().and_then(Value::as_f64)
    }

    /// Write `value` from inside the IOC (no access check, no put handler),
    /// converting it to the PV's type and posting monitors.
    ///
    /// # Panics
    /// If there is no such PV or the value does not convert: that is a bug
    /// in the simulation, not a client error.
    /// Text written to a CHAR array (a [long string](PvSpec::long_string))
    /// becomes its bytes and a NUL.
    pub fn write(&self, pv: &str, value: impl Into<Value>) {
        let p = self.expect_pv(pv);
        let v = p.convert(&p.inside(value.into())).unwrap_or_else(|e| panic!("simulated write to {pv}: {e}"));
        p.store(v, 0);
    }

    /// The text `pv` holds: a STRING's value, or a CHAR array's bytes up to
    /// the first NUL; `None` for other PVs, or if there is no such PV.
    pub fn get_text(&self, pv: &str) -> Option<String> {
        match self.get(pv)? {
            Value::String(text) => Some(text),
            Value::IntArray(bytes) if self.pv(pv)?.info.native == NativeType::Char => {
                let bytes: Vec<u8> = bytes.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect();
                Some(crate::signal::text::decode_text(&bytes))
            }
            _ => None,
        }
    }

    /// [`SimIoc::write`], or why `value` does not convert to `pv`'s type.
    pub(crate) fn try_write(&self, pv: &str, value: &Value) -> Result<(), String> {
        let p = self.pv(pv).ok_or_else(|| format!("the simulated IOC has no PV {pv:?}"))?;
        p.store(p.convert(&p.inside(value.clone()))?, 0);
        Ok(())
    }

    /// Set the alarm severity of `pv`, posting monitors.
    pub fn set_severity(&self, pv: &str, severity: i32) {
        let p = self.expect_pv(pv);
        let reading = {
            let mut s = lock(&p.state);
            s.severity = severity;
            PvReading { value: s.value.clone(), timestamp: s.timestamp, severity }
        };
        p.post(&reading);
    }

    /// Take `pv` off the network (operations fail with "disconnected") or
    /// bring it back (waiting connects then succeed, and, as Channel Access
    /// does on a reconnection, every subscription gets the current value).
    pub fn set_connected(&self, pv: &str, connected: bool) {
        let p = self.expect_pv(pv);
        let was = p.connected.swap(connected, Ordering::SeqCst);
        if connected && !was {
            p.connections.fetch_add(1, Ordering::SeqCst);
            p.post(&p.reading());
        }
        self.db.changed.notify_waiters();
    }

    /// The control metadata of `pv` (units, precision, limits, enum strings).
    pub fn metadata(&self, pv: &str) -> Option<PvMetadata> {
        self.pv(pv).map(|p| lock(&p.metadata).clone())
    }

    /// Change the control metadata of `pv`, as redefining its record and
    /// restarting the IOC would: clients see a reconnection, so what they
    /// kept about the PV (its metadata, a monitored value) is read afresh,
    /// and every subscription gets the current value.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{sim::{PvSpec, SimIoc}, EpicsSignal};
    /// let ioc = SimIoc::new();
    /// ioc.add(PvSpec::double("m1:velocity", 1.0).units("mm/s"));
    /// let velocity = EpicsSignal::<f64>::new("m1:velocity", "velocity");
    /// velocity.connect(&ioc.transport()).await?;
    /// let mut metadata = ioc.metadata("m1:velocity").unwrap();
    /// metadata.units = Some("deg/s".into());
    /// ioc.set_metadata("m1:velocity", metadata);
    /// assert_eq!(velocity.metadata().await?.units.as_deref(), Some("deg/s"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// If there is no such PV.
    pub fn set_metadata(&self, pv: &str, metadata: PvMetadata) {
        let p = self.expect_pv(pv);
        *lock(&p.metadata) = metadata;
        if p.connected.load(Ordering::SeqCst) {
            p.connections.fetch_add(1, Ordering::SeqCst);
            p.post(&p.reading());
        }
    }

    /// Grant or revoke client write access to `pv`.
    pub fn set_writable(&self, pv: &str, writable: bool) {
        self.expect_pv(pv).writable.store(writable, Ordering::SeqCst);
    }

    /// Replace what client writes to `pv` do.
    pub fn set_put_handler(&self, pv: &str, handler: impl Fn(&SimIoc, &Value) -> PutAction + Send + Sync + 'static) {
        *lock(&self.expect_pv(pv).on_put) = Some(Arc::new(handler));
    }

    /// A client write, as a CA put would arrive. `Err` when it is refused
    /// before it reaches the IOC, as Channel Access's client refuses it
    /// (disconnected, no write access, a value that does not convert);
    /// otherwise what the IOC did with it.
    fn client_put(&self, pv: &Arc<SimPv>, value: &Value) -> Result<Delivered, PvError> {
        let converted = pv.check_put(value)?;
        let handler = lock(&pv.on_put).clone();
        let action = match handler {
            Some(h) => h(self, &converted),
            None => PutAction::accept(&converted),
        };
        Ok(match action {
            PutAction::Refuse(reason) => Delivered::Done(Err(PvError::Refused(reason))),
            PutAction::Write { value, completion } => {
                pv.store(value, 0);
                match completion {
                    Some(completion) => Delivered::Processing(completion),
                    None => Delivered::Done(Ok(())),
                }
            }
        })
    }
}

/// What the simulated IOC did with a write that reached it.
enum Delivered {
    /// Done: taken, or refused by the IOC.
    Done(Result<(), PvError>),
    /// Taken; processing goes on until this resolves.
    Processing(BoxFuture<'static, Result<(), String>>),
}

struct SimTransport {
    ioc: SimIoc,
}

impl PvTransport for SimTransport {
    fn describe(&self) -> String {
        "simulated IOC".into()
    }

    fn connect(&self, pv: &str) -> BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        let ioc = self.ioc.clone();
        let name = pv.to_owned();
        async move {
            // Like a CA search, a PV off the network is waited for; but one
            // the IOC does not have at all fails at once, naming its nearest.
            loop {
                let notified = ioc.db.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let Some(pv) = ioc.pv(&name) else {
                    return Err(unknown::unknown_pv(&name, &ioc.pv_names()));
                };
                if pv.connected.load(Ordering::SeqCst) {
                    return Ok(Arc::new(SimChannel { ioc: ioc.clone(), pv }) as Arc<dyn PvChannel>);
                }
                notified.await;
            }
        }
        .boxed()
    }
}

impl SimIoc {
    /// Wait for `completion` of a put to `pv`, as a client waits for its
    /// put-callback: if the PV leaves the network first, the client hears
    /// of a lost connection at once, while the IOC goes on processing.
    async fn completion_unless_disconnected(
        self,
        pv: Arc<SimPv>,
        mut completion: BoxFuture<'static, Result<(), String>>,
    ) -> Result<(), PvError> {
        loop {
            let changed = self.db.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !pv.connected.load(Ordering::SeqCst) {
                tokio::spawn(completion);
                return Err(PvError::Disconnected);
            }
            tokio::select! {
                outcome = &mut completion => return outcome.map_err(PvError::Refused),
                () = changed => {}
            }
        }
    }
}

struct SimChannel {
    ioc: SimIoc,
    pv: Arc<SimPv>,
}

impl SimChannel {
    fn check(&self) -> Result<(), PvError> {
        if self.pv.connected.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(PvError::Disconnected)
        }
    }
}

impl PvChannel for SimChannel {
    fn pv(&self) -> &str {
        &self.pv.name
    }

    fn info(&self) -> PvInfo {
        self.pv.info
    }

    fn connected(&self) -> bool {
        self.check().is_ok()
    }

    fn connections(&self) -> u64 {
        self.pv.connections.load(Ordering::SeqCst)
    }

    fn get(&self) -> BoxFuture<'static, Result<PvReading, PvError>> {
        let outcome = self.check().map(|()| self.pv.reading());
        std::future::ready(outcome).boxed()
    }

    fn metadata(&self) -> BoxFuture<'static, Result<PvMetadata, PvError>> {
        let outcome = self.check().map(|()| lock(&self.pv.metadata).clone());
        std::future::ready(outcome).boxed()
    }

    fn check_put(&self, value: &Value) -> Result<(), PvError> {
        self.pv.check_put(value).map(drop)
    }

    fn put_then(&self, value: Value, wait_complete: bool, done: PutDone) -> Result<(), PvError> {
        let completion = match self.ioc.client_put(&self.pv, &value)? {
            Delivered::Done(outcome) => {
                done(outcome);
                return Ok(());
            }
            Delivered::Processing(completion) => completion,
        };
        // The IOC finishes processing whether or not the client waits.
        if !wait_complete {
            tokio::spawn(completion);
            done(Ok(()));
            return Ok(());
        }
        let completed = self.ioc.clone().completion_unless_disconnected(self.pv.clone(), completion);
        crate::transport::spawn_then(completed.boxed(), done);
        Ok(())
    }

    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError> {
        self.check()?;
        let id = self.pv.next_subscriber.fetch_add(1, Ordering::Relaxed);
        lock(&self.pv.subscribers).push((id, callback.clone()));
        callback(&self.pv.reading());
        let pv = Arc::downgrade(&self.pv);
        Ok(Subscription::new(move || {
            if let Some(pv) = pv.upgrade() {
                lock(&pv.subscribers).retain(|(i, _)| *i != id);
            }
        }))
    }
}
