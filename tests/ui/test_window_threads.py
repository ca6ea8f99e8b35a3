"""The threading model: the GUI thread does no network, SQLite or file work while a take is
submitted, polled and downloaded; it all happens on the studio's core loop (app/client/core.py).

Every method of the job store, the API client, the job manager and httpx's client, the
manager's file placement and the settings file write are wrapped to record the thread they
run on; a full render through the real window and the real sandbox on loopback must record
none of them on the GUI thread, and the core must end with the studio, leaving no thread.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import types
from collections import defaultdict
from typing import Any

import httpx
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.client import manager as manager_module
from app.client.api import ApiClient
from app.client.manager import JobManager
from app.client.settings import UiSettings
from app.client.store import JobStore
from app.ui.window import MainWindow

from .helpers import open_studio, until

SEEDANCE = {"prompt": "a lantern drifting down a river", "duration": 4, "resolution": "480p"}


class Threads:
    """Which threads each wrapped call ran on."""

    def __init__(self) -> None:
        self.calls: dict[str, set[str]] = defaultdict(set)
        self.on_gui: list[str] = []
        self.lock = threading.Lock()

    def record(self, name: str) -> None:
        here = threading.current_thread()
        with self.lock:
            self.calls[name].add(here.name)
            if here is threading.main_thread():
                self.on_gui.append(name)

    def wrap(self, name: str, fn: Any) -> Any:
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapped_async(*args: Any, **kw: Any) -> Any:
                self.record(name)
                return await fn(*args, **kw)

            return wrapped_async

        @functools.wraps(fn)
        def wrapped(*args: Any, **kw: Any) -> Any:
            self.record(name)
            return fn(*args, **kw)

        return wrapped


def _record_everything(monkeypatch: Any) -> Threads:
    threads = Threads()
    for cls in (JobStore, ApiClient, JobManager):
        for attr, value in list(vars(cls).items()):
            if isinstance(value, types.FunctionType) and (
                    not attr.startswith("__") or attr == "__init__"):
                monkeypatch.setattr(cls, attr, threads.wrap(f"{cls.__name__}.{attr}", value))
    monkeypatch.setattr(httpx.AsyncClient, "send",
                        threads.wrap("httpx.AsyncClient.send", httpx.AsyncClient.send))
    for fn in ("_target", "check_room"):
        monkeypatch.setattr(manager_module, fn,
                            threads.wrap(f"manager.{fn}", getattr(manager_module, fn)))
    monkeypatch.setattr(UiSettings, "write", threads.wrap("UiSettings.write", UiSettings.write))
    return threads


def test_a_full_render_does_no_io_on_the_gui_thread(aloop, qtbot, tmp_path, monkeypatch):
    threads = _record_everything(monkeypatch)
    studio = open_studio(tmp_path / "data", render_seconds=0.8)
    core = studio.core.thread
    assert core is not None and core.is_alive()

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.choose_task("create")
        form = w.form
        form.set_payload({**form.payload(), **SEEDANCE})
        await until(form.is_submittable, what="a submittable form")
        await until(w.render_btn.isEnabled, what="the Render button")
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)  # a real click
        await until(lambda: w.queue_model.rowCount() == 1
                    and w.queue_model.job_at(0).result_path, timeout=30,
                    what="the take rendered and downloaded")
        job = w.queue_model.job_at(0)
        await until(lambda: w.preview.result_path == job.result_path, what="the preview")
        w.nav.choose("history")  # history pages and counts come from the store
        await until(lambda: w.history_model.rowCount() == 1 and not w.history_model.loading,
                    what="the take in history")
        stored = await studio.read(studio.store.get, job.id)
        assert stored is not None and stored.status == "succeeded"
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))

    assert threads.on_gui == [], f"on the GUI thread: {sorted(set(threads.on_gui))}"
    # and the work did happen, elsewhere: submit, poll, download, history, settings
    for name in ("JobStore.__init__", "JobStore.add", "JobStore.update", "JobStore.query",
                 "JobStore.count", "JobStore.close", "ApiClient.create_job",
                 "ApiClient.download", "ApiClient.account", "JobManager.submit",
                 "httpx.AsyncClient.send", "manager._target", "UiSettings.write"):
        assert threads.calls.get(name), f"{name} never ran"
    assert "takes-core" in threads.calls["JobStore.add"]
    assert threads.calls["JobManager.submit"] == {"takes-core"}
    assert threads.calls["httpx.AsyncClient.send"] == {"takes-core"}
    # the core loop ended with the studio: its thread is gone
    assert not core.is_alive()
    assert all(t.name != "takes-core" for t in threading.enumerate())
    assert UiSettings(tmp_path / "cfg").get("task") == "history"  # written, off the GUI thread
