//! [`EpicsMotor`]: a motor record as a device (ophyd's `EpicsMotor`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use ophyd_core::__private::lock;
use ophyd_core::prelude::*;
use ophyd_core::{Error, Result, Subscription, Tolerance};

use crate::signal::ConnectionWatch;
use crate::{EpicsSignal, EpicsSignalRO};

/// What a move may take beyond its travel time before it counts as
/// stalled: ophyd-async's `DEFAULT_TIMEOUT`, which its motor adds too.
pub const MOVE_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// How often a move in flight asks the client whether the record's
/// connections are still the ones it started on (no round trip: an IOC
/// whose put completes at once leaves no request pending to fail when it
/// dies).
pub const CONNECTION_CHECK: Duration = Duration::from_millis(100);

/// A motor record, with the components, kinds and data keys of ophyd's
/// `EpicsMotor` (the read-back's data key is the motor's own name), plus
/// the dial limits and `.LVIO`, which ophyd-rs checks and ophyd does not.
///
/// A move ([`Movable::move_to`]) is checked against the record's user
/// limits (`.LLM`..`.HLM`) and dial limits (`.DLLM`..`.DHLM`) before
/// anything is written, and refused with a [`LimitError`](Error::Limit)
/// naming the motor, the target and the limits. Its Status then finishes
/// when the record says the motion is done (`.DMOV` back to 1, after the
/// put of `.VAL` completes), and fails when the record refused the move
/// (`.LVIO`), the motion ended on a limit switch, [`Stop::stop`] ended it,
/// the connection to the record was lost (checked every
/// [`CONNECTION_CHECK`], and before any end counts: a record that comes
/// back after its IOC rebooted says nothing of this move), or it stalled:
/// it did not end within the [move timeout](EpicsMotor::move_timeout_for).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_epics::sim::{SimIoc, SimMotor};
/// use ophyd_epics::EpicsMotor;
/// let ioc = SimIoc::new();
/// ioc.add_motor_record("XF:m1", SimMotor::at(0.0).limits(0.0, 10.0).velocity(100.0));
/// let m1 = EpicsMotor::new("XF:m1", "m1");
/// m1.connect(&ioc.transport()).await?;
/// m1.move_to(0.5).await?.await?; // accepted, then arrived
/// assert_eq!(m1.position().await?, 0.5);
/// assert!(m1.read().await?.contains_key("m1"));
///
/// let refused = m1.move_to(20.0).await.unwrap_err();
/// assert_eq!(refused.name(), "LimitError");
/// assert!(refused.to_string().contains("[0, 10]"));
/// # Ok(()) }
/// ```
#[derive(Device)]
#[device(custom(stop), positioner)]
pub struct EpicsMotor {
    /// The position (`.RBV`); its data key is the motor's name.
    #[component(suffix = ".RBV", kind = "hinted", named_after_parent)]
    pub user_readback: EpicsSignalRO<f64>,
    /// The setpoint (`.VAL`); writes complete when the record has done
    /// with them (the motor record: when the motion ends).
    #[component(suffix = ".VAL", put_complete)]
    pub user_setpoint: EpicsSignal<f64>,
    /// User offset: user position = dial × direction + offset (`.OFF`).
    #[component(suffix = ".OFF", kind = "config")]
    pub user_offset: EpicsSignal<f64>,
    /// User direction, "Pos" or "Neg" (`.DIR`).
    #[component(suffix = ".DIR", kind = "config")]
    pub user_offset_dir: EpicsSignal<Enum>,
    /// Whether the offset is "Variable" or "Frozen" (`.FOFF`).
    #[component(suffix = ".FOFF", kind = "omitted")]
    pub offset_freeze_switch: EpicsSignal<Enum>,
    /// "Use" or "Set": in "Set", a setpoint redefines the position (`.SET`).
    #[component(suffix = ".SET", kind = "omitted")]
    pub set_use_switch: EpicsSignal<Enum>,
    /// Velocity, units per second (`.VELO`).
    #[component(suffix = ".VELO", kind = "config")]
    pub velocity: EpicsSignal<f64>,
    /// Seconds to reach the velocity (`.ACCL`).
    #[component(suffix = ".ACCL", kind = "config")]
    pub acceleration: EpicsSignal<f64>,
    /// Engineering units (`.EGU`).
    #[component(suffix = ".EGU", kind = "config")]
    pub motor_egu: EpicsSignal<String>,
    /// 1 while moving (`.MOVN`).
    #[component(suffix = ".MOVN", kind = "omitted")]
    pub motor_is_moving: EpicsSignalRO<i32>,
    /// 1 when done moving (`.DMOV`).
    #[component(suffix = ".DMOV", kind = "omitted")]
    pub motor_done_move: EpicsSignalRO<i32>,
    /// 1 at the high limit switch (`.HLS`).
    #[component(suffix = ".HLS", kind = "omitted")]
    pub high_limit_switch: EpicsSignalRO<i32>,
    /// 1 at the low limit switch (`.LLS`).
    #[component(suffix = ".LLS", kind = "omitted")]
    pub low_limit_switch: EpicsSignalRO<i32>,
    /// User high limit (`.HLM`).
    #[component(suffix = ".HLM", kind = "omitted")]
    pub high_limit_travel: EpicsSignal<f64>,
    /// User low limit (`.LLM`).
    #[component(suffix = ".LLM", kind = "omitted")]
    pub low_limit_travel: EpicsSignal<f64>,
    /// Direction of the last motion, 1 positive (`.TDIR`).
    #[component(suffix = ".TDIR", kind = "omitted")]
    pub direction_of_travel: EpicsSignalRO<i32>,
    /// Write 1 to stop (`.STOP`).
    #[component(suffix = ".STOP", kind = "omitted")]
    pub motor_stop: EpicsSignal<i32>,
    /// Write 1 to home forward (`.HOMF`).
    #[component(suffix = ".HOMF", kind = "omitted")]
    pub home_forward: EpicsSignal<i32>,
    /// Write 1 to home in reverse (`.HOMR`).
    #[component(suffix = ".HOMR", kind = "omitted")]
    pub home_reverse: EpicsSignal<i32>,
    /// Dial high limit (`.DHLM`).
    #[component(suffix = ".DHLM", kind = "omitted")]
    pub dial_high_limit_travel: EpicsSignal<f64>,
    /// Dial low limit (`.DLLM`).
    #[component(suffix = ".DLLM", kind = "omitted")]
    pub dial_low_limit_travel: EpicsSignal<f64>,
    /// 1 when the record refused the last setpoint as outside its limits (`.LVIO`).
    #[component(suffix = ".LVIO", kind = "omitted")]
    pub limit_violation: EpicsSignalRO<i32>,
    /// A move timeout set with [`EpicsMotor::set_move_timeout`].
    move_timeout: Mutex<Option<Duration>>,
    /// The last move or homing started, which [`Stop::stop`] ends if it
    /// is still under way (finishing a finished Status changes nothing).
    current: Mutex<Option<Arc<Shared>>>,
}

