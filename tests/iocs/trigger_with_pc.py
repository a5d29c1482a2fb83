#!/usr/bin/env python3
"""The staging tutorial's IOC, caproto's `trigger_with_pc` example, for the
ophyd-rs Channel Access tests: the same as
`python -m caproto.ioc_examples.too_clever.trigger_with_pc ARGS...`, but it
exits when its parent (the test process) goes away, so an IOC never outlives
its test.

Usage: trigger_with_pc.py --prefix P: --interfaces 127.0.0.1 [caproto options]
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
    sys.argv[0] = "trigger_with_pc"
    runpy.run_module("caproto.ioc_examples.too_clever.trigger_with_pc", run_name="__main__", alter_sys=True)
