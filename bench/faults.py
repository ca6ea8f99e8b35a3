"""The fault report: the client and the app against the sandbox's fault injection, one table.

    python3 bench/faults.py [--short] [--runs N] [--only matrix,kill,gui,store] [--json]

Prints `fault | runs | jobs lost | duplicate charges | partial files` and exits 1 when any
count is not 0. It combines:

- **matrix**: the job manager in this process against a real sandbox on loopback told to
  misbehave (connect errors, 429 with Retry-After, 503 bursts, the POST's or the upload's
  answer lost after the server acted, a download cut mid-way, slow and timed-out responses),
  each scenario run N times with a reference image to upload;
- **kill**: `takes submit --wait` SIGKILLed at each point of `bench/faults_kill.py` on the
  built-in sandbox and on a standalone `takes sandbox`, then `takes resume --wait` twice;
- **gui**: the real window process (`takes`, offscreen) SIGKILLed mid-upload, mid-POST and
  mid-download (`bench/faults_gui.py`), then started again, then `takes resume --wait`;
- **store**: SIGKILLs at random moments of a process writing a `JobStore`, `PRAGMA
  integrity_check` and every confirmed write checked after each (`bench/faults_store.py`).

Counts: *jobs lost* — the take did not end succeeded with its whole file in the work folder
(store: a committed job missing or unreadable); *duplicate charges* — a second server job, or
more credits spent than the take's charge (store: two rows for one idempotency key); *partial
files* — `.part` leftovers or stray files in the work folder (store: half-written rows,
`integrity_check` failures).

`--short` (CI, tests/client/test_fault_report.py): one run per scenario, two of the kill
points (tests/client/test_restart.py runs all 16 in CI), two GUI kill points, 100 store kills:
about 60 s of CPU, three scenarios at a time (`--workers`); 3.5 min of wall time here with
three other test runs sharing the 2 cores (load average 12).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH), str(ROOT / "tests")]

from faults_kill import POINTS, Outcome, kill_and_resume  # noqa: E402

KEY = "sk-faults-report-KEY-0b7e"
CREDITS = 100_000
SHORT_KILLS = [("post", "built-in"), ("download", "standalone")]  # all 16: test_restart
SHORT_GUI = ["post", "download"]


@dataclass
class Run(Outcome):
    misfired: int = 0  # the fault meant to be injected did not happen (a run that proves nothing)


@dataclass
class Row:
    fault: str
    runs: int = 0
    lost: int = 0
    duplicates: int = 0
    partial: int = 0
    misfired: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.runs += 1
        self.lost += o.lost
        self.duplicates += o.duplicates
        self.partial += o.partial
        self.misfired += getattr(o, "misfired", 0)
        if o.note:
            self.notes.append(o.note)

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicates == self.partial == self.misfired == 0


# ---- the client's fault matrix ----------------------------------------------------------

#: name → (sandbox faults, client options); "connect" is special: the server starts late
MATRIX: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "connect errors (server not up yet)": ({}, {}),
    "429 with Retry-After (POST, polls)": ({"responses": [
        {"paths": "POST /v1/jobs/*", "status": 429, "retry_after": 1, "count": 2},
        {"paths": "GET /v1/jobs/*", "status": 429, "retry_after": 1, "count": 2}]}, {}),
    "503 burst on every route": ({"responses": [
        {"paths": "*", "status": 503, "retry_after": 0, "count": 4}]}, {}),
    "upload answer lost (dropped)": ({"responses": [
        {"paths": "POST /v1/uploads", "drop": 0.0}]}, {}),
    "POST answer lost (dropped)": ({"responses": [
        {"paths": "POST /v1/jobs/*", "drop": 0.0}]}, {}),
    "POST answer lost (read timeout)": ({"responses": [
        {"paths": "POST /v1/jobs/*", "delay_s": 1.2}]}, {"timeout": 0.6}),
    "poll connection dropped": ({"responses": [
        {"paths": "GET /v1/jobs/*", "drop": 0.0, "count": 2}]}, {}),
    "download cut mid-way (twice)": ({"responses": [
        {"paths": "GET /v1/files/*", "drop": 0.5},
        {"paths": "GET /v1/files/*", "drop": 0.8}]}, {}),
    "slow responses (0.2 s each, a poll timed out)": ({"latency_s": 0.2, "responses": [
        {"paths": "GET /v1/jobs/*", "delay_s": 1.2}]}, {"timeout": 0.9}),
}


def _payload(image: Path) -> dict[str, Any]:
    return {"prompt": "a lighthouse, in the style of @Image1", "image_urls": [str(image)],
            "duration": 4, "resolution": "480p", "aspect_ratio": "16:9",
            "out": "shots/take.mp4"}


async def _matrix_run(name: str, root: Path, image: Path) -> Outcome:
    from app.client.api import ApiClient
    from app.client.manager import JobManager, PollPolicy
    from app.client.store import JobStore
    from app.sandbox.server import SandboxServer

    faults, options = MATRIX[name]
    late = name.startswith("connect")
    sb = SandboxServer(root / "sandbox", key=KEY, credits=CREDITS, render_seconds=0.3,
                       port=_free_port() if late else 0, faults=faults or None)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the server comes up during the second wait
        waits.append(seconds)
        if late and len(waits) == 2:
            await asyncio.to_thread(sb.start)
        await asyncio.sleep(min(seconds, 1.5))

    if late:
        sb.url = f"http://127.0.0.1:{sb.port}"
    else:
        await asyncio.to_thread(sb.start)
    api = ApiClient(sb.url, KEY, backoff=0.05, backoff_cap=0.5, sleep=sleep,
                    **{"timeout": 5.0, **options})
    store = JobStore(root / "jobs.sqlite3")
    work = root / "work"
    manager = JobManager(api, store, work, PollPolicy(initial=0.1, factor=1.5, maximum=0.3,
                                                      min_gap=0.0, resubmit_every=0.5))
    try:
        rec = await manager.submit("seedance_r2v", _payload(image))
        await asyncio.wait_for(manager.wait(rec.id), 60)
        await manager.close()
        unused = sb.faults.snapshot().get("responses") or []
        sb.set_faults(reset=True)
        jobs = (await api.list_jobs(limit=100))["jobs"]
        spent = CREDITS - int((await api.account())["credits"])
        out = tally(store, work, len(jobs), spent)
        if unused or (late and not any(a.error == "ConnectError" for a in api.trace)):
            out.misfired = 1  # the fault never happened: the run proved nothing
            out.note = f"{out.note}; the fault did not fire (left: {unused})".lstrip("; ")
        return out
    except Exception as e:  # a scenario that raised lost its take
        return Run(lost=1, note=f"{name}: {type(e).__name__}: {e}")
    finally:
        await manager.close()
        await api.close()
        store.close()
        await asyncio.to_thread(sb.stop)


def tally(store: Any, work: Path, server_jobs: int, spent: int, note: str = "") -> Run:
    """Count what went wrong with the one take of a run (see the module docstring)."""
    records = store.query()
    files = sorted(p for p in work.rglob("*") if p.is_file()) if work.exists() else []
    good = [r for r in records if r.status == "succeeded" and r.result_path and
            Path(r.result_path).is_file() and
            Path(r.result_path).stat().st_size == (r.result or {}).get("size_bytes")]
    charged = sum(r.credits_charged or 0 for r in good)
    out = Run(lost=int(len(good) != 1),
                  duplicates=max(0, server_jobs - 1) + int(spent != charged) +
                  max(0, len(records) - 1),
                  partial=sum(1 for p in files if p.name.endswith(".part")) +
                  max(0, len(files) - len(good)))
    if out.lost or out.duplicates or out.partial or note:
        out.note = "; ".join(filter(None, [note, (
            f"records {[(r.status, r.error_message) for r in records]}, server jobs "
            f"{server_jobs}, spent {spent}, files {[p.name for p in files]}")]))
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(row: Row, runs: int, one: Callable[[int], Outcome]) -> Row:
    t = time.monotonic()
    for i in range(runs):
        row.add(one(i))
    row.seconds = time.monotonic() - t
    return row


def matrix_unit(name: str, runs: int, tmp: Path, image: Path) -> Row:
    return _timed(Row(name), runs, lambda i: asyncio.run(
        _matrix_run(name, tmp / f"m-{list(MATRIX).index(name)}-{i}", image)))


# ---- the kills --------------------------------------------------------------------------


def kill_unit(point: str, where: str, runs: int, tmp: Path, image: Path) -> Row:
    return _timed(Row(f"kill -9 takes submit: {point} ({where})"), runs,
                  lambda i: kill_and_resume(point, where, tmp / f"k-{point}-{where}-{i}", image))


def gui_unit(point: str, runs: int, tmp: Path, image: Path) -> Row:
    from faults_gui import GUI_POINTS, kill_window

    return _timed(Row(f"kill -9 the app window: {GUI_POINTS[point]}"), runs,
                  lambda i: kill_window(point, tmp / f"g-{point}-{i}", image))


def store_unit(n: int) -> Row:
    """In a process of its own: it forks its children, so it must hold no threads."""
    t = time.monotonic()
    proc = subprocess.run([sys.executable, str(BENCH / "faults_store.py"), str(n)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    row = Row("kill -9 during job store writes (integrity_check after each)")
    try:
        c = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        row.runs, row.lost = n, n
        row.notes.append(f"faults_store.py rc {proc.returncode}: {proc.stderr[-500:]}")
    else:
        row.runs, row.lost, row.duplicates, row.partial = (c["kills"], c["lost"],
                                                           c["duplicates"], c["partial"])
        if c["note"]:
            row.notes.append(c["note"])
        row.fault += f" — {c['writes']:,} writes"
    row.seconds = time.monotonic() - t
    return row


def units(args: argparse.Namespace, tmp: Path, image: Path) -> list[Callable[[], Row]]:
    """Every scenario of the report, in the table's order."""
    from faults_gui import GUI_POINTS

    parts = set(args.only.split(","))
    runs = args.runs or (1 if args.short else 5)
    pairs = SHORT_KILLS if args.short else [(pt, w) for pt in POINTS
                                            for w in ("built-in", "standalone")]
    out: list[Callable[[], Row]] = []
    if "matrix" in parts:
        out += [functools.partial(matrix_unit, name, runs, tmp, image) for name in MATRIX]
    if "kill" in parts:
        out += [functools.partial(kill_unit, pt, w, 1, tmp, image) for pt, w in pairs]
    if "gui" in parts:
        out += [functools.partial(gui_unit, pt, 1 if args.short else 2, tmp, image)
                for pt in (SHORT_GUI if args.short else GUI_POINTS)]
    if "store" in parts:
        out.append(functools.partial(store_unit, 100 if args.short else 1000))
    return out


