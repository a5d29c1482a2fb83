//! Positioners: `PvPositioner` on simulated PVs (done flag, put
//! completion, tolerance, actuate, stop, limits, a done PV that lags or
//! never leaves, a lost IOC) and on EPICS base's soft IOC over Channel
//! Access; `SoftPositioner`; and a pseudo slit (gap and centre from two
//! blades) moved, refused, read and scanned, with a property test of its
//! transform and of where its moves end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_core::{
    Kind, Positioner, PseudoAxis, PseudoPositioner, PseudoTransform, SoftPositioner, Subscription, Tolerance,
};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc, SimMotor};
use ophyd_epics::{
    EpicsMotor, EpicsSignal, EpicsSignalRO, PositionerSignals, PvPositioner, PvPositionerSignals, PvReading,
};
use ophyd_run::{scan, Document, RunEngine};
use serde_json::Value as Json;

// --- PvPositioner on the simulated IOC --------------------------------------

/// How a simulated stage behaves.
#[derive(Clone, Copy)]
struct Behaviour {
    /// How long a move takes.
    travel: Duration,
    /// How long after the write the done flag drops (`None`: at once).
    lag: Option<Duration>,
    /// Moves start on a write of `:GO`, not of `:SP`.
    actuated: bool,
}

impl Behaviour {
    fn travel(travel: Duration) -> Behaviour {
        Behaviour { travel, lag: None, actuated: false }
    }
}

/// A stage in PVs, as a beamline IOC might serve it: `st:SP` (control
/// limits -10..10), `st:RBV`, `st:DONE` ("Moving"/"Done"), `st:STOP`, and
/// `st:GO` for an actuated stage. A move to where the stage already is
/// changes nothing, the done flag included; `st:STOP` ends a move where it
/// is. The move's processing is the put-callback of the write that started
/// it.
fn simulated_stage(behaviour: Behaviour) -> SimIoc {
    let ioc = SimIoc::new();
    let generation = Arc::new(AtomicU64::new(0));
    let start = {
        let generation = generation.clone();
        move |ioc: &SimIoc, value: &ophyd_core::Value| {
            // The handler runs before the IOC stores what was written.
            let target = if behaviour.actuated { ioc.get_f64("st:SP") } else { value.as_f64() }.unwrap_or_default();
            let from = ioc.get_f64("st:RBV").unwrap_or_default();
            let this = generation.fetch_add(1, Ordering::SeqCst) + 1;
            if (target - from).abs() < 1e-12 {
                return PutAction::accept(value);
            }
            if behaviour.lag.is_none() {
                ioc.write("st:DONE", 0);
            }
            let (ioc, generation) = (ioc.clone(), generation.clone());
            let motion = async move {
                if let Some(lag) = behaviour.lag {
                    tokio::time::sleep(lag).await;
                    ioc.write("st:DONE", 0);
                }
                tokio::time::sleep(behaviour.travel).await;
                if generation.load(Ordering::SeqCst) == this {
                    ioc.write("st:RBV", target);
                    ioc.write("st:DONE", 1);
                }
                Ok(())
            };
            PutAction::Write { value: value.clone(), completion: Some(motion.boxed()) }
        }
    };
    let setpoint = PvSpec::double("st:SP", 0.0).limits(-10.0, 10.0).precision(3);
    if behaviour.actuated {
        ioc.add(setpoint).add(PvSpec::long("st:GO", 0).on_put(start));
    } else {
        ioc.add(setpoint.on_put(start));
    }
    ioc.add(PvSpec::double("st:RBV", 0.0).precision(3).read_only())
        .add(PvSpec::enumeration("st:DONE", &["Moving", "Done"], 1).read_only())
        .add(PvSpec::long("st:STOP", 0).on_put(move |ioc, value| {
            generation.fetch_add(1, Ordering::SeqCst);
            ioc.write("st:DONE", 1);
            PutAction::accept(value)
        }));
    ioc
}

