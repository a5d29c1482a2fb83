"""bluesky interrupts runs of ophyd-rs devices over Channel Access: pause and
resume, abort, a trigger the IOC refuses, Ctrl-C, an abort while the motor
moves, the IOC rebooting mid-run, the motor's IOC dying mid-move, an IOC that
stalls mid-run, Ctrl-C while an
IOC that stalls holds up a move's start or a stage. Whatever happens, the detector's
`enabled`, switched off ("off", 0) before each run and staged to 1 by it, is
back to 0 on the IOC afterwards.

Each run is `ca_plans.py --impl ophyd_rs` in a subprocess (Ctrl-C needs a
process of its own to signal); the IOC is read independently, with caproto's
pure-Python client.
"""

import json
import signal
import time

import pytest
from iocs import EXPOSURE_TIME, caget, caput

IMPL = "ophyd_rs"


@pytest.fixture
def enabled_off(ca_env, trigger_ioc):
    """`enabled` is 0 on the IOC before the test's run."""
    caput(ca_env, trigger_ioc.pv("enabled"), 0)
    assert caget(ca_env, trigger_ioc.pv("enabled")) == 0


def assert_enabled_restored(run, ca_env, trigger_ioc):
    assert caget(ca_env, trigger_ioc.pv("enabled")) == 0, f"enabled not restored on the IOC\n{run}"
    assert run.result["enabled_after"] == 0, f"ophyd-rs reads enabled {run.result['enabled_after']!r}\n{run}"


def test_ca_pause_then_resume_completes_every_event_and_restores_enabled(run_plan, ca_env, trigger_ioc, enabled_off):
    run = run_plan(IMPL, "pause_resume")
    assert run.result is not None and run.result["outcome"] == "interrupted", str(run)
    assert run.result["state_when_interrupted"] == "paused", str(run)
    # bluesky keeps a paused run's devices staged.
    assert run.result["enabled_while_paused"] == 1, str(run)
    assert run.result["after_interruption"] == "resumed", str(run)
    stop = run.one("stop")
    assert (stop["exit_status"], stop["num_events"]) == ("success", {"primary": 5}), str(run)
    assert [e["seq_num"] for e in run.docs("event")] == [1, 2, 3, 4, 5], str(run)
    assert run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)


def test_ca_abort_after_pause_ends_the_run_as_aborted_and_restores_enabled(run_plan, ca_env, trigger_ioc, enabled_off):
    run = run_plan(IMPL, "pause_abort")
    assert run.result is not None and run.result["outcome"] == "interrupted", str(run)
    assert run.result["after_interruption"] == "aborted", str(run)
    stop = run.one("stop")
    assert (stop["exit_status"], stop["num_events"]) == ("abort", {"primary": 2}), str(run)
    assert run.result["state_after"] == "idle", str(run)
    assert run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)


def test_ca_refused_trigger_fails_the_run_naming_the_refused_put(run_plan, ca_env, trigger_ioc, enabled_off):
    """The IOC refuses to acquire while disabled: the trigger's Status fails,
    and bluesky's FailedStatus carries why, naming the PV. (Python ophyd
    1.11, through pyepics, takes that refused put as done and reads the stale
    value: its run succeeds.)

    The chain says "Channel write request failed" (ECA_PUTFAIL), not the
    IOC's own words ("Device must be enabled"): the IOC sends them with its
    refusal, but libca hands a put-callback only the status and drops the
    text (its `putCallback::exception` ignores the context string), so no
    client built on libca can carry them."""
    run = run_plan(IMPL, "refused_trigger")
    assert run.result is not None and run.result["outcome"] == "error", str(run)
    chain = run.result["exceptions"]
    assert chain and chain[0]["type"] == "FailedStatus", str(run)
    refusal = trigger_ioc.pv("acquire")
    assert any(refusal in e["message"] and "write request failed" in e["message"] for e in chain[1:]), (
        f"no cause of the FailedStatus names {refusal} and its refusal: {json.dumps(chain, indent=1)}\n{run}"
    )
    stop = run.one("stop")
    assert stop["exit_status"] == "fail", str(run)
    assert run.docs("event") == [], str(run)
    assert run.returncode == 0 and run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)


