//! Ctrl-C during a run's cleanup, wired as the example programs wire it
//! (`RunControl::abort_on_ctrl_c`): the first Ctrl-C pauses, the second
//! aborts; during the cleanup that follows, a third skips the stuck step
//! (every other restore is still attempted and what is left is reported),
//! and a fourth exits the program at once, printing what is still changed.
//!
//! A test binary of its own: it sends SIGINT to its own process.

use std::process::Command;
use std::time::{Duration, Instant};

use ophyd_core::prelude::*;
use ophyd_core::Result;
use ophyd_epics::sim::{PvSpec, SimIoc};
use ophyd_epics::EpicsSignal;
use ophyd_run::{count, Document, RunEngine, RunSummary};
use ophyd_tests::stuck::{add_stuck_pvs, Stuck};

#[derive(Device)]
struct Det {
    #[component(suffix = ":x", kind = "hinted", stage = 5.0)]
    x: EpicsSignal<f64>,
}

fn ctrl_c() {
    let pid = std::process::id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
}

/// A count of `det` and `stuck` `Stuck` devices (1 or 2); once two events
/// are out, Ctrl-C pauses it, Ctrl-C aborts it, and, with the cleanup stuck
/// in the last `Stuck`'s unstage, `presses` more Ctrl-C follow.
fn interrupted_run(stuck: usize, presses: usize) -> (SimIoc, Result<RunSummary>, Duration) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ioc = SimIoc::new();
        ioc.add(PvSpec::double("c:x", 1.0));
        add_stuck_pvs(&ioc, "c");
        add_stuck_pvs(&ioc, "d");
        let det = Det::new("c", "det");
        let stucks = [Stuck::new("c", "stuck"), Stuck::new("d", "stuck_too")];
        det.connect(&ioc.transport()).await.unwrap();
        let mut devices: Vec<&dyn DynDevice> = vec![&det];
        for s in &stucks[..stuck] {
            s.connect(&ioc.transport()).await.unwrap();
            devices.push(s);
        }
        let mut re = RunEngine::new();
        re.control().abort_on_ctrl_c();
        let cleanup_started = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
        let started = cleanup_started.clone();
        re.subscribe(move |name, doc| {
            if let (Document::Event(e), "event") = (doc, name) {
                if e.seq_num == 2 {
                    let started = started.clone();
                    std::thread::spawn(move || {
                        ctrl_c(); // pause
                        std::thread::sleep(Duration::from_millis(300));
                        ctrl_c(); // abort: the cleanup starts, and sticks
                        std::thread::sleep(Duration::from_millis(500));
                        *started.lock().unwrap() = Some(Instant::now());
                        for _ in 0..presses {
                            ctrl_c();
                            std::thread::sleep(Duration::from_millis(500));
                        }
                    });
                }
            }
        });
        let outcome = re.run(count(&devices, 1000, Duration::from_millis(20))).await;
        let took = cleanup_started.lock().unwrap().map(|t| t.elapsed()).unwrap_or_default();
        (ioc, outcome, took)
    })
}

#[test]
fn ctrl_c_during_a_stuck_cleanup_skips_the_step_puts_back_the_rest_and_reports_what_is_left() {
    let (ioc, outcome, took) = interrupted_run(1, 1);
    assert!(took < Duration::from_secs(5), "the stuck step was skipped, not waited out (60 s): {took:?}");
    let err = outcome.unwrap_err().to_string();
    assert!(err.contains("unstage of `stuck` (skipped by an interrupt)"), "{err}");
    assert!(err.contains("`stuck_level` (PV:c:level) should be 0.5"), "names what is left: {err}");
    assert_eq!(ioc.get_f64("c:x"), Some(1.0), "every other restore was attempted");
}

/// Set in the process this test starts of itself: there it plays the
/// program that the fourth Ctrl-C ends.
const AS_THE_PROGRAM: &str = "OPHYD_CTRL_C_CLEANUP_AS_THE_PROGRAM";

#[test]
fn a_further_ctrl_c_during_cleanup_exits_at_once_printing_what_is_left() {
    if std::env::var_os(AS_THE_PROGRAM).is_some() {
        // The third Ctrl-C skips `stuck_too`; `stuck` sticks next; the fourth exits.
        let _ = interrupted_run(2, 2);
        panic!("the fourth Ctrl-C did not exit the process");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_further_ctrl_c_during_cleanup_exits_at_once_printing_what_is_left", "--nocapture"])
        .env(AS_THE_PROGRAM, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "exits with 130: {stderr}");
    assert!(stderr.contains("exiting before the cleanup finished"), "{stderr}");
    assert!(stderr.contains("not put back: `stuck_too_level` (PV:d:level) should be 0.5"), "{stderr}");
}