/// ophyd's `PVPositioner` with a done flag and a stop command.
#[derive(Device)]
struct Stage {
    #[component(suffix = ":SP")]
    setpoint: EpicsSignal<f64>,
    #[component(suffix = ":RBV")]
    readback: EpicsSignalRO<f64>,
    #[component(suffix = ":DONE", kind = "omitted")]
    done: EpicsSignalRO<Enum>,
    #[component(suffix = ":STOP", kind = "omitted")]
    stop_signal: EpicsSignal<i32>,
}

impl PvPositionerSignals for Stage {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint)
            .readback(&self.readback)
            .done(&self.done, "Done")
            .stop(&self.stop_signal, 1)
    }
}

async fn stage(behaviour: Behaviour) -> (SimIoc, PvPositioner<Stage>) {
    let ioc = simulated_stage(behaviour);
    let stage = PvPositioner::new(Stage::new("st", "stage"));
    stage.connect(&ioc.transport()).await.unwrap();
    (ioc, stage)
}

/// Every value `pv` takes from now on, as a monitor of its own sees them.
async fn values_of(ioc: &SimIoc, pv: &str) -> (Subscription, Arc<Mutex<Vec<f64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let channel = ioc.transport().connect(pv).await.unwrap();
    let subscription = channel
        .subscribe(Arc::new(move |reading: &PvReading| s.lock().unwrap().push(reading.value.as_f64().unwrap())))
        .unwrap();
    (subscription, seen)
}

#[tokio::test(start_paused = true)]
async fn pv_positioner_finishes_when_the_done_pv_returns_to_its_done_value() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::from_secs(2))).await;
    let moving = stage.move_to(2.5).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1900)).await;
    assert!(!moving.done(), "the done flag is still 0");
    assert_eq!(ioc.get_f64("st:DONE"), Some(0.0));
    moving.wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(stage.position().await.unwrap(), 2.5);
    assert_eq!(ioc.get_f64("st:DONE"), Some(1.0));
}

#[tokio::test]
async fn pv_positioner_reads_as_ophyd_names_it_with_its_read_back_hinted() {
    let (_ioc, stage) = stage(Behaviour::travel(Duration::ZERO)).await;
    stage.move_to(1.0).await.unwrap().await.unwrap();
    let read = stage.read().await.unwrap();
    assert_eq!(read.keys().collect::<Vec<_>>(), ["stage_setpoint", "stage_readback"]);
    assert_eq!(read.get("stage_readback").unwrap().value, 1.0.into());
    assert_eq!(stage.hints().fields, ["stage_readback"]);
    assert_eq!(stage.readback.kind(), Kind::Hinted);
}

#[tokio::test]
async fn pv_positioner_refuses_a_target_outside_the_setpoints_control_limits_and_writes_nothing() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::ZERO)).await;
    let err = stage.move_to(12.0).await.unwrap_err();
    assert_eq!(err.name(), "LimitError");
    let message = err.to_string();
    for part in ["`stage`", "12", "control limits [-10, 10]", "st:SP", "nothing was moved"] {
        assert!(message.contains(part), "no `{part}` in: {message}");
    }
    assert_eq!(ioc.get_f64("st:SP"), Some(0.0));
    assert_eq!(stage.limits().await.unwrap(), (-10.0, 10.0));
}

#[tokio::test]
async fn pv_positioner_limits_of_its_own_replace_the_control_limits() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::ZERO)).await;
    stage.set_limits(Some((0.0, 2.0)));
    let err = stage.move_to(3.0).await.unwrap_err();
    assert!(err.to_string().contains("user limits [0, 2]"), "{err}");
    assert_eq!(ioc.get_f64("st:SP"), Some(0.0));
    stage.set_limits(None);
    stage.move_to(3.0).await.unwrap().await.unwrap();
    assert_eq!(stage.position().await.unwrap(), 3.0);
}

#[tokio::test(start_paused = true)]
async fn pv_positioner_stop_writes_the_stop_pv_and_fails_the_move_in_flight() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::from_secs(10))).await;
    let (_watching, stops) = values_of(&ioc, "st:STOP").await;
    let moving = stage.move_to(4.0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stage.stop(false).await.unwrap();
    let err = moving.wait(Duration::from_secs(5)).await.unwrap_err();
    assert!(err.to_string().contains("move of `stage` to 4") && err.to_string().contains("stopped at 0"), "{err}");
    assert_eq!(*stops.lock().unwrap(), [0.0, 1.0], "the stop value was written");
    assert_eq!(ioc.get_f64("st:RBV"), Some(0.0), "the stage stopped where it was");
}

