//! The example programs, run as a user runs them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value as Json;

/// An example binary: `cargo test` builds the package's examples next to
/// the test binaries (`target/<profile>/examples/`).
fn example(name: &str) -> Command {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path: PathBuf = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "example `{name}` not built at {}", path.display());
    Command::new(path)
}

#[test]
fn triggered_detector_json_has_the_reference_fields_and_enabled_0_1_0() {
    let out = example("triggered_detector").args(["--json", "--exposure-time", "0.01"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Json = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let reference: Json =
        serde_json::from_str(include_str!("../../tests/reference/ophyd-1.11-trigger_with_pc.json")).unwrap();
    for field in reference.as_object().unwrap().keys() {
        assert!(json.get(field).is_some(), "missing field `{field}`");
    }
    assert_eq!(
        [
            &json["enabled_before_stage"],
            &json["enabled_after_stage"],
            &json["enabled_after_unstage"],
            &json["enabled_after_second_unstage"]
        ],
        [0, 1, 0, 0]
    );
    assert_eq!(json["stage_twice"], "RedundantStaging");
}

#[test]
fn triggered_detector_prose_shows_each_step() {
    let out = example("triggered_detector").args(["--exposure-time", "0.01"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for step in [
        "enabled.put(0)",
        "triggered_detector.stage()",
        "while not status.done",
        "triggered_detector.read()",
        "RedundantStaging",
    ] {
        assert!(text.contains(step), "no `{step}` in:\n{text}");
    }
    assert!(text.contains("0 before staging -> 1 staged -> 0 after unstaging -> 0 after unstaging again"), "{text}");
}

#[test]
fn triggered_detector_rejects_unknown_arguments_with_usage() {
    let out = example("triggered_detector").arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("'--frobnicate'") && err.contains("Usage: triggered_detector"), "{err}");
}

#[test]
fn help_lists_every_option_with_its_default() {
    let programs: [(&str, &[&str]); 4] = [
        ("triggered_detector", &["--json", "--ca <PREFIX>", "--exposure-time <SECONDS>"]),
        (
            "count",
            &[
                "--num <N>",
                "--delay <SECONDS>",
                "--ca <PREFIX>",
                "--exposure-time <SECONDS>",
                "--jsonl <PATH>",
                "--quiet",
            ],
        ),
        (
            "scan",
            &["--num <N>", "--motor <PV>", "--ca <PREFIX>", "--exposure-time <SECONDS>", "--jsonl <PATH>", "--quiet"],
        ),
        (
            "area_detector",
            &["--num <N>", "--dir <DIR>", "--ca <PREFIX>", "--exposure-time <SECONDS>", "--jsonl <PATH>", "--quiet"],
        ),
    ];
    for (program, options) in programs {
        let out = example(program).arg("--help").output().unwrap();
        assert!(out.status.success(), "{program} --help: {}", String::from_utf8_lossy(&out.stderr));
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains(&format!("Usage: {program} [OPTIONS]")), "{help}");
        for option in options {
            assert!(help.contains(option), "{program} --help does not list `{option}`:\n{help}");
        }
        assert!(
            help.contains("[default: a simulated IOC"),
            "{program} --help does not say what --ca defaults to:\n{help}"
        );
        if program != "triggered_detector" {
            assert!(help.contains("[default: 5]"), "{program} --help does not say --num defaults to 5:\n{help}");
        }
    }
}

#[test]
fn bad_arguments_exit_2_before_anything_runs() {
    for (program, args, says) in [
        ("count", &["--num", "many"][..], "'many' for '--num <N>'"),
        ("count", &["--delay", "-1"], "'-1' for '--delay <SECONDS>'"),
        ("count", &["--exposure-time"], "--exposure-time <SECONDS>"),
        ("count", &["--motor", "sim:m1"], "'--motor'"),
        // Over Channel Access there is no motor to assume.
        ("scan", &["--ca", "trigger_with_pc"], "--motor <PV>"),
    ] {
        let out = example(program).args(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{program} {args:?}: {err}");
        assert!(err.contains(says), "{program} {args:?} does not say `{says}`:\n{err}");
    }
}

#[test]
fn count_prints_a_live_table_and_writes_every_document_as_a_json_line() {
    let jsonl = std::env::temp_dir().join(format!("ophyd-rs-count-{}.jsonl", std::process::id()));
    let out = example("count").args(["--exposure-time", "0.01", "--quiet", "--jsonl"]).arg(&jsonl).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("triggered_detector_reading") && table.contains("count ["), "{table}");
    let names: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<(String, Json)>(l).unwrap().0)
        .collect();
    assert_eq!(names, ["start", "descriptor", "event", "event", "event", "event", "event", "stop"]);
    std::fs::remove_file(jsonl).ok();
}

#[test]
fn scan_moves_the_simulated_motor_through_its_positions() {
    let out = example("scan").args(["--num", "3", "--exposure-time", "0.01", "--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    for position in ["0.000", "0.500", "1.000"] {
        assert!(table.contains(position), "no motor position {position} in:\n{table}");
    }
    assert!(table.contains("Success"), "{table}");
}

/// Send SIGINT (Ctrl-C) to `pid`.
fn ctrl_c(pid: u32) {
    let sent = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success();
    assert!(sent, "kill -INT {pid}");
}

#[test]
fn count_aborted_with_ctrl_c_exits_promptly_even_with_standard_input_open() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    // A terminal that never answers: standard input open, nothing typed.
    let mut child = example("count")
        .args(["--num", "1000", "--exposure-time", "0.05", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ctrl_c(child.id());
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(stderr.by_ref().map_while(Result::ok).any(|l| l.contains("Paused")), "the first Ctrl-C pauses");
    ctrl_c(child.id());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().ok();
            panic!("the program did not exit after the abort (waiting on standard input?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "an aborted run exits with 130");
}

#[test]
fn the_scaler_story_stages_triggers_reads_and_counts_a_device_of_ones_own() {
    let jsonl = std::env::temp_dir().join(format!("ophyd-rs-scaler-{}.jsonl", std::process::id()));
    let out = example("scaler").arg(&jsonl).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for step in [
        "count mode before staging: AutoCount",
        "count mode while staged: OneShot",
        "count mode after unstaging: AutoCount",
        // Counted for the preset time (0.1 s at 10000/s), not read before the counting ended.
        r#""scaler_s1":{"value":1000"#,
        r#""scaler_s4":{"value":6"#,
        "3 events, exit status Success",
    ] {
        assert!(text.contains(step), "no `{step}` in:\n{text}");
    }
    assert!(text.contains("scaler_s1") && text.contains("seq_num"), "a live table: {text}");

    let documents: Vec<Json> =
        std::fs::read_to_string(&jsonl).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    std::fs::remove_file(&jsonl).ok();
    let names: Vec<&str> = documents.iter().map(|d| d[0].as_str().unwrap()).collect();
    assert_eq!(names, ["start", "descriptor", "event", "event", "event", "stop"]);
    for event in documents.iter().filter(|d| d[0] == "event") {
        assert_eq!(event[1]["data"]["scaler_s1"], 1000, "{event}");
    }
    assert_eq!(documents[1][1]["configuration"]["scaler"]["data"]["scaler_count_mode"], 0, "OneShot while staged");
}

#[test]
fn motor_json_moves_to_2_5_and_refuses_20_with_a_limit_error() {
    let out = example("motor").arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Json = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for field in ["read", "describe", "read_configuration", "describe_configuration", "hints"] {
        assert!(json.get(field).is_some(), "missing field `{field}`");
    }
    assert_eq!(json["position"], 2.5);
    assert_eq!(json["read"]["motor"]["value"], 2.5);
    assert_eq!(json["hints"]["fields"], serde_json::json!(["motor"]));
    assert_eq!(json["limit_error"]["name"], "LimitError");
    let message = json["limit_error"]["message"].as_str().unwrap();
    assert!(message.contains("`motor` cannot move to 20") && message.contains("[0, 10]"), "{message}");
}

/// The project's Python (its venv, made by the README's test command).
fn venv_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

#[test]
fn area_detector_writes_frames_to_an_hdf5_file_its_documents_point_at() {
    let dir = std::env::temp_dir().join(format!("ophyd-rs-area-detector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jsonl = dir.join("run.jsonl");
    let frames = dir.join("frames/run1");
    let out = example("area_detector")
        .args(["--num", "5", "--exposure-time", "0.01", "--quiet", "--dir"])
        .arg(&frames)
        .arg("--jsonl")
        .arg(&jsonl)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("det_stats1_total"), "the live table shows each frame's total:\n{stdout}");
    let file = std::fs::read_dir(&frames).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    assert_eq!(file.len(), 1, "one file for the run: {file:?}");
    assert!(stderr.contains(&format!("frames written to file://localhost{}", file[0].display())), "{stderr}");

    // What a reader of the run finds: every document valid, every
    // stream_datum's frames in the file with the described shape and dtype.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/python/check_stream_documents.py");
    let check = Command::new(venv_python()).arg(script).arg(&jsonl).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let found: Json = serde_json::from_slice(&check.stdout).unwrap();
    let counts = &found["counts"];
    assert_eq!(
        (&counts["stream_resource"], &counts["stream_datum"], &counts["event"]),
        (&Json::from(1), &5.into(), &5.into())
    );
    let frames_in_file: Vec<&Json> = found["frames"].as_object().unwrap().values().collect();
    assert_eq!(frames_in_file, [&Json::from(5)]);
    let covered: Vec<&Json> = found["covered"].as_object().unwrap().values().collect();
    assert_eq!(covered, [&serde_json::json!([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])]);
    std::fs::remove_dir_all(dir).unwrap();
}
