"""Real IOCs for the Python-side Channel Access tests, run as child processes
on loopback: the staging tutorial's own IOC (caproto's `trigger_with_pc`) and
caproto's motor record simulation (`fake_motor_record`), both through the
workspace's launcher `tests/iocs/caproto_ioc.py`, which also ends an IOC when
its parent goes away.

The layout is the Rust harness's (`tests/src/ioc.rs`):

- every IOC serves on a loopback port of its own, picked free below the
  kernel's ephemeral range (a port the kernel hands out, to a CA client's own
  connection say, could be taken by the time its IOC starts);
- everything stays on 127.0.0.1: the IOCs bind loopback only
  (`EPICS_CAS_INTF_ADDR_LIST`), send their beacons only to a CA repeater that
  listens on a free loopback port of its own (never the host's 5065), and a
  client searches only the IOCs' ports (`EPICS_CA_AUTO_ADDR_LIST=NO`);
- each IOC has a PV prefix of its own, so no two IOCs serve the same PV;
- an IOC is killed when the test is done with it, and exits by itself when the
  test process dies.

libca reads its configuration from the environment once per process, so the
clients (the plans of `ca_plans.py`) run as subprocesses with the environment
of `client_environment`, which lists every IOC's port.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

LOOPBACK = "127.0.0.1"
# How long an IOC or the repeater may take to start.
START_TIMEOUT = 30.0

REPOSITORY = Path(__file__).resolve().parents[2]
LAUNCHER = REPOSITORY / "tests" / "iocs" / "caproto_ioc.py"

TRIGGER_WITH_PC = "caproto.ioc_examples.too_clever.trigger_with_pc"
FAKE_MOTOR_RECORD = "caproto.ioc_examples.fake_motor_record"
SHORT_NAMES = {TRIGGER_WITH_PC: "tpc", FAKE_MOTOR_RECORD: "fmr"}
# The tutorial IOC's exposure is 2 s; the fixtures set this one so that runs
# of a few exposures are quick.
EXPOSURE_TIME = 0.05

# caproto's repeater bound to loopback only (its command line binds 0.0.0.0),
# ending with its parent as the IOCs do.
REPEATER_SCRIPT = """
import logging, os, sys, threading, time

def exit_with_parent(parent=os.getppid()):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)

threading.Thread(target=exit_with_parent, daemon=True).start()
logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(name)s %(message)s")
logging.getLogger("caproto.repeater").setLevel(logging.INFO)
from caproto.sync.repeater import run
run(host="127.0.0.1")
"""

_ioc_count = 0


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports, each free for TCP and UDP now."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_start = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    low, high = max(1024, ephemeral_start - 20000), ephemeral_start
    held, ports = [], []
    try:
        for port in random.sample(range(low, high), min(high - low, count * 200)):
            if len(ports) == count:
                break
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                tcp.bind((LOOPBACK, port))
                udp.bind((LOOPBACK, port))
            except OSError:
                tcp.close()
                udp.close()
                continue
            held += [tcp, udp]
            ports.append(port)
    finally:
        for s in held:
            s.close()
    if len(ports) < count:
        raise RuntimeError(f"found only {len(ports)} free ports of {count} in {low}..{high}")
    return ports


def _without_ca_variables(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("EPICS_CA")}


class _Child:
    """A child process whose output goes to a log file."""

    what = "process"

    def __init__(self, log_name: str):
        self.log = Path(tempfile.gettempdir()) / f"ophyd-rs-py-{log_name}.log"
        self.process: subprocess.Popen | None = None

    def _spawn(self, args: list[str], env: dict[str, str]) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_until(self, ready, description: str) -> None:
        started = time.monotonic()
        while not ready():
            if not self.running():
                self._fail("it exited")
            if time.monotonic() - started > START_TIMEOUT:
                self._fail(f"it did not {description} within {START_TIMEOUT} s")
            time.sleep(0.02)

    def _fail(self, what: str):
        output = self.output()
        self.stop()
        raise RuntimeError(f"the {self} did not start: {what}. Its output ({self.log}):\n{output}")

    def stop(self) -> None:
        """Kill the process and wait for it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self, keep_log: bool = False) -> None:
        """Stop the process; remove its log unless `keep_log`."""
        self.stop()
        if not keep_log:
            self.log.unlink(missing_ok=True)