/// Which way [`EpicsMotor::home`] searches (ophyd's `HomeEnum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HomeDirection {
    /// `.HOMF`.
    Forward,
    /// `.HOMR`.
    Reverse,
}

/// A pair of limits; equal limits are none, as the motor record has it.
#[derive(Clone, Copy, Debug)]
struct Limits {
    low: f64,
    high: f64,
}

impl Limits {
    fn refuse(self, at: f64) -> bool {
        self.low < self.high && !(self.low..=self.high).contains(&at)
    }
}

impl EpicsMotor {
    /// The position (`.RBV`).
    pub async fn position(&self) -> Result<f64> {
        self.user_readback.get().await
    }

    /// The engineering units (`.EGU`; ophyd's `egu`).
    pub async fn egu(&self) -> Result<String> {
        self.motor_egu.get().await
    }

    /// The user offset (`.OFF`).
    pub async fn offset(&self) -> Result<f64> {
        self.user_offset.get().await
    }

    /// The user limits, `(low, high)` (`.LLM`, `.HLM`); equal limits are none.
    pub async fn limits(&self) -> Result<(f64, f64)> {
        futures::try_join!(self.low_limit_travel.get(), self.high_limit_travel.get())
    }

    /// Replace the computed move timeout by `timeout` for every move
    /// (`None`: computed again).
    pub fn set_move_timeout(&self, timeout: Option<Duration>) {
        *lock(&self.move_timeout) = timeout;
    }

