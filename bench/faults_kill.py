"""SIGKILL of `takes submit --wait` at a named point, then `takes resume --wait`: real processes,
a real sandbox (the built-in one of `takes`, or a standalone `takes sandbox`).

As a script it is the process that dies: it arms one kill point and runs `python -m app`:

    python3 bench/faults_kill.py POINT submit MODEL payload.json --wait ...

`kill_and_resume(point, where, root, image)` runs one scenario and counts what went wrong:
takes lost (not downloaded whole), duplicate charges (a second server job or more credits
spent than the take's charge) and partial files (`.part` leftovers, stray files).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-faults-bench-KEY-51c2"
CREDITS = 100_000

#: point → what the killed process had done
POINTS = {
    "upload": "sent part of a reference image (mid-upload)",
    "stored": "stored the row, nothing uploaded or POSTed",
    "body": "stored the exact body, before the POST",
    "post": "POSTed; the API answered 202, the answer was not processed (mid-POST)",
    "accepted": "recorded the 202 (the remote id)",
    "polling": "seen the job running (while polling)",
    "download": "written half of the first chunk of the result (mid-download)",
    "placed": "renamed the result into place, before the row update",
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    """Patch the client so that this process SIGKILLs itself at `point`."""
    from app.client import api, store

    if point == "upload":
        multipart = api._multipart

        async def dying_multipart(*a: Any) -> Any:
            parts = multipart(*a)
            yield await parts.__anext__()  # the multipart head
            yield await parts.__anext__()  # the first chunk of the file
            _die()

        api._multipart = dying_multipart
    elif point in ("stored", "body", "accepted", "polling"):
        _arm_store(store.JobStore, point)
    elif point == "post":
        create_job = api.ApiClient.create_job

        async def dying_create_job(self: Any, *a: Any, **kw: Any) -> Any:
            await create_job(self, *a, **kw)
            _die()

        api.ApiClient.create_job = dying_create_job
    elif point == "download":
        open_at = api._open_at

        class DyingFile:
            def __init__(self, fh: Any) -> None:
                self.fh = fh

            def write(self, chunk: bytes) -> None:
                self.fh.write(chunk[: max(1, len(chunk) // 2)])
                self.fh.flush()
                os.fsync(self.fh.fileno())
                _die()

        api._open_at = lambda p, offset: DyingFile(open_at(p, offset))
    elif point == "placed":
        place_file = api.place_file

        def dying_place_file(*a: Any) -> Any:
            place_file(*a)
            _die()

        api.place_file = dying_place_file
    else:
        raise SystemExit(f"unknown kill point {point!r}; known: {', '.join(POINTS)}")


def _arm_store(cls: Any, point: str) -> None:
    add, set_wire, update = cls.add, cls.set_wire, cls.update

    def dying_add(self: Any, *a: Any, **kw: Any) -> Any:
        add(self, *a, **kw)
        _die()

    def dying_set_wire(self: Any, id: str, **kw: Any) -> None:
        set_wire(self, id, **kw)
        if kw.get("body") is not None:
            _die()

    def dying_update(self: Any, id: str, **changes: Any) -> Any:
        rec = update(self, id, **changes)
        if (point == "accepted" and "remote_id" in changes) or \
                (point == "polling" and changes.get("status") == "running"):
            _die()
        return rec

    patch = {"stored": ("add", dying_add), "body": ("set_wire", dying_set_wire)}
    name, fn = patch.get(point, ("update", dying_update))
    setattr(cls, name, fn)


# ---- one scenario -----------------------------------------------------------------------


@dataclass
class Outcome:
    lost: int = 0
    duplicates: int = 0
    partial: int = 0
    note: str = ""


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "TAKES_API_KEY": KEY, "TAKES_DATA_DIR": str(root / "data"),
            "PYTHONPATH": str(ROOT), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


@contextlib.contextmanager
def standalone_sandbox(data: Path, env: dict[str, str]) -> Iterator[str]:
    """`takes sandbox` in its own process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "app", "sandbox", "--port", "0", "--key",
                             KEY, "--data", str(data), "--credits", str(CREDITS),
                             "--render-seconds", "1.5"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.match(r"Sandbox API: (\S+)", line)
        if not m:
            raise RuntimeError(f"takes sandbox did not start: {line!r}")
        yield m.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def _server_state(url: str) -> tuple[list[dict[str, Any]], int]:
    import httpx

    h = {"Authorization": f"Bearer {KEY}"}
    jobs = httpx.get(f"{url}/v1/jobs", params={"limit": 100}, headers=h, timeout=10).json()
    account = httpx.get(f"{url}/v1/account", headers=h, timeout=10).json()
    return list(jobs["jobs"]), int(account["credits"])


