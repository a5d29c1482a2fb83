#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up what the tests need
# (the project-local Python venv with the reference IOCs, Python ophyd and
# libca), then checks formatting, lints, docs, and runs every test with
# Channel Access enabled (under cargo-nextest when it is installed), then
# builds the `ophyd_rs` Python module and a beamline's own module
# (`my_beamline`) into the venv and runs their tests (bluesky driving
# ophyd-rs devices). One target directory is shared by
# every step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup-venv.sh

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# PyO3 (ophyd-py) builds against the venv's interpreter, in every step alike,
# so that maturin's build reuses what cargo built.
export PYO3_PYTHON="$PWD/.venv/bin/python"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings"

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings
step "cargo doc"
cargo doc --workspace --no-deps --all-features
if cargo nextest --version >/dev/null 2>&1; then
  # Each test in its own process, two at a time: most wait on IOCs and timers.
  step "cargo nextest run (every test but the doctests)"
  cargo nextest run --workspace --all-features
  step "cargo test --doc"
  cargo test --workspace --all-features --doc
else
  step "cargo test (cargo-nextest is not installed: one test binary at a time)"
  cargo test --workspace --all-features
fi
step "ophyd_rs: build the Python modules into the venv (maturin) and run their tests (pytest)"
# The stock module, and a beamline's own module made with `python_module!`.
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --manifest-path ophyd-py/Cargo.toml
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --manifest-path ophyd-py/my-beamline/Cargo.toml
.venv/bin/python -m pytest ophyd-py/tests -q
