//! Runs against the tutorial's real IOC (caproto's `trigger_with_pc`) over
//! Channel Access: the `count` example, interrupted with Ctrl-C (SIGINT)
//! and aborted, leaves the IOC as it found it and writes a document stream
//! whose RunStop says `abort`; the program also runs as a user runs it,
//! outside cargo, and on a host where no CA repeater runs yet.
//!
//! The example programs are those in `target/<profile>/examples`: build
//! them with `cargo build -p examples --features ca --examples` (a
//! workspace-wide `cargo test` does) before running these tests alone.
#![cfg(feature = "ca")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ophyd_core::prelude::*;
use ophyd_epics::ca::CaTransport;
use ophyd_epics::EpicsSignal;
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::venv;
use serde_json::Value as Json;

fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "example `{name}` not built at {}", path.display());
    path
}

fn documents(path: &PathBuf) -> Vec<(String, Json)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<(String, Json)>(l).expect("each line is [name, document]"))
        .collect()
}

fn sigint(pid: u32) {
    let ok = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -INT {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_interrupted_twice_with_ctrl_c_aborts_and_leaves_the_ioc_as_it_found_it() {
    ioc::ca_client_environment();
    let ioc = Ioc::trigger_with_pc();
    let transport = CaTransport::new().expect("a CA context").into_transport();
    let enabled = EpicsSignal::<Enum>::new(&ioc.pv("enabled"), "enabled");
    enabled.connect(&transport).await.unwrap();
    enabled.put(0).await.unwrap();

    let dir = std::env::temp_dir().join(format!("ophyd-rs-count-{}", ophyd_run::new_uid()));
    std::fs::create_dir_all(&dir).unwrap();
    let jsonl = dir.join("count.jsonl");
    let mut child = Command::new(example("count"))
        .args(["--ca", ioc.device_prefix(), "--num", "100", "--exposure-time", "0.1", "--quiet", "--jsonl"])
        .arg(&jsonl)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait for two events, then Ctrl-C (pause) and Ctrl-C again (abort).
    let start = Instant::now();
    while documents(&jsonl).iter().filter(|(n, _)| n == "event").count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "no events from the count example");
        if child.try_wait().unwrap().is_some() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).ok();
            panic!("the example exited early (is it built with `--features ca`?):\n{err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(enabled.get().await.unwrap(), Enum::Index(1), "staged during the run");
    sigint(child.id());
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let paused = lines.by_ref().map_while(Result::ok).any(|l| l.contains("pausing"));
    assert!(paused, "the first Ctrl-C pauses");
    sigint(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "an aborted run exits with 130");

    let docs = documents(&jsonl);
    let (name, stop) = docs.last().expect("documents");
    assert_eq!(name, "stop");
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert!(stop["reason"].as_str().unwrap().contains("Ctrl-C"), "{stop}");
    venv::assert_valid_documents(docs.iter());
    assert_eq!(enabled.get().await.unwrap(), Enum::Index(0), "unstaged: enabled is back to 0 on the IOC");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_count_example_finds_libca_without_ld_library_path() {
    ioc::ca_client_environment();
    let ioc = Ioc::trigger_with_pc();
    // As a user runs the program: straight from target/, not through cargo,
    // which would put libca's folder on LD_LIBRARY_PATH.
    let out = Command::new(example("count"))
        .args(["--ca", ioc.device_prefix(), "--num", "1", "--exposure-time", "0.01", "--quiet"])
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "count exited with {}:\n{stderr}", out.status);
}

#[test]
fn the_count_example_starts_no_carepeater_program_where_no_repeater_runs() {
    ioc::ca_client_environment();
    let ioc = Ioc::trigger_with_pc();
    // A repeater port nothing listens on (this test process's own repeater
    // is elsewhere). libca would then run EPICS's `caRepeater` program,
    // which is not installed: older libca versions complain about it on
    // standard error, newer ones quietly run a repeater thread instead. A
    // stand-in `caRepeater` on the PATH shows whether it was tried at all.
    let free = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let dir = std::env::temp_dir().join(format!("ophyd-rs-repeater-{}", ophyd_run::new_uid()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = dir.join("started");
    let program = dir.join("caRepeater");
    std::fs::write(&program, format!("#!/bin/sh\necho started > '{}'\n", started.display())).unwrap();
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(dir.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();

    let out = Command::new(example("count"))
        .args(["--ca", ioc.device_prefix(), "--num", "2", "--exposure-time", "0.01", "--quiet"])
        .env("EPICS_CA_REPEATER_PORT", port.to_string())
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "count exited with {}:\n{stderr}", out.status);
    for complaint in ["caRepeater", "CA Repeater", "CA repeater"] {
        assert!(!stderr.contains(complaint), "{complaint:?} on standard error:\n{stderr}");
    }
    // libca starts the program detached; give it time to show up.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!started.exists(), "libca ran `caRepeater`: the program started no repeater of its own");
    std::fs::remove_dir_all(dir).ok();
}
