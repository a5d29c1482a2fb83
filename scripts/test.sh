#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up what the tests need
# (the project-local Python venv with the reference IOCs, Python ophyd and
# libca), then checks formatting, lints, docs, and runs every test with
# Channel Access enabled. One target directory is shared by every step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup-venv.sh

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings"

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings
step "cargo doc"
cargo doc --workspace --no-deps --all-features
step "cargo test"
cargo test --workspace --all-features
