//! bluesky's `scan`: move a motor through `--num` positions from 0 to 1 and
//! read the tutorial's detector at each, printing a live table.
//!
//! ```text
//! cargo run -p examples --example scan -- --num 5 --exposure-time 0.1
//! ```
//! On the simulated IOC the motor is `sim:m1`; over Channel Access give
//! `--ca PREFIX --motor PV` (a motor record).

use std::process::ExitCode;

use clap::Parser;
use examples::program::DetectorOptions;
use examples::runs::{self, RunOptions};
use examples::{Error, TriggeredDetector, TUTORIAL_NAME};
use ophyd_core::prelude::*;
use ophyd_epics::EpicsMotor;
use ophyd_run::{scan, ExitStatus};

/// The simulated IOC's motor.
const SIM_MOTOR: &str = "sim:m1";

/// Scans a motor from 0 to 1 in N points, reading the staging tutorial's
/// detector at each.
///
/// Ctrl-C pauses (then `r` + Enter resumes, `a` + Enter aborts); a second
/// Ctrl-C aborts. Either way the detector is unstaged and the motor stopped.
#[derive(Debug, Parser)]
#[command(name = "scan", version)]
// Another IOC has no motor this program could guess.
#[command(mut_arg("ca", |ca| ca.requires("motor")))]
struct Args {
    /// How many motor positions, evenly spaced from 0 to 1
    #[arg(long, value_name = "N", default_value_t = 5, allow_negative_numbers = true)]
    num: usize,

    /// The motor record's PV name; needed with --ca [default: sim:m1 on
    /// the simulated IOC]
    #[arg(long, value_name = "PV")]
    motor: Option<String>,

    #[command(flatten)]
    detector: DetectorOptions,

    #[command(flatten)]
    output: RunOptions,
}

async fn run(args: Args) -> Result<ExitStatus, Error> {
    let transport = args.detector.transport()?;
    let det = TriggeredDetector::new(args.detector.prefix(), TUTORIAL_NAME);
    let motor = EpicsMotor::new(args.motor.as_deref().unwrap_or(SIM_MOTOR), "motor");
    det.connect(&transport).await?;
    motor.connect(&transport).await?;
    if let Some(t) = args.detector.exposure_time {
        det.exposure_time.put(t).await?;
    }
    if args.detector.ca.is_none() {
        // The simulated motor starts slow; a scan need not wait for it.
        motor.velocity.put(10.0).await?;
    }
    let n = args.num.max(1);
    let positions = (0..n).map(|i| if n == 1 { 0.0 } else { i as f64 / (n - 1) as f64 });
    let mut re = runs::engine(&args.output)?;
    let summary = re.run(scan(&[&det], &motor, positions)).await?;
    Ok(summary.exit_status)
}

fn main() -> ExitCode {
    runs::main(run(Args::parse()))
}
