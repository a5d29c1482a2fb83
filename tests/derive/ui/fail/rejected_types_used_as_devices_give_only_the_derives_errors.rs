//! A type the derive rejects still gets every impl a device has, so the
//! derive's error is the only one, however the rest of the crate uses it.

use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
enum Shutter {
    Open,
    Closed,
}

#[derive(Device)]
struct Tuple(EpicsSignal<f64>);

#[derive(Device)]
struct Unit;

#[derive(Device)]
struct Borrowing<'a> {
    #[component(suffix = ":gain")]
    gain: EpicsSignal<f64>,
    label: &'a str,
}

#[derive(Device)]
struct Empty {
    count: u32,
}

/// A valid device whose components are rejected ones.
#[derive(Device)]
struct Beamline {
    #[component(suffix = ":shutter")]
    shutter: Shutter,
    #[component]
    unit: Unit,
}

async fn run(device: &impl Stage) -> ophyd_core::Result<()> {
    device.stage().await?;
    let _ = device.read().await?;
    let _ = device.describe_configuration().await?;
    device.unstage().await
}

async fn use_them() -> ophyd_core::Result<()> {
    let shutter = Shutter::new("BL:shutter", "shutter");
    shutter.stage().await?;
    let _ = shutter.read().await?;
    shutter.trigger().await?;
    shutter.stop(true).await?;
    println!("{} has {:?}", shutter.name(), shutter.component_names());

    let tuple = Tuple::new("BL:tuple", "tuple");
    let unit = Unit::new("BL:unit", "unit");
    let borrowing = Borrowing::new("BL:borrowing", "borrowing");
    let empty = Empty::new("BL:empty", "empty");
    let beamline = Beamline::new("BL", "beamline");
    run(&tuple).await?;
    run(&beamline.shutter).await?;
    let devices: [&dyn DynDevice; 6] = [&shutter, &tuple, &unit, &borrowing, &empty, &beamline];
    for device in devices {
        device.stage_dyn().await?;
        let _ = device.read_dyn().await?;
        println!("{}: {} components", device.name(), device.components().len());
    }
    Ok(())
}

fn main() {
    let _ = use_them;
}
