"""bluesky's RunEngine driving ophyd-rs devices on the simulated IOC.

The documents of every run are validated with event-model; the faults
(pause/resume, abort, a refused trigger, Ctrl-C) each end with the IOC's
`enabled` back where it was before the run.
"""
import asyncio
import contextlib
import gc
import os
import re
import signal
import sys
import threading
import time

import ophyd
import pytest
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.callbacks import LiveTable
from bluesky.plans import count, scan
from bluesky.utils import FailedStatus, RunEngineInterrupted
from ophyd import Component as Cpt

import ophyd_rs

PREFIX = "trigger_with_pc:"
MOTOR = "sim:mtr1"


@pytest.fixture
def ioc():
    return ophyd_rs.SimIoc.trigger_with_pc()


@pytest.fixture
def det(ioc):
    det = ophyd_rs.TriggeredDetector("trigger_with_pc", name="triggered_detector")
    det.connect(ioc)
    # The tutorial's IOC acquires for exposure_time seconds (2 s at start).
    det.exposure_time.put(0.01)
    return det


@pytest.fixture
def enabled_off(ioc):
    """The detector is off (`enabled` 0) before the test: staging turns it
    on, and every way a run ends must put 0 back."""
    ioc.put(PREFIX + "enabled", 0)


@pytest.fixture
def motor(ioc):
    motor = ophyd_rs.EpicsMotor(MOTOR, name="motor")
    motor.connect(ioc)
    return motor


@contextlib.contextmanager
def acquiring(det, seconds):
    """`det` staged and triggered, its acquisition taking `seconds`: the
    trigger's Status. Unstaged after."""
    det.exposure_time.put(seconds)
    det.stage()
    try:
        yield det.trigger()
    finally:
        det.unstage()


def test_the_issue_snippet_counts_five_points(ioc, det, RE):
    RE(count([det], 5))
    docs = RE.documents
    assert [n for n, _ in docs.docs] == ["start", "descriptor"] + ["event"] * 5 + ["stop"]
    (descriptor,) = docs.named("descriptor")
    assert list(descriptor["data_keys"]) == ["triggered_detector_reading"]
    key = descriptor["data_keys"]["triggered_detector_reading"]
    assert key["source"] == "PV:trigger_with_pc:reading"
    assert key["dtype"] == "number" and key["shape"] == []
    assert key["object_name"] == "triggered_detector"
    assert descriptor["hints"] == {"triggered_detector": {"fields": ["triggered_detector_reading"]}}
    assert descriptor["object_keys"] == {"triggered_detector": ["triggered_detector_reading"]}
    configuration = descriptor["configuration"]["triggered_detector"]
    assert configuration["data"] == {"triggered_detector_gain": 2.0, "triggered_detector_exposure_time": 0.01}
    assert list(configuration["data_keys"]) == ["triggered_detector_gain", "triggered_detector_exposure_time"]
    readings = [e["data"]["triggered_detector_reading"] for e in docs.named("event")]
    # Each acquisition makes a new random reading in [0, gain).
    assert all(0 <= r < 2.0 for r in readings) and len(set(readings)) == 5
    assert docs.stop["exit_status"] == "success" and docs.stop["num_events"] == {"primary": 5}
    # Staged to 1 during the run, back to 1 (its value before) after.
    assert ioc.get(PREFIX + "enabled") == 1


def test_a_scan_moves_the_motor_to_each_point(ioc, det, motor, RE):
    RE(scan([det], motor, 0, 1, 5))
    events = RE.documents.named("event")
    assert [e["data"]["motor"] for e in events] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert [e["data"]["motor_user_setpoint"] for e in events] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    (descriptor,) = RE.documents.named("descriptor")
    assert descriptor["hints"]["motor"] == {"fields": ["motor"]}
    assert set(descriptor["data_keys"]) == {"triggered_detector_reading", "motor", "motor_user_setpoint"}
    assert RE.documents.stop["exit_status"] == "success"
    assert ioc.get(MOTOR + ".RBV") == pytest.approx(1.0)


