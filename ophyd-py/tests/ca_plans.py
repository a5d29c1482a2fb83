#!/usr/bin/env python3
"""Run one bluesky plan over Channel Access with Python ophyd 1.11 or with
ophyd-rs (`ophyd_rs`), and print what came of it.

Usage: ca_plans.py --impl ophyd|ophyd_rs --det-prefix P --motor-prefix M --plan PLAN

  P     the tutorial IOC's prefix without its colon (components add ":gain")
  M     a motor record of the motor IOC ("PREFIXmtr1")
  PLAN  count          RE(count([det], 5))
        scan           RE(scan([det], motor, 0, 1, 5))
        pause_resume   a count of 5 that asks for a pause after its 2nd shot;
                       RE.resume() once paused
        pause_abort    the same, then RE.abort()
        refused_trigger  a run that stages the detector, writes enabled 0
                       and triggers it: the IOC refuses the acquisition
        sigint         a count of 100 that runs until the parent sends SIGINT
                       (bluesky's SigintHandler pauses); then RE.abort()
        motor_abort    scan([det], motor, 0, 10, 3): 1 s into the move to 5
                       a pause is requested, then RE.abort()
        ioc_reboot     a count of 1000 during which the parent kills the
                       tutorial IOC and starts it again: the run fails;
                       once the IOC answers again (up to 30 s), how long
                       `enabled` took to read its value before the run (the
                       restarted IOC starts "on"), then, exposure time set
                       back, a count of 3 with the same device
        motor_ioc_dies scan([det], motor, 0, 10, 3), during whose move to
                       5 the parent kills the motor IOC and starts it
                       again: the run fails; once the motor answers again
                       (up to 30 s), the same motor object moves to 1
        stalled_run    a count of 1000 during which the parent stops the
                       tutorial IOC (SIGSTOP) and presses Ctrl-C twice;
                       once paused this prints {"name": "interrupted"} and
                       aborts at once, its cleanup facing the stopped IOC
                       (the parent lets it run again a moment later)
        stalled_set    no RunEngine: motor.set() on the main thread while
                       the parent holds the motor IOC stopped (SIGSTOP),
                       and Ctrl-C while set() waits on it; once the IOC
                       runs again, where the motor is
        stalled_stage  the same with det.stage() and the tutorial IOC;
                       then `enabled`, and a stage and unstage afterwards
                       The stalled_* plans take turns with the parent: they
                       print {"name": "ready"}, "acting" and "after" lines
                       and wait for a line on stdin after "ready" and after
                       "after"

Prints to stdout one JSON object a line: {"name": ..., "doc": ...} per
document as the RunEngine emits it, each validated against event-model's
schema, then {"result": {...}}: how RE returned ("completed", "interrupted"
or "error"), the exception chain, the state while paused, `enabled` after the
run read through the implementation itself, and the documents event-model
rejected. Exits 1 when a document is invalid. Anything else (bluesky's own
messages) goes to stderr.

The EPICS_CA_* environment says where the IOCs are. Each implementation
brings its own libca client; one process loads only one of them.
"""

import argparse
import json
import os
import sys
import threading
import time
import traceback

import event_model
from bluesky import RunEngine
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.plans import count, scan
from bluesky.utils import Msg, RequestAbort, RunEngineInterrupted

CONNECT_TIMEOUT = 10.0