#[tokio::test(start_paused = true)]
async fn a_done_pv_that_lags_the_setpoint_does_not_end_the_move_early() {
    let lagging = Behaviour { lag: Some(Duration::from_millis(500)), ..Behaviour::travel(Duration::from_secs(1)) };
    let (ioc, stage) = stage(lagging).await;
    let moving = stage.move_to(5.0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!moving.done(), "the write completed and the done flag still says done, but it never left");
    moving.wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ioc.get_f64("st:RBV"), Some(5.0), "done only once there");
}

#[tokio::test(start_paused = true)]
async fn a_move_so_short_the_done_pv_never_leaves_ends_when_the_read_back_is_there() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::from_secs(1))).await;
    stage.move_to(1.0).await.unwrap().await.unwrap();
    let (_watching, dones) = values_of(&ioc, "st:DONE").await;
    stage.move_to(1.0).await.unwrap().wait(Duration::from_millis(100)).await.unwrap();
    assert_eq!(*dones.lock().unwrap(), [1.0], "the done flag never left 1");
}

#[tokio::test]
async fn a_setpoint_the_ioc_refuses_fails_the_status_with_the_iocs_reason() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::ZERO)).await;
    ioc.set_put_handler("st:SP", |_, _| PutAction::Refuse("the interlock is open".into()));
    let err = stage.move_to(1.0).await.unwrap().await.unwrap_err();
    assert!(err.to_string().contains("the interlock is open") && err.to_string().contains("st:SP"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_move_that_never_ends_times_out_saying_what_the_pvs_last_said() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::from_secs(3600))).await;
    stage.set_move_timeout(Some(Duration::from_secs(5)));
    let err = stage.move_to(2.0).await.unwrap().await.unwrap_err();
    assert_eq!(err.name(), "Timeout");
    let message = err.to_string();
    for part in ["move of `stage` to 2", "st:DONE last said not done", "st:RBV last read back 0", "5s"] {
        assert!(message.contains(part), "no `{part}` in: {message}");
    }
    drop(ioc);
}

#[tokio::test(start_paused = true)]
async fn a_done_pv_that_disconnects_mid_move_fails_the_move_naming_it() {
    let (ioc, stage) = stage(Behaviour::travel(Duration::from_secs(30))).await;
    let moving = stage.move_to(2.0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    ioc.set_connected("st:DONE", false);
    let err = moving.wait(Duration::from_secs(5)).await.unwrap_err();
    assert!(err.is_disconnection(), "{err}");
    assert!(err.to_string().contains("st:DONE"), "{err}");
}

/// ophyd's `PVPositionerPC`: done when the setpoint's put completes.
#[derive(Device)]
struct CompletingStage {
    #[component(suffix = ":SP", put_complete)]
    setpoint: EpicsSignal<f64>,
    #[component(suffix = ":RBV")]
    readback: EpicsSignalRO<f64>,
}

impl PvPositionerSignals for CompletingStage {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint).readback(&self.readback)
    }
}

#[tokio::test(start_paused = true)]
async fn a_positioner_without_a_done_pv_finishes_when_the_setpoints_put_completes() {
    let ioc = simulated_stage(Behaviour::travel(Duration::from_secs(2)));
    let stage = PvPositioner::new(CompletingStage::new("st", "stage"));
    stage.connect(&ioc.transport()).await.unwrap();
    let moving = stage.move_to(-3.0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1900)).await;
    assert!(!moving.done());
    moving.wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ioc.get_f64("st:RBV"), Some(-3.0));
}

/// ophyd's `PVPositionerIsClose`: done when the read-back is close enough.
#[derive(Device)]
struct CloseEnoughStage {
    #[component(suffix = ":SP")]
    setpoint: EpicsSignal<f64>,
    #[component(suffix = ":RBV")]
    readback: EpicsSignalRO<f64>,
}