def test_children_keep_their_identity_and_parent(det):
    assert det.enabled is det.enabled
    assert isinstance(det, ophyd_rs.Device) and isinstance(det.enabled, ophyd_rs.Signal)
    assert all(isinstance(o, ophyd_rs.OphydObject) for o in (det, det.enabled))
    assert det.enabled.parent is det
    assert det.parent is None
    assert det.name == "triggered_detector" and det.enabled.name == "triggered_detector_enabled"
    assert det.read_attrs == ["reading"] and det.configuration_attrs == ["gain", "exposure_time"]
    assert det.component_names == ["gain", "exposure_time", "reading", "acquire", "enabled"]
    assert (det.kind, det.reading.kind, det.gain.kind, det.enabled.kind) == (3, 5, 2, 0)  # as ophyd
    assert det.reading.hints == {"fields": ["triggered_detector_reading"]} and det.gain.hints == {"fields": []}
    with pytest.raises(AttributeError, match="no attribute or component 'gian'"):
        det.gian


def test_a_signal_counts_as_a_detector(det, RE):
    RE(count([det.gain], 2))
    (descriptor,) = RE.documents.named("descriptor")
    assert list(descriptor["data_keys"]) == ["triggered_detector_gain"]
    assert [e["data"] for e in RE.documents.named("event")] == [{"triggered_detector_gain": 2.0}] * 2


def test_readings_and_data_keys_have_ophyds_fields(det):
    reading = det.read().result()
    assert list(reading) == ["triggered_detector_reading"]
    assert set(reading["triggered_detector_reading"]) == {"value", "timestamp"}
    assert det.gain.read().result()["triggered_detector_gain"]["value"] == 2.0
    description = det.gain.describe().result()["triggered_detector_gain"]
    assert description["source"] == "PV:trigger_with_pc:gain" and description["dtype"] == "number"


def test_a_status_follows_bluesky_s_protocol(det):
    det.stage()
    try:
        status = det.trigger()
        seen = []
        status.add_callback(seen.append)
        assert status.exception(timeout=5) is None
        status.wait(5)
        assert status.done and status.success
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == [status]
        # Already done: the callback is called at once, on this thread.
        late = []
        status.add_callback(late.append)
        assert late == [status]
    finally:
        det.unstage()


def test_awaiting_a_read_needs_no_trip_through_the_loop(det):
    async def reads():
        loop = asyncio.get_running_loop()
        hops = []
        loop.call_soon(hops.append, "hop")
        # The simulated IOC answers at once: no await yields to the loop.
        readings = [await det.read() for _ in range(10)]
        return list(hops), readings  # the loop ran the hop only if an await yielded

    hops, readings = asyncio.run(reads())
    assert hops == []
    assert all(list(r) == ["triggered_detector_reading"] and r["triggered_detector_reading"]["value"] == 0.1
               for r in readings)


def test_what_a_call_returns_has_done_its_work_though_nobody_awaits_it(motor):
    # As ophyd's call: motor.stop() in a script stops the motor.
    moving = motor.set(50.0)
    time.sleep(0.2)  # some way along
    motor.stop()
    assert_stopped_short(moving, motor)


def test_an_awaitable_made_on_a_thread_without_a_loop_is_awaited_on_a_loop_later(det):
    # RunEngine.resume() calls resume() on its own thread and awaits the
    # result on its loop later; the same for a read that needs the runtime.
    with acquiring(det, 0.5) as status:
        resumed = det.resume()
        acquired = status.__await__()  # the acquisition takes 0.5 s more
        assert asyncio.run(asyncio.wait_for(_await(resumed), 5)) is None
        assert not status.done
        assert asyncio.run(asyncio.wait_for(_await(acquired), 5)) is None
        assert status.done and status.success


