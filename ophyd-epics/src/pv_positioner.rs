//! [`PvPositioner`]: a positioner made of PVs a user names (ophyd's
//! `PVPositioner` and its `PVPositionerPC` and `PVPositionerIsClose`
//! variants): a setpoint, a read-back, a done flag, a stop and an actuate
//! command, whatever their suffixes.
//!
//! # Shape
//!
//! ophyd declares one by subclassing, with `setpoint = Cpt(EpicsSignal,
//! ':SP')` and class attributes (`done_value = 1`). Here the user declares
//! the PVs as a `#[derive(Device)]` struct, as for any device, and says in
//! one small impl which fields play which part
//! ([`PvPositionerSignals`]); [`PvPositioner`] wraps that device and makes
//! it move. The wrapper is the device itself (same name, components, data
//! keys and staging, through [`Deref`](std::ops::Deref) its fields), with
//! the move protocol added; it keeps the device behind an `Arc` so that a
//! move in flight can watch its PVs after `move_to` returned.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use ophyd_core::__private::lock;
use ophyd_core::implement::{ConnectCtx, Gather, PendingConnect, SuffixOptional};
use ophyd_core::prelude::*;
use ophyd_core::{
    within_limits, Component, DataKey, DataMap, DeviceMeta, Error, Positioner, Reading, Result, SignalValue,
    Subscription, Tolerance, Value,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::signal::PvLayout;
use crate::{EpicsSignal, EpicsValue};

/// How long a move may take by default before its Status fails with a
/// timeout (as long as a put-complete write may take, see
/// [`DEFAULT_COMPLETION_TIMEOUT`](crate::DEFAULT_COMPLETION_TIMEOUT)).
/// Change it with [`PvPositioner::set_move_timeout`].
pub const DEFAULT_MOVE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a move in flight reads the PV that says it is done (the done
/// PV, or the read-back), besides its monitor: a PV that became unreachable
/// (its IOC died) then fails the move, naming the PV, instead of leaving it
/// to its timeout.
pub const LIVENESS_PROBE: Duration = Duration::from_secs(1);

/// Which fields of a device are a [`PvPositioner`]'s setpoint, read-back,
/// done flag, stop and actuate commands: ophyd's `PVPositioner` class
/// attributes. Implement it for a `#[derive(Device)]` struct of those PVs.
///
/// ```
/// use ophyd_core::prelude::*;
/// use ophyd_epics::{EpicsSignal, EpicsSignalRO, PositionerSignals, PvPositioner, PvPositionerSignals};
///
/// /// ophyd: `setpoint = Cpt(EpicsSignal, ':SP')`, `readback = Cpt(EpicsSignalRO, ':RBV')`,
/// /// `done = Cpt(EpicsSignalRO, ':DONE')`, `done_value = 1`, `stop_signal = Cpt(EpicsSignal, ':STOP')`.
/// #[derive(Device)]
/// struct Heater {
///     #[component(suffix = ":SP")]
///     setpoint: EpicsSignal<f64>,
///     #[component(suffix = ":RBV")]
///     readback: EpicsSignalRO<f64>,
///     #[component(suffix = ":DONE", kind = "omitted")]
///     done: EpicsSignalRO<i32>,
///     #[component(suffix = ":STOP", kind = "omitted")]
///     stop_signal: EpicsSignal<i32>,
/// }
///
/// impl PvPositionerSignals for Heater {
///     fn signals(&self) -> PositionerSignals<'_> {
///         PositionerSignals::new(&self.setpoint)
///             .readback(&self.readback)
///             .done(&self.done, 1)
///             .stop(&self.stop_signal, 1)
///     }
/// }
///
/// let heater = PvPositioner::new(Heater::new("XF:heater", "heater"));
/// ```
pub trait PvPositionerSignals: Device {
    /// The device's positioner parts.
    fn signals(&self) -> PositionerSignals<'_>;
}

/// A [`PvPositioner`]'s parts, as [`PvPositionerSignals::signals`] names
/// them. What says a move is done, in ophyd's terms:
///
/// - a done PV ([`done`](Self::done), `PVPositioner`): done once the
///   setpoint write (and the actuate write) completed, when the done PV
///   has the done value after having left it since the move began. A move
///   so short that the done PV never leaves the done value also ends: when
///   the read-back is within the setpoint's tolerance of the target, or
///   when the write that started it completes with the IOC's put-callback
///   (a `put_complete` setpoint or actuate), as ophyd-async waits for the
///   done PV after the put completes. Without either, such a move ends at
///   its timeout;
/// - tolerance ([`done_when_close`](Self::done_when_close),
///   `PVPositionerIsClose`): done when the read-back is within the
///   tolerance of the target, after the writes completed;
/// - neither (`PVPositionerPC`): done when the write that starts the motion
///   (the actuate, else the setpoint) completes, which must then be
///   `put_complete`; a positioner with no way to tell refuses to move.
pub struct PositionerSignals<'a> {
    setpoint: &'a dyn SetpointPv,
    readback: Option<&'a dyn ReadbackPv>,
    done: Option<Box<dyn DonePv + 'a>>,
    close: Option<Tolerance>,
    stop: Option<Box<dyn CommandPv + 'a>>,
    /// The actuate command, and whether its writes complete with the IOC's
    /// put-callback.
    actuate: Option<(Box<dyn CommandPv + 'a>, bool)>,
}

impl<'a> PositionerSignals<'a> {
    /// A positioner moved by writing `setpoint` (ophyd's `setpoint`), which
    /// also gives its position while it has no read-back, and whose control
    /// limits are its limits.
    pub fn new<L: PvLayout>(setpoint: &'a EpicsSignal<f64, L>) -> Self {
        PositionerSignals { setpoint, readback: None, done: None, close: None, stop: None, actuate: None }
    }

    /// Its position comes from `readback` (ophyd's `readback`, which is
    /// hinted, as ophyd makes it).
    pub fn readback<S: Signal<Value = f64>>(mut self, readback: &'a S) -> Self {
        self.readback = Some(readback);
        self
    }

    /// A move is done when `done` has `done_value` (ophyd's `done` and
    /// `done_value`).
    pub fn done<S: Signal>(mut self, done: &'a S, done_value: impl Into<S::Value>) -> Self {
        self.done = Some(Box::new(Flag { signal: done, value: done_value.into() }));
        self
    }

    /// A move is done when the read-back is within `tolerance` of the target
    /// (ophyd's `PVPositionerIsClose` and its `atol`, `rtol`).
    pub fn done_when_close(mut self, tolerance: Tolerance) -> Self {
        self.close = Some(tolerance);
        self
    }

    /// [`Stop::stop`] writes `stop_value` to `stop_signal` (ophyd's
    /// `stop_signal` and `stop_value`).
    pub fn stop<S: Writable>(mut self, stop_signal: &'a S, stop_value: impl Into<S::Value>) -> Self {
        self.stop = Some(Box::new(Flag { signal: stop_signal, value: stop_value.into() }));
        self
    }

    /// A move writes `actuate_value` to `actuate` once the setpoint write
    /// completed (ophyd's `actuate` and `actuate_value`).
    pub fn actuate<T: EpicsValue, L: PvLayout>(
        mut self,
        actuate: &'a EpicsSignal<T, L>,
        actuate_value: impl Into<T>,
    ) -> Self {
        let command = Box::new(Flag { signal: actuate, value: actuate_value.into() });
        self.actuate = Some((command, actuate.put_complete()));
        self
    }

    /// What says a move is done; `None` when nothing can.
    fn arrival(&self) -> Option<Arrival> {
        match (&self.done, self.close, self.readback) {
            (Some(_), _, _) => Some(Arrival::DonePv),
            (None, Some(tolerance), Some(_)) => Some(Arrival::Close(tolerance)),
            (None, None, _) if self.completes() => Some(Arrival::Completion),
            _ => None,
        }
    }

    /// Whether the write that starts the motion completes with the IOC's
    /// put-callback.
    fn completes(&self) -> bool {
        self.actuate.as_ref().map_or_else(|| self.setpoint.put_complete(), |(_, completes)| *completes)
    }
}

/// How a move knows it is done.
#[derive(Clone, Copy, Debug)]
enum Arrival {
    DonePv,
    Close(Tolerance),
    Completion,
}

/// The setpoint, type-erased: an `EpicsSignal<f64, _>`.
trait SetpointPv: Send + Sync {
    fn name(&self) -> &str;
    fn pv(&self) -> &str;
    fn put_complete(&self) -> bool;
    fn write(&self, target: f64, timeout: Duration) -> Status;
    fn get(&self) -> BoxFuture<'_, Result<f64>>;
    fn control_limits(&self) -> BoxFuture<'_, Result<(f64, f64)>>;
    fn tolerance(&self) -> BoxFuture<'_, Tolerance>;
}

impl<L: PvLayout> SetpointPv for EpicsSignal<f64, L> {
    fn name(&self) -> &str {
        self.signal_meta().name()
    }

    fn pv(&self) -> &str {
        self.write_pv()
    }

    fn put_complete(&self) -> bool {
        EpicsSignal::put_complete(self)
    }

    fn write(&self, target: f64, timeout: Duration) -> Status {
        self.set_with_timeout(target, Some(timeout))
    }

    fn get(&self) -> BoxFuture<'_, Result<f64>> {
        Signal::get(self).boxed()
    }

    fn control_limits(&self) -> BoxFuture<'_, Result<(f64, f64)>> {
        async move {
            let metadata = self.metadata().await?;
            let limit = |v: Option<Value>| v.as_ref().and_then(Value::as_f64).unwrap_or(0.0);
            Ok((limit(metadata.lower_ctrl_limit), limit(metadata.upper_ctrl_limit)))
        }
        .boxed()
    }

    fn tolerance(&self) -> BoxFuture<'_, Tolerance> {
        Writable::tolerance(self).boxed()
    }
}

