#!/usr/bin/env python3
"""A synApps scaler record, simulated with caproto, for the ophyd-rs tests
of collections of channels: the fields Python ophyd's `EpicsScaler` reads,
under the record name `scaler1` (PVs `PREFIXscaler1.CNT`, `.S1`..`.S32`, ...).

Writing 1 (`Count`) to `.CNT` counts for `.TP` seconds, then sets each
channel `.Sn` to `n * 100 * .TP` counts (`.S1`, the clock, to
`.FREQ * .TP`), `.T` to `.TP`, puts `.CNT` back to `Done` and only then
completes the put, as the record's put-callback does.

Usage: caproto_ioc.py scaler_ioc --prefix P: --interfaces 127.0.0.1
(EPICS base's soft IOC cannot serve these names: `.S1` is a field of the one
record, which no record type of base has.)
"""
import asyncio

from caproto import ChannelType
from caproto.server import PVGroup, ioc_arg_parser, pvproperty, run

RECORD = "scaler1"
CHANNELS = range(1, 33)


class ScalerRecord(PVGroup):
    """The scaler record's fields that `EpicsScaler` has components for."""

    count = pvproperty(
        name=f"{RECORD}.CNT", value="Done", enum_strings=["Done", "Count"], dtype=ChannelType.ENUM
    )
    count_mode = pvproperty(
        name=f"{RECORD}.CONT", value="AutoCount", enum_strings=["OneShot", "AutoCount"], dtype=ChannelType.ENUM
    )
    delay = pvproperty(name=f"{RECORD}.DLY", value=0.0, precision=3, units="s")
    auto_count_delay = pvproperty(name=f"{RECORD}.DLY1", value=0.0, precision=3, units="s")
    time = pvproperty(name=f"{RECORD}.T", value=0.0, precision=3, units="s", read_only=True)
    freq = pvproperty(name=f"{RECORD}.FREQ", value=1e7, precision=3, units="Hz")
    preset_time = pvproperty(name=f"{RECORD}.TP", value=1.0, precision=3, units="s")
    auto_count_time = pvproperty(name=f"{RECORD}.TP1", value=1.0, precision=3, units="s")
    update_rate = pvproperty(name=f"{RECORD}.RATE", value=10.0, precision=1, units="Hz")
    auto_count_update_rate = pvproperty(name=f"{RECORD}.RAT1", value=10.0, precision=1, units="Hz")
    egu = pvproperty(name=f"{RECORD}.EGU", value="cts", dtype=ChannelType.STRING)

    # One field of each kind per channel, as the record has: counts, name,
    # preset, gate.
    for _n in CHANNELS:
        locals()[f"s{_n}"] = pvproperty(name=f"{RECORD}.S{_n}", value=0, read_only=True, units="cts")
        locals()[f"nm{_n}"] = pvproperty(name=f"{RECORD}.NM{_n}", value=f"chan{_n}", dtype=ChannelType.STRING)
        locals()[f"pr{_n}"] = pvproperty(name=f"{RECORD}.PR{_n}", value=0)
        locals()[f"g{_n}"] = pvproperty(
            name=f"{RECORD}.G{_n}", value="N", enum_strings=["N", "Y"], dtype=ChannelType.ENUM
        )
    del _n

    @count.putter
    async def count(self, instance, value):
        if value != "Count":
            return value
        seconds = self.preset_time.value
        # `run` serves with asyncio.
        await asyncio.sleep(seconds)
        await self.s1.write(int(round(self.freq.value * seconds)))
        for n in CHANNELS[1:]:
            await getattr(self, f"s{n}").write(int(round(n * 100 * seconds)))
        await self.time.write(seconds)
        return "Done"


if __name__ == "__main__":
    ioc_options, run_options = ioc_arg_parser(default_prefix="scaler_ioc:", desc=__doc__.splitlines()[0])
    ioc = ScalerRecord(**ioc_options)
    run(ioc.pvdb, **run_options)
