//! A newcomer's first hour, whole: a 4-channel scaler of your own, declared
//! with the derive, simulated on the in-process IOC, staged, triggered and
//! read by hand, then counted by the run engine with a live table and every
//! document written as a JSON line.
//!
//! ```text
//! cargo run -p examples --example scaler                   # prints the steps and the live table
//! cargo run -p examples --example scaler -- scaler.jsonl   # also writes the documents there
//! ```
//!
//! The PVs are those of an EPICS scaler record: `.TP` preset time, `.CONT`
//! count mode, `.CNT` count (put-complete: the put finishes when counting
//! does), `.S1`..`.S4` counts.

use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_epics::sim::{Delay, PvSpec, SimIoc};
use ophyd_epics::{EpicsSignal, EpicsSignalRO};
use ophyd_run::{count, JsonLines, LiveTable, RunEngine};

/// A scaler with four channels.
#[derive(Device)]
#[device(custom(trigger))] // we write `trigger`; Python would override it
pub struct Scaler {
    /// Preset time, seconds (Python: `Cpt(EpicsSignal, '.TP', kind='config')`).
    #[component(suffix = ".TP", kind = "config")]
    pub preset_time: EpicsSignal<f64>,
    /// `OneShot` while staged (Python: `stage_sigs = {'count_mode': 'OneShot'}`).
    #[component(suffix = ".CONT", kind = "config", stage = "OneShot")]
    pub count_mode: EpicsSignal<Enum>,
    /// Writing `Count` starts counting; the put completes when it is done.
    #[component(suffix = ".CNT", kind = "omitted", put_complete)]
    pub count: EpicsSignal<Enum>,
    /// The clock channel.
    #[component(suffix = ".S1", kind = "hinted")]
    pub s1: EpicsSignalRO<i32>,
    /// Counts (`normal`, the default kind: read, not hinted).
    #[component(suffix = ".S2")]
    pub s2: EpicsSignalRO<i32>,
    /// Counts.
    #[component(suffix = ".S3")]
    pub s3: EpicsSignalRO<i32>,
    /// Counts.
    #[component(suffix = ".S4")]
    pub s4: EpicsSignalRO<i32>,
}

impl Trigger for Scaler {
    fn trigger(&self) -> Status {
        self.count.set("Count") // done when the IOC completes the put
    }
}

/// Counts per second of each channel in the simulation.
const RATES: [f64; 4] = [10_000.0, 1_200.0, 340.0, 56.0];

/// A simulated scaler record `prefix`: counting takes `.TP` seconds, then
/// each channel holds its rate times the preset time.
fn simulated_scaler(prefix: &str) -> SimIoc {
    let pv = |field: &str| format!("{prefix}.{field}");
    let channels: Vec<String> = (1..=4).map(|i| pv(&format!("S{i}"))).collect();
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double(&pv("TP"), 0.2).units("s").precision(3)).add(PvSpec::enumeration(
        &pv("CONT"),
        &["OneShot", "AutoCount"],
        1,
    ));
    for channel in &channels {
        ioc.add(PvSpec::long(channel, 0).read_only());
    }
    let preset_time = pv("TP");
    ioc.add(PvSpec::enumeration(&pv("CNT"), &["Done", "Count"], 0).busy(Delay::seconds_in(&preset_time), move |ioc| {
        let seconds = ioc.get_f64(&preset_time).unwrap_or(0.0);
        for (channel, rate) in channels.iter().zip(RATES) {
            ioc.write(channel, (rate * seconds).round());
        }
    }));
    ioc
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = std::env::args().nth(1);
    let ioc = simulated_scaler("sc1");
    let scaler = Scaler::new("sc1", "scaler");
    scaler.connect(&ioc.transport()).await?;
    scaler.preset_time.put(0.1).await?;

    println!("count mode before staging: {}", scaler.count_mode.get_label().await?);
    scaler.stage().await?;
    println!("count mode while staged: {}", scaler.count_mode.get_label().await?);
    scaler.trigger().wait(Duration::from_secs(10)).await?;
    let reading = scaler.read().await?;
    println!("scaler.read(): {}", serde_json::to_string(&reading)?);
    scaler.unstage().await?;
    println!("count mode after unstaging: {}", scaler.count_mode.get_label().await?);

    let mut re = RunEngine::new();
    re.subscribe_callback(LiveTable::stdout());
    if let Some(path) = &jsonl {
        re.subscribe_callback(JsonLines::create(path)?);
    }
    let summary = re.run(count(&[&scaler], 3, Duration::ZERO)).await?;
    println!("{} events, exit status {:?}", summary.num_events, summary.exit_status);
    Ok(())
}
