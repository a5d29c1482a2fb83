//! Gives the extension module an rpath to the folder ophyd-epics found
//! libca in (the `epicscorelibs` package of the project's venv, usually), so
//! that Python imports it without `LD_LIBRARY_PATH`. A link argument of
//! ophyd-epics' own build script reaches only ophyd-epics' binaries, so it
//! hands the folder on as `links` metadata instead.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Unset when libca is where the loader looks anyway (the system's).
    if let Some(dir) = std::env::var_os("DEP_OPHYD_EPICS_CA_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", std::path::Path::new(&dir).display());
    }
}
