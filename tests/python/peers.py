"""The Python peers of ophyd-rs in the peer benchmark (benches/peers.rs):
Python ophyd 1.11 (pyepics) and ophyd-async (aioca), doing the benchmark's
work on the devices it uses, against the same running soft IOC
(tests/iocs/soft.db, and tests/iocs/block.db loaded as b0 ... b99).
Prints one JSON object: the library's version, and for each work the
median seconds of one iteration and the iteration count, or null where the
library has no such thing.

Usage: python peers.py ophyd PREFIX
       python peers.py ophyd-async PREFIX

PREFIX is the IOC's PV prefix without its trailing colon. The usual
EPICS_CA_* environment variables say where the IOC is.
"""
import asyncio
import json
import statistics
import sys
import time

# Iterations per work, after a few unmeasured ones; connecting is slow in
# Python (a second or so), hence its few rounds.
ITERATIONS = {"cycle": 1000, "stage": 500, "read10": 500, "connect1000": 5}
WARMUP = 20
BLOCKS = 100
CONNECT_TIMEOUT = 60.0


def block_prefixes(prefix):
    return [f"{prefix}:b{i}" for i in range(BLOCKS)]


def result(samples):
    return {"median_s": statistics.median(samples), "iterations": len(samples)}


def measure(work, step):
    """Median of `step()` over the iterations of `work`."""
    for _ in range(WARMUP if ITERATIONS[work] > WARMUP else 0):
        step()
    samples = []
    for _ in range(ITERATIONS[work]):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return result(samples)


# --- Python ophyd 1.11 ---------------------------------------------------------


def ophyd_peer(prefix):
    import ophyd
    from ophyd import Component as Cpt
    from ophyd import Device, DeviceStatus, EpicsSignal, EpicsSignalRO

    class Detector(Device):
        acquire = Cpt(EpicsSignal, ":double", kind="omitted", put_complete=True)
        reading = Cpt(EpicsSignalRO, ":readonly", kind="hinted")

        def trigger(self):
            status = DeviceStatus(self)
            self.acquire.put(1.0, callback=status._finished)
            return status

    class Ten(Device):
        a = Cpt(EpicsSignal, ":double")
        b = Cpt(EpicsSignal, ":long")
        c = Cpt(EpicsSignal, ":slow")
        d = Cpt(EpicsSignal, ":setpoint")
        e = Cpt(EpicsSignalRO, ":setpoint_RBV")
        f = Cpt(EpicsSignalRO, ":readonly")
        g = Cpt(EpicsSignal, ":float")
        h = Cpt(EpicsSignal, ":short")
        i = Cpt(EpicsSignal, ":mbbo")
        j = Cpt(EpicsSignal, ":string")

    class Staged(Device):
        value = Cpt(EpicsSignal, ":long", kind="omitted")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.stage_sigs["value"] = 7

    class Block(Device):
        v0 = Cpt(EpicsSignal, ":v0")
        v1 = Cpt(EpicsSignal, ":v1")
        v2 = Cpt(EpicsSignal, ":v2")
        v3 = Cpt(EpicsSignal, ":v3")
        v4 = Cpt(EpicsSignal, ":v4")
        v5 = Cpt(EpicsSignal, ":v5")
        v6 = Cpt(EpicsSignal, ":v6")
        v7 = Cpt(EpicsSignal, ":v7")
        v8 = Cpt(EpicsSignal, ":v8")
        v9 = Cpt(EpicsSignal, ":v9")

    det = Detector(prefix, name="det")
    ten = Ten(prefix, name="ten")
    staged = Staged(prefix, name="staged")
    for device in (det, ten, staged):
        device.wait_for_connection(timeout=CONNECT_TIMEOUT)

    def cycle():
        det.trigger().wait(timeout=10)
        det.read()

    def stage():
        staged.stage()
        staged.unstage()

    def connect():
        blocks = [Block(p, name=f"b{i}") for i, p in enumerate(block_prefixes(prefix))]
        for block in blocks:
            block.wait_for_connection(timeout=CONNECT_TIMEOUT)
        return blocks

    def connect_rounds():
        samples = []
        for _ in range(ITERATIONS["connect1000"]):
            start = time.perf_counter()
            blocks = connect()
            samples.append(time.perf_counter() - start)
            for block in blocks:
                block.destroy()  # releases the PVs: the next round connects anew
        return result(samples)

    return {
        "version": ophyd.__version__,
        "cycle": measure("cycle", cycle),
        "stage": measure("stage", stage),
        "read10": measure("read10", ten.read),
        "connect1000": connect_rounds(),
    }