@pytest.mark.parametrize(
    "presses, exposure_time",
    [
        # One Ctrl-C: bluesky pauses at the next checkpoint.
        (1, EXPOSURE_TIME),
        # Two within a shot (a long one): bluesky pauses at once, mid-trigger.
        (2, 1.0),
    ],
    ids=["once", "twice"],
)
def test_ca_ctrl_c_pauses_the_run_which_aborts_and_restores_enabled(
    start_plan, ca_env, trigger_ioc, enabled_off, presses, exposure_time
):
    caput(ca_env, trigger_ioc.pv("exposure_time"), exposure_time)
    try:
        live = start_plan(IMPL, "sigint")
        live.wait_for_event()
        press_ctrl_c(live, presses)
        run = live.finish()
    finally:
        caput(ca_env, trigger_ioc.pv("exposure_time"), EXPOSURE_TIME)
    assert_paused_by_ctrl_c_then_aborted(run, "hard" if presses == 2 else "deferred", 100, ca_env, trigger_ioc)


def reboot_during(live, ioc, after_first_event=0.0):
    """Kill `ioc` `after_first_event` seconds after the run's first event,
    start it again half a second later, and follow the run to its end: the
    run, and the seconds from the kill to that end. The IOC runs after."""
    try:
        live.wait_for_event()
        time.sleep(after_first_event)
        killed = time.monotonic()
        ioc.stop()
        time.sleep(0.5)
        ioc.start()
        run = live.finish()
        return run, time.monotonic() - killed
    finally:
        if not ioc.running():
            ioc.start()


def test_ca_the_motor_ioc_dying_mid_move_fails_the_run_naming_the_motor_and_the_motor_moves_once_back(
    start_plan, ca_env, trigger_ioc, motor_ioc, enabled_off
):
    """The motor's IOC is killed 1 s into the scan's move from 0 to 5 (at 1
    unit/s) and started again. The move's Status fails naming a PV of the
    motor, so the run fails (it does not hang), the detector's `enabled` is
    put back, and the same motor object moves again once its IOC answers."""
    # The first event is at 0; the move to 5 starts then.
    run, took = reboot_during(start_plan(IMPL, "motor_ioc_dies"), motor_ioc, after_first_event=1.0)
    assert run.returncode == 0 and run.result is not None, str(run)
    assert run.result["outcome"] == "error", str(run)
    record = motor_ioc.pv("mtr1")
    assert any(e["type"] == "DisconnectedError" and record in e["message"] for e in run.result["exceptions"]), (
        f"no exception names a PV of the motor: {json.dumps(run.result['exceptions'], indent=1)}\n{run}"
    )
    stop = run.one("stop")
    assert (stop["exit_status"], stop["num_events"]) == ("fail", {"primary": 1}), str(run)
    assert run.result["motor_reconnected_after_s"] is not None, f"the motor never answered again\n{run}"
    assert run.result["moved_to"] == pytest.approx(1.0), str(run)
    assert took < 25, f"the run took {took:.1f} s after the kill\n{run}"
    assert run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)


def press_ctrl_c(live, presses):
    for press in range(presses):
        if press:
            time.sleep(0.3)  # bluesky counts Ctrl-Cs at least 100 ms apart
        live.process.send_signal(signal.SIGINT)


