"""The built-in sandbox as a child process: ``python -m app.sandbox.child`` (started by
`app.sandbox.process`, never by hand).

Protocol, one JSON object a line:

- stdin, first line: the options (``data_dir``, ``key``, ``port``, ``credits``,
  ``render_seconds``, ``job_timeout_s``, ``faults``, ``parent_pid``). The key comes this way,
  never in argv or the environment, which other users can read in /proc.
- stdout: ``{"url": …, "pid": …}`` once the server accepts connections, or
  ``{"error": …, "kind": …}`` if it cannot start (``kind``: ``busy`` when another process
  already serves this data folder, ``port``, ``faults``, ``other``). The key is never written.
- stdin, later lines: ``{"op": "render_seconds", "value": S}`` → ``{"ok": true}``.
- end of stdin (the parent closed it, or died: the kernel closes its end) → stop and exit.

The child dies with its parent: on Linux it asks the kernel for SIGHUP when the parent dies
(``PR_SET_PDEATHSIG``; the kernel sends it when the parent *thread* that started the child
ends, so the handler exits only if the parent process is really gone), and everywhere the end
of stdin stops it. SIGTERM stops it cleanly; SIGINT (a Ctrl+C meant for the parent's
terminal) is ignored: the parent decides.

While it serves, it holds an exclusive ``flock`` on ``<data>/sandbox.lock`` and keeps
``<data>/sandbox.json`` (owner-only, 0600: url, key, pid) so that another user of the same
folder connects to it instead of starting a second server on the same jobs and files.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

from app.sandbox import folder

PR_SET_PDEATHSIG = 1


class _Stop(BaseException):
    """Raised by the signal handlers to leave the stdin loop (not an error)."""


def _die_with_parent(parent_pid: int) -> None:
    """Linux: a SIGHUP when the parent dies; elsewhere the stdin watchdog alone does it."""
    if not sys.platform.startswith("linux") or os.environ.get("TAKES_SANDBOX_NO_PDEATHSIG"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGHUP), 0, 0, 0)

    def on_parent_death(signum: int, frame: object) -> None:
        # Also sent when only the thread that spawned us ends: then our parent is the same.
        if os.getppid() != parent_pid:
            _stop_now()

    signal.signal(signal.SIGHUP, on_parent_death)


def _stop_now() -> None:
    for name in ("SIGTERM", "SIGHUP"):  # one clean stop, not a stop inside it
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise _Stop


def _on_term(signum: int, frame: object) -> None:
    _stop_now()


def _say(out: IO[str], **message: Any) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _server(options: dict[str, Any]) -> Any:
    from app.sandbox.server import SandboxServer

    return SandboxServer(
        Path(options["data_dir"]), key=options["key"], port=int(options.get("port") or 0),
        credits=int(options.get("credits", 10_000)),
        render_seconds=float(options.get("render_seconds", 2.0)),
        job_timeout_s=float(options.get("job_timeout_s", 900.0)),
        faults=options.get("faults"), max_upload_bytes=options.get("max_upload_bytes"),
        models_dir=options.get("models_dir"))


def _serve(options: dict[str, Any], out: IO[str]) -> int:
    from app.sandbox.extra import ExtraModelError
    from app.sandbox.faults import FaultError

    data = Path(options["data_dir"])
    lock = folder.OwnerLock(data)
    if not lock.acquire():
        _say(out, error="another process serves this sandbox folder", kind="busy")
        return 3
    server = None
    try:
        try:
            server = _server(options)
            url = server.start()
        except FaultError as e:
            _say(out, error=f"faults: {e}", kind="faults")
            return 2
        except ExtraModelError as e:
            _say(out, error=f"models: {e}", kind="models")
            return 2
        except OSError as e:
            _say(out, error=f"cannot listen on 127.0.0.1:{options.get('port') or 0}: "
                            f"{e.strerror or e}", kind="port")
            return 2
        folder.write_state(data, url=url, key=server.key, pid=os.getpid())
        _say(out, url=url, pid=os.getpid())
        _commands(server, out)
        return 0
    finally:
        folder.clear_state(data, os.getpid())  # before the server goes: nobody attaches late
        if server is not None:
            server.stop()
        lock.release()


def _commands(server: Any, out: IO[str]) -> None:
    """Serve until stdin ends; answer the parent's control lines."""
    for line in sys.stdin:
        try:
            command = json.loads(line)
            if command.get("op") == "render_seconds":
                seconds = float(command["value"])
                if not 0 <= seconds <= 3600:
                    raise ValueError("render_seconds must be within 0–3600")
                server.render_seconds = seconds
                server.engine.render_seconds = seconds
                _say(out, ok=True)
            else:
                _say(out, error=f"unknown command {command.get('op')!r}", kind="command")
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            _say(out, error=str(e), kind="command")


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    # The protocol owns the real stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        first = sys.stdin.readline()
        if not first:
            return 0  # the parent went before it said anything
        options = json.loads(first)
        parent = int(options.get("parent_pid") or 0)
        _die_with_parent(parent)
        if parent and os.getppid() != parent:
            return 0  # the parent died before the watch was set
        return _serve(options, out)
    except _Stop:
        return 0
    except Exception as e:  # a start-up failure is reported, never shown as a traceback
        with contextlib.suppress(OSError, ValueError):
            _say(out, error=f"{type(e).__name__}: {e}", kind="other")
        return 1
    finally:
        with contextlib.suppress(OSError):
            out.close()


if __name__ == "__main__":
    sys.exit(main())
