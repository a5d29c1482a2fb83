#!/usr/bin/env python3
"""Compile cost of #[derive(Device)]: 200 derived devices of 10 components
each, against the same 200 devices written out by hand (the derive's own
expansion, from its checked-in snapshot). Prints clean and incremental build
times of each crate; dependencies are built first and not counted.

Usage: scripts/compile-cost.py [--runs N]     (from the repository root)
Not a test: the machine is shared, so read the numbers as ratios.
"""
import argparse, os, re, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPSHOT = os.path.join(ROOT, "ophyd-derive/src/snapshots/ophyd_derive__snapshot_tests__ten_components.snap")
OUT = os.path.join(ROOT, "target/compile-cost")
N = 200

STRUCT = """/// Device {i}.
#[derive(Device)]
pub struct Device{i} {{
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
}}
"""

PRELUDE = """#![allow(missing_docs, clippy::all)]
use ophyd_core::{{Device, Enum, SoftSignal}};
use ophyd_epics::{{EpicsSignal, EpicsSignalRO}};
"""

def expansion():
    text = open(SNAPSHOT).read()
    body = text.split("\n---\n", 1)[1] if text.startswith("---") else text
    return body

def write_crate(name, source):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    open(os.path.join(d, "Cargo.toml"), "w").write(f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
ophyd-core = {{ path = "{ROOT}/ophyd-core" }}
ophyd-epics = {{ path = "{ROOT}/ophyd-epics" }}

[workspace]
""")
    open(os.path.join(d, "src/lib.rs"), "w").write(source)
    return d

def build(crate_dir, target):
    env = dict(os.environ, CARGO_TARGET_DIR=target, CARGO_INCREMENTAL="1")
    start = time.monotonic()
    subprocess.run(["cargo", "build", "-q"], cwd=crate_dir, env=env, check=True)
    return time.monotonic() - start

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    derived = PRELUDE + "\n".join(STRUCT.format(i=i) for i in range(N))
    one = expansion()
    by_hand = PRELUDE.replace("Device, ", "") + "\n".join(
        re.sub(r"\s*#\[(derive\(Device\)|component\(.*\))\]", "", STRUCT.format(i=i))
        + re.sub(r"\bDevice0\b", f"Device{i}", one)
        for i in range(N))
    results = {}
    for name, source in (("cost_derived", derived), ("cost_by_hand", by_hand)):
        crate_dir = write_crate(name, source)
        target = os.path.join(OUT, "target")
        build(crate_dir, target)  # dependencies, not counted
        clean, incremental = [], []
        lib = os.path.join(crate_dir, "src/lib.rs")
        for _ in range(args.runs):
            subprocess.run(["cargo", "clean", "-q", "-p", name], cwd=crate_dir,
                           env=dict(os.environ, CARGO_TARGET_DIR=target), check=True)
            clean.append(build(crate_dir, target))
            with open(lib, "a") as f:
                f.write("\n// touched\n")  # an edit: incremental rebuild of this crate only
            incremental.append(build(crate_dir, target))
        lines = source.count("\n")
        results[name] = (statistics.median(clean), statistics.median(incremental), lines)
        print(f"{name}: {lines} lines; clean {results[name][0]:.2f} s, incremental {results[name][1]:.2f} s "
              f"(median of {args.runs})", flush=True)
    d, h = results["cost_derived"], results["cost_by_hand"]
    print(f"derive / by hand: clean {d[0] / h[0]:.2f}x, incremental {d[1] / h[1]:.2f}x")

if __name__ == "__main__":
    sys.exit(main())
