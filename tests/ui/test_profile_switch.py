"""Switching profile in the window: the other profile's window shows only its own takes, the
first profile's studio keeps going, and the next start opens the profile chosen last."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.client.connection import Connection
from app.client.profiles import KeyStorage, Profile, Profiles
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.sandbox.server import SandboxServer
from app.ui.main import run_app
from app.ui.window import MainWindow

from .helpers import fast_poll, open_studio, until

KEY = "tk_switch_test_key_0123456789"
PAYLOAD = {"prompt": "a kite over a windy beach", "duration": 4, "resolution": "480p"}


def test_queue_and_history_show_the_windows_profile_only(aloop, qtbot, tmp_path):
    data = tmp_path / "data"
    sandbox = open_studio(data, render_seconds=2.0)
    with SandboxServer(tmp_path / "other", key=KEY, render_seconds=0.2) as other:
        work = Profile("Work", "api", other.url, confirm_above=0, daily_cap=0)
        studio = Studio.from_connection(Connection(work, other.url, KEY), data, poll=fast_poll())

        async def scenario() -> None:
            job = await sandbox.run(sandbox.manager.submit(
                "seedance_r2v", {**PAYLOAD, "out": "kite-a.mp4"}))
            w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
            w.show()
            await w.start()
            assert w.queue_model.rowCount() == 0  # the sandbox's take is not Work's
            w.choose_task("history")
            await until(lambda: not w.history_model.loading, what="history loaded")
            assert w.history_model.rowCount() == 0 and w.history_model.total == 0
            # the sandbox studio, still open beside it, finishes and downloads its take
            done = await sandbox.run(sandbox.manager.wait(job.id))
            await until(lambda: (sandbox.store.get(job.id) or done).result_path, timeout=20,
                        what="the sandbox take downloaded")
            # a take of Work's own shows in Work's views
            mine = await studio.run(studio.manager.submit(
                "seedance_r2v", {**PAYLOAD, "out": "kite-b.mp4"}))
            await until(lambda: w.queue_model.job(mine.id) is not None, what="Work's take")
            await until(lambda: w.history_model.rowCount() == 1, what="in Work's history")
            w.close()
            await studio.close()
            await sandbox.close()

        aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_use_this_profile_opens_its_window_and_is_remembered(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TAKES_WORK_DIR", str(tmp_path / "work"))
    with SandboxServer(tmp_path / "other", key=KEY, render_seconds=0.2) as other:
        profiles = Profiles(tmp_path / "data" / "profiles.json")
        profiles.add(Profile("Work", "api", other.url), KEY, KeyStorage.SESSION)
        seen: list[str] = []
        said: list[str] = []
        deadline = time.monotonic() + 40

        def windows() -> list[MainWindow]:
            return [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, MainWindow) and w.isVisible()]

        def drive() -> None:
            ws = windows()
            if time.monotonic() > deadline:  # give up: close what is open, the asserts say
                said.extend(w.status.text() for w in ws)
                said.append(_threads_now())  # where the switch was stuck, for the report
                for w in ws:
                    w.close()
                return
            ready = [w for w in ws if w.balance_label.text()[-1:].isdigit()]
            if not ready:
                QTimer.singleShot(50, drive)
                return
            w = ready[0]
            label = w.profile_label.text()
            if not seen or seen[-1] != label:
                seen.append(label)
            if label == "Profile: Sandbox":
                if w.switch_to is None and not w.status.text().startswith("Opening"):
                    w.switch_profile("Work")
                said.append(w.status.text())
                QTimer.singleShot(50, drive)
            else:
                w.close()

        QTimer.singleShot(50, drive)
        assert run_app() == 0
        assert seen == ["Profile: Sandbox", "Profile: Work"], said[-4:]
        assert Profiles(tmp_path / "data" / "profiles.json").active.name == "Work"


def _threads_now() -> str:
    """Every thread's innermost frames (a stuck switch says where it waits)."""
    import sys
    import threading
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    return "\n".join(f"{names.get(ident, ident)}: " +
                     " <- ".join(f"{f.name}@{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
                                 for f in reversed(traceback.extract_stack(frame)[-6:]))
                     for ident, frame in sys._current_frames().items())
