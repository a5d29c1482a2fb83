#!/usr/bin/env python3
"""EPICS base's soft IOC (from the `epicscorelibs` package), headless, with
access security, for the ophyd-rs Channel Access tests.

`python -m epicscorelibs.ioc` runs the same IOC but has no option for an
access-security file and ends in an interactive shell on standard input; this
runs the same start-up steps, then waits for SIGTERM/SIGINT, or for its parent
(the test process) to go away, so an IOC never outlives its test.

Usage: softioc.py -d FILE.db [-r FILE.db MACROS]... [-m P=prefix:] [-a FILE.acf]
`-r` loads a database once more with macros of its own (besides `-m`'s): a
template loaded once per device serves any number of distinct PVs.
Prints "IOC Running" on standard error once iocInit() has completed.
Channel Access only: no pvAccess server is started.
"""
import argparse
import os
import signal
import sys
import threading
import time

import epicscorelibs.ioc as eioc


def exit_with_parent():
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--database", action="append", default=[], help="database file (repeatable)")
    parser.add_argument(
        "-r",
        "--records",
        nargs=2,
        action="append",
        default=[],
        metavar=("FILE", "MACROS"),
        help="database file and macros of this load only, e.g. block.db D=dev7 (repeatable)",
    )
    parser.add_argument("-m", "--macros", default="", help="macros for every database, e.g. P=test:")
    parser.add_argument("-a", "--acf", default=None, help="access security configuration file")
    args = parser.parse_args()

    threading.Thread(target=exit_with_parent, daemon=True).start()

    if args.acf:
        # asInit() reads the file during iocInit().
        if eioc.dbCore.asSetFilename(os.path.abspath(args.acf).encode()) not in (0, None):
            raise SystemExit(f"asSetFilename({args.acf}) failed")
        # The file's INP links name records through the same macros.
        if args.macros and eioc.dbCore.asSetSubstitutions(args.macros.encode()) not in (0, None):
            raise SystemExit(f"asSetSubstitutions({args.macros}) failed")

    loads = [(db, args.macros) for db in args.database]
    loads += [(db, ",".join(m for m in (args.macros, own) if m)) for db, own in args.records]
    eioc.start_ioc(dbs=loads, extra_dbd_load=(), extra_dso_load=())

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    sys.exit(0)  # atexit runs epicsExitCallAtExits()


if __name__ == "__main__":
    main()
