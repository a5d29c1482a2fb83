//! The staging tutorial's session, end to end, on the embedded simulated
//! IOC (or, with `--ca PREFIX`, over Channel Access).
//!
//! ```text
//! cargo run -p examples --example triggered_detector             # prose
//! cargo run -p examples --example triggered_detector -- --json   # one JSON object
//! ```

use std::process::ExitCode;

use clap::Parser;
use examples::program::{self, DetectorOptions};
use examples::{session, Error, TriggeredDetector, TUTORIAL_NAME};
use ophyd_core::prelude::*;

/// Runs the staging tutorial's session: enabled -> 0, stage, trigger and
/// read twice, stage again (an error), unstage twice.
#[derive(Debug, Parser)]
#[command(name = "triggered_detector", version)]
struct Args {
    /// Print one JSON object (the fields of Python ophyd's reference
    /// output) instead of prose
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    detector: DetectorOptions,
}

async fn run(args: Args) -> Result<(), Error> {
    let transport = args.detector.transport()?;
    let prefix = args.detector.prefix();
    let det = TriggeredDetector::new(prefix, TUTORIAL_NAME);
    if !args.json {
        println!("TriggeredDetector('{prefix}', name='{TUTORIAL_NAME}') over {}", transport.describe());
    }
    det.connect(&transport).await?;
    if let Some(t) = args.detector.exposure_time {
        det.exposure_time.put(t).await?;
    }
    let report = session::run(&det, &det.enabled, |step| {
        if !args.json {
            println!("\n>>> {}\n{}", step.call, step.outcome);
        }
    })
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "\nenabled: {} before staging -> {} staged -> {} after unstaging -> {} after unstaging again",
            report.enabled_before_stage,
            report.enabled_after_stage,
            report.enabled_after_unstage,
            report.enabled_after_second_unstage
        );
        println!("describe(): {}", serde_json::to_string(&report.describe)?);
        println!("read_configuration(): {}", serde_json::to_string(&report.read_configuration)?);
        println!(
            "hints: {:?}; read_attrs: {:?}; configuration_attrs: {:?}",
            report.hints.fields, report.read_attrs, report.configuration_attrs
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    program::init_logging();
    program::exit_code(run(args).await)
}