class Repeater(_Child):
    """A CA repeater on a free loopback port: the IOCs send their beacons to
    it and it relays them to the clients, as on any EPICS host."""

    def __init__(self):
        self.port = free_ports(1)[0]
        super().__init__(f"repeater-{os.getpid()}-{self.port}")
        env = _without_ca_variables(os.environ)
        env.update(EPICS_CA_REPEATER_PORT=str(self.port), PYTHONUNBUFFERED="1")
        self._spawn([sys.executable, "-c", REPEATER_SCRIPT], env)
        listening = f"listening on {LOOPBACK}:{self.port}"
        self._wait_until(lambda: listening in self.output(), "listen")

    def __str__(self) -> str:
        return f"CA repeater on {LOOPBACK}:{self.port}"


class Ioc(_Child):
    """One of caproto's example IOCs, serving with a fresh PV prefix on a free
    loopback port; `start` waits until it serves."""

    def __init__(self, module: str, repeater: Repeater):
        global _ioc_count
        self.module = module
        self.repeater = repeater
        self.port = free_ports(1)[0]
        self.prefix = f"{SHORT_NAMES.get(module, 'ioc')}{os.getpid()}x{_ioc_count}:"
        _ioc_count += 1
        super().__init__(f"ioc-{self.prefix.rstrip(':')}")
        self.start()

    def __str__(self) -> str:
        return f"IOC {self.module} (prefix {self.prefix}, port {self.port})"

    @property
    def device_prefix(self) -> str:
        """The prefix without its colon, to which components add `":name"`."""
        return self.prefix.rstrip(":")

    def pv(self, name: str) -> str:
        """The full name of the IOC's PV `name`."""
        return self.prefix + name

    def start(self) -> None:
        env = _without_ca_variables(os.environ)
        port, repeater = str(self.port), str(self.repeater.port)
        env.update(
            EPICS_CA_SERVER_PORT=port,
            EPICS_CAS_SERVER_PORT=port,
            EPICS_CAS_INTF_ADDR_LIST=LOOPBACK,
            EPICS_CAS_AUTO_BEACON_ADDR_LIST="NO",
            EPICS_CAS_BEACON_ADDR_LIST=LOOPBACK,
            EPICS_CAS_BEACON_PORT=repeater,
            EPICS_CA_REPEATER_PORT=repeater,
            EPICS_CA_ADDR_LIST=f"{LOOPBACK}:{port}",
            EPICS_CA_AUTO_ADDR_LIST="NO",
            PYTHONUNBUFFERED="1",
        )
        args = [sys.executable, str(LAUNCHER), self.module, "--prefix", self.prefix, "--interfaces", LOOPBACK]
        self._spawn(args, env)
        self._wait_until(self._serving, "serve")

    def _serving(self) -> bool:
        output = self.output()
        if "Server startup complete" not in output:
            return False
        # caproto falls back to another port when its own is taken.
        if f"Listening on {LOOPBACK}:{self.port}" not in output:
            self._fail(f"another process took its port {self.port}")
        try:
            socket.create_connection((LOOPBACK, self.port), timeout=1).close()
        except OSError:
            return False
        return True


def client_environment(repeater: Repeater, iocs: list[Ioc]) -> dict[str, str]:
    """The environment of a CA client that reaches every IOC of `iocs` and
    nothing else."""
    env = _without_ca_variables(os.environ)
    env.update(
        EPICS_CA_ADDR_LIST=" ".join(f"{LOOPBACK}:{ioc.port}" for ioc in iocs),
        EPICS_CA_AUTO_ADDR_LIST="NO",
        EPICS_CA_REPEATER_PORT=str(repeater.port),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def _ca_variables(env: dict[str, str]):
    # caproto's synchronous client reads the EPICS_CA_* variables of this
    # process at each call; only for the call are they the test network's.
    ca = {k: v for k, v in env.items() if k.startswith("EPICS_CA")}
    with mock.patch.dict(os.environ, {**_without_ca_variables(os.environ), **ca}, clear=True):
        yield


def caget(env: dict[str, str], pv: str, timeout: float = 5.0):
    """The value of `pv` (enums as their index), read with caproto's
    pure-Python client: a scalar for a one-element PV."""
    from caproto.sync.client import read

    with _ca_variables(env):
        value = read(pv, timeout=timeout, force_int_enums=True, repeater=False).data
    return value[0] if len(value) == 1 else list(value)


def caput(env: dict[str, str], pv: str, value, timeout: float = 5.0) -> None:
    """Write `value` to `pv` and wait for the IOC to complete it."""
    from caproto.sync.client import write

    with _ca_variables(env):
        write(pv, value, notify=True, timeout=timeout, repeater=False)
