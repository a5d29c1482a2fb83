//! The generated code compiles whatever the user's crate defines: its own
//! `Result`, `Option`, `Vec`, `String`, `Box`, modules named `core` and
//! `std`, nothing from ophyd imported, and `#![no_implicit_prelude]`.

#![allow(dead_code, non_camel_case_types)]

type Result = ();
type Option = ();
type Vec = ();
type String = ();
type Box = ();
struct Some;
struct None;
struct Ok;
struct Err;
mod core {}
mod std {}
mod ophyd_core {}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(::ophyd_core::Device)]
    pub struct Detector {
        #[component(suffix = ":gain", kind = "config", stage = 2.0)]
        pub gain: ::ophyd_epics::EpicsSignal<f64>,
        #[component(suffix = ":mode", stage = "fast")]
        pub mode: ::ophyd_epics::EpicsSignal<::ophyd_core::Enum>,
        #[component(suffix = ":sub")]
        pub sub: Sub,
        pub state: ::std::sync::Mutex<::std::vec::Vec<u8>>,
    }

    #[derive(::ophyd_core::Device)]
    pub struct Sub {
        #[component(kind = "hinted")]
        pub value: ::ophyd_core::SoftSignal<f64>,
    }
}

#[derive(::ophyd_core::Device)]
struct Shadowed {
    #[component(suffix = ":x")]
    x: ::ophyd_epics::EpicsSignal<f64>,
}

fn main() {
    let det = no_prelude::Detector::new("p", "det");
    let names = ::ophyd_core::Device::component_names(&det);
    ::std::assert_eq!(names, ["gain", "mode", "sub"]);
    let _ = Shadowed::new("p", "shadowed");
}
