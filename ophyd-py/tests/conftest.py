"""Fixtures of the tests: a RunEngine whose documents are kept and
validated with event-model (`RE`); for the Channel Access tests, a CA
repeater, the staging tutorial's IOC and the motor record IOC, started per
test module on loopback (see `iocs.py`), and the environment a CA client
subprocess needs to reach them.

Nothing here loads libca: the clients run as subprocesses (`ca_plans.py`).
"""

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import event_model
import pytest
from bluesky import RunEngine

sys.path.insert(0, str(Path(__file__).parent))

from iocs import EXPOSURE_TIME, FAKE_MOTOR_RECORD, TRIGGER_WITH_PC, Ioc, Repeater, caput, client_environment  # noqa: E402

def _keep_log_on_failure(request) -> bool:
    # An IOC's output helps to read a failure; otherwise it is clutter.
    return request.session.testsfailed > 0


@pytest.fixture(scope="module")
def ca_repeater(request):
    """A CA repeater on a loopback port of its own."""
    repeater = Repeater()
    yield repeater
    repeater.close(keep_log=_keep_log_on_failure(request))


@pytest.fixture(scope="module")
def trigger_ioc(request, ca_repeater):
    """The staging tutorial's IOC, `trigger_with_pc`, with short exposures."""
    ioc = Ioc(TRIGGER_WITH_PC, ca_repeater)
    env = client_environment(ca_repeater, [ioc])
    caput(env, ioc.pv("exposure_time"), EXPOSURE_TIME)
    yield ioc
    _close(ioc, request)


@pytest.fixture(scope="module")
def motor_ioc(request, ca_repeater):
    """caproto's motor record simulation: `mtr1` moves at 1 unit/s within 0..10."""
    ioc = Ioc(FAKE_MOTOR_RECORD, ca_repeater)
    yield ioc
    _close(ioc, request)


def _close(ioc, request):
    keep = _keep_log_on_failure(request)
    if keep:
        print(f"output of the {ioc} is in {ioc.log}", file=sys.stderr)
    ioc.close(keep_log=keep)


@pytest.fixture(scope="module")
def ca_env(ca_repeater, trigger_ioc, motor_ioc):
    """The environment of a CA client subprocess: it reaches every IOC of the
    module, through the module's repeater, and nothing else."""
    return client_environment(ca_repeater, [trigger_ioc, motor_ioc])


CA_PLANS = Path(__file__).with_name("ca_plans.py")
# A plan's subprocess gets this long; a hang is a failure, not a stuck suite.
PLAN_TIMEOUT = 60.0


@dataclass
class PlanRun:
    """What `ca_plans.py` printed for one plan: the documents in the order
    the RunEngine emitted them and its closing result."""

    impl: str
    plan: str
    returncode: int | None
    documents: list = field(default_factory=list)
    result: dict | None = None
    stdout: str = ""
    stderr: str = ""

    @classmethod
    def parse(cls, impl, plan, returncode, stdout, stderr) -> "PlanRun":
        run = cls(impl, plan, returncode, stdout=stdout, stderr=stderr)
        for line in stdout.splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                # A process killed mid-line; its stderr says why.
                run.stderr += f"\n(unreadable stdout line: {line!r})"
                continue
            if "result" in item:
                run.result = item["result"]
            else:
                run.documents.append((item["name"], item["doc"]))
        return run

    def docs(self, name: str) -> list[dict]:
        """The documents of kind `name`, in order."""
        return [doc for n, doc in self.documents if n == name]

    def one(self, name: str) -> dict:
        """The only document of kind `name`."""
        docs = self.docs(name)
        assert len(docs) == 1, f"{self.impl} {self.plan}: {len(docs)} {name} documents, expected 1\n{self}"
        return docs[0]

    def __str__(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-40:])
        result = json.dumps(self.result, indent=1) if self.result else "(no result printed)"
        return (
            f"ca_plans.py --impl {self.impl} --plan {self.plan}: exit code {self.returncode}, "
            f"{len(self.documents)} documents, result {result}\nits stderr (last lines):\n{tail}"
        )


