//! Gives the extension module an rpath to the folder ophyd-epics found libca
//! in (the `epicscorelibs` package of the venv), so that Python imports it
//! without `LD_LIBRARY_PATH`: every extension module that links libca
//! through ophyd-epics needs these lines (and ophyd-epics as a direct
//! dependency, which is what hands the folder on).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Some(dir) = std::env::var_os("DEP_OPHYD_EPICS_CA_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", std::path::Path::new(&dir).display());
    }
}
