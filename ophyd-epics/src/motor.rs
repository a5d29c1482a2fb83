//! [`EpicsMotor`]: a motor record as a device (ophyd's `EpicsMotor`).

use ophyd_core::prelude::*;
use ophyd_core::Result;

use crate::{EpicsSignal, EpicsSignalRO};

/// A motor record: move it with [`Movable::move_to`] (a put-complete write
/// of `.VAL`, done when the motion is), read its position from `.RBV`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_epics::{sim::SimIoc, EpicsMotor};
/// let ioc = SimIoc::new();
/// ioc.add_motor("XF:m1", 0.0);
/// let m1 = EpicsMotor::new("XF:m1", "m1");
/// m1.connect(&ioc.transport()).await?;
/// m1.velocity.put(100.0).await?;
/// m1.move_to(0.5).await?;
/// assert_eq!(m1.user_readback.get().await?, 0.5);
/// # Ok(()) }
/// ```
#[derive(Device)]
#[device(custom(stop))]
pub struct EpicsMotor {
    /// The setpoint (`.VAL`); writes complete when the motion does.
    #[component(suffix = ".VAL", put_complete)]
    pub user_setpoint: EpicsSignal<f64>,
    /// The position (`.RBV`).
    #[component(suffix = ".RBV", kind = "hinted")]
    pub user_readback: EpicsSignalRO<f64>,
    /// Velocity, units per second (`.VELO`).
    #[component(suffix = ".VELO", kind = "config")]
    pub velocity: EpicsSignal<f64>,
    /// 1 when not moving (`.DMOV`).
    #[component(suffix = ".DMOV", kind = "omitted")]
    pub motor_done_move: EpicsSignalRO<i32>,
    /// Write 1 to stop (`.STOP`).
    #[component(suffix = ".STOP", kind = "omitted")]
    pub motor_stop: EpicsSignal<i32>,
}

impl Movable for EpicsMotor {
    /// Move to `target`; the Status reports progress (distance covered out
    /// of distance to cover) as the read-back changes.
    fn move_to(&self, target: f64) -> Status {
        if !target.is_finite() {
            return Status::failed(
                format!("move of `{}`", self.meta().name()),
                ophyd_core::Error::NotSent {
                    signal: self.user_setpoint.signal_meta().name().to_owned(),
                    pv: self.user_setpoint.write_pv().to_owned(),
                    value: target.to_string(),
                    reason: format!(
                        "`{}` cannot move to {target}: a target must be a finite number",
                        self.meta().name()
                    ),
                },
            );
        }
        let status = self.user_setpoint.set(target);
        let reporter = status.clone();
        let start = std::sync::Mutex::new(None::<f64>);
        let watching = self.user_readback.subscribe(move |position, _| {
            let mut start = start.lock().unwrap_or_else(|p| p.into_inner());
            let from = *start.get_or_insert(*position);
            let total = (target - from).abs();
            reporter.report_progress((position - from).abs().min(total), total);
        });
        if let Ok(subscription) = watching {
            status.add_callback(move |_| drop(subscription));
        }
        status
    }
}

impl Stop for EpicsMotor {
    /// Stop the motion where it is.
    async fn stop(&self, _success: bool) -> Result<()> {
        self.motor_stop.put(1).await
    }
}
