//! `EpicsMotor` on the simulated motor record: limits checked before a
//! move, the ways a move fails (refused by the record, stalled, its IOC
//! lost, stopped, on a limit switch), homing, redefining the position, and
//! ophyd's data keys. The same motor against caproto's motor record
//! simulation, next to Python ophyd, is in `parity.rs`.

use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_core::Value;
use ophyd_epics::sim::{PutAction, SimIoc, SimMotor};
use ophyd_epics::{EpicsMotor, HomeDirection};

/// A motor `sim:mtr1` with the caproto simulation's first motor's limits
/// (0..10), fast enough for tests.
async fn motor() -> (SimIoc, EpicsMotor) {
    let ioc = SimIoc::new();
    ioc.add_motor_record("sim:mtr1", SimMotor::at(0.0).limits(0.0, 10.0).velocity(50.0));
    let motor = EpicsMotor::new("sim:mtr1", "motor");
    motor.connect(&ioc.transport()).await.unwrap();
    (ioc, motor)
}

/// [`motor`] at 1 unit/s, moving from 0 to 5: the Status of that move.
async fn moving_slowly() -> (SimIoc, EpicsMotor, Status) {
    let (ioc, motor) = motor().await;
    motor.velocity.put(1.0).await.unwrap();
    let moving = motor.move_to(5.0).await.unwrap();
    (ioc, motor, moving)
}

#[tokio::test]
async fn a_move_within_the_limits_arrives_and_reads_as_ophyd_names_it() {
    let (_ioc, motor) = motor().await;
    motor.move_to(2.5).await.unwrap().await.unwrap();
    assert_eq!(motor.position().await.unwrap(), 2.5);
    let read = motor.read().await.unwrap();
    assert_eq!(read.keys().collect::<Vec<_>>(), ["motor", "motor_user_setpoint"]);
    assert_eq!(read.get("motor").unwrap().value, Value::Float(2.5));
    let config = motor.read_configuration().await.unwrap();
    assert_eq!(
        config.keys().collect::<Vec<_>>(),
        ["motor_user_offset", "motor_user_offset_dir", "motor_velocity", "motor_acceleration", "motor_motor_egu"]
    );
    assert_eq!(motor.hints().fields, ["motor"]);
}

#[tokio::test]
async fn a_move_outside_the_user_limits_is_refused_naming_motor_target_and_limits_and_nothing_moves() {
    let (ioc, motor) = motor().await;
    let err = motor.move_to(20.0).await.unwrap_err();
    assert_eq!(err.name(), "LimitError");
    let message = err.to_string();
    for part in ["`motor`", "20", "user limits [0, 10]", "sim:mtr1.LLM", "sim:mtr1.HLM"] {
        assert!(message.contains(part), "no `{part}` in: {message}");
    }
    assert_eq!((ioc.get_f64("sim:mtr1.VAL"), ioc.get_f64("sim:mtr1.LVIO")), (Some(0.0), Some(0.0)));
}

#[tokio::test]
async fn a_move_outside_the_dial_limits_is_refused_in_dial_coordinates() {
    let (_ioc, motor) = motor().await;
    motor.high_limit_travel.put(100.0).await.unwrap();
    motor.user_offset.put(5.0).await.unwrap();
    let err = motor.move_to(20.0).await.unwrap_err();
    assert_eq!(err.name(), "LimitError");
    assert!(err.to_string().contains("(dial 15): outside its dial limits [0, 10]"), "{err}");
}

#[tokio::test]
async fn a_move_the_record_refuses_fails_its_status_with_the_reason() {
    let (ioc, motor) = motor().await;
    // The record's own limits are narrower than the client could know.
    ioc.set_put_handler("sim:mtr1.VAL", |ioc, _| {
        ioc.write("sim:mtr1.LVIO", 1);
        PutAction::Write { value: Value::Float(0.0), completion: None }
    });
    let err = motor.move_to(5.0).await.unwrap().await.unwrap_err();
    assert!(err.to_string().contains("refused it as outside its limits (.LVIO 1)"), "{err}");
    assert!(err.to_string().contains("`motor`"), "{err}");
}

#[tokio::test]
async fn a_stalled_move_times_out_saying_where_the_read_back_was() {
    let (ioc, motor) = motor().await;
    // The record takes the setpoint and starts, but the motor never moves.
    ioc.set_put_handler("sim:mtr1.VAL", |ioc, target| {
        ioc.write("sim:mtr1.DMOV", 0);
        PutAction::accept(target)
    });
    let err = motor.move_with_timeout(5.0, Some(Duration::from_millis(200))).await.unwrap().await.unwrap_err();
    assert_eq!(err.name(), "Timeout");
    assert!(err.to_string().contains("stalled: last read back 0 from sim:mtr1.RBV"), "{err}");
}

#[tokio::test]
async fn a_move_whose_ioc_drops_mid_move_fails_naming_the_pv() {
    let (ioc, _motor, moving) = moving_slowly().await;
    ioc.set_connected("sim:mtr1.VAL", false);
    let err = moving.await.unwrap_err();
    assert!(err.to_string().contains("sim:mtr1.VAL"), "{err}");
}

