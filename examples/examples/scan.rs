//! bluesky's `scan`: move a motor through `--num` positions from 0 to 1 and
//! read the tutorial's detector at each, printing a live table.
//!
//! ```text
//! cargo run -p examples --example scan -- --num 5 --exposure-time 0.1
//! ```
//! On the simulated IOC the motor is `sim:m1`; over Channel Access give
//! `--ca PREFIX --motor PV` (a motor record).

use std::process::ExitCode;

use examples::runs::{self, RunOptions};
use examples::{TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use ophyd_core::prelude::*;
use ophyd_epics::EpicsMotor;
use ophyd_run::{scan, ExitStatus};

const USAGE: &str = "usage: scan [--num N] [--exposure-time SECONDS] [--jsonl PATH] [--ca PREFIX --motor PV] [--quiet]

Scans a motor from 0 to 1 in N points (default 5), reading the staging
tutorial's detector at each.";

async fn run(options: RunOptions) -> Result<ExitStatus, String> {
    let transport = runs::transport(options.ca.as_deref())?;
    let prefix = options.ca.clone().unwrap_or_else(|| TUTORIAL_PREFIX.to_owned());
    let motor_pv = match (&options.ca, &options.motor) {
        (_, Some(pv)) => pv.clone(),
        (None, None) => "sim:m1".to_owned(),
        (Some(_), None) => return Err("over Channel Access, give the motor record: --motor PV".into()),
    };
    let det = TriggeredDetector::new(&prefix, TUTORIAL_NAME);
    let motor = EpicsMotor::new(&motor_pv, "motor");
    det.connect(&transport).await.map_err(|e| e.to_string())?;
    motor.connect(&transport).await.map_err(|e| e.to_string())?;
    if let Some(t) = options.exposure_time {
        det.exposure_time.put(t).await.map_err(|e| e.to_string())?;
    }
    if options.ca.is_none() {
        motor.velocity.put(10.0).await.map_err(|e| e.to_string())?;
    }
    let n = options.num.max(1);
    let positions = (0..n).map(|i| if n == 1 { 0.0 } else { i as f64 / (n - 1) as f64 });
    let mut re = runs::engine(&options)?;
    let summary = re.run(scan(&[&det], &motor, positions)).await.map_err(|e| e.to_string())?;
    Ok(summary.exit_status)
}

fn main() -> ExitCode {
    runs::main(USAGE, 5, run)
}
