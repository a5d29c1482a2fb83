"""What Python ophyd 1.11's `EpicsScaler` reports on the simulated scaler
record (`tests/iocs/scaler_ioc.py`), after staging it and counting for
0.05 s. Prints one JSON object.

Usage: python scaler_reference.py PV   (PV: the record, PREFIXscaler1)

The usual EPICS_CA_* environment variables say where the IOC is.
"""
import json
import sys

from ophyd.scaler import EpicsScaler


def fields(readings):
    return {k: sorted(v) for k, v in readings.items()}


def main(pv):
    scaler = EpicsScaler(pv, name="scaler")
    scaler.wait_for_connection(timeout=20)
    scaler.preset_time.put(0.05, wait=True)
    scaler.count_mode.put("AutoCount", wait=True)
    scaler.stage()
    out = {"count_mode_while_staged": scaler.count_mode.get(as_string=True)}
    scaler.trigger().wait(timeout=10)
    read = scaler.read()
    cfg = scaler.read_configuration()
    out.update(
        {
            "read_keys": list(read),
            "read_fields": fields(read),
            "read_values": {k: v["value"] for k, v in read.items()},
            "describe": scaler.describe(),
            "read_configuration_keys": list(cfg),
            "describe_configuration": scaler.describe_configuration(),
            "hints": scaler.hints,
            "read_attrs": list(scaler.read_attrs),
            "configuration_attrs": list(scaler.configuration_attrs),
            "component_names": list(scaler.component_names),
            "stage_sigs": {k: v for k, v in scaler.stage_sigs.items()},
        }
    )
    scaler.unstage()
    out["count_mode_after_unstage"] = scaler.count_mode.get(as_string=True)
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), default=list))
