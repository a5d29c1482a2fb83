//! The tutorial's session, step by step: the same calls the notebook makes,
//! recording what each returned.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ophyd_core::prelude::*;
use ophyd_core::{DataKey, DataMap, Hints, Reading, Result};
use ophyd_epics::EpicsSignal;
use serde::Serialize;

/// What the session saw: the fields of Python ophyd's reference output
/// (`ophyd-1.11-trigger_with_pc.json`), in its order, then the raw readings.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `enabled` after `enabled.put(0)`.
    pub enabled_before_stage: u16,
    /// `enabled` after `stage()`.
    pub enabled_after_stage: u16,
    /// What a second `stage()` did: the error's name, or `"ok"`.
    pub stage_twice: String,
    /// The keys of `read()`.
    pub read_keys: Vec<String>,
    /// For each key of `read()`, the fields of its reading, sorted.
    pub read_fields: BTreeMap<String, Vec<String>>,
    /// `describe()`.
    pub describe: DataMap<DataKey>,
    /// The keys of `read_configuration()`.
    pub read_configuration_keys: Vec<String>,
    /// `describe_configuration()`.
    pub describe_configuration: DataMap<DataKey>,
    /// `hints`.
    pub hints: Hints,
    /// `read_attrs`.
    pub read_attrs: Vec<String>,
    /// `configuration_attrs`.
    pub configuration_attrs: Vec<String>,
    /// `component_names`.
    pub component_names: Vec<String>,
    /// `enabled` after `unstage()`.
    pub enabled_after_unstage: u16,
    /// `enabled` after a second `unstage()`.
    pub enabled_after_second_unstage: u16,
    /// The message of the second `stage()`'s error.
    pub stage_twice_message: String,
    /// `read()` after the first trigger (awaited).
    pub read: DataMap<Reading>,
    /// `read()` after the second trigger (polled).
    pub second_read: DataMap<Reading>,
    /// `read_configuration()`.
    pub read_configuration: DataMap<Reading>,
}

/// One step of the session, for a person to follow.
#[derive(Debug, Clone)]
pub struct Step {
    /// The call, as the tutorial writes it.
    pub call: &'static str,
    /// What it returned.
    pub outcome: String,
}

async fn enabled_index(enabled: &EpicsSignal<Enum>) -> Result<u16> {
    let value = enabled.get().await?;
    Ok(value.index().expect("a PV read gives an index"))
}

/// For each key of `readings`, the fields of its reading as serialized,
/// sorted (the reference output's `read_fields`).
pub fn read_fields(readings: &DataMap<Reading>) -> BTreeMap<String, Vec<String>> {
    readings
        .iter()
        .map(|(k, r)| {
            let json = serde_json::to_value(r).expect("readings serialize");
            let mut fields: Vec<String> = json.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
            fields.sort();
            (k.to_owned(), fields)
        })
        .collect()
}

fn show(readings: &DataMap<Reading>) -> String {
    readings.iter().map(|(k, r)| format!("{k} = {} (at {:.3})", r.value, r.timestamp)).collect::<Vec<_>>().join(", ")
}

/// Run the tutorial's session on a connected detector whose `enabled`
/// signal is `enabled`, telling `on_step` about each step.
pub async fn run<D>(det: &D, enabled: &EpicsSignal<Enum>, mut on_step: impl FnMut(Step)) -> Result<Report>
where
    D: Device + Stage + Trigger,
{
    let mut step = |call: &'static str, outcome: String| on_step(Step { call, outcome });

    enabled.put(0).await?;
    let enabled_before_stage = enabled_index(enabled).await?;
    step("triggered_detector.enabled.put(0); enabled.get()", enabled_before_stage.to_string());

    det.stage().await?;
    let enabled_after_stage = enabled_index(enabled).await?;
    step("triggered_detector.stage(); enabled.get()", enabled_after_stage.to_string());

    let start = Instant::now();
    let status = det.trigger();
    status.clone().await?;
    step(
        "status = triggered_detector.trigger(); await status",
        format!("done after {:.3} s", start.elapsed().as_secs_f64()),
    );
    let read = det.read().await?;
    step("triggered_detector.read()", show(&read));

    let start = Instant::now();
    let status = det.trigger();
    let mut polls = 0u32;
    while !status.done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        polls += 1;
    }
    status.result().expect("done")?;
    step(
        "status = triggered_detector.trigger(); while not status.done: sleep(0.01)",
        format!("done after {:.3} s ({polls} polls)", start.elapsed().as_secs_f64()),
    );
    let second_read = det.read().await?;
    step("triggered_detector.read()", show(&second_read));

    let (stage_twice, stage_twice_message) = match det.stage().await {
        Ok(()) => ("ok".to_owned(), String::new()),
        Err(e) => (e.name().to_owned(), e.to_string()),
    };
    step("triggered_detector.stage()  # again", stage_twice_message.clone());

    det.unstage().await?;
    let enabled_after_unstage = enabled_index(enabled).await?;
    step("triggered_detector.unstage(); enabled.get()", enabled_after_unstage.to_string());

    det.unstage().await?;
    let enabled_after_second_unstage = enabled_index(enabled).await?;
    step("triggered_detector.unstage()  # again, harmless; enabled.get()", enabled_after_second_unstage.to_string());

    let read_configuration = det.read_configuration().await?;
    Ok(Report {
        enabled_before_stage,
        enabled_after_stage,
        stage_twice,
        read_keys: read.keys().map(str::to_owned).collect(),
        read_fields: read_fields(&read),
        describe: det.describe().await?,
        read_configuration_keys: read_configuration.keys().map(str::to_owned).collect(),
        describe_configuration: det.describe_configuration().await?,
        hints: det.hints(),
        read_attrs: det.read_attrs(),
        configuration_attrs: det.configuration_attrs(),
        component_names: det.component_names().iter().map(|s| s.to_string()).collect(),
        enabled_after_unstage,
        enabled_after_second_unstage,
        stage_twice_message,
        read,
        second_read,
        read_configuration,
    })
}