impl PvPositionerSignals for CloseEnoughStage {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint)
            .readback(&self.readback)
            .done_when_close(Tolerance { atol: 0.01, rtol: 0.0 })
    }
}

#[tokio::test(start_paused = true)]
async fn a_positioner_done_when_close_finishes_once_the_read_back_is_within_its_tolerance() {
    let ioc = simulated_stage(Behaviour::travel(Duration::from_secs(2)));
    let stage = PvPositioner::new(CloseEnoughStage::new("st", "stage"));
    stage.connect(&ioc.transport()).await.unwrap();
    let moving = stage.move_to(7.0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ioc.write("st:RBV", 6.5);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!moving.done(), "0.5 away is not close");
    ioc.write("st:RBV", 6.995);
    moving.wait(Duration::from_millis(100)).await.unwrap();
}

/// A positioner with neither done PV, tolerance nor put completion.
#[derive(Device)]
struct Blind {
    #[component(suffix = ":SP")]
    setpoint: EpicsSignal<f64>,
}

impl PvPositionerSignals for Blind {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint)
    }
}

#[tokio::test]
async fn a_positioner_with_no_way_to_tell_it_is_done_refuses_to_move() {
    let ioc = simulated_stage(Behaviour::travel(Duration::ZERO));
    let blind = PvPositioner::new(Blind::new("st", "blind"));
    blind.connect(&ioc.transport()).await.unwrap();
    let err = blind.move_to(1.0).await.unwrap_err();
    assert!(err.to_string().contains("no way to tell a move is done"), "{err}");
    assert_eq!(ioc.get_f64("st:SP"), Some(0.0));
}

/// A stage that moves on `:GO` (ophyd's `actuate`, `actuate_value`).
#[derive(Device)]
struct ActuatedStage {
    #[component(suffix = ":SP")]
    setpoint: EpicsSignal<f64>,
    #[component(suffix = ":RBV")]
    readback: EpicsSignalRO<f64>,
    #[component(suffix = ":DONE", kind = "omitted")]
    done: EpicsSignalRO<Enum>,
    #[component(suffix = ":GO", kind = "omitted")]
    go: EpicsSignal<i32>,
}

impl PvPositionerSignals for ActuatedStage {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint).readback(&self.readback).done(&self.done, 1).actuate(&self.go, 1)
    }
}

#[tokio::test(start_paused = true)]
async fn an_actuated_positioner_writes_the_setpoint_then_the_actuate_command() {
    let ioc = simulated_stage(Behaviour { actuated: true, ..Behaviour::travel(Duration::from_secs(1)) });
    let stage = PvPositioner::new(ActuatedStage::new("st", "stage"));
    stage.connect(&ioc.transport()).await.unwrap();
    let (_watching, gos) = values_of(&ioc, "st:GO").await;
    stage.move_to(-2.0).await.unwrap().wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ioc.get_f64("st:RBV"), Some(-2.0), "the move started on the actuate, with the new setpoint");
    assert_eq!(*gos.lock().unwrap(), [0.0, 1.0]);
}

// --- SoftPositioner -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn soft_positioner_is_there_at_once_and_done_after_its_settle_time() {
    let x = SoftPositioner::new("x").with_settle_time(Duration::from_secs(2));
    let moving = x.move_to(3.0).await.unwrap();
    assert_eq!(x.position(), Some(3.0));
    tokio::time::sleep(Duration::from_millis(1999)).await;
    assert!(!moving.done(), "still settling");
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert!(moving.success());
}

#[tokio::test(start_paused = true)]
async fn soft_positioner_stop_ends_a_settling_move_with_a_failure_naming_it() {
    let x = SoftPositioner::new("x").with_settle_time(Duration::from_secs(2));
    let moving = x.move_to(3.0).await.unwrap();
    x.stop(false).await.unwrap();
    let err = moving.await.unwrap_err();
    assert!(err.to_string().contains("move of `x` to 3") && err.to_string().contains("stopped at 3"), "{err}");
}