/// The read-back, type-erased: any signal of `f64`.
trait ReadbackPv: Send + Sync {
    fn source(&self) -> &str;
    fn get(&self) -> BoxFuture<'_, Result<f64>>;
    fn watch(&self, callback: Box<dyn Fn(f64) + Send + Sync>) -> Result<Subscription>;
    fn set_kind(&self, kind: Kind);
}

impl<S: Signal<Value = f64>> ReadbackPv for S {
    fn source(&self) -> &str {
        self.source_name()
    }

    fn get(&self) -> BoxFuture<'_, Result<f64>> {
        Signal::get(self).boxed()
    }

    fn watch(&self, callback: Box<dyn Fn(f64) + Send + Sync>) -> Result<Subscription> {
        self.subscribe(move |value, _| callback(*value))
    }

    fn set_kind(&self, kind: Kind) {
        DynComponent::set_kind(self, kind)
    }
}

/// A signal with the value that matters to it: the done flag and its done
/// value, a command and the value to write.
struct Flag<'a, S: Signal> {
    signal: &'a S,
    value: S::Value,
}

/// The done flag, type-erased.
trait DonePv: Send + Sync {
    fn source(&self) -> &str;
    /// Call `callback(is_done)` on every value from now on, the current
    /// one first.
    fn watch(&self, callback: Box<dyn Fn(bool) + Send + Sync>) -> BoxFuture<'_, Result<Subscription>>;
    fn is_done(&self) -> BoxFuture<'_, Result<bool>>;
}

