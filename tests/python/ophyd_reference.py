"""What Python ophyd 1.11 reports for the devices the parity test builds in
ophyd-rs too, on the same running IOC. Prints one JSON object.

Usage: python ophyd_reference.py tutorial PREFIX   (caproto's trigger_with_pc)
       python ophyd_reference.py soft PREFIX       (EPICS base's soft IOC, tests/iocs/soft.db)
       python ophyd_reference.py nested PREFIX     (the same IOC; a device tree three levels deep)
       python ophyd_reference.py motor PV          (caproto's fake_motor_record; PV is a motor, PREFIXmtr1)
       python ophyd_reference.py areadetector PREFIX (caproto's areadetector_image; PREFIX with its colon)

PREFIX is the IOC's PV prefix without its trailing colon. The usual
EPICS_CA_* environment variables say where the IOC is.
"""
import json
import sys

from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, EpicsMotor, EpicsSignal, EpicsSignalRO, EpicsSignalWithRBV
from ophyd.areadetector import ImagePlugin, SimDetector
from ophyd.areadetector.trigger_mixins import SingleTrigger


class TriggeredDetector(Device):
    """The staging tutorial's detector, `stage_sigs` variant."""

    gain = Cpt(EpicsSignal, ":gain", kind="config")
    exposure_time = Cpt(EpicsSignal, ":exposure_time", kind="config")
    reading = Cpt(EpicsSignalRO, ":reading", kind="hinted")
    acquire = Cpt(EpicsSignal, ":acquire", kind="omitted", put_complete=True)
    enabled = Cpt(EpicsSignal, ":enabled", kind="omitted")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage_sigs["enabled"] = 1

    def trigger(self):
        status = DeviceStatus(self)
        self.acquire.put(1, callback=status._finished)
        return status


class EveryType(Device):
    """One component per value type of tests/iocs/soft.db."""

    double = Cpt(EpicsSignal, ":double", kind="hinted")
    float = Cpt(EpicsSignal, ":float")
    long = Cpt(EpicsSignal, ":long", kind="config")
    short = Cpt(EpicsSignal, ":short")
    char = Cpt(EpicsSignal, ":char")
    string = Cpt(EpicsSignal, ":string", kind="config")
    mbbo = Cpt(EpicsSignal, ":mbbo", kind="config")
    bo = Cpt(EpicsSignal, ":bo")
    doubles = Cpt(EpicsSignalRO, ":doubles")
    longs = Cpt(EpicsSignalRO, ":longs")
    strings = Cpt(EpicsSignalRO, ":strings", kind="omitted")
    setpoint = Cpt(EpicsSignalWithRBV, ":setpoint", kind="hinted")
    readonly = Cpt(EpicsSignalRO, ":readonly", kind="config")


class Carriage(Device):
    """The innermost level of `Nested`."""

    readback = Cpt(EpicsSignalRO, ":readonly", kind="hinted")
    mode = Cpt(EpicsSignal, ":mbbo", kind="config")


class Axis(Device):
    """The middle level of `Nested`: a signal, a sub-device, a signal."""

    setpoint = Cpt(EpicsSignalWithRBV, ":setpoint")
    carriage = Cpt(Carriage, "")
    label = Cpt(EpicsSignal, ":string", kind="config")


class Nested(Device):
    """Signals around and between sub-devices, every kind at every level:
    the order of the keys is the order a tree is walked in."""

    first = Cpt(EpicsSignal, ":double", kind="hinted")
    x = Cpt(Axis, "")
    gain = Cpt(EpicsSignal, ":long", kind="config")
    y = Cpt(Axis, "", kind="config")
    last = Cpt(EpicsSignal, ":short")


def fields(readings):
    return {k: sorted(v) for k, v in readings.items()}


def common(dev):
    read = dev.read()
    cfg = dev.read_configuration()
    return {
        "read_keys": list(read),
        "read_fields": fields(read),
        "describe": dev.describe(),
        "read_configuration_keys": list(cfg),
        "describe_configuration": dev.describe_configuration(),
        "hints": dev.hints,
        "read_attrs": list(dev.read_attrs),
        "configuration_attrs": list(dev.configuration_attrs),
        "component_names": list(dev.component_names),
    }


