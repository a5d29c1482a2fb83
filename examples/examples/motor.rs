//! ophyd's `EpicsMotor`: move a motor record to 2.5, wait, and show what
//! the motor reads, describes and is configured with; then ask it to move
//! to 20, outside its user limits (0..10), and show the `LimitError`.
//!
//! ```text
//! cargo run -p examples --example motor -- --json                         # simulated motor
//! python -m caproto.ioc_examples.fake_motor_record &                      # sim:mtr1..sim:mtr3
//! cargo run -p examples --features ca --example motor -- --ca sim:mtr1 --json
//! ```

use std::process::ExitCode;

use clap::Parser;
use examples::{program, Error};
use ophyd_core::prelude::*;
use ophyd_epics::sim::{SimIoc, SimMotor};
use ophyd_epics::{EpicsMotor, Transport};
use serde_json::json;

/// The simulated motor: caproto's `fake_motor_record` first motor.
const SIM_MOTOR: &str = "sim:mtr1";
/// Where the motor goes, and where it is refused to go.
const TARGET: f64 = 2.5;
const OUTSIDE_LIMITS: f64 = 20.0;

/// Moves a motor record to 2.5 and reports it as ophyd's `EpicsMotor` does;
/// then shows the `LimitError` of a move to 20, outside its limits 0..10.
#[derive(Debug, Parser)]
#[command(name = "motor", version)]
struct Args {
    /// Talk Channel Access to this motor record (e.g. sim:mtr1 of caproto's
    /// fake_motor_record) [default: a simulated motor record sim:mtr1, limits
    /// 0..10, inside the program]
    #[arg(long, value_name = "PV")]
    ca: Option<String>,

    /// Print one JSON object instead of prose
    #[arg(long)]
    json: bool,
}

fn transport(args: &Args) -> Result<Transport, Error> {
    match args.ca {
        Some(_) => program::ca_transport(),
        None => {
            let ioc = SimIoc::new();
            ioc.add_motor_record(SIM_MOTOR, SimMotor::at(0.0).limits(0.0, 10.0).velocity(1.0));
            Ok(ioc.transport())
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let transport = transport(&args)?;
    let motor = EpicsMotor::new(args.ca.as_deref().unwrap_or(SIM_MOTOR), "motor");
    motor.connect(&transport).await?;
    motor.move_to(TARGET).await?.await?;
    let refused = match motor.move_to(OUTSIDE_LIMITS).await {
        Ok(moving) => {
            moving.await?;
            None
        }
        Err(e) => Some(e),
    };
    let position = motor.position().await?;
    if !args.json {
        println!("motor.move({TARGET}) over {}: now at {position}", transport.describe());
        match &refused {
            Some(e) => println!("motor.move({OUTSIDE_LIMITS}): {}: {e}", e.name()),
            None => println!("motor.move({OUTSIDE_LIMITS}): moved"),
        }
        return Ok(());
    }
    let report = json!({
        "read": motor.read().await?,
        "describe": motor.describe().await?,
        "read_configuration": motor.read_configuration().await?,
        "describe_configuration": motor.describe_configuration().await?,
        "hints": motor.hints(),
        "position": position,
        "limit_error": refused.map(|e| json!({ "name": e.name(), "message": e.to_string() })),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    program::init_logging();
    program::exit_code(run(args).await)
}