#[tokio::test]
async fn soft_positioner_limits_of_zero_width_are_none_and_others_refuse_naming_it() {
    let x = SoftPositioner::new("x");
    x.move_to(1e6).await.unwrap().await.unwrap();
    x.set_limits(Some((-1.0, 1.0)));
    let err = x.move_to(2.0).await.unwrap_err();
    assert_eq!(err.name(), "LimitError");
    assert!(err.to_string().contains("`x` cannot move to 2: outside its soft limits [-1, 1]"), "{err}");
    assert_eq!(x.position(), Some(1e6), "a refused move changes nothing");
    assert!(x.move_to(f64::NAN).await.is_err());
    assert_eq!(x.position(), Some(1e6));
}

#[tokio::test]
async fn soft_positioner_reads_and_describes_under_its_own_name_as_ophyd_does() {
    let x = SoftPositioner::new("x").with_limits(0.0, 5.0).with_egu("mm");
    assert!(x.read().await.is_err(), "no position yet");
    x.set_current_position(2.0);
    let reading = x.read().await.unwrap();
    assert_eq!(reading.keys().collect::<Vec<_>>(), ["x"]);
    let described = serde_json::to_value(x.describe().await.unwrap()).unwrap();
    assert_eq!(
        described["x"],
        serde_json::json!({"source": "computed", "dtype": "number", "shape": [], "units": "mm",
                           "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 5.0})
    );
    assert!(x.read_configuration().await.unwrap().is_empty());
    assert!(x.hints().fields.is_empty(), "not hinted unless its kind says so");
    x.set_kind(Kind::Hinted);
    assert_eq!(x.hints().fields, ["x"]);
}

// --- A pseudo slit -------------------------------------------------------------

/// The classic slit: gap and centre from two blades.
fn forward([gap, center]: [f64; 2]) -> [f64; 2] {
    [center + gap / 2.0, center - gap / 2.0]
}

fn inverse([top, bottom]: [f64; 2]) -> [f64; 2] {
    [top - bottom, (top + bottom) / 2.0]
}

const SLIT_AXES: [PseudoAxis; 2] =
    [PseudoAxis::new("gap").limits(0.0, 10.0).egu("mm"), PseudoAxis::new("center").egu("mm")];

/// A slit's two blades, of any positioner.
#[derive(Device)]
struct Blades<P: Positioner + ophyd_core::Component> {
    #[component(suffix = ":top")]
    top: P,
    #[component(suffix = ":bottom")]
    bottom: P,
}

impl<P: Positioner + ophyd_core::Component> PseudoTransform<2, 2> for Blades<P> {
    const PSEUDO_AXES: [PseudoAxis; 2] = SLIT_AXES;
    fn real_axes(&self) -> [&dyn Positioner; 2] {
        [&self.top, &self.bottom]
    }
    fn forward(&self, pseudo: [f64; 2]) -> [f64; 2] {
        forward(pseudo)
    }
    fn inverse(&self, real: [f64; 2]) -> [f64; 2] {
        inverse(real)
    }
}

/// Blades with no hardware.
type SoftSlit = PseudoPositioner<Blades<SoftPositioner>, 2, 2>;

/// A slit open 2 mm around 0, blades limited to ±5 mm.
fn soft_slit() -> SoftSlit {
    let slit = SoftSlit::new("", "slit");
    for (blade, at) in [(&slit.real().top, 1.0), (&slit.real().bottom, -1.0)] {
        blade.set_limits(Some((-5.0, 5.0)));
        blade.set_current_position(at);
    }
    slit
}

/// Blades that are motor records.
type MotorSlit = PseudoPositioner<Blades<EpicsMotor>, 2, 2>;

async fn motor_slit(velocity: f64) -> (SimIoc, MotorSlit) {
    let ioc = SimIoc::new();
    ioc.add_motor_record("XF:slit:top", SimMotor::at(1.0).limits(-5.0, 5.0).velocity(velocity))
        .add_motor_record("XF:slit:bottom", SimMotor::at(-1.0).limits(-5.0, 5.0).velocity(velocity));
    let slit = MotorSlit::new("XF:slit", "slit");
    slit.connect(&ioc.transport()).await.unwrap();
    (ioc, slit)
}

#[tokio::test]
async fn slit_forward_and_inverse_round_trip_through_the_positioner() {
    let slit = soft_slit();
    assert_eq!(slit.position().await.unwrap(), [2.0, 0.0]);
    assert_eq!(slit.real_position().await.unwrap(), [1.0, -1.0]);
    let real = slit.real().forward([3.0, 0.5]);
    assert_eq!(real, [2.0, -1.0]);
    assert_eq!(slit.real().inverse(real), [3.0, 0.5]);
}

#[tokio::test(start_paused = true)]
async fn moving_the_gap_moves_both_blades_together_and_keeps_the_center() {
    let slit = soft_slit();
    for blade in [&slit.real().top, &slit.real().bottom] {
        blade.set_settle_time(Duration::from_secs(1));
    }
    let [gap, _] = slit.axes();
    let start = tokio::time::Instant::now();
    let moving = gap.move_to(4.0).await.unwrap();
    assert_eq!(slit.real_position().await.unwrap(), [2.0, -2.0], "both blades started at once");
    moving.await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1), "one settle time: the blades settled together");
    assert_eq!(slit.position().await.unwrap(), [4.0, 0.0]);
}