def _builtin_state(data: Path) -> tuple[list[dict[str, Any]], int, int]:
    """(jobs, balance, starting balance) of the built-in sandbox's folder, read by a server
    of our own on it once the `takes` processes are gone."""
    from app.sandbox.server import SandboxServer

    start = inspect.signature(SandboxServer).parameters["credits"].default
    with SandboxServer(data, key=KEY) as sb:
        jobs, credits = _server_state(sb.url)
    return jobs, credits, start


def kill_and_resume(point: str, where: str, root: Path, image: Path,
                    poll: float = 0.1) -> Outcome:
    """One take with a reference image: submit killed at `point`, then resumed twice."""
    root.mkdir(parents=True, exist_ok=True)
    env = _env(root)
    payload = root / "payload.json"
    payload.write_text(json.dumps({
        "prompt": "a lighthouse, in the style of @Image1", "image_urls": [str(image)],
        "duration": 4, "resolution": "480p", "aspect_ratio": "16:9", "out": "shots/take.mp4"}))
    store, work = root / "jobs.sqlite3", root / "work"
    common = ["--store", str(store), "--workdir", str(work), "--poll", str(poll)]
    with contextlib.ExitStack() as stack:
        if where == "standalone":
            url = stack.enter_context(standalone_sandbox(root / "sandbox-server", env))
            common += ["--api", url]
        killed = subprocess.run([sys.executable, str(Path(__file__)), point, "submit",
                                 "seedance_r2v", str(payload), "--wait", *common],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        if killed.returncode != -signal.SIGKILL:
            return Outcome(lost=1, note=f"not killed at {point}: rc {killed.returncode} "
                           f"{killed.stderr[-300:]}")
        resumed = _takes(["resume", "--wait", *common], env)
        again = _takes(["resume", "--wait", *common], env)
        if where == "standalone":
            jobs, credits = _server_state(url)
            start = CREDITS
    if where == "built-in":
        jobs, credits, start = _builtin_state(root / "data" / "sandbox")
    return _count(store, work, jobs, start - credits, resumed, again)


def _takes(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _count(store_path: Path, work: Path, jobs: list[dict[str, Any]], spent: int,
           resumed: subprocess.CompletedProcess[str],
           again: subprocess.CompletedProcess[str]) -> Outcome:
    from app.client.store import JobStore

    store = JobStore(store_path)
    try:
        records = store.query()
    finally:
        store.close()
    out = Outcome()
    notes = []
    if resumed.returncode != 0 or again.returncode != 0 or again.stdout.strip():
        notes.append(f"resume rc {resumed.returncode}/{again.returncode}: "
                     f"{(resumed.stderr + again.stderr)[-300:]}")
    files = sorted(p for p in work.rglob("*") if p.is_file()) if work.exists() else []
    good = [r for r in records if r.status == "succeeded" and r.result_path and
            Path(r.result_path).is_file() and
            Path(r.result_path).stat().st_size == (r.result or {}).get("size_bytes")]
    out.lost = int(len(good) != 1)
    charged = sum(r.credits_charged or 0 for r in good)
    out.duplicates = max(0, len(jobs) - 1) + int(spent != charged) + max(0, len(records) - 1)
    out.partial = sum(1 for p in files if p.name.endswith(".part")) + \
        max(0, len(files) - len(good))
    if out.lost or out.duplicates or out.partial:
        notes.append(f"records {[(r.status, r.error_message) for r in records]}, "
                     f"server jobs {len(jobs)}, spent {spent}, files {[p.name for p in files]}")
    out.note = "; ".join(notes)
    return out


if __name__ == "__main__":
    import runpy

    sys.path.insert(0, str(ROOT))
    arm(sys.argv[1])
    sys.argv = ["takes", *sys.argv[2:]]
    runpy.run_module("app", run_name="__main__", alter_sys=True)