impl<S: Signal> DonePv for Flag<'_, S> {
    fn source(&self) -> &str {
        self.signal.source_name()
    }

    fn watch(&self, callback: Box<dyn Fn(bool) + Send + Sync>) -> BoxFuture<'_, Result<Subscription>> {
        async move {
            // An enum's done value given by its label compares by index.
            let done = self.signal.normalize(self.value.clone()).await?;
            self.signal.subscribe(move |value, _| callback(value.matches(&done, Tolerance::EXACT)))
        }
        .boxed()
    }

    fn is_done(&self) -> BoxFuture<'_, Result<bool>> {
        async move {
            let (value, done) = futures::try_join!(self.signal.get(), self.signal.normalize(self.value.clone()))?;
            Ok(value.matches(&done, Tolerance::EXACT))
        }
        .boxed()
    }
}

/// A command (stop, actuate), type-erased.
trait CommandPv: Send + Sync {
    fn fire(&self) -> Status;
}

impl<S: Writable> CommandPv for Flag<'_, S> {
    fn fire(&self) -> Status {
        self.signal.set(self.value.clone())
    }
}

/// What a [`PvPositioner`] keeps between moves.
struct Settings {
    limits: Option<(f64, f64)>,
    move_timeout: Option<Duration>,
    settle_time: Duration,
    /// How to end the move in flight: [`Stop::stop`] says whether it
    /// succeeded.
    current: Option<oneshot::Sender<bool>>,
}