/// An IOC whose `.VAL` put completes at once (caproto's motor record) has
/// no request pending when it dies: the lost connection of a field the
/// move watches fails it, naming the PV, without waiting for the timeout.
#[tokio::test]
async fn a_move_whose_record_loses_a_field_it_watches_fails_naming_the_pv() {
    let (ioc, _motor, moving) = moving_slowly().await;
    ioc.set_connected("sim:mtr1.DMOV", false);
    let err = tokio::time::timeout(Duration::from_secs(2), moving).await.expect("not left to its timeout").unwrap_err();
    assert_eq!(err.name(), "DisconnectedError", "{err}");
    assert!(err.to_string().contains("sim:mtr1.DMOV"), "{err}");
}

/// A field that drops and returns at once (its IOC rebooted) says nothing
/// of the move from before: the move fails, even though the record's
/// fields read "done" again.
#[tokio::test]
async fn a_move_whose_record_reconnects_fails_rather_than_taking_the_new_connection_s_word() {
    let (ioc, _motor, moving) = moving_slowly().await;
    ioc.set_connected("sim:mtr1.RBV", false);
    ioc.set_connected("sim:mtr1.RBV", true);
    ioc.write("sim:mtr1.DMOV", 1);
    let err = moving.await.unwrap_err();
    assert!(err.to_string().contains("lost the connection to sim:mtr1.RBV"), "{err}");
}

#[tokio::test]
async fn stop_ends_the_move_under_way_which_fails_saying_so() {
    let (_ioc, motor, moving) = moving_slowly().await;
    motor.stop(false).await.unwrap();
    let err = moving.await.unwrap_err();
    assert!(err.to_string().contains("by stop()"), "{err}");
    assert!(motor.position().await.unwrap() < 5.0);
}

#[tokio::test]
async fn a_move_that_ends_on_the_limit_switch_it_headed_for_fails() {
    let (ioc, motor) = motor().await;
    ioc.write("sim:mtr1.HLS", 1);
    let err = motor.move_to(1.0).await.unwrap().await.unwrap_err();
    assert!(err.to_string().contains("high limit switch (sim:mtr1.HLS is 1)"), "{err}");
}

#[tokio::test]
async fn set_current_position_redefines_the_position_without_moving() {
    let (ioc, motor) = motor().await;
    motor.move_to(2.0).await.unwrap().await.unwrap();
    motor.set_current_position(7.0).await.unwrap();
    assert_eq!(motor.position().await.unwrap(), 7.0);
    assert_eq!(motor.offset().await.unwrap(), 5.0);
    assert_eq!(ioc.get_f64("sim:mtr1.SET"), Some(0.0), "back in Use mode");
}

#[tokio::test]
async fn home_moves_to_the_home_position_and_finishes_there() {
    let (_ioc, motor) = motor().await;
    motor.move_to(3.0).await.unwrap().await.unwrap();
    motor.home(HomeDirection::Reverse).await.unwrap().await.unwrap();
    assert_eq!(motor.position().await.unwrap(), 0.0);
}

#[tokio::test]
async fn egu_offset_and_limits_read_the_record() {
    let (_ioc, motor) = motor().await;
    assert_eq!(motor.egu().await.unwrap(), "");
    assert_eq!(motor.offset().await.unwrap(), 0.0);
    assert_eq!(motor.limits().await.unwrap(), (0.0, 10.0));
}

#[test]
fn the_move_timeout_is_travel_time_twice_the_acceleration_and_a_margin() {
    assert_eq!(EpicsMotor::move_timeout_for(-2.0, 0.5, 0.25), Duration::from_secs_f64(4.5 + 10.0));
}

#[tokio::test]
async fn a_move_timeout_set_on_the_motor_replaces_the_computed_one() {
    let (ioc, motor) = motor().await;
    ioc.set_put_handler("sim:mtr1.VAL", |ioc, target| {
        ioc.write("sim:mtr1.DMOV", 0);
        PutAction::accept(target)
    });
    motor.set_move_timeout(Some(Duration::from_millis(100)));
    let err = motor.move_to(5.0).await.unwrap().await.unwrap_err();
    assert!(err.to_string().contains("within 100ms"), "{err}");
}

/// A record that reports its motion done while its stop is still being
/// processed: the move was stopped all the same, and fails saying so (it
/// finished as a success when the record's "done" came before `stop()`
/// had claimed the move, as it did now and then under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_move_fails_even_when_the_record_reports_done_first() {
    let (ioc, motor) = motor().await;
    motor.velocity.put(1.0).await.unwrap();
    ioc.set_put_handler("sim:mtr1.STOP", |ioc, _| {
        // The motion ends (it arrives at the record's next tick, on the
        // other worker) before the stop's put returns.
        ioc.write("sim:mtr1.VELO", 1e9);
        std::thread::sleep(Duration::from_millis(100));
        PutAction::accept(&Value::Int(1))
    });
    let moving = motor.move_to(5.0).await.unwrap();
    motor.stop(false).await.unwrap();
    let err = moving.await.expect_err("a stopped move succeeded");
    assert!(err.to_string().contains("by stop()"), "{err}");
}
