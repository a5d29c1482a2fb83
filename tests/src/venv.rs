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

/// The directory of event-model's JSON schemas in the venv.
pub fn event_model_schemas() -> PathBuf {
    let out = std::process::Command::new(python())
        .args(["-c", "import event_model, os; print(os.path.join(os.path.dirname(event_model.__file__), 'schemas'))"])
        .output()
        .expect("run the venv's python");
    assert!(out.status.success(), "event_model is not importable: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}