# --- ophyd-async (aioca) ---------------------------------------------------------


async def ophyd_async_peer(prefix):
    import ophyd_async
    from aioca import purge_channel_caches
    from ophyd_async.core import AsyncStatus, StandardReadable, StandardReadableFormat
    from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

    class Detector(StandardReadable):
        def __init__(self, prefix, name=""):
            self.acquire = epics_signal_rw(float, f"{prefix}:double")
            with self.add_children_as_readables(StandardReadableFormat.HINTED_UNCACHED_SIGNAL):
                self.reading = epics_signal_r(float, f"{prefix}:readonly")
            super().__init__(name=name)

        @AsyncStatus.wrap
        async def trigger(self):
            await self.acquire.set(1.0)  # waits for put completion

    class Ten(StandardReadable):
        def __init__(self, prefix, name=""):
            with self.add_children_as_readables(StandardReadableFormat.UNCACHED_SIGNAL):
                self.a = epics_signal_rw(float, f"{prefix}:double")
                self.b = epics_signal_rw(int, f"{prefix}:long")
                self.c = epics_signal_rw(float, f"{prefix}:slow")
                self.d = epics_signal_rw(float, f"{prefix}:setpoint")
                self.e = epics_signal_r(float, f"{prefix}:setpoint_RBV")
                self.f = epics_signal_r(float, f"{prefix}:readonly")
                self.g = epics_signal_rw(float, f"{prefix}:float")
                self.h = epics_signal_rw(int, f"{prefix}:short")
                self.i = epics_signal_rw(str, f"{prefix}:mbbo")
                self.j = epics_signal_rw(str, f"{prefix}:string")
            super().__init__(name=name)

    class Block(StandardReadable):
        def __init__(self, prefix, name=""):
            with self.add_children_as_readables(StandardReadableFormat.UNCACHED_SIGNAL):
                for k in range(10):
                    setattr(self, f"v{k}", epics_signal_rw(float, f"{prefix}:v{k}"))
            super().__init__(name=name)

    det = Detector(prefix, name="det")
    ten = Ten(prefix, name="ten")
    await asyncio.gather(det.connect(timeout=CONNECT_TIMEOUT), ten.connect(timeout=CONNECT_TIMEOUT))

    async def ameasure(work, step):
        for _ in range(WARMUP):
            await step()
        samples = []
        for _ in range(ITERATIONS[work]):
            start = time.perf_counter()
            await step()
            samples.append(time.perf_counter() - start)
        return result(samples)

    async def cycle():
        await det.trigger()
        await det.read()

    async def connect_rounds():
        samples = []
        for _ in range(ITERATIONS["connect1000"]):
            start = time.perf_counter()
            blocks = [Block(p, name=f"b{i}") for i, p in enumerate(block_prefixes(prefix))]
            await asyncio.gather(*(block.connect(timeout=CONNECT_TIMEOUT) for block in blocks))
            samples.append(time.perf_counter() - start)
            # Closes every channel (det's and ten's too, which are done with):
            # the next round connects anew.
            purge_channel_caches()
        return result(samples)

    return {
        "version": ophyd_async.__version__,
        "cycle": await ameasure("cycle", cycle),
        "stage": None,  # ophyd-async has no stage_sigs
        "read10": await ameasure("read10", ten.read),
        "connect1000": await connect_rounds(),
    }


if __name__ == "__main__":
    peer, prefix = sys.argv[1], sys.argv[2]
    if peer == "ophyd":
        out = ophyd_peer(prefix)
    elif peer == "ophyd-async":
        out = asyncio.run(ophyd_async_peer(prefix))
    else:
        raise SystemExit(f"unknown peer {peer!r}: ophyd or ophyd-async")
    print(json.dumps(out))
