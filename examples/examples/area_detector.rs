//! bluesky's `count` with a file-writing areaDetector: stage it (the HDF5
//! plugin set to write a new file under `--dir`), trigger and read it
//! `--num` times, printing a live table of each frame's Stats total, then
//! unstage it (every setting put back) and say which file holds the frames.
//!
//! ```text
//! cargo run -p examples --example area_detector -- --num 5 --dir /tmp/frames --jsonl run.jsonl
//! cargo run -p examples --features ca --example area_detector -- --ca 13SIM1: --dir /data/frames
//! ```
//! The run's documents (with `--jsonl`, one JSON line `[name, document]`
//! each) include a `stream_resource` for the file and a `stream_datum` per
//! event, pointing at `/entry/data/data` in it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use examples::area_detector::{simulated_ioc, FileWritingDetector, SIM_PREFIX};
use examples::program::ca_transport;
use examples::runs::{self, RunOptions};
use examples::Error;
use ophyd_areadetector::HdfWriter;
use ophyd_core::prelude::*;
use ophyd_run::{count, Document, ExitStatus};

/// Counts a file-writing areaDetector: N frames to a new HDF5 file, a live
/// table of each frame's Stats total.
#[derive(Debug, Parser)]
#[command(name = "area_detector", version)]
struct Args {
    /// How many frames to take (one per event)
    #[arg(long, value_name = "N", default_value_t = 5)]
    num: usize,

    /// The directory the HDF5 file is written to, on the IOC's file system
    /// (made if missing, up to three levels)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,

    /// Talk Channel Access to the areaDetector IOC with this PV prefix
    /// (e.g. 13SIM1:) [default: a simulated IOC inside the program, serving an areaDetector]
    #[arg(long, value_name = "PREFIX")]
    ca: Option<String>,

    /// Seconds per frame (AcquireTime) [default: as the IOC has it]
    #[arg(long, value_name = "SECONDS")]
    exposure_time: Option<f64>,

    #[command(flatten)]
    output: RunOptions,
}

async fn run(args: Args) -> Result<ExitStatus, Error> {
    let (transport, prefix) = match &args.ca {
        Some(prefix) => (ca_transport()?, prefix.clone()),
        None => (simulated_ioc().transport(), SIM_PREFIX.to_owned()),
    };
    let det = FileWritingDetector::at(&prefix, "det");
    det.connect(&transport).await?;
    if let Some(seconds) = args.exposure_time {
        det.cam.acquire_time.put(seconds).await?;
    }
    det.hdf1.write_files(HdfWriter::new(&args.dir))?;

    let mut re = runs::engine(&args.output)?;
    let files = Arc::new(Mutex::new(Vec::new()));
    let seen = files.clone();
    re.subscribe(move |_, doc| {
        if let Document::StreamResource(resource) = doc {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(resource.uri.clone());
        }
    });
    let summary = re.run(count(&[&det], args.num, std::time::Duration::ZERO)).await?;
    for uri in files.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        eprintln!("frames written to {uri} (dataset {})", ophyd_areadetector::DATASET);
    }
    Ok(summary.exit_status)
}

fn main() -> ExitCode {
    runs::main(run(Args::parse()))
}