def assert_stopped_short(status, motor):
    """The move's Status failed saying it was stopped, and the motor stays
    short of its target."""
    with pytest.raises(ophyd_rs.StatusFailed, match=r"move of `motor` from 0 to 50 failed: stopped at .* by stop\(\)"):
        status.wait(5)
    assert status.done and not status.success
    position = motor.position
    assert 0 < position < 50
    time.sleep(0.3)
    assert motor.position == position, "the motor moved on after stop()"


def test_one_awaitable_awaited_on_several_threads_loops_at_once_ends_for_each(det):
    with acquiring(det, 0.3) as status:
        acquired = status.__await__()  # ends when the acquisition does

        def await_on_a_loop_of_its_own():
            ended.append(asyncio.run(asyncio.wait_for(_await(acquired), 5)))

        ended = []
        threads = [threading.Thread(target=await_on_a_loop_of_its_own) for _ in range(3)]
        for thread in threads:
            thread.start()
        assert asyncio.run(asyncio.wait_for(_await(acquired), 5)) is None
        for thread in threads:
            thread.join(5)
        assert ended == [None] * 3


def test_asyncio_s_own_wrappers_await_what_the_calls_return(det, motor):
    # gather and ensure_future drive `yield from x.__await__()`: the await's
    # iterator, not the mapping's.
    async def both():
        return await asyncio.gather(det.read(), asyncio.ensure_future(det.describe()), motor.stop())

    reading, description, stopped = asyncio.run(both())
    assert list(reading) == list(description) == ["triggered_detector_reading"] and stopped is None


def test_an_await_given_up_leaves_the_awaitable_to_a_later_await(det):
    with acquiring(det, 0.3) as status:
        acquired = status.__await__()
        with pytest.raises(asyncio.TimeoutError):
            asyncio.run(asyncio.wait_for(_await(acquired), 0.05))
        assert asyncio.run(asyncio.wait_for(_await(acquired), 5)) is None
        assert status.done and status.success


def test_what_read_and_describe_return_is_the_mapping_ophyds_is_where_nothing_awaits(det, motor):
    # At the prompt, and for code written for ophyd, the result is a dict.
    reading = det.read()
    assert list(reading) == ["triggered_detector_reading"] and len(reading) == 1
    assert "triggered_detector_reading" in reading and "gain" not in reading
    assert reading["triggered_detector_reading"]["value"] == 0.1
    assert reading.get("nothing", "absent") == "absent"
    assert reading.keys() == {"triggered_detector_reading"} and dict(reading) == dict(reading.items())
    assert repr(reading) == repr(dict(reading))
    # ... and still an awaitable of the same value, for the RunEngine.
    assert asyncio.run(_await(reading)) == dict(reading)
    description = det.describe()
    assert description["triggered_detector_reading"]["source"] == "PV:trigger_with_pc:reading"
    assert list(det.read_configuration()) == ["triggered_detector_gain", "triggered_detector_exposure_time"]
    assert sorted(det.describe_configuration()) == ["triggered_detector_exposure_time", "triggered_detector_gain"]
    assert [key for key, _ in motor.read().items()] == ["motor", "motor_user_setpoint"]
    assert [key["dtype"] for key in motor.describe().values()] == ["number", "number"]
    # The values of the moment of the call, as ophyd's read() has them.
    before = det.exposure_time.read()
    det.exposure_time.put(0.02)
    assert before["triggered_detector_exposure_time"]["value"] == 0.01
    assert det.exposure_time.read()["triggered_detector_exposure_time"]["value"] == 0.02


def test_a_failure_nobody_looks_at_is_reported_not_lost(ioc, motor, monkeypatch):
    # motor.stop() in a script: ophyd's would raise; ours acts when called,
    # and its failure goes to sys.unraisablehook when its result goes.
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    ioc.set_connected(MOTOR + ".STOP", False)
    try:
        motor.stop()
        looked_at = motor.stop()
        with pytest.raises(ophyd_rs.DisconnectedError):
            looked_at.result()
        del looked_at
        gc.collect()
    finally:
        ioc.set_connected(MOTOR + ".STOP", True)
    assert len(reported) == 1, reported
    assert isinstance(reported[0].exc_value, ophyd_rs.DisconnectedError)
    assert "sim:mtr1.STOP" in str(reported[0].exc_value) and reported[0].object == "stop of motor"