    /// How long a move of `distance` may take before it counts as stalled,
    /// unless [set](EpicsMotor::set_move_timeout): ophyd-async's allowance,
    /// the travel time at `velocity`, twice the `acceleration` time, and
    /// [`MOVE_TIMEOUT_MARGIN`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ophyd_epics::EpicsMotor;
    /// assert_eq!(EpicsMotor::move_timeout_for(2.5, 1.0, 1.0), Duration::from_secs_f64(14.5));
    /// ```
    pub fn move_timeout_for(distance: f64, velocity: f64, acceleration: f64) -> Duration {
        let travel = distance.abs() / velocity + 2.0 * acceleration.max(0.0);
        MOVE_TIMEOUT_MARGIN + Duration::try_from_secs_f64(travel).unwrap_or(Duration::MAX / 2)
    }

    /// [`Movable::move_to`] with a timeout for this move alone (`None`: the
    /// motor's, see [`EpicsMotor::set_move_timeout`]).
    pub async fn move_with_timeout(&self, target: f64, timeout: Option<Duration>) -> Result<Status> {
        self.refuse_non_finite(target)?;
        let (from, velocity, acceleration) =
            futures::try_join!(self.user_readback.get(), self.velocity.get(), self.acceleration.get())?;
        self.check_limits(target).await?;
        let timeout = match timeout.or(*lock(&self.move_timeout)) {
            Some(timeout) => timeout,
            None if velocity > 0.0 => Self::move_timeout_for(target - from, velocity, acceleration),
            None => return Err(self.cannot_move(target, "its velocity (.VELO) is 0: it would never arrive")),
        };
        let what = format!("move of `{}` from {from} to {target}", self.name());
        let tolerance = self.user_setpoint.tolerance().await;
        let watch = Watch::start(self, what, Some(Arrival { target, from, tolerance }), timeout)?;
        watch.finish_with(self.user_setpoint.set_with_timeout(target, Some(timeout)));
        Ok(self.under_way(watch))
    }

    /// Redefine the current position as `position` without moving (the
    /// record's "Set" mode: `.SET` 1, `.VAL` = position, `.SET` 0; the
    /// record adjusts `.OFF`).
    pub async fn set_current_position(&self, position: f64) -> Result<()> {
        self.set_use_switch.put(1).await?;
        let set = self.user_setpoint.put(position).await;
        let back_to_use = self.set_use_switch.put(0).await;
        set.and(back_to_use)
    }

    /// Start the record's home search in `direction`; the Status finishes
    /// when the record is done moving, and fails as a move's does. Its
    /// timeout allows for travel across the user limits; a search that
    /// takes longer needs [`EpicsMotor::set_move_timeout`].
    pub async fn home(&self, direction: HomeDirection) -> Result<Status> {
        let (command, name) = match direction {
            HomeDirection::Forward => (&self.home_forward, "forward"),
            HomeDirection::Reverse => (&self.home_reverse, "in reverse"),
        };
        let ((low, high), velocity, acceleration) =
            futures::try_join!(self.limits(), self.velocity.get(), self.acceleration.get())?;
        let timeout = match *lock(&self.move_timeout) {
            Some(timeout) => timeout,
            None => Self::move_timeout_for(high - low, velocity.max(f64::MIN_POSITIVE), acceleration),
        };
        let watch = Watch::start(self, format!("homing of `{}` {name}", self.name()), None, timeout)?;
        watch.finish_with(command.set_with_timeout(1, Some(timeout)));
        Ok(self.under_way(watch))
    }

