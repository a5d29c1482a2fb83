//! A device's `name()` needs no trait in scope; with `DynComponent` in
//! scope it is still the device's own (the inherent method wins).

#[derive(ophyd_core::Device)]
struct Detector {
    #[component(kind = "hinted")]
    reading: ophyd_core::SoftSignal<f64>,
}

mod with_dyn_traits_in_scope {
    #[allow(unused_imports)]
    use ophyd_core::prelude::*;

    pub fn name_of(det: &super::Detector) -> &str {
        det.name()
    }
}

fn main() {
    let det = Detector::new("XF:31ID", "det");
    assert_eq!(det.name(), "det");
    assert_eq!(with_dyn_traits_in_scope::name_of(&det), "det");
}
