//! Expansion snapshots: what the derive writes for representative devices,
//! formatted, checked in under `src/snapshots/` and reviewed as code.
//! After an intended change: `cargo insta review` (or `INSTA_UPDATE=always`).

fn expand(source: &str) -> String {
    let input: syn::DeriveInput = syn::parse_str(source).expect("test input parses");
    let tokens = crate::expand::derive(&input);
    let file: syn::File = syn::parse2(tokens).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn flat_device() {
    insta::assert_snapshot!(expand(
        r#"
        struct Motor {
            #[component(suffix = ".VAL", kind = "normal")]
            setpoint: EpicsSignal<f64>,
            #[component(suffix = ".RBV", kind = "hinted")]
            readback: EpicsSignalRO<f64>,
            #[component(suffix = ".VELO", kind = "config")]
            velocity: EpicsSignal<f64>,
        }
        "#
    ));
}

#[test]
fn nested_device() {
    insta::assert_snapshot!(expand(
        r#"
        struct Detector {
            #[component(suffix = ":cam1")]
            cam: Cam,
            #[component(suffix = ":stats", kind = "hinted")]
            stats: Stats,
        }
        "#
    ));
}

#[test]
fn stage_values_and_put_complete() {
    insta::assert_snapshot!(expand(
        r#"
        struct Cam {
            #[component(suffix = ":AcquireTime", kind = "config", stage = 0.5)]
            acquire_time: EpicsSignal<f64>,
            #[component(suffix = ":ImageMode", kind = "config", stage = "Multiple")]
            image_mode: EpicsSignal<Enum>,
            #[component(suffix = ":Acquire", kind = "omitted", put_complete)]
            acquire: EpicsSignal<Enum>,
        }
        "#
    ));
}

#[test]
fn state_fields_and_custom_behaviour() {
    insta::assert_snapshot!(expand(
        r#"
        #[device(custom(stage, trigger, stop))]
        struct Counter {
            #[component(kind = "hinted")]
            count: SoftSignal<u32>,
            started: std::sync::Mutex<Option<f64>>,
        }
        "#
    ));
}

#[test]
fn tutorial_detector() {
    insta::assert_snapshot!(expand(
        r#"
        #[device(custom(trigger))]
        pub struct TriggeredDetector {
            #[component(suffix = ":gain", kind = "config")]
            pub gain: EpicsSignal<f64>,
            #[component(suffix = ":exposure_time", kind = "config")]
            pub exposure_time: EpicsSignal<f64>,
            #[component(suffix = ":reading", kind = "hinted")]
            pub reading: EpicsSignalRO<f64>,
            #[component(suffix = ":acquire", kind = "omitted", put_complete)]
            pub acquire: EpicsSignal<Enum>,
            #[component(suffix = ":enabled", kind = "omitted", stage = 1)]
            pub enabled: EpicsSignal<Enum>,
        }
        "#
    ));
}

#[test]
fn generic_device() {
    insta::assert_snapshot!(expand(
        r#"
        struct Axis<P: Send> {
            #[component(suffix = ":pos", kind = "hinted")]
            position: P,
            #[component(suffix = ":moving", kind = "omitted")]
            moving: EpicsSignalRO<i32>,
        }
        "#
    ));
}

#[test]
fn attribute_mistakes_still_expand_with_defaults_after_the_errors() {
    insta::assert_snapshot!(expand(
        r#"
        struct Broken {
            #[component(suffix = ":x", kind = "hint")]
            x: EpicsSignal<f64>,
        }
        "#
    ));
}

/// Input the derive rejects still gets every impl (bodies never run), so
/// the rest of the crate can use it as a device and adds no errors.
#[test]
fn rejected_input_gets_the_error_and_every_impl() {
    insta::assert_snapshot!(expand(
        r#"
        #[device(custom(trigger))]
        enum Shutter {
            Open,
            Closed,
        }
        "#
    ));
}

/// The device the compile-cost benchmark (`scripts/compile-cost.py`)
/// repeats 200 times; its expansion is the "hand-written" equivalent.
#[test]
fn ten_components() {
    insta::assert_snapshot!(expand(
        r#"
        pub struct Device0 {
            #[component(suffix = ":s0", kind = "hinted")]
            pub s0: EpicsSignalRO<f64>,
            #[component(suffix = ":s1")]
            pub s1: EpicsSignalRO<f64>,
            #[component(suffix = ":s2")]
            pub s2: EpicsSignal<f64>,
            #[component(suffix = ":s3", kind = "config")]
            pub s3: EpicsSignal<f64>,
            #[component(suffix = ":s4", kind = "config")]
            pub s4: EpicsSignal<i32>,
            #[component(suffix = ":s5", kind = "config", stage = 1)]
            pub s5: EpicsSignal<Enum>,
            #[component(suffix = ":s6", kind = "omitted", put_complete)]
            pub s6: EpicsSignal<Enum>,
            #[component(suffix = ":s7", kind = "omitted")]
            pub s7: EpicsSignal<String>,
            #[component(suffix = ":s8")]
            pub s8: EpicsSignalRO<Vec<f64>>,
            #[component(kind = "config")]
            pub s9: SoftSignal<f64>,
        }
        "#
    ));
}

#[test]
fn a_component_named_after_its_parent() {
    insta::assert_snapshot!(expand(
        r#"
        struct EpicsMotor {
            #[component(suffix = ".RBV", kind = "hinted", named_after_parent)]
            user_readback: EpicsSignalRO<f64>,
            #[component(suffix = ".VAL", put_complete)]
            user_setpoint: EpicsSignal<f64>,
        }
        "#
    ));
}

/// ophyd's `EpicsScaler` channels: 32 children from two templates, their
/// names and suffixes written out in full.
#[test]
fn a_vector_of_channels() {
    insta::assert_snapshot!(expand(
        r#"
        struct Scaler {
            #[component(suffix = ".CNT", kind = "omitted", put_complete)]
            count: EpicsSignalX<Enum>,
            #[component(vector(count = 4, suffix = ".S{}", attr = "chan{}"), kind = "hinted")]
            channels: DeviceVector<EpicsSignalRO<i32>>,
            #[component(vector(count = 2, start = 0, suffix = ":ROI{}:"))]
            rois: DeviceVector<Roi>,
        }
        "#
    ));
}

/// ophyd's `FormattedComponent`: PVs from a template of the prefix and a
/// plain field, which `new_with` takes.
#[test]
fn formatted_pvs_from_the_prefix_and_a_plain_field() {
    insta::assert_snapshot!(expand(
        r#"
        struct ScalerChannel {
            #[component(pv = "{prefix}.S{ch}", kind = "hinted")]
            s: EpicsSignalRO<i32>,
            #[component(pv = "{prefix}.NM{ch}", kind = "config")]
            chname: EpicsSignal<String>,
            ch: u32,
            note: String,
        }
        "#
    ));
}

/// A read-write derived signal of two shared siblings, and a read-only
/// one of one.
#[test]
fn derived_signals_of_sibling_sources() {
    insta::assert_snapshot!(expand(
        r#"
        struct Slit {
            #[component(suffix = ":top")]
            top: Arc<EpicsSignal<f64>>,
            #[component(suffix = ":bottom")]
            bottom: Arc<EpicsSignal<f64>>,
            #[component(kind = "hinted", derived(from(top, bottom), raw_to_derived = gap, derived_to_raw = blades, units = "mm", precision = 3))]
            gap: DerivedSignal<f64>,
            #[component(derived(from(top), raw_to_derived = |top: f64| top * 1000.0))]
            top_um: DerivedSignalRO<f64>,
        }
        "#
    ));
}
