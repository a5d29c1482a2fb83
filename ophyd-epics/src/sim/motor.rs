//! [`SimMotor`]: a simulated motor record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::Value;

use super::{PutAction, PvSpec, SimIoc};

const TICK: Duration = Duration::from_millis(10);

/// How a simulated motor record starts: position, speed, limits, units.
///
/// The record has the fields ophyd's `EpicsMotor` uses, and the record's
/// behaviour behind them:
///
/// - `.VAL` (setpoint): a put moves `.RBV` toward it at `.VELO` units per
///   second, `.DMOV` 0 and `.MOVN` 1 meanwhile, `.TDIR` the direction; the
///   put completes (put-callback) when the motion ends, as the record's
///   does. A target outside the user limits (`.LLM`..`.HLM`) or the dial
///   limits (`.DLLM`..`.DHLM`, in dial coordinates) is refused as the record
///   refuses it: `.LVIO` 1, `.VAL` back to what it was, nothing moves. A
///   pair of limits that are equal is no limit, as in the record.
/// - `.SET` 1 ("Set"): a put to `.VAL` redefines the position instead of
///   moving (`.OFF` takes up the difference while `.FOFF` is "Variable").
/// - `.STOP`: the motion ends where it is. `.HOMF`/`.HOMR`: a move to the
///   home position (dial 0), completing when there.
/// - `.OFF`, `.DIR` (user = dial × (1 or -1 for "Neg") + offset), `.EGU`,
///   `.ACCL` (reported; the simulation moves at `.VELO` from the start),
///   `.HLS`/`.LLS` (0; tests raise them to simulate a limit switch).
///
/// User and dial limits are set when the motor is added and not derived
/// from each other when `.OFF` or `.DIR` change later.
///
/// ```
/// use ophyd_epics::sim::{SimIoc, SimMotor};
/// let ioc = SimIoc::new();
/// ioc.add_motor_record("sim:mtr1", SimMotor::at(0.0).limits(0.0, 10.0).velocity(1.0));
/// assert_eq!(ioc.get_f64("sim:mtr1.HLM"), Some(10.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SimMotor {
    position: f64,
    velocity: f64,
    acceleration: f64,
    limits: (f64, f64),
    units: String,
    precision: i16,
}

impl SimMotor {
    /// A motor at `position`, 1 unit/s, acceleration 1 s, no limits (both
    /// 0, the record's "none"), units `""`, precision 3.
    pub fn at(position: f64) -> SimMotor {
        SimMotor { position, velocity: 1.0, acceleration: 1.0, limits: (0.0, 0.0), units: String::new(), precision: 3 }
    }

    /// Velocity, units per second (`.VELO`).
    pub fn velocity(mut self, velocity: f64) -> SimMotor {
        self.velocity = velocity;
        self
    }

    /// Seconds to reach the velocity (`.ACCL`).
    pub fn acceleration(mut self, seconds: f64) -> SimMotor {
        self.acceleration = seconds;
        self
    }

    /// User limits (`.LLM`, `.HLM`), and the same dial limits (the offset
    /// starts at 0).
    pub fn limits(mut self, low: f64, high: f64) -> SimMotor {
        self.limits = (low, high);
        self
    }

    /// Engineering units (`.EGU`).
    pub fn units(mut self, units: &str) -> SimMotor {
        self.units = units.to_owned();
        self
    }

    /// Display precision of the positions.
    pub fn precision(mut self, precision: i16) -> SimMotor {
        self.precision = precision;
        self
    }
}

impl SimIoc {
    /// Add a motor record `name` at `position`: 1 unit/s, user and dial
    /// limits ±1000 (mm, precision 3). See [`SimIoc::add_motor_record`].
    pub fn add_motor(&self, name: &str, position: f64) -> &SimIoc {
        self.add_motor_record(name, SimMotor::at(position).limits(-1000.0, 1000.0).units("mm"))
    }

    /// Add a motor record `name` (PVs `name.VAL`, `name.RBV`, ...; see
    /// [`SimMotor`] for its fields and behaviour).
    pub fn add_motor_record(&self, name: &str, motor: SimMotor) -> &SimIoc {
        let record = Record::new(name);
        let (low, high) = motor.limits;
        let position = |pv: &str| {
            let spec = PvSpec::double(pv, motor.position).units(&motor.units).precision(motor.precision);
            if low < high {
                spec.limits(low, high)
            } else {
                spec
            }
        };
        let number = |pv: &str, value: f64| PvSpec::double(pv, value).units(&motor.units).precision(motor.precision);
        let flag = |pv: &str| PvSpec::long(pv, 0).read_only();
        self.add(position(&record.pv("RBV")).read_only())
            .add(position(&record.pv("VAL")).on_put({
                let record = record.clone();
                move |ioc, target| record.put_val(ioc, target)
            }))
            .add(number(&record.pv("OFF"), 0.0))
            .add(PvSpec::enumeration(&record.pv("DIR"), &["Pos", "Neg"], 0))
            .add(PvSpec::enumeration(&record.pv("FOFF"), &["Variable", "Frozen"], 0))
            .add(PvSpec::enumeration(&record.pv("SET"), &["Use", "Set"], 0))
            .add(number(&record.pv("VELO"), motor.velocity))
            .add(number(&record.pv("ACCL"), motor.acceleration))
            .add(PvSpec::string(&record.pv("EGU"), &motor.units))
            .add(flag(&record.pv("MOVN")))
            .add(PvSpec::long(&record.pv("DMOV"), 1).read_only())
            .add(flag(&record.pv("HLS")))
            .add(flag(&record.pv("LLS")))
            .add(number(&record.pv("HLM"), high))
            .add(number(&record.pv("LLM"), low))
            .add(number(&record.pv("DHLM"), high))
            .add(number(&record.pv("DLLM"), low))
            .add(flag(&record.pv("TDIR")))
            .add(flag(&record.pv("LVIO")))
            .add(PvSpec::long(&record.pv("STOP"), 0).on_put({
                let record = record.clone();
                move |ioc, _| record.stop(ioc)
            }))
            .add(PvSpec::long(&record.pv("HOMF"), 0).on_put({
                let record = record.clone();
                move |ioc, value| record.home(ioc, value)
            }))
            .add(PvSpec::long(&record.pv("HOMR"), 0).on_put(move |ioc, value| record.home(ioc, value)))
    }
}