/// A positioner made of PVs a user declares (ophyd's `PVPositioner`): the
/// device `D` (a `#[derive(Device)]` struct implementing
/// [`PvPositionerSignals`]) with the move protocol.
///
/// - A move ([`Movable::move_to`]) is refused before anything is written
///   when the target is outside the limits (the setpoint's control limits,
///   ophyd's `limits`, unless [set](PvPositioner::set_limits)) with a
///   [`LimitError`](Error::Limit). Then it writes the setpoint (and then
///   the actuate command), and its Status finishes as
///   [`PositionerSignals`] describes, after the settle time; it fails
///   when a write fails (with the IOC's reason: a setpoint the IOC
///   refuses), when the PV that says it is done cannot be read (checked
///   every [`LIVENESS_PROBE`]: its IOC died), when [`Stop::stop`] ends it,
///   or after the [move timeout](PvPositioner::set_move_timeout).
/// - [`Stop::stop`] writes the stop command, and the move in flight fails
///   (or, with `success`, finishes).
/// - It reads, describes and stages as `D` does, with the read-back hinted
///   (ophyd's `readback.kind = hinted`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
/// use ophyd_epics::{EpicsSignal, EpicsSignalRO, PositionerSignals, PvPositioner, PvPositionerSignals};
///
/// #[derive(Device)]
/// struct Stage {
///     #[component(suffix = ":SP")]
///     setpoint: EpicsSignal<f64>,
///     #[component(suffix = ":RBV")]
///     readback: EpicsSignalRO<f64>,
///     #[component(suffix = ":DONE", kind = "omitted")]
///     done: EpicsSignalRO<i32>,
/// }
///
/// impl PvPositionerSignals for Stage {
///     fn signals(&self) -> PositionerSignals<'_> {
///         PositionerSignals::new(&self.setpoint).readback(&self.readback).done(&self.done, 1)
///     }
/// }
///
/// // An IOC whose stage arrives at once: the done flag drops, the read-back follows, the flag rises.
/// let ioc = SimIoc::new();
/// ioc.add(PvSpec::double("st:SP", 0.0).limits(-10.0, 10.0).on_put(|ioc, target| {
///     ioc.write("st:DONE", 0);
///     ioc.write("st:RBV", target.clone());
///     ioc.write("st:DONE", 1);
///     PutAction::accept(target)
/// }))
/// .add(PvSpec::double("st:RBV", 0.0).read_only())
/// .add(PvSpec::long("st:DONE", 1).read_only());
///
/// let stage = PvPositioner::new(Stage::new("st", "stage"));
/// stage.connect(&ioc.transport()).await?;
/// stage.move_to(2.5).await?.await?;                          // accepted, then done
/// assert_eq!(stage.readback.get().await?, 2.5);
/// assert_eq!(stage.hints().fields, ["stage_readback"]);
/// assert_eq!(stage.move_to(20.0).await.unwrap_err().name(), "LimitError"); // control limits
/// # Ok(()) }
/// ```
pub struct PvPositioner<D> {
    device: Arc<D>,
    settings: Mutex<Settings>,
}