def ophyd_devices(det_prefix, motor_prefix):
    """The staging tutorial's detector (its `stage_sigs` variant, as the
    parity tests of the Rust side declare it in Python ophyd) and ophyd's
    EpicsMotor."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
    from ophyd import EpicsMotor
    from ophyd_reference import TriggeredDetector

    det = TriggeredDetector(det_prefix, name="triggered_detector")
    motor = EpicsMotor(motor_prefix, name="motor")
    det.wait_for_connection(timeout=CONNECT_TIMEOUT)
    motor.wait_for_connection(timeout=CONNECT_TIMEOUT)
    return det, motor


def ophyd_rs_devices(det_prefix, motor_prefix):
    """The same two devices from ophyd-rs."""
    import ophyd_rs

    ca = ophyd_rs.CaTransport()
    det = ophyd_rs.TriggeredDetector(det_prefix, name="triggered_detector")
    motor = ophyd_rs.EpicsMotor(motor_prefix, name="motor")
    det.connect(ca, timeout=CONNECT_TIMEOUT)
    motor.connect(ca)
    return det, motor


def pausing_shot(after):
    """A count's step that, after its `after`th shot, asks for a pause at the
    next checkpoint, as a plan step can."""
    shots = 0

    def shot(detectors, take_reading=None):
        nonlocal shots
        yield from bps.one_shot(detectors, take_reading)
        shots += 1
        if shots == after:
            yield Msg("pause", None, defer=True)

    return shot


def refused_trigger(det):
    """Stage (enabled -> 1), switch the detector off behind staging's back,
    trigger: the IOC refuses to acquire."""

    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def inner():
        yield from bps.mv(det.enabled, 0)
        yield from bps.trigger_and_read([det])

    return (yield from inner())


def after_reboot(RE, det, enabled_before, exposure_before):
    """What the device does once its IOC is back: `enabled` put back as it
    was before the failed run (the restarted IOC starts it "on"), and a run
    of the same device."""
    out = {"reconnected": False, "enabled_restored_after_s": None, "second_run": None}
    start = time.monotonic()
    while time.monotonic() - start < 30:
        try:
            value = det.enabled.get()
        except Exception:
            time.sleep(0.1)
            continue
        out["reconnected"] = True
        if value == enabled_before:
            out["enabled_restored_after_s"] = round(time.monotonic() - start, 3)
            break
        time.sleep(0.05)
    if not out["reconnected"]:
        return out
    det.exposure_time.put(exposure_before)  # the restarted IOC lost it
    try:
        RE(count([det], 3))
        out["second_run"] = "completed"
    except Exception as e:
        out["second_run"] = "error"
        out["second_run_exceptions"] = exception_chain(e)
    return out


def interrupted_while_stalled(emit, action):
    """The turns of the stalled_* plans: say "ready" and wait while the
    parent stops the IOC; say "acting" and run `action`, which the
    parent's Ctrl-C should interrupt; say "after" with the outcome and
    wait while the parent lets the IOC run again; then 2 s, in which
    anything left running would show."""
    emit({"name": "ready", "doc": {}})
    sys.stdin.readline()
    emit({"name": "acting", "doc": {}})
    try:
        outcome = f"returned {action()!r}"
    except KeyboardInterrupt:
        outcome = "interrupted"
    emit({"name": "after", "doc": {"outcome": outcome}})
    sys.stdin.readline()
    time.sleep(2.0)  # the motor's 1 unit/s, or a stage finishing, shows by then
    return outcome


def stalled_set(motor, emit):
    """Ctrl-C while `motor.set()` waits for an IOC the parent has stopped:
    the move must never start, not even once the IOC runs again."""
    before = motor.position
    target = 1.0 if before > 5 else 9.0
    outcome = interrupted_while_stalled(emit, lambda: motor.set(target))
    return {"outcome": outcome, "position_before": before, "target": target, "position_after": motor.position}


def stalled_stage(det, emit):
    """Ctrl-C while `det.stage()` waits for an IOC the parent has stopped:
    a stage that finishes once the IOC runs again is put back; the device
    stages and unstages afterwards as ever."""
    before = det.enabled.get()
    outcome = interrupted_while_stalled(emit, det.stage)
    after = det.enabled.get()
    det.stage()
    staged = det.enabled.get()
    det.unstage()
    return {
        "outcome": outcome,
        "enabled_before": before,
        "enabled_after": after,
        "enabled_staged_again": staged,
        "enabled_unstaged_again": det.enabled.get(),
    }


def after_motor_reboot(motor):
    """The motor once its IOC is back: how long it took to answer, and a
    move of the same object to 1."""
    out = {"motor_reconnected_after_s": None, "moved_to": None}
    start = time.monotonic()
    while time.monotonic() - start < 30:
        try:
            motor.position
        except Exception:
            time.sleep(0.1)
            continue
        out["motor_reconnected_after_s"] = round(time.monotonic() - start, 3)
        break
    else:
        return out
    try:
        motor.move(1.0, timeout=15)
        out["moved_to"] = motor.position
    except Exception as e:
        out["move_exceptions"] = exception_chain(e)
    return out


def exception_chain(exc):
    """Each exception of the chain (causes and contexts): type and message."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append({"type": type(exc).__name__, "message": str(exc)})
        exc = exc.__cause__ or exc.__context__
    return chain


