//! The staging tutorial's IOC, `trigger_with_pc`, simulated: the same PVs,
//! types, enum strings and behaviour as caproto's
//! `caproto.ioc_examples.too_clever.trigger_with_pc`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use ophyd_core::Value;

use super::{PutAction, PvSpec, SimIoc};

impl SimIoc {
    /// The tutorial's IOC with PV prefix `prefix` (caproto's default is
    /// `"trigger_with_pc:"`):
    ///
    /// - `gain`, `exposure_time`: doubles, 2.0;
    /// - `reading`: double, 0.1; a new random value in `[0, gain)` after
    ///   each acquisition;
    /// - `acquire`: enum `idle`/`acquiring`; a put of `acquiring` takes
    ///   `exposure_time` seconds and completes (put-callback) when done,
    ///   going back to `idle`; refused with "Device must be enabled" while
    ///   `enabled` is `off`, which also raises a MAJOR alarm on
    ///   `reading`, `acquire` and `enabled` (their shared alarm group);
    /// - `enabled`: enum `off`/`on`, starting `on`.
    pub fn trigger_with_pc(prefix: &str) -> SimIoc {
        let ioc = SimIoc::new();
        let pv = |s: &str| format!("{prefix}{s}");
        let busy = Arc::new(AtomicBool::new(false));
        let (exposure_pv, enabled_pv, reading_pv, gain_pv, acquire_pv) =
            (pv("exposure_time"), pv("enabled"), pv("reading"), pv("gain"), pv("acquire"));
        let alarm_group = [pv("reading"), pv("acquire"), pv("enabled")];
        ioc.add(PvSpec::double(&gain_pv, 2.0))
            .add(PvSpec::double(&exposure_pv, 2.0))
            .add(PvSpec::double(&reading_pv, 0.1))
            .add(PvSpec::enumeration(&enabled_pv, &["off", "on"], 1))
            .add(PvSpec::enumeration(&acquire_pv, &["idle", "acquiring"], 0).on_put(move |ioc, value| {
                if ioc.get_f64(&enabled_pv) == Some(0.0) {
                    for p in &alarm_group {
                        ioc.set_severity(p, 2);
                    }
                    return PutAction::Refuse("Device must be enabled".into());
                }
                if *value != Value::Int(1) {
                    return PutAction::Write { value: Value::Int(0), completion: None };
                }
                if busy.swap(true, Ordering::SeqCst) {
                    // Already acquiring: complete when that acquisition does.
                    let busy = busy.clone();
                    let completion = async move {
                        while busy.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Ok(())
                    };
                    return PutAction::Write { value: Value::Int(1), completion: Some(completion.boxed()) };
                }
                let exposure = ioc.get_f64(&exposure_pv).unwrap_or(0.0).max(0.0);
                let gain = ioc.get_f64(&gain_pv).unwrap_or(1.0);
                let (ioc, busy, reading_pv, acquire_pv) =
                    (ioc.clone(), busy.clone(), reading_pv.clone(), acquire_pv.clone());
                let completion = async move {
                    // A zero exposure takes no time: not even a tick of tokio's timer (1 ms).
                    if exposure > 0.0 {
                        tokio::time::sleep(Duration::from_secs_f64(exposure)).await;
                    }
                    ioc.write(&reading_pv, rand::random::<f64>() * gain);
                    ioc.write(&acquire_pv, 0);
                    busy.store(false, Ordering::SeqCst);
                    Ok(())
                };
                PutAction::Write { value: Value::Int(1), completion: Some(completion.boxed()) }
            }));
        ioc
    }
}