impl<D: PvPositionerSignals> PvPositioner<D> {
    /// `device` as a positioner; its read-back becomes hinted.
    pub fn new(device: D) -> Self {
        if let Some(readback) = device.signals().readback {
            readback.set_kind(Kind::Hinted);
        }
        let settings = Settings { limits: None, move_timeout: None, settle_time: Duration::ZERO, current: None };
        PvPositioner { device: Arc::new(device), settings: Mutex::new(settings) }
    }

    /// The positioner's name.
    pub fn name(&self) -> &str {
        self.device.meta().name()
    }

    /// The device of PVs (also reached through `Deref`).
    pub fn device(&self) -> &D {
        &self.device
    }

    /// Where it is: the read-back, or the setpoint when it has none
    /// (ophyd's `position`).
    pub async fn position(&self) -> Result<f64> {
        let signals = self.device.signals();
        match signals.readback {
            Some(readback) => readback.get().await,
            None => signals.setpoint.get().await,
        }
    }

    /// Its limits: those [set](PvPositioner::set_limits), else the
    /// setpoint's control limits; `(0, 0)` when there are none (ophyd's
    /// `limits`).
    pub async fn limits(&self) -> Result<(f64, f64)> {
        let own = lock(&self.settings).limits;
        match own {
            Some(limits) => Ok(limits),
            None => self.device.signals().setpoint.control_limits().await,
        }
    }

    /// Set limits of its own instead of the setpoint's control limits
    /// (ophyd's `limits=`), or (`None`) go back to those.
    pub fn set_limits(&self, limits: Option<(f64, f64)>) {
        lock(&self.settings).limits = limits;
    }

    /// How long a move may take before it fails with a timeout.
    pub fn move_timeout(&self) -> Duration {
        lock(&self.settings).move_timeout.unwrap_or(DEFAULT_MOVE_TIMEOUT)
    }

    /// Set how long a move may take (`None`: [`DEFAULT_MOVE_TIMEOUT`]).
    pub fn set_move_timeout(&self, timeout: Option<Duration>) {
        lock(&self.settings).move_timeout = timeout;
    }

    /// How long after it is done a move's Status finishes.
    pub fn settle_time(&self) -> Duration {
        lock(&self.settings).settle_time
    }

    /// Set how long after it is done a move's Status finishes (ophyd's
    /// `settle_time`).
    pub fn set_settle_time(&self, settle_time: Duration) {
        lock(&self.settings).settle_time = settle_time;
    }