def jsonable(value):
    """What json.dumps cannot write itself: numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return repr(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", choices=["ophyd", "ophyd_rs"], required=True)
    parser.add_argument("--det-prefix", required=True)
    parser.add_argument("--motor-prefix", required=True)
    parser.add_argument(
        "--plan",
        required=True,
        choices=[
            "count",
            "scan",
            "pause_resume",
            "pause_abort",
            "refused_trigger",
            "sigint",
            "motor_abort",
            "ioc_reboot",
            "motor_ioc_dies",
            "stalled_run",
            "stalled_set",
            "stalled_stage",
        ],
    )
    args = parser.parse_args()

    # stdout carries only our JSON lines; bluesky prints its own messages.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr

    def emit(obj):
        out.write(json.dumps(obj, default=jsonable) + "\n")

    build = ophyd_devices if args.impl == "ophyd" else ophyd_rs_devices
    det, motor = build(args.det_prefix, args.motor_prefix)

    without_run_engine = {"stalled_set": lambda: stalled_set(motor, emit), "stalled_stage": lambda: stalled_stage(det, emit)}
    if args.plan in without_run_engine:
        emit({"result": without_run_engine[args.plan]()})
        out.close()
        return 0

    RE = RunEngine({})
    invalid = []

    def record(name, doc):
        try:
            event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
        except Exception as e:  # jsonschema.ValidationError, or a document kind it does not know
            invalid.append({"name": name, "error": f"{type(e).__name__}: {e}"})
        emit({"name": name, "doc": doc})

    RE.subscribe(record)

    if args.plan == "motor_abort":

        def pause_during_move(name, doc):
            # RE.request_pause waits on the RunEngine's loop, which runs the
            # callbacks: ask from another thread.
            if name == "event" and doc["seq_num"] == 1:
                threading.Thread(target=lambda: (time.sleep(1.0), RE.request_pause()), daemon=True).start()

        RE.subscribe(pause_during_move)

    plans = {
        "count": lambda: count([det], 5),
        "scan": lambda: scan([det], motor, 0, 1, 5),
        "pause_resume": lambda: count([det], 5, per_shot=pausing_shot(2)),
        "pause_abort": lambda: count([det], 5, per_shot=pausing_shot(2)),
        "refused_trigger": lambda: refused_trigger(det),
        "sigint": lambda: count([det], 100),
        "motor_abort": lambda: scan([det], motor, 0, 10, 3),
        "ioc_reboot": lambda: count([det], 1000),
        "stalled_run": lambda: count([det], 1000),
        "motor_ioc_dies": lambda: scan([det], motor, 0, 10, 3),
    }
    result = {"impl": args.impl, "plan": args.plan, "outcome": None, "exceptions": []}
    enabled_before, exposure_before = det.enabled.get(), det.exposure_time.get()
    try:
        RE(plans[args.plan]())
        result["outcome"] = "completed"
    except RunEngineInterrupted as e:
        result["outcome"] = "interrupted"
        result["interruption"] = str(e)
        result["state_when_interrupted"] = str(RE.state)
        emit({"name": "interrupted", "doc": {}})
        if args.plan != "stalled_run":  # a read would wait for the stopped IOC
            result["enabled_while_paused"] = det.enabled.get()
        try:
            if args.plan == "pause_resume":
                RE.resume()
                result["after_interruption"] = "resumed"
            else:
                try:
                    RE.abort("the test aborts")
                except RequestAbort:
                    pass  # how RE.abort() of a paused run returns, after its cleanup
                result["after_interruption"] = "aborted"
        except Exception as e:
            result["after_interruption"] = "error"
            result["exceptions"] = exception_chain(e)
            result["traceback"] = traceback.format_exc()
    except Exception as e:
        result["outcome"] = "error"
        result["exceptions"] = exception_chain(e)
        result["traceback"] = traceback.format_exc()
    if args.plan == "ioc_reboot":
        result.update(after_reboot(RE, det, enabled_before, exposure_before))
    if args.plan == "motor_ioc_dies":
        result.update(after_motor_reboot(motor))
    result["state_after"] = str(RE.state)
    result["enabled_after"] = det.enabled.get()
    result["invalid_documents"] = invalid
    emit({"result": result})
    out.close()
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
