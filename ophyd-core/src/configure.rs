//! `configure(values)`: change a device's configuration signals and get the
//! configuration before and after, as ophyd's `Device.configure` does.

use std::time::Duration;

use crate::component::{lookup, DynDevice, DynSignal};
use crate::data::{DataMap, Reading};
use crate::device::configuration_attrs_of;
use crate::error::{Error, Result};
use crate::signal::SetAndWait;
use crate::staging::{may_have_written, put_back};
use crate::state::Original;
use crate::value::Value;

/// The device's configuration before and after [`Device::configure`](crate::Device::configure):
/// ophyd's `(old, new)` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Configured {
    /// `read_configuration()` before anything was written.
    pub old: DataMap<Reading>,
    /// `read_configuration()` after every value was written.
    pub new: DataMap<Reading>,
}

/// How long each configuration write may take to read back.
const WRITE_TIMEOUT: Duration = SetAndWait::DEFAULT_TIMEOUT;

/// [`Device::configure`](crate::Device::configure) of a device known only as a [`DynDevice`] (a
/// device of any type, as the Python module holds them).
pub async fn configure_dyn(device: &dyn DynDevice, values: &[(&str, Value)]) -> Result<Configured> {
    // Every key and value is checked before anything is written: a typo in
    // the last key must not leave the first ones changed.
    let targets = checked_targets(device, values)?;
    let old = device.read_configuration_dyn().await?;
    let mut written: Vec<(&dyn DynSignal, Original)> = Vec::with_capacity(targets.len());
    for (path, signal, value) in targets {
        let original = Original { path: path.to_owned(), value: signal.get_value().await?, check_first: false };
        if let Err(failure) = signal.set_and_wait_value(value, WRITE_TIMEOUT).await {
            // What was written before the failure is put back, and this
            // write too if it may have reached the IOC (read first: an IOC
            // that refused it is not written again), as staging does.
            if may_have_written(&failure) {
                written.push((signal, Original { check_first: true, ..original }));
            }
            return Err(undo(device.meta().name(), failure, written).await);
        }
        written.push((signal, original));
    }
    let new = device.read_configuration_dyn().await?;
    Ok(Configured { old, new })
}

fn checked_targets<'a, 'd>(
    device: &'d dyn DynDevice,
    values: &[(&'a str, Value)],
) -> Result<Vec<(&'a str, &'d dyn DynSignal, Value)>> {
    let configuration_attrs = configuration_attrs_of(device);
    let mut errors = Vec::new();
    let mut targets = Vec::with_capacity(values.len());
    for (attr, value) in values {
        let component = match lookup(device, attr) {
            Ok(component) => component,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !configuration_attrs.iter().any(|c| c == attr) {
            errors.push(Error::NotConfiguration {
                device: device.meta().name().to_owned(),
                attr: (*attr).to_owned(),
                configuration_attrs: configuration_attrs.clone(),
            });
            continue;
        }
        let Some(signal) = component.as_signal() else {
            errors.push(Error::NotWritable {
                signal: component.name().to_owned(),
                why: "a device, not a signal".into(),
                action: "configured (configure its signals by their dotted paths)".into(),
            });
            continue;
        };
        if !signal.writable() {
            errors.push(Error::NotWritable {
                signal: signal.name().to_owned(),
                why: "read-only".into(),
                action: "configured".into(),
            });
            continue;
        }
        match signal.check_value(value) {
            Ok(()) => targets.push((*attr, signal, value.clone())),
            Err(e) => errors.push(e),
        }
    }
    Error::bundle(errors)?;
    Ok(targets)
}

async fn undo(device: &str, failure: Error, written: Vec<(&dyn DynSignal, Original)>) -> Error {
    let mut restore_failures = Vec::new();
    for (signal, original) in written.into_iter().rev() {
        if let Err(e) = put_back(signal, original).await {
            restore_failures.push(e);
        }
    }
    Error::Configure { device: device.to_owned(), cause: Box::new(failure), restore_failures }
}
