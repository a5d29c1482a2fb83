//! The soft IOC's records (`iocs/soft.db`) rebuilt on the simulated IOC, so
//! that one test can run against either and expect the same answers: the
//! same names, types, values, units, precision, control limits and enum
//! strings, and the same behaviour — `setpoint_RBV` follows `setpoint` 0.3 s
//! after a write (a put-callback on `setpoint` completes then), a
//! put-callback on `slow` completes after 0.5 s, `readonly` refuses client
//! writes, `counter` counts up ten times a second.
//!
//! Not rebuilt, because the simulated IOC cannot serve them: `float`,
//! `short` and `char` (`PvSpec` makes no FLOAT, SHORT or CHAR PVs), `longs`,
//! `chars`, `strings` and `empty` (its waveforms hold only doubles). Not
//! rebuilt because only Channel Access tests use them: `latin1`, `stuck`,
//! `guarded` and `lock`. Nor are soft.db's alarm limits on `double`: the
//! simulated IOC has none.

use std::time::Duration;

use futures::FutureExt;
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};

/// soft.db's records with PV prefix `prefix` (its macro `P`, trailing colon
/// included).
///
/// # Panics
/// Outside a tokio runtime: `counter` counts on a task of the caller's
/// runtime, until that runtime shuts down.
pub fn soft_ioc(prefix: &str) -> SimIoc {
    let pv = |name: &str| format!("{prefix}{name}");
    let ioc = SimIoc::new();
    let read_back = pv("setpoint_RBV");
    ioc.add(PvSpec::double(&pv("double"), 1.5).units("mm").precision(3).limits(-10.0, 10.0))
        .add(PvSpec::long(&pv("long"), 42).units("counts").limits(0.0, 1000.0))
        .add(PvSpec::string(&pv("string"), "hello"))
        .add(PvSpec::enumeration(&pv("mbbo"), &["Off", "On", "Fault"], 1))
        .add(PvSpec::enumeration(&pv("bo"), &["Disabled", "Enabled"], 0))
        .add(
            PvSpec::waveform(&pv("doubles"), vec![1.0, 2.0, 3.0, 4.0, 5.0], 16)
                .units("V")
                .precision(2)
                .limits(0.0, 100.0),
        )
        // As the record chain does it: the put-callback completes once the
        // delayed calcout has written the read-back.
        .add(PvSpec::double(&pv("setpoint"), 0.0).units("mm").precision(3).on_put(move |ioc, value| {
            let (ioc, read_back, followed) = (ioc.clone(), read_back.clone(), value.clone());
            let follow = async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                ioc.write(&read_back, followed);
                Ok(())
            };
            PutAction::Write { value: value.clone(), completion: Some(follow.boxed()) }
        }))
        .add(PvSpec::double(&pv("setpoint_RBV"), 0.0).units("mm").precision(3))
        .add(PvSpec::double(&pv("slow"), 0.0).precision(3).on_put(|_, value| {
            let processing = tokio::time::sleep(Duration::from_millis(500)).map(Ok);
            PutAction::Write { value: value.clone(), completion: Some(processing.boxed()) }
        }))
        .add(PvSpec::double(&pv("readonly"), 3.25).units("mm").precision(2).read_only())
        .add(PvSpec::double(&pv("counter"), 0.0));
    let (counting, counter) = (ioc.clone(), pv("counter"));
    tokio::spawn(async move {
        let mut scan = tokio::time::interval(Duration::from_millis(100));
        scan.tick().await;
        loop {
            scan.tick().await;
            let next = counting.get_f64(&counter).unwrap_or(0.0) + 1.0;
            counting.write(&counter, next);
        }
    });
    ioc
}