def assert_paused_by_ctrl_c_then_aborted(run, pause, planned_events, ca_env, trigger_ioc):
    """Ctrl-C paused the run (bluesky's SigintHandler says which `pause`
    it asked for, "hard" or "deferred"), which was then aborted: it ended
    "abort" after some of its `planned_events`, and `enabled` is back."""
    assert run.returncode == 0 and run.result is not None, str(run)
    assert f"A '{pause} pause' has been requested" in run.stderr, str(run)
    assert run.result["outcome"] == "interrupted", str(run)
    assert run.result["state_when_interrupted"] == "paused", str(run)
    assert run.result["after_interruption"] == "aborted", str(run)
    stop = run.one("stop")
    assert stop["exit_status"] == "abort", str(run)
    assert 1 <= stop["num_events"].get("primary", 0) < planned_events, str(run)
    assert run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)


def test_ca_abort_mid_scan_stops_the_motor(run_plan, ca_env, trigger_ioc, motor_ioc, enabled_off):
    """`motor_abort` pauses 1 s into a 5 s move (0 to 5 at 1 unit/s), then
    aborts: the motor record stops where it is, short of the target."""
    run = run_plan(IMPL, "motor_abort")
    assert run.result is not None and run.result["after_interruption"] == "aborted", str(run)
    stop = run.one("stop")
    assert (stop["exit_status"], stop["num_events"]) == ("abort", {"primary": 1}), str(run)
    motor = motor_ioc.pv("mtr1")

    def state():
        return {f: caget(ca_env, motor + f) for f in (".RBV", ".VAL", ".MOVN", ".DMOV")}

    # The simulation notices a stop at its next tick (0.1 s).
    deadline = time.monotonic() + 5
    while (now := state())[".MOVN"] != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (now[".MOVN"], now[".DMOV"]) == (0, 1), f"the motor still moves: {now}\n{run}"
    assert 0.0 < now[".RBV"] < 4.5, f"the motor did not stop short of the scan's next point 5: {now}\n{run}"
    # A motor record that stops takes its readback as its setpoint.
    assert abs(now[".VAL"] - now[".RBV"]) < 1e-6, f"{now}"
    time.sleep(0.5)
    later = state()
    assert later[".RBV"] == now[".RBV"], f"the motor moved on after the abort: {now} then {later}"
    assert_enabled_restored(run, ca_env, trigger_ioc)


def test_ca_ioc_reboot_mid_run_fails_the_run_then_enabled_is_put_back_when_it_returns(
    start_plan, ca_env, trigger_ioc, enabled_off
):
    """The tutorial IOC dies mid-run and is started again. The run fails
    naming a PV (it does not hang); the unstage that could not reach the IOC
    puts `enabled` back when the IOC returns (the restarted IOC starts it
    "on": reading 0 again is ophyd-rs's doing); the same device object then
    runs again. (Python ophyd leaves the rebooted IOC's `enabled` on.)"""
    try:
        run, took = reboot_during(start_plan(IMPL, "ioc_reboot"), trigger_ioc)
    finally:
        caput(ca_env, trigger_ioc.pv("exposure_time"), EXPOSURE_TIME)
    assert run.returncode == 0 and run.result is not None, str(run)
    assert run.result["outcome"] == "error", str(run)
    prefix = trigger_ioc.prefix
    assert any(e["type"] == "DisconnectedError" and prefix in e["message"] for e in run.result["exceptions"]), (
        f"no exception names a PV of the IOC: {json.dumps(run.result['exceptions'], indent=1)}\n{run}"
    )
    first_stop = run.docs("stop")[0]
    assert first_stop["exit_status"] == "fail", str(run)
    assert run.result["reconnected"], str(run)
    assert run.result["enabled_restored_after_s"] is not None, f"enabled not put back after the reboot\n{run}"
    assert run.result["second_run"] == "completed", str(run)
    # Back when the IOC was: well within the 30 s grace, not at its end.
    assert took < 25, f"the reboot's run took {took:.1f} s\n{run}"
    second_stop = run.docs("stop")[1]
    assert (second_stop["exit_status"], second_stop["num_events"]) == ("success", {"primary": 3}), str(run)
    assert run.result["invalid_documents"] == [], str(run)
    assert_enabled_restored(run, ca_env, trigger_ioc)



