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

use examples::runs::{self, RunOptions};
use examples::{TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use ophyd_core::prelude::*;
use ophyd_run::{count, ExitStatus};

const USAGE: &str =
    "usage: count [--num N] [--delay SECONDS] [--exposure-time SECONDS] [--jsonl PATH] [--ca PREFIX] [--quiet]

Counts the staging tutorial's detector N times (default 5).

  --jsonl PATH   write every document as a JSON line [name, document]
  --ca PREFIX    Channel Access to the tutorial IOC with this prefix (e.g. trigger_with_pc)
  --quiet        no progress bar";

async fn run(options: RunOptions) -> Result<ExitStatus, String> {
    let transport = runs::transport(options.ca.as_deref())?;
    let prefix = options.ca.clone().unwrap_or_else(|| TUTORIAL_PREFIX.to_owned());
    let det = TriggeredDetector::new(&prefix, TUTORIAL_NAME);
    det.connect(&transport).await.map_err(|e| e.to_string())?;
    if let Some(t) = options.exposure_time {
        det.exposure_time.put(t).await.map_err(|e| e.to_string())?;
    }
    let mut re = runs::engine(&options)?;
    let plan = count(&[&det], options.num, Duration::from_secs_f64(options.delay));
    let summary = re.run(plan).await.map_err(|e| e.to_string())?;
    let enabled = det.enabled.get().await.map_err(|e| e.to_string())?;
    eprintln!("enabled after the run: {enabled}");
    Ok(summary.exit_status)
}

fn main() -> ExitCode {
    runs::main(USAGE, 5, run)
}