def test_a_failure_that_comes_after_nobody_can_look_at_it_is_reported(ioc, det, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with acquiring(det, 1.0) as status:
        status.__await__()  # gone at once, the acquisition going on
        ioc.set_connected(PREFIX + "acquire", False)
        try:
            with pytest.raises(ophyd_rs.DisconnectedError):
                status.wait(5)
            deadline = time.monotonic() + 5
            while not reported and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            ioc.set_connected(PREFIX + "acquire", True)
    assert len(reported) == 1 and isinstance(reported[0].exc_value, ophyd_rs.DisconnectedError), reported
    assert "trigger_with_pc:acquire" in reported[0].object


def test_a_failed_read_raises_at_each_use_of_its_result(ioc, det):
    ioc.set_connected(PREFIX + "reading", False)
    try:
        reading = det.read()
        for use in (lambda: reading["triggered_detector_reading"], lambda: list(reading), lambda: reading.result()):
            with pytest.raises(ophyd_rs.DisconnectedError, match="trigger_with_pc:reading"):
                use()
    finally:
        ioc.set_connected(PREFIX + "reading", True)


def test_live_table_takes_the_devices_as_it_takes_ophyds(det, RE, capsys):
    RE(count([det], 2), LiveTable([det]))
    table = capsys.readouterr().out
    assert "triggered_detector_reading" in table
    assert len([line for line in table.splitlines() if line.startswith("|") and "|" in line[1:]]) >= 3


async def _await(awaitable):
    return await awaitable


def test_a_status_is_awaitable(det):
    det.stage()
    try:

        async def trigger():
            status = det.trigger()
            await status
            return status

        # The acquisition takes exposure_time (0.01 s): done only if the await waited.
        status = asyncio.run(trigger())
        assert status.done and status.success
    finally:
        det.unstage()


def test_unstage_puts_enabled_back_after_the_run(ioc, det, RE, enabled_off):
    RE(count([det], 3))
    assert ioc.get(PREFIX + "enabled") == 0
    assert RE.documents.stop["exit_status"] == "success"


def _pause_after_first_event(RE):
    def plan(dets):
        yield from bps.open_run()
        yield from bps.stage_all(*dets)
        yield from bps.trigger_and_read(dets)
        yield from bps.checkpoint()
        yield from bps.pause()
        yield from bps.trigger_and_read(dets)
        yield from bps.unstage_all(*dets)
        yield from bps.close_run()

    return plan


def test_pause_then_resume_finishes_the_run_and_restores_enabled(ioc, det, RE, enabled_off):
    with pytest.raises(RunEngineInterrupted):
        RE(_pause_after_first_event(RE)([det]))
    assert RE.state == "paused"
    RE.resume()
    assert RE.documents.stop["exit_status"] == "success"
    assert len(RE.documents.named("event")) == 2
    assert ioc.get(PREFIX + "enabled") == 0


def test_abort_while_paused_restores_enabled(ioc, det, RE, enabled_off):
    with pytest.raises(RunEngineInterrupted):
        RE(_pause_after_first_event(RE)([det]))
    assert ioc.get(PREFIX + "enabled") == 1  # still staged while paused
    RE.abort("testing abort")
    assert RE.documents.stop["exit_status"] == "abort"
    assert ioc.get(PREFIX + "enabled") == 0


def test_a_refused_trigger_fails_the_run_with_the_ioc_s_reason(ioc, det, RE, enabled_off):

    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([det])
        # Another client turns the detector off mid-run: the IOC refuses.
        yield from bps.mv(det.enabled, 0)
        yield from bps.trigger_and_read([det])

    with pytest.raises(FailedStatus) as failure:
        RE(plan())
    chain, cause = [], failure.value
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    assert any("Device must be enabled" in str(e) for e in chain), chain
    assert any(isinstance(e, ophyd_rs.PutError) for e in chain), chain
    assert RE.documents.stop["exit_status"] == "fail"
    assert ioc.get(PREFIX + "enabled") == 0


def test_a_pv_lost_mid_run_fails_the_run_naming_it_and_restores_enabled(ioc, det, RE, enabled_off):

    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([det])
        # The IOC drops the detector's reading between two points.
        yield from bps.null()
        ioc.set_connected(PREFIX + "reading", False)
        yield from bps.trigger_and_read([det])

    with pytest.raises(ophyd_rs.DisconnectedError, match="trigger_with_pc:reading"):
        RE(plan())
    assert RE.documents.stop["exit_status"] == "fail"
    assert len(RE.documents.named("event")) == 1
    # Unstaging put enabled back: its PV never went away.
    assert ioc.get(PREFIX + "enabled") == 0
    ioc.set_connected(PREFIX + "reading", True)
    assert set(det.read().result(5)) == {"triggered_detector_reading"}


def test_unstage_waits_for_a_rebooting_ioc_and_puts_enabled_back(ioc, det, RE, enabled_off):

    def reboot_done():
        ioc.put(PREFIX + "enabled", 1)  # the IOC's default, not what the run found
        ioc.set_connected(PREFIX + "enabled", True)

    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([det])
        # The IOC reboots as the run ends; it is back 0.5 s later.
        ioc.set_connected(PREFIX + "enabled", False)
        threading.Timer(0.5, reboot_done).start()

    start = time.monotonic()
    RE(plan())
    # Put back at the first retry after the PV returned, not at the grace's end.
    assert 0.5 <= time.monotonic() - start < 1.5
    assert RE.documents.stop["exit_status"] == "success"
    assert ioc.get(PREFIX + "enabled") == 0


def test_reconnect_grace_bounds_how_long_unstage_waits_for_a_pv_that_stays_away(ioc, det, enabled_off):
    assert det.reconnect_grace == 30.0
    det.reconnect_grace = 0.5
    assert det.reconnect_grace == 0.5
    det.stage()
    ioc.set_connected(PREFIX + "enabled", False)
    start = time.monotonic()
    with pytest.raises(ophyd_rs.UnstageError, match="lost the connection to trigger_with_pc:enabled"):
        det.unstage()
    assert 0.5 <= time.monotonic() - start < 3
    ioc.set_connected(PREFIX + "enabled", True)
    assert ioc.get(PREFIX + "enabled") == 1, "nothing put back while the PV was away"
    det.stage()  # puts back what the unstage could not, then stages afresh
    det.unstage()
    assert ioc.get(PREFIX + "enabled") == 0


@pytest.mark.parametrize("seconds, shown", [(-1.0, "-1"), (float("nan"), "NaN"), (float("inf"), "inf")])
def test_a_reconnect_grace_that_is_no_duration_is_refused_naming_the_device(det, seconds, shown):
    with pytest.raises(ValueError, match=rf"triggered_detector: reconnect_grace must be .* seconds .*, not {shown}$"):
        det.reconnect_grace = seconds
    assert det.reconnect_grace == 30.0


def test_a_trigger_whose_pv_drops_fails_its_status_naming_it(ioc, det):
    with acquiring(det, 1.0) as status:
        time.sleep(0.1)
        ioc.set_connected(PREFIX + "acquire", False)
        try:
            error = status.exception(5)
            assert isinstance(error, ophyd_rs.DisconnectedError) and "trigger_with_pc:acquire" in str(error)
            assert status.done and not status.success
        finally:
            ioc.set_connected(PREFIX + "acquire", True)
    assert ioc.get(PREFIX + "enabled") == 1


def test_a_stage_the_ioc_refuses_fails_the_run_before_it_opens_and_changes_nothing(ioc, det, RE, enabled_off):
    ioc.set_writable(PREFIX + "enabled", False)
    with pytest.raises(ophyd_rs.StageError, match="trigger_with_pc:enabled"):
        RE(count([det], 2))
    assert RE.documents.named("start") == []
    assert ioc.get(PREFIX + "enabled") == 0
    ioc.set_writable(PREFIX + "enabled", True)
    RE(count([det], 1))  # the device is not left half staged
    assert ioc.get(PREFIX + "enabled") == 0


def test_a_configure_the_ioc_refuses_part_way_puts_back_what_it_wrote(ioc, det):
    ioc.set_writable(PREFIX + "exposure_time", False)
    with pytest.raises(ophyd_rs.OphydError, match="trigger_with_pc:exposure_time"):
        det.configure({"gain": 5.0, "exposure_time": 0.5})
    assert (ioc.get(PREFIX + "gain"), ioc.get(PREFIX + "exposure_time")) == (2.0, 0.01)


def test_an_unstage_left_waiting_by_ctrl_c_does_not_undo_the_next_stage(ioc, det, enabled_off):
    det.stage()
    ioc.set_connected(PREFIX + "enabled", False)
    # unstage() waits for the PV; Ctrl-C ends the wait, not its retries.
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        det.unstage()
    ioc.set_connected(PREFIX + "enabled", True)
    det.stage()  # finishes the restore, then stages afresh
    assert ioc.get(PREFIX + "enabled") == 1
    time.sleep(0.8)  # the retries' period is 0.25 s
    assert ioc.get(PREFIX + "enabled") == 1, "a retry of the earlier unstage undid this stage"
    det.unstage()
    assert ioc.get(PREFIX + "enabled") == 0


def test_a_restore_the_ioc_refused_is_done_by_the_next_stage(ioc, det, RE, enabled_off):

    @bpp.stage_decorator([det])
    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([det])
        ioc.set_writable(PREFIX + "enabled", False)  # access security closes the PV

    with pytest.raises(ophyd_rs.UnstageError, match="triggered_detector_enabled"):
        RE(plan())
    assert ioc.get(PREFIX + "enabled") == 1
    ioc.set_writable(PREFIX + "enabled", True)
    # bluesky's next run stages the device (ophyd would too): first the
    # restore the last run could not do, then staging afresh.
    RE(count([det], 2))
    assert RE.documents.named("stop")[-1]["exit_status"] == "success"
    assert ioc.get(PREFIX + "enabled") == 0


def test_ctrl_c_mid_run_then_abort_restores_enabled(ioc, det, RE, enabled_off):
    det.exposure_time.put(0.2)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(RunEngineInterrupted):
        RE(count([det], 50))
    assert RE.state == "paused"
    RE.abort()
    assert RE.documents.stop["exit_status"] == "abort"
    assert 0 < len(RE.documents.named("event")) < 50
    assert ioc.get(PREFIX + "enabled") == 0


def test_a_move_can_be_stopped(ioc, motor, RE):
    status = motor.set(50.0)  # 5 s at 10 units/s; started when set() returns
    time.sleep(0.2)  # some way along
    motor.stop(success=False).result(5)
    assert_stopped_short(status, motor)
    assert ioc.get(MOTOR + ".DMOV") == 1


def test_a_stop_right_after_set_stops_that_move(ioc, motor):
    status = motor.set(50.0)
    motor.stop(success=False).result(5)
    with pytest.raises(ophyd_rs.StatusFailed, match=r"by stop\(\)"):
        status.wait(5)
    time.sleep(0.3)
    assert motor.position < 1 and ioc.get(MOTOR + ".DMOV") == 1


def test_a_move_beyond_the_limits_raises_from_set_as_ophyds_does_and_a_plan_can_catch_it(ioc, motor, RE):
    with pytest.raises(ophyd_rs.LimitError, match=r"motor.*500.*-100.*100"):
        motor.set(500.0)  # the limits are ±100: refused before anything is written
    assert ioc.get(MOTOR + ".VAL") == 0 and ioc.get(MOTOR + ".DMOV") == 1
    caught = []

    def plan():
        try:
            yield from bps.mv(motor, 500.0)
        except ophyd_rs.LimitError as e:
            caught.append(e)
        yield from bps.mv(motor, 1.0)

    RE(plan())
    assert len(caught) == 1 and motor.position == pytest.approx(1.0)
    with pytest.raises(ophyd_rs.LimitError):
        RE(scan([], motor, 0, 500, 2))
    assert RE.documents.named("stop")[-1]["exit_status"] == "fail"


def test_a_move_whose_pv_is_down_raises_from_set_naming_it(ioc, motor):
    ioc.set_connected(MOTOR + ".RBV", False)
    try:
        with pytest.raises(ophyd_rs.DisconnectedError, match=MOTOR + ".RBV"):
            motor.set(5.0)
    finally:
        ioc.set_connected(MOTOR + ".RBV", True)
    assert ioc.get(MOTOR + ".VAL") == 0


class KindsAsOphyds(ophyd.Device):
    """The tutorial detector's components, kinds and order in Python ophyd,
    on plain signals (no IOC): what ophyd makes of a change of kind."""

    gain = Cpt(ophyd.Signal, kind="config")
    exposure_time = Cpt(ophyd.Signal, kind="config")
    reading = Cpt(ophyd.Signal, kind="hinted")
    acquire = Cpt(ophyd.Signal, kind="omitted")
    enabled = Cpt(ophyd.Signal, kind="omitted")


@pytest.mark.parametrize(
    "changes",
    [
        [("gain", "hinted")],
        [("reading", ophyd.Kind.omitted), ("exposure_time", "normal")],
        [("enabled", ophyd.Kind.normal | ophyd.Kind.config), ("gain", ophyd.Kind.hinted | ophyd.Kind.config)],
        [("reading", "config")],
    ],
    ids=["config-to-hinted", "omit-the-reading", "combined", "hinted-to-config"],
)
def test_a_change_of_kind_reads_describes_and_hints_as_ophyds_does(ioc, det, RE, changes):
    reference = KindsAsOphyds(name="triggered_detector")
    for attr, kind in changes:
        setattr(getattr(det, attr), "kind", kind)
        setattr(getattr(reference, attr), "kind", kind)
        assert getattr(det, attr).kind == int(getattr(reference, attr).kind)
    assert det.read_attrs == reference.read_attrs
    assert det.configuration_attrs == reference.configuration_attrs
    assert det.hints == reference.hints
    RE(count([det], 1))
    (descriptor,) = RE.documents.named("descriptor")
    assert list(descriptor["data_keys"]) == ["triggered_detector_" + a.replace(".", "_") for a in reference.read_attrs]
    assert list(descriptor["configuration"]["triggered_detector"]["data"]) == [
        "triggered_detector_" + a for a in reference.configuration_attrs
    ]
    assert descriptor["hints"] == {"triggered_detector": reference.hints}


@pytest.mark.parametrize("kind", ["loud", "", "normal|config", 4, 8, -1, 2.5])
def test_a_kind_that_is_none_is_refused_naming_the_signal(det, kind):
    with pytest.raises(ValueError, match=r"`triggered_detector_gain`: a kind is one of .*, not " + re.escape(repr(kind))):
        det.gain.kind = kind
    assert det.gain.kind == 2


def test_configure_in_a_run_writes_and_the_next_descriptor_says_so(ioc, det, RE):
    configured = []

    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([det])
        configured.append((yield from bps.configure(det, {"gain": 3.0})))
        yield from bps.trigger_and_read([det])

    RE(plan())
    gains = [d["configuration"]["triggered_detector"]["data"]["triggered_detector_gain"] for d in RE.documents.named("descriptor")]
    assert gains == [2.0, 3.0]
    ((old, new),) = configured
    assert (old["triggered_detector_gain"]["value"], new["triggered_detector_gain"]["value"]) == (2.0, 3.0)
    assert set(new) == {"triggered_detector_gain", "triggered_detector_exposure_time"}
    assert ioc.get(PREFIX + "gain") == 3.0


def test_summary_prints_ophyds_overview_with_sources_and_values(det, capsys):
    det.summary()
    printed = capsys.readouterr().out
    assert printed.startswith("data keys (* hints)\n-------------------\n*triggered_detector_reading\n")
    for section in ("read attrs", "config keys", "configuration attrs", "unused attrs"):
        assert f"\n{section}\n" in printed
    assert "PV:trigger_with_pc:gain" in printed and "triggered_detector_exposure_time" in printed
    assert det._summary() + "\n" == printed


def test_configure_checks_every_key_before_writing_any(ioc, det):
    with pytest.raises(ValueError, match="reading"):
        det.configure({"gain": 5.0, "reading": 1.0})  # not a configuration attribute
    with pytest.raises(ophyd_rs.OphydError, match="gian"):
        det.configure({"gain": 5.0, "gian": 1.0})
    assert ioc.get(PREFIX + "gain") == 2.0


def test_subscriptions_report_changes_until_cleared(det):
    seen = []
    done = threading.Event()

    def callback(value, old_value, timestamp, sub_type, obj):
        seen.append((value, old_value, sub_type, obj))
        if value == 3.0:
            done.set()

    token = det.gain.subscribe(callback)
    det.gain.put(3.0)
    assert done.wait(5)
    det.gain.clear_sub(token)
    # A second subscription sees the next change: by then the first would have.
    later = threading.Event()
    det.gain.subscribe(lambda value, **_: value == 4.0 and later.set(), run=False)
    det.gain.put(4.0)
    assert later.wait(5)
    assert seen[0][0] == 2.0 and seen[-1] == (3.0, 2.0, "value", det.gain)
    assert all(value != 4.0 for value, *_ in seen)


def test_bad_input_names_the_signal_and_the_value(ioc, det):
    with pytest.raises(TypeError, match=r"set of triggered_detector_gain: cannot write a dict \(\{'a': 1\}\)"):
        det.gain.put({"a": 1})
    with pytest.raises(ophyd_rs.TypeError, match="triggered_detector_gain") as raised:
        det.gain.put("fast")
    assert "fast" in str(raised.value)
    assert ioc.get(PREFIX + "gain") == 2.0


def test_connecting_to_a_missing_pv_names_it():
    ioc = ophyd_rs.SimIoc()
    det = ophyd_rs.TriggeredDetector("nowhere", name="det")
    with pytest.raises(ophyd_rs.OphydError, match="nowhere:gain"):
        det.connect(ioc, timeout=1.0)


def test_dropped_devices_free_their_python_objects(ioc):
    def ophyd_objects():
        gc.collect()
        return sum(isinstance(o, ophyd_rs.OphydObject) for o in gc.get_objects())

    det = ophyd_rs.TriggeredDetector("trigger_with_pc", name="det")
    det.connect(ioc)
    _ = det.enabled.parent
    before = len(gc.get_objects())
    objects_before = ophyd_objects()
    for _ in range(50):
        other = ophyd_rs.TriggeredDetector("trigger_with_pc", name="other")
        other.connect(ioc)
        child = other.enabled
    del other, child
    gc.collect()
    assert len(gc.get_objects()) - before < 50
    assert ophyd_objects() == objects_before


def test_a_rust_panic_is_an_exception_the_run_engine_can_catch():
    with pytest.raises(ophyd_rs.RustPanic, match="a panic in a call"):
        ophyd_rs._panic_in("call")
    with pytest.raises(ophyd_rs.RustPanic, match="a panic in awaited work"):
        ophyd_rs._panic_in("await").result(5)

    async def awaited():
        await ophyd_rs._panic_in("await")

    with pytest.raises(Exception, match="a panic in awaited work") as raised:
        asyncio.run(awaited())
    assert isinstance(raised.value, Exception)  # not a BaseException like PyO3's PanicException
    assert isinstance(raised.value, ophyd_rs.RustPanic)
