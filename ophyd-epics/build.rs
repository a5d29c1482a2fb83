//! Finds EPICS's Channel Access client library (libca, with its libCom) for
//! the `ca` feature. Without the feature this does nothing: the simulated IOC
//! needs no EPICS installation.
//!
//! `epics-ca-sys` asks the linker for `-lca -lCom`; this script makes sure the
//! linker, and later the binaries, find them. It looks, in order:
//!
//! 1. in `$EPICS_BASE/lib/<host arch>` (an EPICS base build; the host arch is
//!    `$EPICS_HOST_ARCH`, or derived from the target: `linux-x86_64`, ...);
//! 2. on the system (Debian: `apt-get install libca-dev libcom-dev`), as the C
//!    compiler's library search finds it;
//! 3. in the `lib` folder of the `epicscorelibs` Python package, asking the
//!    interpreter in `$EPICS_PYTHON`, else the first `.venv/bin/python` found
//!    walking up from this crate (the project's `scripts/setup-venv.sh` makes
//!    one), else `python3`.
//!
//! A library found in a folder (1 and 3) is symlinked into `$OUT_DIR/libca`
//! and that folder is given to the linker. Because it lies inside `target/`,
//! `cargo run`, `cargo test` and `cargo nextest run` put it on the dynamic
//! library path of every binary that depends on this crate, so nobody sets
//! `LD_LIBRARY_PATH`. This crate's own test and example binaries also get an
//! rpath to the real folder, so they run outside cargo too.
//!
//! A link argument given here reaches only this crate's own binaries, so the
//! folder is also handed to dependents as `links` metadata (the manifest's
//! `links = "ophyd-epics-ca"`): their build scripts read it as
//! `DEP_OPHYD_EPICS_CA_LIBDIR` and give their own binaries the rpath (the
//! README shows the four lines).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where libca was found.
enum Libca {
    /// In this folder, which the linker does not search by itself.
    Folder(PathBuf),
    /// Where the linker and the loader look anyway.
    System,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_CA").is_none() {
        return;
    }
    for var in ["EPICS_BASE", "EPICS_HOST_ARCH", "EPICS_PYTHON", "CC"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let mut tried = String::new();
    let found =
        from_epics_base(&mut tried).or_else(|| from_system(&mut tried)).or_else(|| from_epicscorelibs(&mut tried));
    match found {
        Some(Libca::Folder(folder)) => link_folder(&folder),
        Some(Libca::System) => {}
        None => fail(&tried),
    }
}

fn from_epics_base(tried: &mut String) -> Option<Libca> {
    let Some(base) = env::var_os("EPICS_BASE") else {
        tried.push_str("  - $EPICS_BASE is not set\n");
        return None;
    };
    let arch = env::var("EPICS_HOST_ARCH").ok().or_else(epics_arch_of_target)?;
    let folder = Path::new(&base).join("lib").join(&arch);
    if has_libca(&folder) {
        return Some(Libca::Folder(folder));
    }
    let _ = writeln!(tried, "  - $EPICS_BASE/lib/{arch}: no libca in {}", folder.display());
    None
}

/// EPICS's name for the target platform, as `lib/<arch>` of an EPICS base uses.
fn epics_arch_of_target() -> Option<String> {
    let os = env::var("CARGO_CFG_TARGET_OS").ok()?;
    let arch = env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let name = match (os.as_str(), arch.as_str()) {
        ("linux", "x86_64") => "linux-x86_64",
        ("linux", "x86") => "linux-x86",
        ("linux", "aarch64") => "linux-aarch64",
        ("linux", "arm") => "linux-arm",
        ("macos", "x86_64") => "darwin-x86",
        ("macos", "aarch64") => "darwin-aarch64",
        ("windows", "x86_64") => "windows-x64",
        ("windows", "x86") => "win32-x86",
        _ => return None,
    };
    Some(name.to_owned())
}

fn from_system(tried: &mut String) -> Option<Libca> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let on_search_path = |file: &str| {
        Command::new(&cc)
            .arg(format!("-print-file-name={file}"))
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            // The compiler echoes the bare name back when it finds nothing.
            .filter(|path| path.is_absolute() && path.exists())
    };
    if on_search_path(&lib_file("ca")).is_some() && on_search_path(&lib_file("Com")).is_some() {
        return Some(Libca::System);
    }
    tried.push_str("  - the system's library path: no libca/libCom\n");
    None
}

