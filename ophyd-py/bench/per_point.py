#!/usr/bin/env python3
"""Per-point overhead of bluesky's RunEngine driving an ophyd-rs detector,
against the same plan with Python ophyd's simulated detector, in one run.

    VIRTUAL_ENV=.venv .venv/bin/maturin develop --release --manifest-path ophyd-py/Cargo.toml
    .venv/bin/python ophyd-py/bench/per_point.py [--points 1000] [--repeats 5]

(an optimized build of the module, as `pip install ./ophyd-py` makes; the
script refuses a debug build).

- `RE(count([det], N))` with ophyd-rs's tutorial detector on the simulated
  IOC (exposure_time 0: the acquisition itself takes no time), and with
  `ophyd.sim.det` (a Python detector computing its reading in-process):
  per point = (time of N points - time of 1 point) / (N - 1), the median of
  the repeats; the ratio is ophyd-rs / ophyd.sim.
- `det.read()` from Python: `await det.read()` in a coroutine, and
  `det.read().result()` without a loop, against `ophyd.sim.det.read()`.

Prints a Markdown table. Times are wall-clock on a shared machine: compare
the ratio, measured in one run, rather than absolute figures across runs.
"""
import argparse
import asyncio
import statistics
import time

from bluesky import RunEngine
from bluesky.plans import count

import ophyd_rs


def count_time(RE, det, points):
    events = []
    token = RE.subscribe(lambda name, doc: events.append(doc) if name == "event" else None)
    try:
        started = time.perf_counter()
        RE(count([det], points))
        elapsed = time.perf_counter() - started
    finally:
        RE.unsubscribe(token)
    # A count that did nothing would look fast.
    if len(events) != points:
        raise SystemExit(f"RE(count([{det.name}], {points})) made {len(events)} events, not {points}")
    return elapsed


def per_point(RE, det, points, repeats):
    count_time(RE, det, 10)  # warm up: imports, first connections
    samples = []
    for _ in range(repeats):
        one = count_time(RE, det, 1)
        many = count_time(RE, det, points)
        samples.append((many - one) / (points - 1))
    return statistics.median(samples)


def call_time(call, calls):
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def await_time(det, calls):
    async def reads():
        started = time.perf_counter()
        for _ in range(calls):
            await det.read()
        return (time.perf_counter() - started) / calls

    return asyncio.run(reads())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reads", type=int, default=20000)
    args = parser.parse_args()
    if ophyd_rs.build_profile != "release":
        raise SystemExit("ophyd_rs is a debug build: build it with `maturin develop --release` first")

    from ophyd.sim import det as ophyd_det

    ioc = ophyd_rs.SimIoc.trigger_with_pc()
    det = ophyd_rs.TriggeredDetector("trigger_with_pc", name="triggered_detector")
    det.connect(ioc)
    det.exposure_time.put(0.0)

    RE = RunEngine({})
    ours = per_point(RE, det, args.points, args.repeats)
    theirs = per_point(RE, ophyd_det, args.points, args.repeats)

    read_await = await_time(det, args.reads)
    read_result = call_time(lambda: det.read().result(), args.reads)
    read_ophyd = call_time(ophyd_det.read, args.reads)

    us = 1e6
    print(f"RE(count([det], {args.points})), median of {args.repeats}; det.read() mean of {args.reads}\n")
    print("| measure | ophyd-rs (tutorial detector, simulated IOC) | ophyd.sim.det | ratio |")
    print("|---|---|---|---|")
    print(f"| per-point overhead | {ours * us:.1f} µs | {theirs * us:.1f} µs | {ours / theirs:.3f} |")
    print(f"| `await det.read()` | {read_await * us:.2f} µs | {read_ophyd * us:.2f} µs (`det.read()`) "
          f"| {read_await / read_ophyd:.3f} |")
    print(f"| `det.read().result()` | {read_result * us:.2f} µs | {read_ophyd * us:.2f} µs (`det.read()`) "
          f"| {read_result / read_ophyd:.3f} |")


if __name__ == "__main__":
    main()
