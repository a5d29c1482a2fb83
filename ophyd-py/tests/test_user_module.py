"""A beamline's own module (`ophyd-py/my-beamline`, made with
`python_module!`): its devices, a derived device and a `PvPositioner`, driven
by bluesky on a simulated IOC the test lays out with `SimIoc.add_pv`.

The controller's hardware is simulated in Python: a thread drives the
temperature to the setpoint, as the controller would.
"""
import threading
import time

import pytest
from bluesky.plans import count, scan

import my_beamline
import ophyd_rs

THERMOMETER = "bl:tm1"
CONTROLLER = "bl:tc1"
STAGE = "bl:stage"


@pytest.fixture
def ioc():
    ioc = my_beamline.SimIoc()
    ioc.add_pv(THERMOMETER + ":T", 20.0, units="K", precision=2, read_only=True)
    ioc.add_pv(THERMOMETER + ":AVG", 4)
    ioc.add_pv(THERMOMETER + ":FILTER", "Off", enum_strs=["Off", "On"])
    ioc.add_pv(CONTROLLER + ":SP", 20.0, units="K", precision=2, limits=(4.0, 400.0))
    ioc.add_pv(CONTROLLER + ":T", 20.0, units="K", precision=2, read_only=True)
    ioc.add_pv(CONTROLLER + ":RAMP", 5.0, units="K/min")
    return ioc


@pytest.fixture
def hardware(ioc):
    """The controller: the temperature (both PVs) follows the setpoint."""
    running = threading.Event()
    running.set()

    def follow():
        while running.is_set():
            setpoint = ioc.get(CONTROLLER + ":SP")
            if ioc.get(CONTROLLER + ":T") != setpoint:
                ioc.put(CONTROLLER + ":T", setpoint)
                ioc.put(THERMOMETER + ":T", setpoint)
            time.sleep(0.002)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    yield
    running.clear()
    thread.join()


@pytest.fixture
def stage(ioc):
    ioc.add_motor(STAGE + ":x", 0.0, velocity=20.0)
    ioc.add_motor(STAGE + ":y", 2.0, velocity=20.0)
    stage = my_beamline.SampleStage(STAGE, name="stage")
    stage.connect(ioc)
    return stage


@pytest.fixture
def thermometer(ioc):
    thermometer = my_beamline.Thermometer(THERMOMETER, name="thermometer")
    thermometer.connect(ioc)
    return thermometer


@pytest.fixture
def controller(ioc):
    controller = my_beamline.TemperatureController(CONTROLLER, name="controller")
    controller.connect(ioc)
    return controller


def test_the_classes_extend_the_modules_bases(thermometer, controller):
    assert isinstance(thermometer, my_beamline.Device) and not isinstance(thermometer, my_beamline.Positioner)
    assert isinstance(controller, my_beamline.Positioner)
    assert thermometer.read_attrs == ["temperature"]
    assert thermometer.configuration_attrs == ["averaging", "filter"]
    assert controller.component_names == ["setpoint", "readback", "ramp_rate"]
    assert controller.readback.parent is controller


def test_a_scan_of_a_users_devices_moves_reads_and_puts_the_filter_back(ioc, hardware, thermometer, controller, RE):
    RE(scan([thermometer], controller, 20, 30, 3))
    docs = RE.documents
    assert docs.stop["exit_status"] == "success" and docs.stop["num_events"] == {"primary": 3}
    events = docs.named("event")
    assert [e["data"]["controller_setpoint"] for e in events] == pytest.approx([20, 25, 30])
    # Done when the temperature is within 0.05 of the setpoint: reached before each read.
    assert [e["data"]["thermometer_temperature"] for e in events] == pytest.approx([20, 25, 30], abs=0.05)
    (descriptor,) = docs.named("descriptor")
    key = descriptor["data_keys"]["thermometer_temperature"]
    assert (key["units"], key["precision"], key["dtype"], key["source"]) == ("K", 2, "number", "PV:bl:tm1:T")
    assert descriptor["hints"]["thermometer"] == {"fields": ["thermometer_temperature"]}
    configuration = descriptor["configuration"]["thermometer"]["data"]
    # The filter is staged on for the run...
    assert configuration == {"thermometer_averaging": 4, "thermometer_filter": 1}
    assert descriptor["configuration"]["controller"]["data"] == {"controller_ramp_rate": 5.0}
    # ... and put back after it.
    assert ioc.get(THERMOMETER + ":FILTER") == 0
    assert ioc.get(CONTROLLER + ":SP") == pytest.approx(30)