fn from_epicscorelibs(tried: &mut String) -> Option<Libca> {
    let python = env::var_os("EPICS_PYTHON").map(PathBuf::from).or_else(project_venv_python);
    let python = python.unwrap_or_else(|| PathBuf::from("python3"));
    // Without the environment of pip's build isolation (`pip install
    // ./ophyd-py`), which hides the interpreter's own packages from it.
    let output = Command::new(&python)
        .args(["-c", "import epicscorelibs.path; print(epicscorelibs.path.lib_path)"])
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONNOUSERSITE")
        .output();
    let folder = match output {
        Ok(out) if out.status.success() => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        Ok(_) => {
            let _ = writeln!(tried, "  - epicscorelibs: {} cannot import it", python.display());
            return None;
        }
        Err(e) => {
            let _ = writeln!(tried, "  - epicscorelibs: cannot run {}: {e}", python.display());
            return None;
        }
    };
    if has_libca(&folder) {
        return Some(Libca::Folder(folder));
    }
    let _ = writeln!(tried, "  - epicscorelibs: no libca in {}", folder.display());
    None
}

fn project_venv_python() -> Option<PathBuf> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    manifest_dir.ancestors().map(|dir| dir.join(".venv/bin/python")).find(|python| python.exists())
}

fn lib_file(name: &str) -> String {
    match env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("macos") => format!("lib{name}.dylib"),
        Ok("windows") => format!("{name}.lib"),
        _ => format!("lib{name}.so"),
    }
}

fn has_libca(folder: &Path) -> bool {
    folder.join(lib_file("ca")).exists() && folder.join(lib_file("Com")).exists()
}

/// Links against the libraries in `folder` through symlinks inside `target/`
/// (see the crate-level comment for why).
fn link_folder(folder: &Path) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let links = out_dir.join("libca");
    if let Err(e) = symlink_libraries(folder, &links) {
        eprintln!("error: cannot link libca from {} into {}: {e}", folder.display(), links.display());
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed={}", folder.join(lib_file("ca")).display());
    println!("cargo:rustc-link-search=native={}", links.display());
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", folder.display());
        println!("cargo:libdir={}", folder.display());
    }
}

fn symlink_libraries(folder: &Path, links: &Path) -> std::io::Result<()> {
    if links.exists() {
        fs::remove_dir_all(links)?;
    }
    fs::create_dir_all(links)?;
    for entry in fs::read_dir(folder)? {
        let name = entry?.file_name();
        let text = name.to_string_lossy();
        // `libca.so` and its versioned names (`libca.so.7.0...`), same for libCom.
        let wanted = ["ca", "Com"].iter().any(|lib| {
            let file = lib_file(lib);
            let stem = file.split_once('.').map_or(file.as_str(), |(stem, _)| stem);
            text.starts_with(&format!("{stem}."))
        });
        if wanted {
            link_or_copy(&folder.join(&name), &links.join(&name))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn link_or_copy(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn link_or_copy(target: &Path, link: &Path) -> std::io::Result<()> {
    fs::copy(target, link).map(|_| ())
}

fn fail(tried: &str) -> ! {
    eprintln!(
        "\nerror: ophyd-epics' `ca` feature needs EPICS's Channel Access library (libca and libCom), \
         and none was found.\n\
         Tried:\n{tried}\
         Provide it in one of three ways:\n\
         \x20 1. set EPICS_BASE to an EPICS base build (its lib/<host arch>, e.g. lib/linux-x86_64, holds libca);\n\
         \x20 2. install it system-wide (Debian/Ubuntu: `apt-get install libca-dev libcom-dev`);\n\
         \x20 3. install the `epicscorelibs` Python package: run `scripts/setup-venv.sh` (a `.venv` at the \
         repository root), or point EPICS_PYTHON at a Python that has it (`pip install epicscorelibs`).\n"
    );
    std::process::exit(1);
}
