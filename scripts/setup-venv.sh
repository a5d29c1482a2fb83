#!/usr/bin/env bash
# Create or update the project's Python environment: `.venv` at the repository
# root, holding what the Channel Access tests and the parity checks need:
#   - ophyd 1.11 (the Python reference), pyepics, event-model, bluesky;
#   - caproto (the tutorial's `trigger_with_pc` IOC);
#   - ophyd-async with aioca, its Channel Access backend (a peer in the
#     benchmarks);
#   - epicscorelibs (EPICS base's soft IOC, and a libca that ophyd-epics'
#     `ca` feature links against when no other libca is found);
#   - h5py (reads the HDF5 files the simulated areaDetector writes);
#   - maturin (builds the `ophyd_rs` Python module, `ophyd-py/`) and pytest
#     (its tests drive ophyd-rs devices from bluesky's RunEngine).
#
# Usage: scripts/setup-venv.sh            (from anywhere)
# Environment: PYTHON   interpreter to create the venv with (default: python3)
#              VENV_DIR where to put it (default: <repo>/.venv)
#
# Idempotent: a stamp in the venv records the requirement list and the
# interpreter; when neither changed, the script does nothing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_dir="${VENV_DIR:-$repo_root/.venv}"
python="${PYTHON:-python3}"

requirements=(
  "ophyd>=1.11,<1.12"
  "caproto"
  "epicscorelibs"
  "pyepics"
  "event-model"
  "bluesky"
  "ophyd-async"
  "aioca"
  "h5py"
  "maturin>=1.9,<2"
  "pytest"
)

die() { echo "setup-venv: error: $*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "'$python' not found (set PYTHON to a Python 3 interpreter)"
py_version="$("$python" -c 'import sys; print(sys.version)')" || die "cannot run '$python'"
want="$(printf '%s\n' "${requirements[@]}" "$py_version" | sha256sum | cut -d' ' -f1)"
stamp="$venv_dir/.ophyd-rs-requirements"

if [[ -x "$venv_dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

if [[ ! -x "$venv_dir/bin/python" ]]; then
  "$python" -m venv "$venv_dir" || die "could not create a venv in $venv_dir (Debian: apt-get install python3-venv)"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "setup-venv: installing ${requirements[*]} into $venv_dir" >&2
if ! "$venv_dir/bin/python" -m pip install --disable-pip-version-check --upgrade \
      "${requirements[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  die "pip install failed"
fi

# Every package must import, and epicscorelibs must ship libca.
"$venv_dir/bin/python" - <<'PY' || die "the installed packages do not work (see above)"
import os
import epicscorelibs.path  # before pyepics, which it configures
import bluesky, caproto, epics, event_model, ophyd  # noqa: F401
import aioca, ophyd_async.epics.core  # noqa: F401
import h5py, pytest  # noqa: F401
lib = epicscorelibs.path.lib_path
if not os.path.exists(os.path.join(lib, "libca.so")) and not any(
        f.startswith("libca") for f in os.listdir(lib)):
    raise SystemExit(f"epicscorelibs has no libca in {lib}")
PY

printf '%s\n' "$want" >"$stamp"
echo "setup-venv: ready: $venv_dir" >&2