@pytest.fixture(scope="module")
def plan_command(trigger_ioc, motor_ioc):
    """The command line of `ca_plans.py` for an implementation and a plan,
    on this module's IOCs."""

    def command(impl: str, plan: str) -> list[str]:
        return [
            sys.executable,
            str(CA_PLANS),
            "--impl",
            impl,
            "--det-prefix",
            trigger_ioc.device_prefix,
            "--motor-prefix",
            motor_ioc.pv("mtr1"),
            "--plan",
            plan,
        ]

    return command


@pytest.fixture(scope="module")
def run_plan(ca_env, plan_command):
    """Run a plan with an implementation in a subprocess, to its end."""

    def run(impl: str, plan: str) -> PlanRun:
        live = LiveRun(impl, plan, plan_command(impl, plan), ca_env)
        done = live.finish()
        if live.killed:
            pytest.fail(f"{impl} {plan} did not finish within {PLAN_TIMEOUT} s (killed)\n{done}")
        return done

    return run


class LiveRun:
    """`ca_plans.py` running, its documents read as they come."""

    def __init__(self, impl, plan, command, env):
        self.impl, self.plan = impl, plan
        self.killed = False
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self.lines), daemon=True).start()
        self._stderr_lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process.stderr, self._stderr_lines), daemon=True).start()

    @staticmethod
    def _pump(stream, into):
        for line in stream:
            into.put(line)
        into.put(None)

    def wait_for_event(self, timeout=PLAN_TIMEOUT):
        """Block until the run has emitted an event document."""
        self.wait_for("event", timeout)

    def wait_for(self, name, timeout=PLAN_TIMEOUT) -> dict:
        """Block until the plan has printed a line named `name`; its "doc"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                pytest.fail(f"no {name} within {timeout} s\n{self.finish()}")
            if line is None:
                self.lines.put(None)  # for finish(): the stream has ended
                pytest.fail(f"the plan ended before its first {name}\n{self.finish()}")
            self.stdout.append(line)
            item = json.loads(line)
            if item.get("name") == name:
                return item["doc"]

    def send(self, line: str = "go"):
        """Write a line to the plan's stdin (it waits for one at its turns)."""
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()

    def finish(self, timeout=PLAN_TIMEOUT) -> PlanRun:
        """Wait for the end (killing it after `timeout` s: `killed`) and
        parse what it printed."""
        self.process.stdin.close()  # a plan waiting for its turn goes on
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.kill()
            self.process.wait()
        for source, sink in ((self.lines, self.stdout), (self._stderr_lines, self.stderr)):
            while (line := source.get(timeout=5)) is not None:
                sink.append(line)
        return PlanRun.parse(self.impl, self.plan, self.process.returncode, "".join(self.stdout), "".join(self.stderr))


@pytest.fixture(scope="module")
def start_plan(ca_env, plan_command):
    """Start a plan with an implementation in a subprocess and return at
    once, to follow its documents and signal it."""
    started = []

    def start(impl: str, plan: str) -> LiveRun:
        started.append(LiveRun(impl, plan, plan_command(impl, plan), ca_env))
        return started[-1]

    yield start
    for live in started:
        live.kill()


class Documents:
    """A RunEngine subscriber that keeps and validates every document."""

    def __init__(self):
        self.docs = []

    def __call__(self, name, doc):
        event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
        self.docs.append((name, doc))

    def named(self, name):
        return [doc for n, doc in self.docs if n == name]

    @property
    def stop(self):
        (stop,) = self.named("stop")
        return stop


@pytest.fixture
def RE():
    RE = RunEngine({}, call_returns_result=False)
    documents = Documents()
    RE.subscribe(documents)
    RE.documents = documents
    yield RE
    if RE.state != "idle":
        RE.halt()