    /// [`Movable::move_to`] with a timeout for this move alone (`None`: the
    /// positioner's).
    pub async fn move_with_timeout(&self, target: f64, timeout: Option<Duration>) -> Result<Status> {
        let signals = self.device.signals();
        if !target.is_finite() {
            return Err(Error::NotSent {
                signal: signals.setpoint.name().to_owned(),
                pv: signals.setpoint.pv().to_owned(),
                value: target.to_string(),
                reason: format!("`{}` cannot move to {target}: a target must be a finite number", self.name()),
            });
        }
        let Some(arrival) = signals.arrival() else {
            return Err(Error::Failed {
                what: format!("move of `{}` to {target}", self.name()),
                reason: "it has no way to tell a move is done: declare a done PV (`.done(..)`), a tolerance \
                         (`.done_when_close(..)`) with a read-back, or make the setpoint (or actuate) \
                         put_complete; nothing was moved"
                    .into(),
            });
        };
        self.check_limits(target).await?;
        let timeout = timeout.unwrap_or_else(|| self.move_timeout());
        let tolerance = signals.setpoint.tolerance().await;

        // Watched from before the write, so that no change of the done
        // flag is missed.
        let (updates, watched) = mpsc::unbounded_channel();
        let mut subscriptions = Vec::new();
        if let Some(done) = &signals.done {
            let note = noting(updates.clone());
            subscriptions.push(done.watch(Box::new(move |is_done| note(Update::Done(is_done)))).await?);
        }
        if let Some(readback) = signals.readback {
            let note = noting(updates.clone());
            subscriptions.push(readback.watch(Box::new(move |p| note(Update::Readback(p))))?);
        }
        let (stop, stopped) = oneshot::channel();
        let motion = Motion {
            what: format!("move of `{}` to {target}", self.name()),
            target,
            arrival,
            completes: signals.completes(),
            tolerance,
            deadline: Instant::now() + timeout,
            timeout,
            settle_time: self.settle_time(),
            done_pv: signals.done.as_ref().map(|d| pv_of(d.source())),
            readback_pv: signals.readback.map(|r| pv_of(r.source())),
        };
        let write = signals.setpoint.write(target, timeout);
        drop(signals);
        let status = Status::from_future(
            motion.what.clone(),
            follow(self.device.clone(), motion, write, watched, stopped, subscriptions),
        );
        lock(&self.settings).current = Some(stop);
        Ok(status)
    }

    /// ophyd's `check_value`: the limits, before anything is written.
    async fn check_limits(&self, target: f64) -> Result<()> {
        let own = lock(&self.settings).limits;
        let (low, high) = self.limits().await?;
        if within_limits((low, high), target) {
            return Ok(());
        }
        let (which, pvs) = match own {
            Some(_) => ("user", "no PV: set with PvPositioner::set_limits".to_owned()),
            None => ("control", self.device.signals().setpoint.pv().to_owned()),
        };
        Err(Error::Limit { device: self.name().to_owned(), target, which: which.into(), at: target, low, high, pvs })
    }
}

/// A move in flight: where to, and what ends it.
struct Motion {
    what: String,
    target: f64,
    arrival: Arrival,
    /// The write that starts the motion completes with the IOC's put-callback.
    completes: bool,
    /// The setpoint's: how close the read-back must be to count as there.
    tolerance: Tolerance,
    deadline: Instant,
    timeout: Duration,
    settle_time: Duration,
    done_pv: Option<String>,
    readback_pv: Option<String>,
}

/// What a monitor said.
#[derive(Clone, Copy, Debug)]
enum Update {
    Done(bool),
    Readback(f64),
}

/// The PV of a data key's source (`"PV:st:DONE"`), or the source itself.
fn pv_of(source: &str) -> String {
    source.strip_prefix("PV:").unwrap_or(source).to_owned()
}

/// Pass what a monitor says to the move that watches it.
fn noting(updates: mpsc::UnboundedSender<Update>) -> impl Fn(Update) {
    move |update| {
        // Refused only once the move has ended and no longer listens.
        let _ = updates.send(update);
    }
}

/// What the PVs have said since the move began.
#[derive(Debug, Default)]
struct Seen {
    written: bool,
    done: Option<bool>,
    /// The done flag left the done value.
    left: bool,
    readback: Option<f64>,
}

impl Seen {
    fn note(&mut self, update: Update) {
        match update {
            Update::Done(done) => {
                self.left |= !done;
                self.done = Some(done);
            }
            Update::Readback(p) => self.readback = Some(p),
        }
    }
}

impl Motion {
    /// Whether the move is done, by what [`PositionerSignals`] describes.
    fn arrived(&self, seen: &Seen) -> bool {
        let close = |tolerance: Tolerance| seen.readback.is_some_and(|p| tolerance.accepts(p, self.target));
        seen.written
            && match self.arrival {
                Arrival::DonePv => seen.done == Some(true) && (seen.left || self.completes || close(self.tolerance)),
                Arrival::Close(tolerance) => close(tolerance),
                Arrival::Completion => true,
            }
    }

