use ophyd_core::Device;

#[derive(Device)]
struct Detector;

fn main() {}
