"""SIGKILL of the real app window (`takes`, offscreen) inside a step of a take, then the app
started again, then `takes resume --wait`: the take delivered once, one charge, nothing partial.

`kill_window(point, root, image)` runs one scenario. The window's built-in sandbox is slowed
with its own fault injection so that the kill lands inside the step, and the state left
behind (the job store, the sandbox's database, the work folder) is checked to say it did:

- upload: the reference image was received, the answer with its URL is held back
  (`delay_s` on `POST /v1/uploads`): stored take, nothing POSTed, no server job;
- post: the job was made and charged, the 202 is held back (`delay_s` on `POST /v1/jobs/*`):
  the body is stored, no remote id yet, one server job;
- download: the first transfer was cut at half the file and the resumed `Range` request is
  held back: half the result in the hidden `.part` file, the take succeeded, no result path.

As a script (`python3 bench/faults_gui.py window submit|settle|deliver`) it is the app:
`run_app` unchanged, plus a timer that drives and watches it from inside (like
tests/ui/window_process.py) and prints one line per event on stdout: `READY`, `ATTEMPT <method>
<path>` for each request the client starts, `CLICKED` once it pressed Render (`submit`,
`deliver`), and `SETTLED` when every take is delivered (`settle`, `deliver`; then it closes the
window and the app exits).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

GUI_POINTS = {
    "upload": "mid-upload: image received, its answer held",
    "post": "mid-POST: job made and charged, the 202 held",
    "download": "mid-download: half the file on disk, the Range request held",
}
HOLD_S = 30
FAULTS = {
    "upload": {"responses": [{"paths": "POST /v1/uploads", "delay_s": HOLD_S}]},
    "post": {"responses": [{"paths": "POST /v1/jobs/*", "delay_s": HOLD_S}]},
    "download": {"responses": [{"paths": "GET /v1/files/*", "drop": 0.5},
                               {"paths": "GET /v1/files/*", "delay_s": HOLD_S}]},
}
#: the request whose start (the n-th of its kind) means the held step is under way
HELD = {"upload": ("POST /v1/uploads", 1), "post": ("POST /v1/jobs/", 1),
        "download": ("GET /v1/files/", 2)}
PROMPT = "a lighthouse, in the style of @Image1"
STEP_TIMEOUT_S = 90.0


# ---- the parent: run, kill, restart, count -----------------------------------------------


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TAKES_DATA_DIR": str(root / "data"), "PYTHONPATH": str(ROOT),
            "TAKES_WORK_DIR": str(root / "data" / "work"),  # results beside the data, not ~
            "QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.multimedia.*=false",
            "XDG_CONFIG_HOME": str(root / "config"), "XDG_RUNTIME_DIR": str(root / "run"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **extra}


class Window:
    """The app in a process of its own; its event lines read by a thread into a queue."""

    def __init__(self, mode: str, root: Path, env: dict[str, str]) -> None:
        (root / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(root / f"window-{mode}.log", "a") as log:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__)), "window", mode],
                                         cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                         stderr=log, text=True)
        self.events: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(line.strip())
        self.events.put(None)

    def until(self, done: Callable[[str], bool], timeout: float = STEP_TIMEOUT_S) -> None:
        """Until an event line satisfies `done`; TimeoutError if the process ends first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise TimeoutError(f"no such event; seen {self.seen[-5:]}, "
                                   f"rc {self.proc.poll()}")
            self.seen.append(line)
            if done(line):
                return

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.wait()

    def wait(self, timeout: float = 30) -> int:
        self.proc.wait(timeout)
        return self.proc.returncode


def _sandbox_counts(data: Path) -> dict[str, int]:
    """Jobs, uploads and charges in the built-in sandbox's database (read-only)."""
    db = sqlite3.connect(f"file:{data / 'sandbox' / 'sandbox.sqlite3'}?mode=ro", uri=True,
                         timeout=10)
    try:
        return {"jobs": db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0],
                "uploads": db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0],
                "charges": db.execute("SELECT COUNT(*) FROM ledger WHERE delta < 0"
                                      ).fetchone()[0]}
    finally:
        db.close()


def _wait_held(point: str, data: Path, window: Window) -> None:
    """Until the step is under way and held by the fault (evidence from the server side for
    the upload and the POST: the request was handled, only its answer is pending)."""
    prefix, nth = HELD[point]
    starts = 0

    def started(line: str) -> bool:
        nonlocal starts
        starts += line.startswith(f"ATTEMPT {prefix}")
        return starts >= nth

    window.until(started)
    want = {"upload": "uploads", "post": "jobs"}.get(point)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while want and _sandbox_counts(data)[want] < 1:
        if time.monotonic() > deadline or window.proc.poll() is not None:
            raise TimeoutError(f"the sandbox never handled the {point} request")
        time.sleep(0.02)