def tutorial(prefix):
    det = TriggeredDetector(prefix, name="triggered_detector")
    det.wait_for_connection(timeout=10)
    det.exposure_time.put(0.05, wait=True)
    det.enabled.put(0, wait=True)
    out = {"enabled_before_stage": det.enabled.get()}
    det.stage()
    out["enabled_after_stage"] = det.enabled.get()
    try:
        det.stage()
        out["stage_twice"] = "ok"
    except Exception as e:  # RedundantStaging
        out["stage_twice"] = type(e).__name__
    status = det.trigger()
    status.wait(timeout=10)
    out.update(common(det))
    det.unstage()
    out["enabled_after_unstage"] = det.enabled.get()
    det.unstage()
    out["enabled_after_second_unstage"] = det.enabled.get()
    return out


def soft(prefix):
    dev = EveryType(prefix, name="every")
    dev.wait_for_connection(timeout=10)
    return common(dev)


def values(readings):
    return {k: v["value"] for k, v in readings.items()}


def nested(prefix):
    dev = Nested(prefix, name="nested")
    dev.wait_for_connection(timeout=10)
    out = common(dev)
    old, new = dev.configure(CONFIGURE)
    out["configure"] = {"old": values(old), "new": values(new)}
    dev.configure({key: old_value(dev, old, key) for key in CONFIGURE})  # as it was
    return out


# What the nested parity test configures, by dotted attribute.
CONFIGURE = {"gain": 5, "y.label": "configured"}


def old_value(dev, old, attr):
    return old[getattr(dev, attr).name]["value"]


def motor(pv):
    """What the `motor` example prints: the motor after a move to 2.5, and
    what a move to 20 (outside the record's user limits 0..10) raises."""
    mtr = EpicsMotor(pv, name="motor")
    mtr.wait_for_connection(timeout=10)
    mtr.set(2.5).wait(timeout=60)
    try:
        # ophyd checks the setpoint's control limits only (0..0 here, so
        # none): it would drive to 20. Checked without moving.
        mtr.check_value(20)
        limit_error = None
    except Exception as e:
        limit_error = {"name": type(e).__name__, "message": str(e)}
    return {
        "read": mtr.read(),
        "describe": mtr.describe(),
        "read_configuration": mtr.read_configuration(),
        "describe_configuration": mtr.describe_configuration(),
        "hints": mtr.hints,
        "position": mtr.position,
        "limit_error": limit_error,
    }


class ImageDetector(SingleTrigger, SimDetector):
    """ophyd's simulated detector with its image plugin."""

    image1 = Cpt(ImagePlugin, "image1:")


# The image plugin's signals the areadetector parity test reads one by one
# (as a plugin, it is omitted from the detector's reads).
IMAGE1_SIGNALS = ["width", "height", "array_counter", "enable", "blocking_callbacks", "data_type", "color_mode",
                  "plugin_type"]


def areadetector(prefix):
    """A SingleTrigger SimDetector with an ImagePlugin, as ophyd 1.11 builds
    it, and what its image plugin's signals hold. Not staged: on caproto's
    areadetector_image, ophyd's plugin stage_sigs `enable: 1` writes 1 to a
    string PV that reads back "1", and ophyd waits for 1 forever."""
    det = ImageDetector(prefix, name="det")
    det.wait_for_connection(timeout=10)
    out = common(det)
    out["read_configuration"] = values(det.read_configuration())
    out["image1"] = {attr: getattr(det.image1, attr).get() for attr in IMAGE1_SIGNALS}
    out["image1_array_data_len"] = len(det.image1.array_data.get())
    out["stage_sigs"] = {"det": list(det.stage_sigs), "image1": list(det.image1.stage_sigs)}
    return out


if __name__ == "__main__":
    kind, prefix = sys.argv[1], sys.argv[2]
    kinds = {"tutorial": tutorial, "soft": soft, "nested": nested, "motor": motor, "areadetector": areadetector}
    result = kinds[kind](prefix)
    print(json.dumps(result, default=lambda x: x.tolist() if hasattr(x, "tolist") else list(x)))
