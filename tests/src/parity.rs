//! What the parity tests compare with Python ophyd: a device's report in
//! the shape of `tests/python/*_reference.py`'s, and the comparison that
//! names the field that differs.

use ophyd_core::Device;
use serde_json::{json, Value as Json};

/// The fields [`report`] gives, as the Python references print them.
pub const COMMON: [&str; 9] = [
    "read_keys",
    "read_fields",
    "describe",
    "read_configuration_keys",
    "describe_configuration",
    "hints",
    "read_attrs",
    "configuration_attrs",
    "component_names",
];

/// `device`'s [`COMMON`] fields: what it reads and describes, its hints
/// and attribute lists (readings' fields, not their values, which two
/// clients read at different times).
pub async fn report<D: Device>(device: &D) -> Json {
    let read = device.read().await.unwrap();
    let cfg = device.read_configuration().await.unwrap();
    json!({
        "read_keys": read.keys().collect::<Vec<_>>(),
        "read_fields": examples::session::read_fields(&read),
        "describe": device.describe().await.unwrap(),
        "read_configuration_keys": cfg.keys().collect::<Vec<_>>(),
        "describe_configuration": device.describe_configuration().await.unwrap(),
        "hints": device.hints(),
        "read_attrs": device.read_attrs(),
        "configuration_attrs": device.configuration_attrs(),
        "component_names": device.component_names(),
    })
}

/// Panic naming the first of `fields` where `rust` and `python` differ.
pub fn assert_same(python: &Json, rust: &Json, fields: &[&str]) {
    for field in fields {
        assert_eq!(rust[field], python[field], "`{field}` differs from Python ophyd's (left: ophyd-rs, right: Python)");
    }
}