    /// The timeout, saying what the PVs last said.
    fn timed_out(&self, seen: &Seen) -> Error {
        let mut last = Vec::new();
        if let Some(pv) = &self.done_pv {
            let done = seen.done.map_or("nothing", |d| if d { "done" } else { "not done" });
            last.push(format!("{pv} last said {done}"));
        }
        if let Some(pv) = &self.readback_pv {
            last.push(format!("{pv} last read back {}", seen.readback.map_or("nothing".into(), |p| p.to_string())));
        }
        if !seen.written {
            last.push("the write had not completed".into());
        }
        Error::Timeout { what: format!("{} ({})", self.what, last.join("; ")), after: self.timeout }
    }
}

/// Follow a move until it is done, fails, is stopped or times out.
async fn follow<D: PvPositionerSignals>(
    device: Arc<D>,
    motion: Motion,
    write: Status,
    mut updates: mpsc::UnboundedReceiver<Update>,
    mut stopped: oneshot::Receiver<bool>,
    subscriptions: Vec<Subscription>,
) -> Result<()> {
    let _watching = subscriptions;
    let writes = async {
        write.await?;
        // ophyd writes the actuate once the setpoint write completed.
        let actuate = device.signals().actuate.map(|(actuate, _)| actuate.fire());
        match actuate {
            Some(actuate) => actuate.await,
            None => Ok(()),
        }
    };
    tokio::pin!(writes);
    let mut probe = tokio::time::interval_at(Instant::now() + LIVENESS_PROBE, LIVENESS_PROBE);
    let mut seen = Seen::default();
    let mut stoppable = true;
    while !motion.arrived(&seen) {
        tokio::select! {
            // A stop first: what the PVs say after it does not count.
            biased;
            stop = &mut stopped, if stoppable => match stop {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    let at = seen.readback.map_or_else(|| "an unknown position".to_owned(), |p| p.to_string());
                    return Err(Error::Failed { what: motion.what.clone(), reason: format!("stopped at {at} by stop()") });
                }
                // A later move took over the stop command.
                Err(_) => stoppable = false,
            },
            written = &mut writes, if !seen.written => {
                written?;
                seen.written = true;
            }
            Some(update) = updates.recv() => seen.note(update),
            _ = probe.tick() => {
                if let Some(update) = probe_once(&*device, motion.arrival).await? {
                    seen.note(update);
                }
            }
            () = tokio::time::sleep_until(motion.deadline) => return Err(motion.timed_out(&seen)),
        }
    }
    tokio::time::sleep(motion.settle_time).await;
    Ok(())
}

/// Read the PV that says the move is done (the done flag, or the
/// read-back): an error (a lost connection) ends the move. A move that
/// ends with a put-callback needs none: a lost connection fails the
/// callback.
async fn probe_once<D: PvPositionerSignals>(device: &D, arrival: Arrival) -> Result<Option<Update>> {
    let signals = device.signals();
    match (arrival, &signals.done, signals.readback) {
        (Arrival::DonePv, Some(done), _) => Ok(Some(Update::Done(done.is_done().await?))),
        (Arrival::Close(_), _, Some(readback)) => Ok(Some(Update::Readback(readback.get().await?))),
        _ => Ok(None),
    }
}

impl<D> Deref for PvPositioner<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.device
    }
}

impl<D: PvPositionerSignals> Movable for PvPositioner<D> {
    /// Check `target` against the limits, write the setpoint (then the
    /// actuate), and give the Status of the move.
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>> {
        self.move_with_timeout(target, None).boxed()
    }
}

impl<D: PvPositionerSignals> Positioner for PvPositioner<D> {
    fn position(&self) -> BoxFuture<'_, Result<f64>> {
        PvPositioner::position(self).boxed()
    }

    fn limits(&self) -> BoxFuture<'_, Result<(f64, f64)>> {
        PvPositioner::limits(self).boxed()
    }

    fn check_value(&self, target: f64) -> BoxFuture<'_, Result<()>> {
        self.check_limits(target).boxed()
    }
}

