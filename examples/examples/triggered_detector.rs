//! The staging tutorial's session, end to end, on the embedded simulated
//! IOC (or, with `--ca PREFIX`, over Channel Access).
//!
//! ```text
//! cargo run -p examples --example triggered_detector             # prose
//! cargo run -p examples --example triggered_detector -- --json   # one JSON object
//! ```

use std::process::ExitCode;

use examples::{runs, session, TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use ophyd_core::prelude::*;

struct Options {
    json: bool,
    ca: Option<String>,
    exposure_time: Option<f64>,
}

const USAGE: &str = "usage: triggered_detector [--json] [--ca PREFIX] [--exposure-time SECONDS]

Runs the staging tutorial's session: enabled -> 0, stage, trigger and read
twice, stage again (an error), unstage twice.

  --json                  print one JSON object (the fields of Python ophyd's
                          reference output) instead of prose
  --ca PREFIX             talk Channel Access to the IOC with this PV prefix
                          (e.g. trigger_with_pc) instead of the simulated IOC
  --exposure-time SECONDS set the detector's exposure_time first";

fn parse_args() -> Result<Options, String> {
    let mut options = Options { json: false, ca: None, exposure_time: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => options.json = true,
            "--ca" => options.ca = Some(args.next().ok_or("--ca needs a PV prefix, e.g. --ca trigger_with_pc")?),
            "--exposure-time" => {
                let v = args.next().ok_or("--exposure-time needs a number of seconds")?;
                options.exposure_time = Some(v.parse().map_err(|_| format!("--exposure-time: `{v}` is not a number"))?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

async fn run(options: Options) -> Result<(), String> {
    let transport = runs::transport(options.ca.as_deref())?;
    let prefix = options.ca.clone().unwrap_or_else(|| TUTORIAL_PREFIX.to_owned());
    let det = TriggeredDetector::new(&prefix, TUTORIAL_NAME);
    if !options.json {
        println!("TriggeredDetector('{prefix}', name='{TUTORIAL_NAME}') over {}", transport.describe());
    }
    det.connect(&transport).await.map_err(|e| e.to_string())?;
    if let Some(t) = options.exposure_time {
        det.exposure_time.put(t).await.map_err(|e| e.to_string())?;
    }
    let json = options.json;
    let report = session::run(&det, &det.enabled, |step| {
        if !json {
            println!("\n>>> {}\n{}", step.call, step.outcome);
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        println!(
            "\nenabled: {} before staging -> {} staged -> {} after unstaging -> {} after unstaging again",
            report.enabled_before_stage,
            report.enabled_after_stage,
            report.enabled_after_unstage,
            report.enabled_after_second_unstage
        );
        println!("describe(): {}", serde_json::to_string(&report.describe).map_err(|e| e.to_string())?);
        println!(
            "read_configuration(): {}",
            serde_json::to_string(&report.read_configuration).map_err(|e| e.to_string())?
        );
        println!(
            "hints: {:?}; read_attrs: {:?}; configuration_attrs: {:?}",
            report.hints.fields, report.read_attrs, report.configuration_attrs
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    runs::init_logging();
    let options = match parse_args() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