def test_a_users_positioner_is_done_when_the_temperature_is_close(ioc, controller):
    status = controller.set(25.0)
    time.sleep(0.05)
    assert not status.done  # nothing drives the temperature yet
    ioc.put(CONTROLLER + ":T", 24.9)  # closer, not close enough (0.05)
    time.sleep(0.05)
    assert not status.done
    ioc.put(CONTROLLER + ":T", 24.97)
    status.wait(5)
    assert status.success
    assert controller.position == pytest.approx(24.97)


def test_devices_of_two_modules_share_a_run(ioc, thermometer, RE):
    tutorial = ophyd_rs.SimIoc.trigger_with_pc()
    det = ophyd_rs.TriggeredDetector("trigger_with_pc", name="triggered_detector")
    det.connect(tutorial)
    det.exposure_time.put(0.01)
    RE(count([det, thermometer], 2))
    events = RE.documents.named("event")
    assert [sorted(e["data"]) for e in events] == [["thermometer_temperature", "triggered_detector_reading"]] * 2
    assert RE.documents.stop["exit_status"] == "success"
    assert (tutorial.get("trigger_with_pc:enabled"), ioc.get(THERMOMETER + ":FILTER")) == (1, 0)


def test_add_pv_refuses_what_it_cannot_make_naming_the_pv(ioc):
    with pytest.raises(ValueError, match='has a PV "bl:tm1:T" already'):
        ioc.add_pv(THERMOMETER + ":T", 1.0)
    with pytest.raises(ValueError, match='PV "bl:x": "Hot" is neither an index of its enum_strs'):
        ioc.add_pv("bl:x", "Hot", enum_strs=["Off", "On"])
    with pytest.raises(ValueError, match='PV "bl:y": 4294967296 does not fit a long'):
        ioc.add_pv("bl:y", 2**32)
    with pytest.raises(TypeError, match="cannot write a dict"):
        ioc.add_pv("bl:z", {})
    assert "bl:x" not in ioc.pv_names() and "bl:y" not in ioc.pv_names()
    ioc.add_pv("bl:wave", [1, 2.5, 3])
    assert ioc.get("bl:wave") == [1.0, 2.5, 3.0]


def test_the_modules_share_their_exception_classes(ioc, thermometer):
    """One `except ophyd_rs.DisconnectedError` catches it from either
    module's devices, whichever module Python imported first."""
    assert my_beamline.OphydError is ophyd_rs.OphydError
    assert my_beamline.DisconnectedError is ophyd_rs.DisconnectedError
    ioc.set_connected(THERMOMETER + ":T", False)
    with pytest.raises(ophyd_rs.DisconnectedError, match="bl:tm1:T"):
        thermometer.read().result(5)


def test_a_transport_of_another_module_is_refused_saying_whose_to_use():
    thermometer = my_beamline.Thermometer(THERMOMETER, name="thermometer")
    with pytest.raises(TypeError, match="this SimIoc is another module's"):
        thermometer.connect(ophyd_rs.SimIoc())


def test_a_motor_inside_a_device_is_a_positioner_bluesky_scans(ioc, stage, thermometer, RE):
    assert isinstance(stage.x, my_beamline.Positioner) and stage.x is stage.x and stage.x.parent is stage
    assert not isinstance(stage, my_beamline.Positioner)
    assert stage.x.name == "stage_x" and stage.y.position == pytest.approx(2.0)
    assert stage.x.limits == (-100.0, 100.0)
    RE(scan([thermometer], stage.x, 0, 1, 3))
    events = RE.documents.named("event")
    assert [e["data"]["stage_x"] for e in events] == pytest.approx([0, 0.5, 1])
    assert RE.documents.stop["exit_status"] == "success"
    assert (ioc.get(STAGE + ":x.RBV"), ioc.get(STAGE + ":y.RBV")) == pytest.approx((1.0, 2.0))
    stage.y.move(3.0, timeout=5)
    assert stage.y.position == pytest.approx(3.0)


def test_the_reconnect_grace_is_one_setting_for_a_devices_tree(stage):
    stage.x.reconnect_grace = 2.5
    assert (stage.reconnect_grace, stage.y.reconnect_grace) == (2.5, 2.5)
