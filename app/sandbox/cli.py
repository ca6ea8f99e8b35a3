"""`takes sandbox`: run the local sandbox render API in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from app.cliargs import api_key, json_object, seconds, whole, writable_folder


def default_data_dir() -> Path:
    """Beside the app's own data (TAKES_DATA_DIR honoured), apart from the embedded sandbox's
    folder so a standalone server never shares state with a running app."""
    from app.client.paths import data_dir

    return data_dir() / "sandbox-server"


def _run(args: argparse.Namespace) -> int:
    from app.sandbox import folder

    data = writable_folder(Path(args.data).expanduser() if args.data else default_data_dir(),
                           "--data")
    lock = folder.OwnerLock(data)  # one server per folder, as the app's built-in sandbox
    with folder.StartLock(data):  # not while an app is looking at who serves it
        owner = lock.acquire()
    if not owner:
        state = folder.read_state(data)
        at = f" at {state['url']}" if state else ""
        print(f"takes sandbox: another process already serves {data}{at}", file=sys.stderr)
        return 2
    try:
        return _serve(args, data)
    finally:
        folder.clear_state(data, os.getpid())
        lock.release()


def _serve(args: argparse.Namespace, data: Path) -> int:
    from app.sandbox import folder
    from app.sandbox.server import SandboxServer

    try:
        faults = json_object(args.faults) if args.faults else None
    except ValueError as e:  # bad JSON (PayloadError) or a fault the sandbox refuses
        print(f"takes sandbox: --faults: {e}", file=sys.stderr)
        return 2
    from app.sandbox.extra import ExtraModelError

    try:
        server = SandboxServer(data, key=args.key, credits=args.credits, port=args.port,
                               render_seconds=args.render_seconds,
                               job_timeout_s=args.job_timeout, faults=faults,
                               models_dir=args.models_dir)
    except ExtraModelError as e:  # a folder that is not one, a file that is not a schema
        print(f"takes sandbox: --models-dir: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # a fault the sandbox refuses
        print(f"takes sandbox: --faults: {e}", file=sys.stderr)
        return 2
    try:
        url = server.start()
    except OSError as e:
        print(f"takes sandbox: cannot listen on port {args.port}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    folder.write_state(data, url=url, key=server.key, pid=os.getpid())  # the app joins it
    print(f"Sandbox API: {url}", flush=True)
    if not args.key:
        print(f"API key: {server.key}", flush=True)
    print(f"Data: {data}\nPress Ctrl+C to stop.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        folder.clear_state(data, os.getpid())  # before the server goes: nobody joins late
        server.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sandbox", help="run the local sandbox render API")
    p.add_argument("--port", type=whole(0, 65535), default=0,
                   help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--key", type=api_key,
                   help="the API key to require (default: a random one, printed)")
    p.add_argument("--data", help="state directory (default: the user data folder)")
    p.add_argument("--credits", type=whole(0, 10**15), default=10_000,
                   help="starting balance of a new data directory (default 10,000)")
    p.add_argument("--render-seconds", type=seconds(0, 3600), default=2.0,
                   help="how long each job runs (default 2)")
    p.add_argument("--job-timeout", type=seconds(1, 7 * 86400), default=900.0,
                   help="seconds before an unfinished job times out (default 900)")
    p.add_argument("--faults", help="faults to inject, as JSON (see app.sandbox.faults)")
    p.add_argument("--models-dir", metavar="DIR",
                   help="serve extra models from the schema files (*.json) of DIR, beside "
                        "the curated seven (see app.sandbox.extra)")
    p.set_defaults(func=_run)