def _where_it_was(point: str, data: Path) -> str | None:
    """None when the state after the kill is the one of the step `point`; else what it was."""
    from app.client.store import JobStore

    store = JobStore(data / "jobs.sqlite3")
    try:
        recs = store.query()
        wire = store.wire(recs[0].id)[0] if len(recs) == 1 else None
    finally:
        store.close()
    sb = _sandbox_counts(data)
    parts = sorted((data / "work").rglob(".takes-*.part"))
    if len(recs) != 1:
        return f"{len(recs)} takes stored"
    rec = recs[0]
    state = (f"status {rec.status}, remote id {rec.remote_id}, body {wire is not None}, "
             f"server {sb}, part {[p.stat().st_size for p in parts]}")
    size = (rec.result or {}).get("size_bytes") or 0
    ok = {
        "upload": rec.status == "pending" and wire is None and sb["jobs"] == 0 and
        sb["uploads"] == 1 and not parts,
        "post": rec.status == "pending" and rec.remote_id is None and wire is not None and
        sb["jobs"] == 1 and sb["charges"] == 1 and not parts,
        "download": rec.status == "succeeded" and rec.result_path is None and
        len(parts) == 1 and 0 < parts[0].stat().st_size < size,
    }[point]
    return None if ok else state


def kill_window(point: str, root: Path, image: Path) -> Any:
    """One scenario; returns a `faults.Run` (lost, duplicates, partial, misfired, note)."""
    from faults import Run, tally
    from faults_kill import _builtin_state

    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    env = _env(root, TAKES_FAULTS=json.dumps(FAULTS[point]), TAKES_IMAGE=str(image))
    first = Window("submit", root, env)
    try:
        first.until(lambda line: line == "CLICKED")
        _wait_held(point, data, first)
    except TimeoutError as e:
        return Run(misfired=1, lost=1, note=f"{point}: {e}; see {root}/window-submit.log")
    finally:
        rc = first.kill()
    if rc != -signal.SIGKILL:
        return Run(misfired=1, note=f"the window ended by itself (rc {rc})")
    wrong = _where_it_was(point, data)
    again = Window("settle", root, _env(root))
    try:
        again.until(lambda line: line == "SETTLED")
        again.wait()
        settled = ""
    except (TimeoutError, subprocess.TimeoutExpired) as e:
        again.kill()
        settled = f"the restarted window did not settle: {e}"
    resumed = subprocess.run(
        [sys.executable, "-m", "app", "resume", "--wait", "--store", str(data / "jobs.sqlite3"),
         "--workdir", str(data / "work")], cwd=ROOT, env=_env(root), capture_output=True,
        text=True, timeout=120)
    from app.client.store import JobStore

    jobs, credits, start = _builtin_state(data / "sandbox")
    store = JobStore(data / "jobs.sqlite3")
    try:
        out = tally(store, data / "work", len(jobs), start - credits)
    finally:
        store.close()
    notes = [settled, out.note]
    if resumed.returncode != 0 or resumed.stdout.strip():
        notes.append(f"takes resume afterwards: rc {resumed.returncode}, "
                     f"{(resumed.stdout + resumed.stderr)[-300:]}")
        out.lost += int(resumed.returncode != 0)
    if wrong:
        out.misfired = 1
        notes.append(f"the kill did not land {GUI_POINTS[point]}: {wrong}")
    out.note = "; ".join(filter(None, notes))
    return out


# ---- the child: the app, driven from inside --------------------------------------------


def _child(mode: str) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.main import make_app, run_app
    from app.ui.window import MainWindow

    def say(text: str) -> None:
        print(text, flush=True)

    def window() -> MainWindow | None:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        return found[0] if found else None

    seen = 0
    state: dict[str, Any] = {"clicked": False, "ready": False}

    def tick() -> None:
        nonlocal seen
        w = window()
        if w is None or not w.balance_label.text()[-1:].isdigit():
            return
        trace = w.studio.client.trace
        for a in list(trace)[seen:]:
            say(f"ATTEMPT {a.method} {a.path}")
        seen = len(trace)
        if not state["ready"]:
            state["ready"] = True
            say("READY")
            if mode != "settle":
                _start_take(w)
        elif mode != "settle" and not state["clicked"]:
            if w.render_btn.isEnabled():
                state["clicked"] = True
                w.render_btn.click()
                say("CLICKED")
        elif mode != "submit" and _settled(w):
            say("SETTLED")
            timer.stop()
            w.close()

    make_app()
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    return run_app()


def _start_take(w: Any) -> None:
    faults = os.environ.get("TAKES_FAULTS")
    if faults:
        w.studio.server.set_faults(**json.loads(faults))
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), "prompt": PROMPT,
                        "image_urls": [os.environ["TAKES_IMAGE"]], "duration": 4,
                        "resolution": "480p", "aspect_ratio": "16:9"})


def _settled(w: Any) -> bool:
    store = w.studio.store
    takes = store.query()
    return bool(takes) and not store.unfinished() and all(r.result_path for r in takes)


if __name__ == "__main__":
    if sys.argv[1:2] != ["window"] or sys.argv[2:3] not in (["submit"], ["settle"],
                                                            ["deliver"]):
        raise SystemExit("usage: faults_gui.py window submit|settle|deliver")
    sys.path.insert(0, str(ROOT))
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(_child(sys.argv[2]))