    fn refuse_non_finite(&self, target: f64) -> Result<()> {
        if target.is_finite() {
            return Ok(());
        }
        Err(Error::NotSent {
            signal: self.user_setpoint.signal_meta().name().to_owned(),
            pv: self.user_setpoint.write_pv().to_owned(),
            value: target.to_string(),
            reason: format!("`{}` cannot move to {target}: a target must be a finite number", self.name()),
        })
    }

    /// ophyd's `LimitError`, for the user limits and, in dial coordinates,
    /// the dial limits.
    async fn check_limits(&self, target: f64) -> Result<()> {
        let (user, dial, offset, direction) = futures::try_join!(
            self.limits(),
            futures::future::try_join(self.dial_low_limit_travel.get(), self.dial_high_limit_travel.get()),
            self.user_offset.get(),
            self.user_offset_dir.get(),
        )?;
        // "Neg" (index 1): dial positions run against user ones.
        let sign = if direction.index() == Some(1) { -1.0 } else { 1.0 };
        let checks = [
            ("user", target, Limits { low: user.0, high: user.1 }, (&self.low_limit_travel, &self.high_limit_travel)),
            (
                "dial",
                (target - offset) * sign,
                Limits { low: dial.0, high: dial.1 },
                (&self.dial_low_limit_travel, &self.dial_high_limit_travel),
            ),
        ];
        for (which, at, limits, (low_pv, high_pv)) in checks {
            if limits.refuse(at) {
                return Err(Error::Limit {
                    device: self.name().to_owned(),
                    target,
                    which: which.to_owned(),
                    at,
                    low: limits.low,
                    high: limits.high,
                    pvs: format!("{}, {}", low_pv.write_pv(), high_pv.write_pv()),
                });
            }
        }
        Ok(())
    }

    fn cannot_move(&self, target: f64, reason: &str) -> Error {
        Error::Failed { what: format!("move of `{}` to {target}", self.name()), reason: reason.to_owned() }
    }

    /// Remember `watch` as the motion [`Stop::stop`] ends, and give its Status.
    fn under_way(&self, watch: Watch) -> Status {
        let status = watch.status();
        *lock(&self.current) = Some(watch.shared);
        status
    }
}

impl Movable for EpicsMotor {
    /// Check `target` against the limits, write the setpoint, and give the
    /// Status of the motion; it reports progress (distance covered out of
    /// distance to cover) as the read-back changes.
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>> {
        self.move_with_timeout(target, None).boxed()
    }
}

impl ophyd_core::Positioner for EpicsMotor {
    /// The read-back (`.RBV`).
    fn position(&self) -> BoxFuture<'_, Result<f64>> {
        EpicsMotor::position(self).boxed()
    }

    /// The user limits (`.LLM`, `.HLM`).
    fn limits(&self) -> BoxFuture<'_, Result<(f64, f64)>> {
        EpicsMotor::limits(self).boxed()
    }

    /// The checks of a move, user and dial limits, without moving.
    fn check_value(&self, target: f64) -> BoxFuture<'_, Result<()>> {
        async move {
            self.refuse_non_finite(target)?;
            self.check_limits(target).await
        }
        .boxed()
    }
}

impl Stop for EpicsMotor {
    /// Stop the motion where it is. The move under way fails (or, with
    /// `success`, finishes), as ophyd's `stop(success=...)` ends it.
    async fn stop(&self, success: bool) -> Result<()> {
        // The motion ends here, before anything is awaited: the record's
        // own "done" (its setpoint put completing as the stop supersedes
        // it) must not finish it as a success first, and a stop abandoned
        // mid-way (a cleanup's timeout) must not leave it unfinished.
        if let Some(motion) = lock(&self.current).take() {
            let status = &motion.status;
            let at = lock(&motion.seen).readback.map_or("an unknown position".to_owned(), |p| p.to_string());
            status.finish(if success {
                Ok(())
            } else {
                Err(Error::Failed { what: status.what().to_owned(), reason: format!("stopped at {at} by stop()") })
            });
        }
        self.motor_stop.put(1).await
    }
}

/// Where a move is going: what counts as arrived.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    target: f64,
    from: f64,
    tolerance: Tolerance,
}

