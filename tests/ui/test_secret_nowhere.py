"""An API profile's key is nowhere the app writes or shows: not in any file under the data,
config, log or work folders (the SQLite store, settings, profiles.json, the log), not in the
text, tooltip, title or accessible name of any widget of the window, its menus and dialogs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget

from app.client import logs
from app.client.connection import Connection
from app.client.profiles import KeyStorage, Profile, Profiles
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.sandbox.server import SandboxServer
from app.ui.shot import save_screenshot
from app.ui.window import MainWindow

from .helpers import fast_poll, until

KEY = "tk_live_SECRET_nowhere_7f3a9c2e51b04d86"


def _texts(widget: QWidget) -> list[str]:
    out = [widget.toolTip(), widget.windowTitle(), widget.accessibleName(),
           widget.statusTip(), widget.whatsThis()]
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
        out.append(widget.text())
    for action in widget.actions():
        out += [action.text(), action.toolTip(), action.statusTip()]
    return out


def _files(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob("*") if p.is_file()]


def test_the_key_is_in_no_file_and_no_widget(aloop, qtbot, tmp_path, caplog):
    data, cfg, logdir, work = (tmp_path / n for n in ("data", "cfg", "logs", "work"))
    done = logs.setup(directory=logdir, level="DEBUG", hooks=False)
    caplog.set_level(logging.DEBUG)
    with SandboxServer(tmp_path / "api", key=KEY, render_seconds=0.3) as api:
        profile = Profile("Studio account", "api", api.url, confirm_above=0, daily_cap=0)
        Profiles(data / "profiles.json").add(profile, KEY, KeyStorage.SESSION)
        studio = Studio.from_connection(Connection(profile, api.url, KEY), data,
                                        poll=fast_poll(), work_dir=work)

        async def scenario() -> None:
            w = MainWindow(studio, UiSettings(cfg))
            w.show()
            await w.start()
            w.choose_task("create")
            form = w.form
            form.set_payload({**form.payload(), "prompt": "a heron lands on a post",
                              "duration": 4, "resolution": "480p"})
            await until(form.is_submittable, what="a sendable form")
            await w.render()
            await until(lambda: w.queue_model.rowCount() == 1
                        and w.queue_model.job_at(0).result_path, timeout=20,
                        what="the take downloaded")
            prefs = w.open_preferences()
            ledger = w.open_ledger()
            await ledger.refresh()
            w.menus.show_shortcuts()
            await asyncio.sleep(0.3)
            assert save_screenshot(w, str(work / "window.png"))
            for top in (w, prefs, ledger):
                for widget in [top, *top.findChildren(QWidget)]:
                    for text in _texts(widget):
                        assert KEY not in (text or ""), (widget.objectName(), text)
            w.save_settings()
            w.close()
            await studio.close()

        aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
    done.flush()
    done.close()
    files = _files(data, cfg, logdir, work)
    assert any(f.suffix == ".sqlite3" for f in files) and any(f.name == "takes.log"
                                                              for f in files)
    assert any(f.suffix == ".png" for f in files) and any(f.suffix == ".mp4" for f in files)
    for f in files:
        assert KEY.encode() not in f.read_bytes(), f
    assert all(KEY not in r.getMessage() for r in caplog.records)