impl<D: PvPositionerSignals> Stop for PvPositioner<D> {
    /// Write the stop command (ophyd's `stop_signal.put(stop_value)`) and
    /// end the move in flight, failed unless `success`.
    async fn stop(&self, success: bool) -> Result<()> {
        // The move hears of the stop before the IOC does: the done flag
        // the stop raises must not end it as arrived (ophyd fails the move
        // in `stop` itself).
        if let Some(current) = lock(&self.settings).current.take() {
            // Gone if the move already ended.
            let _ = current.send(success);
        }
        let command = self.device.signals().stop.map(|stop| stop.fire());
        let stopped = match command {
            Some(command) => command.await,
            None => Ok(()),
        };
        let sub_devices = self.device.stop_dyn(success).await;
        stopped.and(sub_devices)
    }

    fn pause(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.device.pause_dyn()
    }

    fn resume(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.device.resume_dyn()
    }
}

impl<D: PvPositionerSignals> Stage for PvPositioner<D> {
    fn stage(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.device.stage_dyn()
    }

    fn unstage(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.device.unstage_dyn()
    }
}

impl<D: PvPositionerSignals> Trigger for PvPositioner<D> {
    fn trigger(&self) -> Status {
        self.device.trigger_dyn()
    }
}

impl<D: PvPositionerSignals> Component for PvPositioner<D> {
    fn build(spec: &ophyd_core::implement::ComponentSpec<'_>) -> Self {
        PvPositioner::new(D::build(spec))
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.device.read_into(out)
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.device.describe_into(out)
    }

    fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.device.read_configuration_into(out)
    }

    fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.device.describe_configuration_into(out)
    }

    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        self.device.collect_connects(ctx, out)
    }
}

impl<D: SuffixOptional> SuffixOptional for PvPositioner<D> {}

impl<D: PvPositionerSignals> DynComponent for PvPositioner<D> {
    ophyd_core::meta_accessors!(device.meta());

    fn hints_into(&self, out: &mut Vec<String>) {
        self.device.hints_into(out)
    }

    fn as_device(&self) -> Option<&dyn DynDevice> {
        Some(self)
    }
}

impl<D: PvPositionerSignals> DynDevice for PvPositioner<D> {
    fn meta(&self) -> &Arc<DeviceMeta> {
        self.device.meta()
    }

    fn as_positioner(&self) -> Option<&dyn Positioner> {
        Some(self)
    }

    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)> {
        self.device.components()
    }

    fn component(&self, attr: &str) -> Option<&dyn DynComponent> {
        self.device.component(attr)
    }

    fn read_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>> {
        self.device.read_dyn()
    }

    fn describe_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        self.device.describe_dyn()
    }

    fn read_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>> {
        self.device.read_configuration_dyn()
    }

    fn describe_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        self.device.describe_configuration_dyn()
    }

    fn stage_dyn(&self) -> BoxFuture<'_, Result<()>> {
        self.device.stage_dyn()
    }

    fn unstage_dyn(&self) -> BoxFuture<'_, Result<()>> {
        self.device.unstage_dyn()
    }

    fn trigger_dyn(&self) -> Status {
        self.device.trigger_dyn()
    }

    fn stop_dyn(&self, success: bool) -> BoxFuture<'_, Result<()>> {
        <Self as Stop>::stop(self, success).boxed()
    }

    fn pause_dyn(&self) -> BoxFuture<'_, Result<()>> {
        self.device.pause_dyn()
    }

    fn resume_dyn(&self) -> BoxFuture<'_, Result<()>> {
        self.device.resume_dyn()
    }
}

impl<D: PvPositionerSignals> Device for PvPositioner<D> {
    fn component_names(&self) -> &'static [&'static str] {
        self.device.component_names()
    }
}