/// What the record has said since the move began, from its monitors.
#[derive(Debug, Default)]
struct Seen {
    put_done: bool,
    /// `.DMOV` was 0 at some point: the motion started.
    started: bool,
    done_move: Option<i32>,
    readback: Option<f64>,
    /// Every `.VAL` the record posted, the current one first.
    setpoints: Vec<f64>,
    limit_violation: Option<i32>,
    direction: Option<i32>,
    high_switch: Option<i32>,
    low_switch: Option<i32>,
}

/// A motion being watched: the Status it finishes, and what the record
/// has said, from monitors that live until it finishes.
struct Watch {
    shared: Arc<Shared>,
}

struct Shared {
    status: Status,
    arrival: Option<Arrival>,
    seen: Mutex<Seen>,
    /// The connections of `.DMOV`, `.RBV` and `.VAL` the motion started on.
    connections: Vec<ConnectionWatch>,
    readback_pv: String,
    limit_switch_pvs: (String, String),
}

impl Watch {
    /// Monitor `motor`'s record for the motion `what`, failing it if the
    /// record's connection is lost, or as stalled if it does not end
    /// within `timeout`.
    fn start(motor: &EpicsMotor, what: String, arrival: Option<Arrival>, timeout: Duration) -> Result<Watch> {
        let connections = [
            motor.motor_done_move.watch_connection(),
            motor.user_readback.watch_connection(),
            motor.user_setpoint.watch_connection(),
        ]
        .into_iter()
        .collect::<Result<_>>()?;
        let shared = Arc::new(Shared {
            status: Status::new(what),
            arrival,
            seen: Mutex::new(Seen::default()),
            connections,
            readback_pv: motor.user_readback.read_pv().to_owned(),
            limit_switch_pvs: (
                motor.low_limit_switch.read_pv().to_owned(),
                motor.high_limit_switch.read_pv().to_owned(),
            ),
        });
        let subscriptions = [
            watch(&motor.motor_done_move, &shared, |seen, v| {
                seen.started |= *v == 0;
                seen.done_move = Some(*v);
            }),
            watch(&motor.user_readback, &shared, |seen, v| seen.readback = Some(*v)),
            watch(&motor.user_setpoint, &shared, |seen, v| seen.setpoints.push(*v)),
            watch(&motor.limit_violation, &shared, |seen, v| seen.limit_violation = Some(*v)),
            watch(&motor.direction_of_travel, &shared, |seen, v| seen.direction = Some(*v)),
            watch(&motor.high_limit_switch, &shared, |seen, v| seen.high_switch = Some(*v)),
            watch(&motor.low_limit_switch, &shared, |seen, v| seen.low_switch = Some(*v)),
        ]
        .into_iter()
        .collect::<Result<Vec<Subscription>>>()?;
        let supervision = tokio::spawn(supervise(Arc::downgrade(&shared), timeout));
        shared.status.add_callback(move |_| {
            supervision.abort();
            drop(subscriptions);
        });
        Ok(Watch { shared })
    }

    /// The write that starts the motion: its failure (the connection lost
    /// before the record completed it, say) is the move's.
    fn finish_with(&self, write: Status) {
        let shared = self.shared.clone();
        write.add_callback(move |outcome| match outcome {
            Err(e) => {
                shared.status.set_exception(e.clone());
            }
            Ok(()) => shared.update(|seen| seen.put_done = true),
        });
    }

    fn status(&self) -> Status {
        self.shared.status.clone()
    }
}

/// Monitor `signal`, noting each value in what the motion has seen.
fn watch<S: Signal>(
    signal: &S,
    shared: &Arc<Shared>,
    note: impl Fn(&mut Seen, &S::Value) + Send + Sync + 'static,
) -> Result<Subscription> {
    let shared = shared.clone();
    signal.subscribe(move |value, _| shared.update(|seen| note(seen, value)))
}

