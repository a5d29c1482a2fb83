//! bluesky's `count` with the tutorial's detector: stage, then trigger and
//! read it `--num` times (5 by default), printing a live table.
//!
//! ```text
//! cargo run -p examples --example count -- --exposure-time 0.2 --jsonl run.jsonl
//! ```
//! Ctrl-C pauses (then `r` resumes, `a` aborts); a second Ctrl-C aborts.
//! Either way the detector is unstaged: `enabled` is back as it was.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use examples::program::DetectorOptions;
use examples::runs::{self, RunOptions};
use examples::{Error, TriggeredDetector, TUTORIAL_NAME};
use ophyd_core::prelude::*;
use ophyd_run::{count, ExitStatus};

/// Counts the staging tutorial's detector: stages it, then triggers and
/// reads it N times, printing a live table.
///
/// Ctrl-C pauses (then `r` + Enter resumes, `a` + Enter aborts); a second
/// Ctrl-C aborts. Either way the detector is unstaged.
#[derive(Debug, Parser)]
#[command(name = "count", version)]
struct Args {
    /// How many times to trigger and read
    #[arg(long, value_name = "N", default_value_t = 5, allow_negative_numbers = true)]
    num: usize,

    /// Seconds to wait between readings
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = seconds, allow_negative_numbers = true)]
    delay: Duration,

    #[command(flatten)]
    detector: DetectorOptions,

    #[command(flatten)]
    output: RunOptions,
}

/// A duration from a number of seconds; negative, infinite or NaN ones are
/// bad arguments rather than a panic later.
fn seconds(text: &str) -> Result<Duration, Box<dyn std::error::Error + Send + Sync>> {
    Ok(Duration::try_from_secs_f64(text.parse()?)?)
}

async fn run(args: Args) -> Result<ExitStatus, Error> {
    let transport = args.detector.transport()?;
    let det = TriggeredDetector::new(args.detector.prefix(), TUTORIAL_NAME);
    det.connect(&transport).await?;
    if let Some(t) = args.detector.exposure_time {
        det.exposure_time.put(t).await?;
    }
    let mut re = runs::engine(&args.output)?;
    let summary = re.run(count(&[&det], args.num, args.delay)).await?;
    let enabled = det.enabled.get().await?;
    eprintln!("enabled after the run: {enabled}");
    Ok(summary.exit_status)
}

fn main() -> ExitCode {
    runs::main(run(Args::parse()))
}
