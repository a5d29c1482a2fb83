//! Compile-fail and compile-pass tests of `#[derive(Device)]`: see `tests/derive_ui.rs`.
