//! A simulated motor record: `.VAL` (setpoint), `.RBV` (read-back), `.DMOV`
//! (done moving), `.VELO` (velocity), `.STOP`. A put to `.VAL` moves `.RBV`
//! toward it at `.VELO` units per second; the put completes (put-callback)
//! when the motion ends, as the motor record's does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use ophyd_core::Value;

use super::{PutAction, PvSpec, SimIoc};

const TICK: Duration = Duration::from_millis(10);

impl SimIoc {
    /// Add a motor named `name` (PVs `name.VAL`, `name.RBV`, `name.DMOV`,
    /// `name.VELO`, `name.STOP`) at `position`, moving at 1 unit/s, with
    /// limits ±1000 (mm, precision 3).
    pub fn add_motor(&self, name: &str, position: f64) -> &SimIoc {
        let pv = |field: &str| format!("{name}.{field}");
        let generation = Arc::new(AtomicU64::new(0));
        let axis = |n: &str| PvSpec::double(n, position).units("mm").precision(3).limits(-1000.0, 1000.0);
        let (rbv, dmov, velo, val) = (pv("RBV"), pv("DMOV"), pv("VELO"), pv("VAL"));
        let moving = generation.clone();
        self.add(axis(&rbv))
            .add(PvSpec::long(&dmov, 1))
            .add(PvSpec::double(&velo, 1.0).units("mm/s").precision(3).limits(0.0, 1000.0))
            .add(axis(&val).on_put(move |ioc, target| {
                // A NaN or infinite target is never reached: the record refuses it.
                if !target.as_f64().is_some_and(f64::is_finite) {
                    return PutAction::Refuse(format!("cannot move to {target}: the target must be a finite number"));
                }
                let this_move = moving.fetch_add(1, Ordering::SeqCst) + 1;
                let (ioc, moving, target) = (ioc.clone(), moving.clone(), target.as_f64().unwrap_or(0.0));
                let (rbv, dmov, velo) = (rbv.clone(), dmov.clone(), velo.clone());
                ioc.write(&dmov, 0);
                let motion = async move {
                    loop {
                        tokio::time::sleep(TICK).await;
                        if moving.load(Ordering::SeqCst) != this_move {
                            return Ok(()); // superseded by a new move or a stop
                        }
                        let at = ioc.get_f64(&rbv).unwrap_or(0.0);
                        let step = ioc.get_f64(&velo).unwrap_or(1.0).max(1e-9) * TICK.as_secs_f64();
                        let next =
                            if (target - at).abs() <= step { target } else { at + step * (target - at).signum() };
                        ioc.write(&rbv, next);
                        if next == target {
                            ioc.write(&dmov, 1);
                            return Ok(());
                        }
                    }
                };
                PutAction::Write { value: Value::Float(target), completion: Some(motion.boxed()) }
            }))
            .add(PvSpec::long(&pv("STOP"), 0).on_put({
                let (val, rbv, dmov) = (pv("VAL"), pv("RBV"), pv("DMOV"));
                move |ioc, _| {
                    generation.fetch_add(1, Ordering::SeqCst);
                    if let Some(at) = ioc.get(&rbv) {
                        ioc.write(&val, at);
                    }
                    ioc.write(&dmov, 1);
                    PutAction::Write { value: Value::Int(0), completion: None }
                }
            }))
    }
}
