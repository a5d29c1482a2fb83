#!/usr/bin/env python3
"""One of caproto's example IOCs, for the ophyd-rs Channel Access tests: the
same as `python -m MODULE ARGS...`, but it exits when its parent (the test
process) goes away, so an IOC never outlives its test.

Usage: caproto_ioc.py MODULE --prefix P: --interfaces 127.0.0.1 [caproto options]
  MODULE: caproto.ioc_examples.too_clever.trigger_with_pc (the staging
          tutorial's IOC) or caproto.ioc_examples.fake_motor_record (three
          motor records, PVs P:mtr1..P:mtr3)
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
    module = sys.argv.pop(1)
    sys.argv[0] = module.rsplit(".", 1)[-1]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