impl Shared {
    /// Note something the record said, and finish the motion if that ends it.
    fn update(&self, note: impl FnOnce(&mut Seen)) {
        let (outcome, progress) = {
            let mut seen = lock(&self.seen);
            note(&mut seen);
            (self.outcome(&seen), self.progress(&seen))
        };
        if let Some((done, total)) = progress {
            self.status.report_progress(done, total);
        }
        if let Some(outcome) = outcome {
            // What a record says on a later connection is not about this move.
            self.status.finish(self.lost_connection().map_or(outcome, Err));
        }
    }

    /// The first of the record's connections lost since the motion began.
    fn lost_connection(&self) -> Option<Error> {
        self.connections.iter().find_map(|c| c.check().err())
    }

    fn progress(&self, seen: &Seen) -> Option<(f64, f64)> {
        let (arrival, position) = (self.arrival?, seen.readback?);
        let total = (arrival.target - arrival.from).abs();
        Some(((position - arrival.from).abs().min(total), total))
    }

    /// How the motion ended, once it has: the put of the setpoint (or
    /// home command) completed, and the record is done moving, having
    /// started or being where it was sent.
    fn outcome(&self, seen: &Seen) -> Option<Result<()>> {
        if !seen.put_done {
            return None;
        }
        if let Some(refusal) = self.refusal(seen) {
            return Some(Err(refusal));
        }
        let arrived = |a: Arrival| seen.readback.is_some_and(|p| a.tolerance.accepts(p, a.target));
        if seen.done_move != Some(1) || !(seen.started || self.arrival.is_some_and(arrived)) {
            return None;
        }
        Some(self.limit_switch(seen).map_or(Ok(()), Err))
    }

    /// The record refused the setpoint: `.LVIO` is 1 and the record posted
    /// back a setpoint other than the target (it restores the last one).
    fn refusal(&self, seen: &Seen) -> Option<Error> {
        let arrival = self.arrival?;
        let restored = *seen.setpoints.get(1..)?.last()?;
        if seen.limit_violation != Some(1) || arrival.tolerance.accepts(restored, arrival.target) {
            return None;
        }
        Some(Error::Failed {
            what: self.status.what().to_owned(),
            reason: format!(
                "the motor record refused it as outside its limits (.LVIO 1) and kept the setpoint at {restored}"
            ),
        })
    }

    /// ophyd's check: a motion that ends on the limit switch it was heading
    /// for failed.
    fn limit_switch(&self, seen: &Seen) -> Option<Error> {
        let (which, pv) = match seen.direction {
            Some(1) if seen.high_switch == Some(1) => ("high", &self.limit_switch_pvs.1),
            Some(0) if seen.low_switch == Some(1) => ("low", &self.limit_switch_pvs.0),
            _ => return None,
        };
        Some(Error::Failed {
            what: self.status.what().to_owned(),
            reason: format!(
                "it ended on the {which} limit switch ({pv} is 1) at {}",
                seen.readback.map_or("an unknown position".to_owned(), |p| p.to_string())
            ),
        })
    }
}

/// Fail the motion when the record's connection is lost (asking every
/// [`CONNECTION_CHECK`]), or as stalled if it has not ended after
/// `timeout`, saying where the read-back last was.
async fn supervise(shared: std::sync::Weak<Shared>, timeout: Duration) {
    // A timeout beyond the clock's range (a velocity of 0) never comes.
    let deadline = tokio::time::Instant::now().checked_add(timeout);
    let stalled = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stalled);
    let mut check = tokio::time::interval(CONNECTION_CHECK);
    loop {
        tokio::select! {
            () = &mut stalled => break,
            _ = check.tick() => {
                let Some(shared) = shared.upgrade() else { return };
                if let Some(lost) = shared.lost_connection() {
                    shared.status.set_exception(lost);
                    return;
                }
            }
        }
    }
    let Some(shared) = shared.upgrade() else { return };
    let last = lock(&shared.seen).readback.map_or("never read back".to_owned(), |p| format!("last read back {p}"));
    shared.status.set_exception(Error::Timeout {
        what: format!("{} (stalled: {last} from {})", shared.status.what(), shared.readback_pv),
        after: timeout,
    });
}
