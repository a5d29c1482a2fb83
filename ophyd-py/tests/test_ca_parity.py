"""bluesky's RunEngine drives the staging tutorial's detector and a motor
record over Channel Access, once with Python ophyd 1.11 and once with ophyd-rs,
on the same IOCs: the documents must say the same things.

Compared: the start document's plan description, each descriptor's data keys
(every field), configuration (data and data keys), hints and object keys,
each event's data and timestamp keys and every value but the detector's
random `reading`, the stop document's exit status, reason and event counts,
and `enabled` as each implementation reads it after the run (an enum read as
its index, as ophyd's EpicsSignal reads DBR_ENUM). Left aside: uids, times,
timestamps' values and the devices' reprs in `plan_args` and
`plan_pattern_args`.
"""

import math

import pytest
from iocs import caput

IMPLS = ["ophyd", "ophyd_rs"]
PLANS = ["count", "scan"]
# The tutorial IOC writes a fresh random number at each acquisition.
RANDOM_FIELDS = {"triggered_detector_reading"}
# The start document's fields that describe the plan. `plan_args` holds the
# devices' reprs, which are each library's own.
START_FIELDS = [
    "plan_type",
    "plan_name",
    "detectors",
    "motors",
    "num_points",
    "num_intervals",
    "hints",
    "plan_pattern",
    "plan_pattern_module",
]
MISSING = "<missing>"


@pytest.fixture(scope="module")
def runs(run_plan, ca_env, trigger_ioc):
    """Each implementation's run of each plan, run once per module, one
    after the other (they share the IOCs), each with the detector off
    (`enabled` 0) before it: staging turns it on, and the run puts it back."""
    cache = {}

    def get(impl, plan):
        if (impl, plan) not in cache:
            caput(ca_env, trigger_ioc.pv("enabled"), 0)
            cache[impl, plan] = run_plan(impl, plan)
        return cache[impl, plan]

    return get


def flatten(value, path, out):
    """Dictionaries become one entry per leaf, keyed by its dotted path, so
    a difference names the very field."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            flatten(inner, f"{path}.{key}" if path else str(key), out)
    else:
        out[path] = value
    return out


def comparable(run):
    """What both implementations must agree on, by path."""
    view = {"document kinds, in order": [name for name, _ in run.documents]}
    start = run.one("start")
    view["start"] = {key: start.get(key, MISSING) for key in START_FIELDS}
    view["start"]["plan_args keys"] = sorted(start.get("plan_args", {}))
    pattern_args = dict(start.get("plan_pattern_args", {}))
    if "args" in pattern_args:
        # (motor, start, stop) triples: the numbers, not the motor's repr.
        pattern_args["args"] = [a for i, a in enumerate(pattern_args["args"]) if i % 3]
    view["start"]["plan_pattern_args"] = pattern_args
    for desc in run.docs("descriptor"):
        view[f"descriptor[{desc['name']}]"] = {
            "data_keys": desc["data_keys"],
            "data_keys order": list(desc["data_keys"]),
            "configuration objects": sorted(desc.get("configuration", {})),
            "configuration": {
                obj: {"data": cfg.get("data", MISSING), "data_keys": cfg.get("data_keys", MISSING)}
                for obj, cfg in desc.get("configuration", {}).items()
            },
            "hints": desc.get("hints", MISSING),
            "object_keys": desc.get("object_keys", MISSING),
        }
    for event in run.docs("event"):
        view[f"event[{event['seq_num']}]"] = {
            "data keys": sorted(event["data"]),
            "timestamps keys": sorted(event["timestamps"]),
            "data": {k: v for k, v in event["data"].items() if k not in RANDOM_FIELDS},
        }
    stop = run.one("stop")
    view["stop"] = {key: stop.get(key, MISSING) for key in ("exit_status", "reason", "num_events")}
    view["enabled after the run"] = (run.result or {}).get("enabled_after", MISSING)
    return flatten(view, "", {})


def same(a, b):
    """Equal, and of one JSON type: an integer where ophyd has a float is a
    difference."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def side_by_side(ophyd, ophyd_rs):
    """The paths where the two disagree, one line each."""
    rows = []
    for path in sorted(set(ophyd) | set(ophyd_rs)):
        a, b = ophyd.get(path, MISSING), ophyd_rs.get(path, MISSING)
        if not same(a, b):
            rows.append((path, repr(a), repr(b)))
    if not rows:
        return ""
    width = max(len(r[0]) for r in rows + [("path",)])
    middle = max(len(r[1]) for r in rows + [("", "Python ophyd 1.11")])
    lines = [f"{'path':<{width}}  {'Python ophyd 1.11':<{middle}}  ophyd-rs"]
    lines += [f"{p:<{width}}  {a:<{middle}}  {b}" for p, a, b in rows]
    return "\n".join(lines)


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("impl", IMPLS)
def test_ca_plan_runs_to_success_with_valid_documents(runs, impl, plan):
    run = runs(impl, plan)
    assert run.returncode == 0 and run.result is not None, str(run)
    assert run.result["outcome"] == "completed", str(run)
    assert run.result["invalid_documents"] == [], str(run)
    stop = run.one("stop")
    assert stop["exit_status"] == "success", str(run)
    assert stop["num_events"] == {"primary": 5}, str(run)
    assert [e["seq_num"] for e in run.docs("event")] == [1, 2, 3, 4, 5], str(run)
    assert run.result["enabled_after"] == 0, f"enabled not put back\n{run}"


@pytest.mark.parametrize("plan", PLANS)
def test_ca_documents_of_ophyd_rs_match_python_ophyd(runs, plan):
    ophyd, ophyd_rs = runs("ophyd", plan), runs("ophyd_rs", plan)
    for run in (ophyd, ophyd_rs):
        assert run.result is not None and run.docs("start") and run.docs("stop"), str(run)
    differences = side_by_side(comparable(ophyd), comparable(ophyd_rs))
    assert not differences, f"the {plan} plan's documents differ:\n{differences}"


@pytest.mark.parametrize("impl", IMPLS)
def test_ca_scan_reads_the_motor_at_each_point(runs, impl):
    """The motor's readback and setpoint in each event are the scan's points,
    0 to 1 in five steps."""
    run = runs(impl, "scan")
    positions = [(e["data"].get("motor"), e["data"].get("motor_user_setpoint")) for e in run.docs("event")]
    points = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(positions) == len(points), f"{positions}\n{run}"
    for (readback, setpoint), point in zip(positions, points):
        assert isinstance(readback, float) and math.isclose(readback, point, abs_tol=1e-6), positions
        assert isinstance(setpoint, float) and math.isclose(setpoint, point, abs_tol=1e-6), positions