#[tokio::test]
async fn both_pseudo_axes_move_at_once_and_become_the_targets() {
    let slit = soft_slit();
    slit.move_to([3.0, 0.5]).await.unwrap().await.unwrap();
    assert_eq!(slit.real_position().await.unwrap(), [2.0, -1.0]);
    assert_eq!(slit.target().await.unwrap(), [3.0, 0.5]);
    // Moving one axis keeps the other at its target (ophyd's move_single).
    let [_, center] = slit.axes();
    center.move_to(-1.0).await.unwrap().await.unwrap();
    assert_eq!(slit.position().await.unwrap(), [3.0, -1.0]);
}

#[tokio::test]
async fn a_gap_whose_blades_would_leave_their_limits_is_refused_naming_the_blade_and_nothing_moves() {
    let slit = soft_slit();
    let [gap, center] = slit.axes();
    center.move_to(4.0).await.unwrap().await.unwrap();
    let err = gap.move_to(3.0).await.unwrap_err(); // top blade to 5.5
    assert_eq!(err.name(), "LimitError");
    assert!(err.to_string().contains("`slit_top` cannot move to 5.5"), "{err}");
    assert_eq!(slit.real_position().await.unwrap(), [5.0, 3.0], "neither blade moved");
    assert_eq!(slit.target().await.unwrap(), [2.0, 4.0], "nor did the targets");
}

#[tokio::test]
async fn a_gap_outside_the_pseudo_limits_is_refused_naming_the_axis() {
    let slit = soft_slit();
    let [gap, _] = slit.axes();
    let err = gap.move_to(-1.0).await.unwrap_err();
    assert_eq!(err.name(), "LimitError");
    assert!(err.to_string().contains("`slit_gap` cannot move to -1: outside its pseudo limits [0, 10]"), "{err}");
    assert_eq!(slit.real_position().await.unwrap(), [1.0, -1.0]);
    gap.set_limits(None);
    assert!(gap.check_value(-1.0).await.is_ok(), "a negative gap is the transform's business now");
}

