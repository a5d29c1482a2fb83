//! Devices declared inside functions and nested modules.

mod beamline {
    pub mod detectors {
        use ophyd_core::prelude::*;
        use ophyd_epics::EpicsSignal;

        #[derive(Device)]
        pub struct Shutter {
            #[component(suffix = ":Cmd", stage = "Open")]
            pub command: EpicsSignal<Enum>,
        }
    }
}

fn main() {
    use ophyd_core::prelude::*;

    #[derive(Device)]
    struct Local {
        #[component(kind = "hinted")]
        value: SoftSignal<f64>,
        #[component(suffix = ":shutter")]
        shutter: beamline::detectors::Shutter,
    }

    let local = Local::new("BL", "local");
    assert_eq!(local.shutter.command.write_pv(), "BL:shutter:Cmd");
    assert_eq!(local.read_attrs(), ["value", "shutter", "shutter.command"]);
    assert_eq!(local.value.name(), "local_value");
}