def run_all(todo: list[Callable[[], Row]], workers: int) -> list[Row]:
    """Run the units on `workers` threads (each waits mostly on processes and sockets),
    the longest (the last: GUI, kills, store) started first; rows in the table's order."""
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {i: pool.submit(todo[i]) for i in reversed(range(len(todo)))}
        return [futures[i].result() for i in range(len(todo))]


# ---- the report -------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ("fault", "runs", "jobs lost", "duplicate charges", "partial files")
    body = [(r.fault, str(r.runs), str(r.lost), str(r.duplicates), str(r.partial))
            for r in rows]
    lines = [f"| {' | '.join(head)} |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {' | '.join(cells)} |" for cells in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="the reduced version CI runs")
    p.add_argument("--runs", type=int, help="runs per matrix scenario (default 5, short 1)")
    p.add_argument("--only", default="matrix,kill,gui,store",
                   help="comma-separated parts: matrix, kill, gui, store")
    p.add_argument("--json", action="store_true", help="also print the rows as JSON")
    p.add_argument("--workers", type=int, default=3,
                   help="scenarios run at once (default 3; 1 = one after the other)")
    args = p.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="takes-faults-") as d:
        tmp = Path(d)
        import mediafactory as mf

        image = mf.image(tmp / "reference.png", 640, 480)
        rows = run_all(units(args, tmp, image), args.workers)
    print(table(rows))
    print(f"\n{sum(r.runs for r in rows):,} runs in {time.monotonic() - started:.0f} s")
    for r in rows:
        if r.misfired:
            print(f"- {r.fault}: the fault did not fire in {r.misfired} run(s)", file=sys.stderr)
        for note in r.notes[:3]:
            print(f"- {r.fault}: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))
    return 0 if all(r.clean for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