def test_ca_a_run_whose_ioc_stalls_pauses_on_ctrl_c_and_its_abort_puts_enabled_back_once_the_ioc_runs(
    start_plan, ca_env, trigger_ioc, enabled_off
):
    """The tutorial IOC hangs mid-run (SIGSTOP): the trigger under way never
    completes. Ctrl-C twice pauses the run at once; RE.abort() follows
    while the IOC still hangs, and its cleanup waits for it (nothing is
    given up): a second after, the IOC runs again, `enabled` is put back
    and the run ends "abort"."""
    live = start_plan(IMPL, "stalled_run")
    live.wait_for_event()
    trigger_ioc.process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # the next trigger now waits on the stopped IOC
        press_ctrl_c(live, 2)
        live.wait_for("interrupted")
        time.sleep(1.0)  # the abort's cleanup now waits on the stopped IOC
    finally:
        trigger_ioc.process.send_signal(signal.SIGCONT)
    run = live.finish()
    assert_paused_by_ctrl_c_then_aborted(run, "hard", 1000, ca_env, trigger_ioc)


def interrupt_while_stalled(live, ioc):
    """Take turns with a stalled_* plan: stop `ioc` (SIGSTOP) once the plan
    is ready, press Ctrl-C while its action waits on the IOC, let the IOC
    run again. The action's outcome."""
    live.wait_for("ready")
    ioc.process.send_signal(signal.SIGSTOP)
    try:
        live.send()
        live.wait_for("acting")
        time.sleep(0.5)  # the action now waits on the stopped IOC
        live.process.send_signal(signal.SIGINT)
        outcome = live.wait_for("after")["outcome"]
    finally:
        ioc.process.send_signal(signal.SIGCONT)
    live.send()
    return outcome


def test_ca_ctrl_c_while_a_stalled_ioc_holds_up_set_means_the_motor_never_moves(start_plan, ca_env, motor_ioc):
    """`motor.set()` reads the record before it writes the setpoint; an IOC
    that stalls holds those reads up. Ctrl-C raises KeyboardInterrupt and
    the move is abandoned: when the IOC runs again the motor stays where it
    was (the move used to start then, with no Status anyone could stop)."""
    record = motor_ioc.pv("mtr1")

    def state():
        return {field: caget(ca_env, record + field) for field in (".RBV", ".VAL", ".DMOV")}

    before = state()
    live = start_plan(IMPL, "stalled_set")
    outcome = interrupt_while_stalled(live, motor_ioc)
    run = live.finish()
    assert outcome == "interrupted", str(run)
    assert run.returncode == 0 and run.result is not None, str(run)
    assert run.result["position_after"] == run.result["position_before"], f"the motor moved\n{run}"
    assert state() == before, f"the motor record changed after the interrupted set()\n{run}"


def test_ca_ctrl_c_while_a_stalled_ioc_holds_up_stage_leaves_nothing_staged(
    start_plan, ca_env, trigger_ioc, enabled_off
):
    """`stage()` reads what it will replace; an IOC that stalls holds that
    up. Ctrl-C raises KeyboardInterrupt; the stage, finishing once the IOC
    runs again, is put back (`enabled` 0 again), and the device stages and
    unstages afterwards."""
    live = start_plan(IMPL, "stalled_stage")
    outcome = interrupt_while_stalled(live, trigger_ioc)
    run = live.finish()
    assert outcome == "interrupted", str(run)
    assert run.returncode == 0 and run.result is not None, str(run)
    assert run.result["enabled_before"] == 0, str(run)
    assert run.result["enabled_after"] == 0, f"the abandoned stage was not put back\n{run}"
    assert (run.result["enabled_staged_again"], run.result["enabled_unstaged_again"]) == (1, 0), str(run)
    assert caget(ca_env, trigger_ioc.pv("enabled")) == 0, str(run)
