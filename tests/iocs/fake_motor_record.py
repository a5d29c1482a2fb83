#!/usr/bin/env python3
"""caproto's motor record simulation (three motors, PVs PREFIX mtr1..mtr3),
for the ophyd-rs Channel Access tests: the same as
`python -m caproto.ioc_examples.fake_motor_record ARGS...`, but it exits
when its parent (the test process) goes away, so an IOC never outlives its
test.

Usage: fake_motor_record.py --prefix P: --interfaces 127.0.0.1 [caproto options]
Logs "Server startup complete." once it serves its PVs.
"""
import os
import runpy
import sys
import threading
import time


def exit_with_parent():
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=exit_with_parent, daemon=True).start()
    sys.argv[0] = "fake_motor_record"
    runpy.run_module("caproto.ioc_examples.fake_motor_record", run_name="__main__", alter_sys=True)
