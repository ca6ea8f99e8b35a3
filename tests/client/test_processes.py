"""Several processes, one data folder; a standalone API that goes away and comes back.
Real `takes` processes, a real sandbox on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.client.manager import JobManager
from app.client.store import JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    FAST_POLL,
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    balance,
    fast_client,
    free_port,
    run,
    server_jobs,
    until,
)

ROOT = Path(__file__).resolve().parents[2]
#: a rule that holds each answer a little and counts the requests it matched (its count goes
#: down): the first download is still under way when the second process looks at the take
COUNTED = 10_000
HOLD_S = 4


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TAKES_API_KEY": KEY, "TAKES_DATA_DIR": str(tmp_path / "data"),
            "PYTHONPATH": str(ROOT)}


def _takes(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_resumes_at_once_download_a_take_once(tmp_path):
    """`takes resume --wait` twice at the same time on one store and work folder: one of them
    claims the take and downloads it, the other follows the store and reports it; one GET of
    the file reaches the server, one file, one charge."""
    files = {"paths": "GET /v1/files/*", "delay_s": HOLD_S, "count": COUNTED}
    with SandboxServer(tmp_path / "sb", key=KEY, credits=START_CREDITS, render_seconds=2.0,
                       faults={"responses": [files]}) as sb:
        env = _env(tmp_path)
        payload = tmp_path / "payload.json"
        payload.write_text(json.dumps(PROMPT_ONLY))
        common = ["--api", sb.url, "--store", str(tmp_path / "jobs.sqlite3"), "--workdir",
                  str(tmp_path / "work"), "--poll", "0.1"]
        submitted = _takes("submit", "seedance_r2v", str(payload), *common, env=env)
        out, err = submitted.communicate(timeout=60)
        assert submitted.returncode == 0, err
        take = json.loads(out)
        assert take["status"] in ("queued", "running")
        both = [_takes("resume", "--wait", *common, env=env) for _ in range(2)]
        results = [p.communicate(timeout=90) for p in both]
        assert [p.returncode for p in both] == [0, 0], [e[-500:] for _, e in results]
        finals = [json.loads(o.splitlines()[0]) for o, _ in results]
        # both found the take unfinished (they overlapped) and both report it delivered
        assert [f["id"] for f in finals] == [take["id"]] * 2
        assert {f["result_path"] for f in finals} == {str(tmp_path / "work" / "lighthouse.mp4")}
        [rule] = sb.faults.snapshot()["responses"]
        assert COUNTED - rule["count"] == 1  # one download reached the server
        assert [p.name for p in (tmp_path / "work").iterdir()] == ["lighthouse.mp4"]

        async def state() -> tuple[int, int]:
            async with fast_client(sb.url) as api:
                return len(await server_jobs(api)), await balance(api)

        assert asyncio.run(state()) == (1, START_CREDITS - PROMPT_ONLY_COST)


def _standalone(port: int, data: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = _takes("sandbox", "--port", str(port), "--key", KEY, "--data", str(data),
                  "--credits", str(START_CREDITS), "--render-seconds", "2.5", env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert re.match(rf"Sandbox API: http://127\.0\.0\.1:{port}$", line.strip()), line
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def test_polling_across_a_standalone_sandbox_restart(tmp_path):
    """`takes sandbox` stops mid-job and starts again on the same port and data folder: the
    manager reports offline, then online by itself; the take is never marked failed; it
    finishes (the server resumes its render) and is downloaded once, charged once."""
    port, data, env = free_port(), tmp_path / "server", _env(tmp_path)
    server = _standalone(port, data, env)
    seen: list[bool] = []

    async def main() -> None:
        changed = asyncio.Event()

        def online(value: bool) -> None:
            seen.append(value)
            changed.set()

        api = fast_client(f"http://127.0.0.1:{port}", max_retries=1, deadline_s=2)
        store = JobStore(tmp_path / "jobs.sqlite3")
        manager = JobManager(api, store, tmp_path / "work", FAST_POLL)
        unsubscribe = manager.subscribe_online(online)
        nonlocal server
        try:
            rec = await manager.submit("seedance_r2v", PROMPT_ONLY)
            await asyncio.to_thread(_stop, server)
            await asyncio.wait_for(changed.wait(), 20)
            assert seen == [False] and not manager.online
            failed = len([a for a in api.trace if a.error])
            await until(lambda: len([a for a in api.trace if a.error]) >= failed + 3)
            assert store.get(rec.id).status in ("queued", "running")
            changed.clear()
            server = await asyncio.to_thread(_standalone, port, data, env)
            await asyncio.wait_for(changed.wait(), 20)
            assert seen == [False, True] and manager.online
            done = await asyncio.wait_for(manager.wait(rec.id), 60)
            assert done.status == "succeeded" and done.result_path
            assert all(status != "failed" for status, _ in done.history)
            assert done.error_code is None
            size = await asyncio.to_thread(os.path.getsize, done.result_path)
            assert size == done.result["size_bytes"]
            assert [j["id"] for j in await server_jobs(api)] == [done.remote_id]
            assert await balance(api) == START_CREDITS - PROMPT_ONLY_COST
        finally:
            unsubscribe()
            await manager.close()
            await api.close()
            store.close()

    try:
        run(main(), timeout=150)
    finally:
        _stop(server)
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["lighthouse.mp4"]


def test_the_window_and_takes_resume_beside_it_download_a_take_once(tmp_path, media):
    """The real window (offscreen) renders a take and its download is held; `takes resume
    --wait` started beside it on the same data folder (its own built-in sandbox on the same
    sandbox folder) finds the take, sees the window's claim, waits, and reports the window's
    file: one download, one file, one charge."""
    sys.path.insert(0, str(ROOT / "bench"))
    from faults_gui import Window
    from faults_gui import _env as window_env
    from faults_kill import _builtin_state

    held = {"responses": [{"paths": "GET /v1/files/*", "delay_s": 20}]}  # > a loaded start
    env = window_env(tmp_path, TAKES_FAULTS=json.dumps(held),
                     TAKES_IMAGE=str(media["img_640x480"]))
    data = tmp_path / "data"
    window = Window("deliver", tmp_path, env)
    try:
        window.until(lambda line: line == "CLICKED")
        window.until(lambda line: line.startswith("ATTEMPT GET /v1/files/"))
        started = time.monotonic()
        resume = subprocess.run(
            [sys.executable, "-m", "app", "resume", "--wait", "--store",
             str(data / "jobs.sqlite3"), "--workdir", str(data / "work"), "--poll", "0.2"],
            cwd=ROOT, env=window_env(tmp_path), capture_output=True, text=True, timeout=120)
        window.until(lambda line: line == "SETTLED")
        assert window.wait() == 0
    finally:
        if window.proc.poll() is None:
            window.kill()
    assert resume.returncode == 0, resume.stderr[-800:]
    assert resume.stdout, f"nothing to resume after {time.monotonic() - started:.1f} s"
    reported = json.loads(resume.stdout.splitlines()[0])  # it found the take unfinished
    store = JobStore(data / "jobs.sqlite3")
    try:
        [rec] = store.query()
    finally:
        store.close()
    assert reported["id"] == rec.id and reported["result_path"] == rec.result_path
    files = [p for p in (data / "work").rglob("*") if p.is_file()]
    assert files == [Path(rec.result_path)]
    assert files[0].stat().st_size == rec.result["size_bytes"]
    downloads = [line for line in window.seen if line.startswith("ATTEMPT GET /v1/files/")]
    assert len(downloads) == 1
    jobs, credits, start = _builtin_state(data / "sandbox")
    assert len(jobs) == 1 and start - credits == rec.credits_charged > 0
