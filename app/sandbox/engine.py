"""The sandbox's job engine: one worker thread per unfinished job, renders off the event loop.

A job waits briefly as ``queued``, turns ``running`` (its progress is derived from the time
it has run, out of ``render_seconds``), renders its MP4 and ``succeeded`` once
``render_seconds`` have passed. A job still unfinished ``job_timeout_s`` after it was created
becomes ``timed_out``. Cancel, failure and time-out refund the job's credits. Everything a
worker needs is in the database, so a restarted server resumes its unfinished jobs.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.catalog.status import UNFINISHED
from app.sandbox.store import Store
from app.sandbox.watch import PROGRESS_STEP, JobSignals

log = logging.getLogger(__name__)

TICK = 0.05
MAX_PARALLEL_RENDERS = 2


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class Engine:
    def __init__(self, store: Store, files_dir: Path, *, render_seconds: float,
                 job_timeout_s: float, base_url: Callable[[], str]) -> None:
        self.store = store
        self.files_dir = files_dir
        self.render_seconds = max(0.0, float(render_seconds))
        self.job_timeout_s = float(job_timeout_s)
        self.base_url = base_url
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._renders = threading.Semaphore(MAX_PARALLEL_RENDERS)
        #: wakes the held `GET /v1/jobs/<id>?wait=S` requests on every status change
        self.signals = JobSignals()

    # ---- lifecycle ----------------------------------------------------------------------

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self._stop.is_set() or job_id in self._threads:
                return
            t = threading.Thread(target=self._run_safely, args=(job_id,),
                                 name=f"sandbox-job-{job_id}", daemon=True)
            self._threads[job_id] = t
            t.start()

    def resume_all(self) -> None:
        for row in self.store.unfinished():
            self.submit(row["id"])

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.signals.close()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ---- the job object -----------------------------------------------------------------

    def deadline(self, row: dict[str, Any]) -> float:
        return float(row["created_at"]) + self.job_timeout_s

    def refresh(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row, timed out first if its deadline passed (whatever its worker is doing)."""
        if row["status"] in UNFINISHED and time.time() >= self.deadline(row):
            self._time_out(row["id"])
            row = self.store.get_job(row["id"]) or row
        return row

    def job_object(self, row: dict[str, Any]) -> dict[str, Any]:
        result = row.get("result")
        if result:
            result = {"url": f"{self.base_url()}/v1/files/{result['file']}",
                      **{k: v for k, v in result.items() if k != "file"}}
        error = None
        if row.get("error_code"):
            error = {"code": row["error_code"], "message": row["error_message"] or ""}
        return {
            "id": row["id"],
            "model": row["model"],
            "status": row["status"],
            "progress": round(self._progress(row), 3),
            "credits_charged": int(row["credits_charged"]),
            "mock": bool(row["mock"]),
            "created_at": iso(row["created_at"]),
            "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]),
            "error": error,
            "result": result,
        }

    def next_step_at(self, row: dict[str, Any]) -> float | None:
        """When (wall time) a running job's progress reaches its next `PROGRESS_STEP`; None
        when it will not by itself (not running, or held at its top until the render ends)."""
        if row["status"] != "running" or self.render_seconds <= 0 or not row["started_at"]:
            return None
        top = 0.9 if row["fate"] == "stuck" else 0.99
        step = (math.floor(self._progress(row) / PROGRESS_STEP + 1e-9) + 1) * PROGRESS_STEP
        if step > top + 1e-9:
            return None
        return float(row["started_at"]) + step * self.render_seconds

    def _progress(self, row: dict[str, Any]) -> float:
        if row["status"] == "queued":
            return 0.0
        if row["status"] != "running":
            return float(row["progress"])
        elapsed = time.time() - float(row["started_at"] or time.time())
        frac = elapsed / self.render_seconds if self.render_seconds > 0 else 1.0
        top = 0.9 if row["fate"] == "stuck" else 0.99
        return max(0.0, min(top, frac))

    # ---- the worker ---------------------------------------------------------------------

    def _run_safely(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception:
            log.exception("sandbox job %s crashed", job_id)
            self._finish(job_id, "failed", error=("internal_error",
                                                   "The sandbox crashed rendering this job."),
                         refund=True)
        finally:
            with self._lock:
                self._threads.pop(job_id, None)

    def _run(self, job_id: str) -> None:
        row = self.store.get_job(job_id)
        if row is None or row["status"] not in UNFINISHED:
            return
        deadline = self.deadline(row)
        if row["status"] == "queued":
            queue_s = min(0.25, self.render_seconds * 0.1)
            if not self._wait_until(row["created_at"] + queue_s, job_id, deadline):
                return
            if self.store.start_job(job_id, time.time()):
                self.signals.changed(job_id)
            row = self.store.get_job(job_id)
            if row is None or row["status"] != "running":
                return
        if row["fate"] == "stuck":
            self._wait_until(float("inf"), job_id, deadline)
            return
        dest = self.files_dir / f"{job_id}.mp4"
        if not self._render(row, dest, deadline):
            self._wait_until(float("inf"), job_id, deadline)  # canceled / stopping / late
            return
        if not self._wait_until(float(row["started_at"]) + self.render_seconds, job_id,
                                deadline):
            return
        if row["fate"] == "fail":
            code, message = row["plan"].get("fail") or ["render_failed", "The render failed."]
            self._finish(job_id, "failed", error=(code, message), refund=True)
            return
        self._finish(job_id, "succeeded", result=_result_facts(dest))

    def _render(self, row: dict[str, Any], dest: Path, deadline: float) -> bool:
        if dest.exists():
            return True
        job_id = row["id"]

        def should_stop() -> bool:
            return self._stop.is_set() or time.time() >= deadline or not self._unfinished(job_id)

        while not self._renders.acquire(timeout=TICK):  # wait for a render slot
            if should_stop():
                return False
        # numpy, PyAV and Pillow on the first render, not at the server's start (~180 ms)
        from app.sandbox.render import RenderStopped, render

        try:
            render(row["plan"], job_id, dest, should_stop)
        except RenderStopped:
            return False
        finally:
            self._renders.release()
        return True

    def _unfinished(self, job_id: str) -> bool:
        row = self.store.get_job(job_id)
        return row is not None and row["status"] in UNFINISHED

    def _wait_until(self, when: float, job_id: str, deadline: float) -> bool:
        """Sleep until `when`; False when the job finished meanwhile (canceled, timed out)
        or the server is stopping."""
        while True:
            if self._stop.is_set() or not self._unfinished(job_id):
                return False
            now = time.time()
            if now >= deadline:
                self._time_out(job_id)
                return False
            if now >= when:
                return True
            self._stop.wait(min(TICK, when - now, max(deadline - now, 0.001)))

    def _time_out(self, job_id: str) -> None:
        self._finish(job_id, "timed_out", error=(
            "timeout", f"The job did not finish within {self.job_timeout_s:g} s."), refund=True)

    def _finish(self, job_id: str, status: str, *, result: dict[str, Any] | None = None,
                error: tuple[str, str] | None = None, refund: bool = False) -> bool:
        row = self.store.get_job(job_id)
        progress = 1.0 if status == "succeeded" else (self._progress(row) if row else 0.0)
        done = self.store.finish_job(job_id, status, progress=progress, result=result,
                                     error=error, refund=refund)
        if done:
            self.signals.changed(job_id)
            self.notify(job_id)
        return done

    def cancel(self, job_id: str) -> bool:
        return self._finish(job_id, "canceled", error=None, refund=True)

    # ---- webhooks -----------------------------------------------------------------------

    def notify(self, job_id: str) -> None:
        """POST the finished job to its webhook_url, best effort, off the caller's thread."""
        row = self.store.get_job(job_id)
        if row is None or not row.get("webhook_url"):
            return
        body = self.job_object(row)
        threading.Thread(target=_post_webhook, args=(row["webhook_url"], body),
                         name=f"sandbox-webhook-{job_id}", daemon=True).start()


def _post_webhook(url: str, body: dict[str, Any]) -> None:
    import httpx

    try:
        httpx.post(url, json=body, timeout=5.0)
    except httpx.HTTPError as e:
        log.info("webhook %s failed: %s", url, type(e).__name__)


def _result_facts(path: Path) -> dict[str, Any]:
    from app.media.probe import probe

    info = probe(path)
    return {"file": path.name, "content_type": "video/mp4", "width": info.width,
            "height": info.height, "duration_s": info.duration_s, "fps": info.fps,
            "size_bytes": info.size_bytes}
