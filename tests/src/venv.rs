//! The project's Python venv (`.venv`, made by `scripts/setup-venv.sh`):
//! the reference IOCs, Python ophyd and event-model.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the repository").to_path_buf()
}

/// The venv's Python; panics with the fix if the venv is missing.
pub fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(python.exists(), "no {}: run scripts/setup-venv.sh (the README's test command does)", python.display());
    python
}

/// Run `tests/python/<script>` with `args` in the venv and parse the one
/// JSON object it prints; panics with its standard error if it fails.
pub fn python_json<S: AsRef<std::ffi::OsStr>>(script: &str, args: impl IntoIterator<Item = S>) -> serde_json::Value {
    let path = repo_root().join("tests/python").join(script);
    let out = std::process::Command::new(python()).arg(&path).args(args).output().expect("run the venv's python");
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script} printed no JSON object: {e}"))
}

/// The directory of event-model's JSON schemas in the venv.
pub fn event_model_schemas() -> PathBuf {
    let out = std::process::Command::new(python())
        .args(["-c", "import event_model, os; print(os.path.join(os.path.dirname(event_model.__file__), 'schemas'))"])
        .output()
        .expect("run the venv's python");
    assert!(out.status.success(), "event_model is not importable: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}

/// A validator of event-model's JSON schema for documents named `name`
/// (`"start"`, `"descriptor"`, `"event"`, `"stop"`, `"stream_resource"`,
/// `"stream_datum"`).
pub fn event_model_validator(name: &str) -> jsonschema::Validator {
    let file = match name {
        "start" => "run_start.json",
        "descriptor" => "event_descriptor.json",
        "event" => "event.json",
        "stop" => "run_stop.json",
        "stream_resource" => "stream_resource.json",
        "stream_datum" => "stream_datum.json",
        other => panic!("no event-model schema for `{other}` documents"),
    };
    let path = event_model_schemas().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&serde_json::from_str(&text).expect("a JSON schema")).expect("a valid schema")
}

/// Panic, naming the document and every violation, unless each of `docs`
/// (`(name, document)`) validates against event-model's schemas.
pub fn assert_valid_documents<'a>(docs: impl IntoIterator<Item = &'a (String, serde_json::Value)>) {
    let mut validators: Vec<(String, jsonschema::Validator)> = Vec::new();
    for (name, doc) in docs {
        if !validators.iter().any(|(n, _)| n == name) {
            validators.push((name.clone(), event_model_validator(name)));
        }
        let validator = &validators.iter().find(|(n, _)| n == name).expect("just added").1;
        let errors: Vec<String> = validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path)).collect();
        assert!(errors.is_empty(), "{name} document invalid: {errors:?}\n{doc:#}");
    }
}

/// What the IOC holds at `pv`, read by another client than ours
/// (caproto's), as text: enums as their index, strings decoded as UTF-8.
pub fn read_independently(pv: &str) -> String {
    let script = "import sys\n\
                  from caproto.sync.client import read\n\
                  v = read(sys.argv[1], data_type='native', timeout=5, repeater=False).data[0]\n\
                  print(v.decode() if isinstance(v, bytes) else v)";
    let out = std::process::Command::new(python()).args(["-c", script, pv]).output().expect("run the venv's python");
    assert!(out.status.success(), "caproto cannot read {pv}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// The bytes of the string the IOC holds at `pv`, read by caproto's client.
pub fn read_bytes_independently(pv: &str) -> Vec<u8> {
    let script = "import sys; from caproto.sync.client import read; \
                  sys.stdout.write(bytes(read(sys.argv[1], timeout=5, repeater=False).data[0]).hex())";
    let out = std::process::Command::new(python()).args(["-c", script, pv]).output().expect("run the venv's python");
    assert!(out.status.success(), "caproto cannot read {pv}: {}", String::from_utf8_lossy(&out.stderr));
    let hex = String::from_utf8(out.stdout).expect("hex digits");
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits")).collect()
}