/// One simulated record: its name, and which motion is the current one (a
/// new move or a stop supersedes the one under way).
#[derive(Clone)]
struct Record {
    name: Arc<str>,
    motion: Arc<AtomicU64>,
}

impl Record {
    fn new(name: &str) -> Record {
        Record { name: name.into(), motion: Arc::new(AtomicU64::new(0)) }
    }

    fn pv(&self, field: &str) -> String {
        format!("{}.{field}", self.name)
    }

    fn get(&self, ioc: &SimIoc, field: &str) -> f64 {
        ioc.get_f64(&self.pv(field)).unwrap_or(0.0)
    }

    /// 1, or -1 when `.DIR` is "Neg".
    fn sign(&self, ioc: &SimIoc) -> f64 {
        if self.get(ioc, "DIR") == 1.0 {
            -1.0
        } else {
            1.0
        }
    }

    fn put_val(&self, ioc: &SimIoc, target: &Value) -> PutAction {
        // A NaN or infinite target is never reached: the record refuses it.
        let Some(target) = target.as_f64().filter(|t| t.is_finite()) else {
            return PutAction::Refuse(format!("cannot move to {target}: the target must be a finite number"));
        };
        if self.get(ioc, "SET") == 1.0 {
            return self.redefine(ioc, target);
        }
        let dial = (target - self.get(ioc, "OFF")) * self.sign(ioc);
        let outside = |low: f64, high: f64, at: f64| low < high && !(low..=high).contains(&at);
        if outside(self.get(ioc, "LLM"), self.get(ioc, "HLM"), target)
            || outside(self.get(ioc, "DLLM"), self.get(ioc, "DHLM"), dial)
        {
            ioc.write(&self.pv("LVIO"), 1);
            let unchanged = ioc.get(&self.pv("VAL")).unwrap_or(Value::Float(0.0));
            return PutAction::Write { value: unchanged, completion: None };
        }
        ioc.write(&self.pv("LVIO"), 0);
        PutAction::Write { value: Value::Float(target), completion: Some(self.motion_to(ioc, target)) }
    }

    /// `.SET` "Set": the motor is now at `position`, without moving.
    fn redefine(&self, ioc: &SimIoc, position: f64) -> PutAction {
        if self.get(ioc, "FOFF") == 0.0 {
            let offset = self.get(ioc, "OFF") + position - self.get(ioc, "RBV");
            ioc.write(&self.pv("OFF"), offset);
        }
        ioc.write(&self.pv("RBV"), position);
        PutAction::Write { value: Value::Float(position), completion: None }
    }

    fn stop(&self, ioc: &SimIoc) -> PutAction {
        self.motion.fetch_add(1, Ordering::SeqCst);
        if let Some(at) = ioc.get(&self.pv("RBV")) {
            ioc.write(&self.pv("VAL"), at);
        }
        ioc.write(&self.pv("MOVN"), 0);
        ioc.write(&self.pv("DMOV"), 1);
        PutAction::Write { value: Value::Int(0), completion: None }
    }

    /// A home search: to dial 0, completing when there.
    fn home(&self, ioc: &SimIoc, value: &Value) -> PutAction {
        if value.as_f64() != Some(1.0) {
            return PutAction::accept(value);
        }
        let home = self.get(ioc, "OFF");
        ioc.write(&self.pv("VAL"), home);
        PutAction::Write { value: Value::Int(1), completion: Some(self.motion_to(ioc, home)) }
    }

    /// The motion to `target`, step by step at `.VELO`, as a put's
    /// completion: it ends on arrival, or when superseded.
    fn motion_to(&self, ioc: &SimIoc, target: f64) -> BoxFuture<'static, Result<(), String>> {
        let this_motion = self.motion.fetch_add(1, Ordering::SeqCst) + 1;
        let (ioc, record) = (ioc.clone(), self.clone());
        let from = record.get(&ioc, "RBV");
        ioc.write(&record.pv("TDIR"), i32::from(target > from));
        ioc.write(&record.pv("DMOV"), 0);
        ioc.write(&record.pv("MOVN"), 1);
        async move {
            loop {
                tokio::time::sleep(TICK).await;
                if record.motion.load(Ordering::SeqCst) != this_motion {
                    return Ok(()); // superseded by a new move or a stop
                }
                let at = record.get(&ioc, "RBV");
                let step = record.get(&ioc, "VELO").max(1e-9) * TICK.as_secs_f64();
                let next = if (target - at).abs() <= step { target } else { at + step * (target - at).signum() };
                ioc.write(&record.pv("RBV"), next);
                if next == target {
                    ioc.write(&record.pv("MOVN"), 0);
                    ioc.write(&record.pv("DMOV"), 1);
                    return Ok(());
                }
            }
        }
        .boxed()
    }
}
