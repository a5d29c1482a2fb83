use ophyd_core::Device;

#[derive(Device)]
struct Detector {
    count: u32,
}

fn main() {}
