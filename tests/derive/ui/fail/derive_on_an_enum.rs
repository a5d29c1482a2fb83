use ophyd_core::Device;

#[derive(Device)]
enum Detector {
    Idle,
    Acquiring,
}

fn main() {}