#[tokio::test]
async fn the_slit_reads_describes_and_hints_as_ophyd_does() {
    let slit = soft_slit();
    let read = slit.read().await.unwrap();
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        ["slit_gap", "slit_gap_setpoint", "slit_center", "slit_center_setpoint", "slit_top", "slit_bottom"]
    );
    assert_eq!(read.get("slit_gap").unwrap().value, 2.0.into());
    assert_eq!(read.get("slit_gap_setpoint").unwrap().value, 2.0.into(), "never moved: the target is the position");
    let described = serde_json::to_value(slit.describe().await.unwrap()).unwrap();
    assert_eq!(
        described["slit_gap"],
        serde_json::json!({"source": "PY:slit_gap.position", "dtype": "number", "shape": [], "units": "mm",
                           "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 10.0})
    );
    assert_eq!(described["slit_center_setpoint"]["source"], "PY:slit_center.target");
    assert_eq!(described["slit_top"]["source"], "computed");
    assert_eq!(slit.hints().fields, ["slit_gap", "slit_center"]);
    assert_eq!(slit.component_names(), ["gap", "center", "real"]);
    assert_eq!(
        slit.read_attrs(),
        [
            "gap",
            "gap.readback",
            "gap.setpoint",
            "center",
            "center.readback",
            "center.setpoint",
            "real",
            "real.top",
            "real.bottom"
        ]
    );
    assert!(slit.read_configuration().await.unwrap().is_empty());
    assert_eq!(slit.lookup("real.top").unwrap().name(), "slit_top");
    let [gap, _] = slit.axes();
    assert_eq!(gap.read_dyn().await.unwrap().keys().collect::<Vec<_>>(), ["slit_gap", "slit_gap_setpoint"]);
}

#[tokio::test]
async fn a_scan_of_the_gap_records_the_pseudo_and_real_positions_in_every_event() {
    let (_ioc, slit) = motor_slit(100.0).await;
    let det = SoftPositioner::new("det");
    det.set_current_position(0.0);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let mut re = RunEngine::new();
    re.subscribe(move |_, doc| {
        if let Document::Event(e) = doc {
            seen.lock().unwrap().push(e.data.clone());
        }
    });
    let [gap, _] = slit.axes();
    let summary = re.run(scan(&[&det, &slit], gap, [1.0, 2.0, 4.0])).await.unwrap();
    assert_eq!(summary.num_events, 3);
    let events = events.lock().unwrap();
    for (event, gap) in events.iter().zip([1.0, 2.0, 4.0]) {
        let value =
            |key: &str| event.get(key).and_then(Json::as_f64).unwrap_or_else(|| panic!("no {key} in {event:?}"));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(value("slit_gap"), gap), "{event:?}");
        assert!(close(value("slit_gap_setpoint"), gap), "{event:?}");
        assert!(close(value("slit_center"), 0.0), "{event:?}");
        assert!(close(value("slit_top"), gap / 2.0) && close(value("slit_bottom"), -gap / 2.0), "{event:?}");
        assert!(event.contains_key("slit_top_user_setpoint") && event.contains_key("det"), "{event:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_blade_failing_mid_move_fails_the_slit_move_and_stops_the_other_blade() {
    let (ioc, slit) = motor_slit(2.0).await;
    // The top blade's record refuses the move after it was accepted.
    ioc.set_put_handler("XF:slit:top.VAL", |ioc, _| {
        ioc.write("XF:slit:top.LVIO", 1);
        PutAction::Write { value: ophyd_core::Value::Float(1.0), completion: None }
    });
    let [gap, _] = slit.axes();
    let moving = gap.move_to(6.0).await.unwrap(); // blades to 3 and -3: 1 s of travel
    let err = moving.wait(Duration::from_secs(10)).await.unwrap_err();
    assert!(err.to_string().contains("slit_top") && err.to_string().contains(".LVIO 1"), "{err}");
    tokio::time::sleep(Duration::from_secs(2)).await; // what the bottom blade's travel would have taken
    let bottom = slit.real().bottom.position().await.unwrap();
    assert!(bottom > -3.0, "the bottom blade was stopped short of -3, at {bottom}");
    assert_eq!(slit.real().bottom.motor_done_move.get().await.unwrap(), 1, "and is still");
}

#[tokio::test(start_paused = true)]
async fn stopping_a_pseudo_axis_stops_the_real_positioners() {
    let (_ioc, slit) = motor_slit(2.0).await;
    let [_, center] = slit.axes();
    let moving = center.move_to(2.0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    center.stop_dyn(false).await.unwrap();
    let err = moving.wait(Duration::from_secs(10)).await.unwrap_err();
    assert!(err.to_string().contains("stopped at"), "{err}");
    tokio::time::sleep(Duration::from_secs(2)).await; // what the travel would have taken
    let [top, bottom] = slit.real_position().await.unwrap();
    assert!(top < 3.0 && bottom < 1.0, "both blades stopped short: {top}, {bottom}");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    proptest! {
        #[test]
        fn inverse_of_forward_is_the_identity_within_tolerance(gap in 0.0..10.0_f64, center in -5.0..5.0_f64) {
            let [g, c] = inverse(forward([gap, center]));
            prop_assert!((g - gap).abs() <= 1e-12 && (c - center).abs() <= 1e-12, "{gap} {center} -> {g} {c}");
        }

        #[test]
        fn every_accepted_target_is_where_the_slit_ends_and_every_refused_one_moves_nothing(
            targets in prop::collection::vec((-2.0..12.0_f64, -6.0..6.0_f64), 1..8)
        ) {
            block_on(async {
                let slit = soft_slit();
                for (gap, center) in targets {
                    let before = slit.real_position().await.unwrap();
                    match slit.move_to([gap, center]).await {
                        Ok(moving) => {
                            moving.await.unwrap();
                            let [g, c] = slit.position().await.unwrap();
                            assert!((g - gap).abs() <= 1e-9 && (c - center).abs() <= 1e-9, "{gap} {center} -> {g} {c}");
                            let [top, bottom] = slit.real_position().await.unwrap();
                            assert!((-5.0..=5.0).contains(&top) && (-5.0..=5.0).contains(&bottom));
                        }
                        Err(e) => {
                            assert_eq!(e.name(), "LimitError", "{e}");
                            let [top, bottom] = forward([gap, center]);
                            let outside = |x: f64| !(-5.0..=5.0).contains(&x);
                            assert!(!(0.0..=10.0).contains(&gap) || outside(top) || outside(bottom), "{e}");
                            assert_eq!(slit.real_position().await.unwrap(), before, "refused: nothing moved");
                        }
                    }
                }
            });
        }
    }
}

// --- Over Channel Access, on EPICS base's soft IOC -------------------------------

#[cfg(feature = "ca")]
mod channel_access {
    use ophyd_tests::ioc::{self, Ioc};

    use super::*;

    /// The positioner of `iocs/soft.db` (`pos:`): setpoint, read-back that
    /// follows 1 s later, done flag.
    #[derive(Device)]
    struct RecordStage {
        #[component(suffix = ":pos:SP")]
        setpoint: EpicsSignal<f64>,
        #[component(suffix = ":pos:RBV")]
        readback: EpicsSignalRO<f64>,
        #[component(suffix = ":pos:DONE", kind = "omitted")]
        done: EpicsSignalRO<Enum>,
    }

    impl PvPositionerSignals for RecordStage {
        fn signals(&self) -> PositionerSignals<'_> {
            PositionerSignals::new(&self.setpoint).readback(&self.readback).done(&self.done, "Done")
        }
    }

    async fn record_stage(ioc: &Ioc) -> PvPositioner<RecordStage> {
        let stage = PvPositioner::new(RecordStage::new(ioc.device_prefix(), "stage"));
        stage.connect(&ioc::ca_transport()).await.unwrap();
        stage
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pv_positioner_moves_on_records_and_refuses_outside_their_drive_limits() {
        let ioc = Ioc::soft();
        let stage = record_stage(&ioc).await;
        let err = stage.move_to(7.0).await.unwrap_err();
        assert!(err.to_string().contains("control limits [-5, 5]"), "{err}");
        let moving = stage.move_to(2.0).await.unwrap();
        assert!(!moving.done(), "the read-back follows 1 s later");
        moving.wait(Duration::from_secs(10)).await.unwrap();
        assert_eq!(stage.readback.get().await.unwrap(), 2.0);
        assert_eq!(stage.done.get_label().await.unwrap(), "Done");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pv_positioner_whose_ioc_is_killed_mid_move_fails_naming_the_pv() {
        let mut ioc = Ioc::soft();
        let stage = record_stage(&ioc).await;
        let done_pv = ioc.pv("pos:DONE");
        let moving = stage.move_to(-3.0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        ioc.stop();
        let err = moving.wait(Duration::from_secs(10)).await.unwrap_err();
        assert!(err.is_disconnection(), "{err}");
        assert!(err.to_string().contains(&done_pv), "{err}");
    }
}
