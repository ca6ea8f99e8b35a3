"""`takes` with no arguments: run_app opens the window on the sandbox and shuts down cleanly."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.ui.main import run_app
from app.ui.window import MainWindow


def test_run_app_opens_the_studio_on_the_sandbox_and_closes(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TAKES_WORK_DIR", str(tmp_path / "Videos" / "Takes"))
    seen: dict[str, object] = {}

    def close_when_ready() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].balance_label.text().startswith("Credits: 10,000"):
            seen["title"] = windows[0].windowTitle()
            seen["profile"] = windows[0].profile_label.text()
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    assert run_app() == 0
    assert seen == {"title": "Takes", "profile": "Profile: Sandbox"}
    assert (tmp_path / "data" / "jobs.sqlite3").exists()
    assert (tmp_path / "data" / "sandbox").is_dir()
    assert (tmp_path / "Videos" / "Takes").is_dir()  # results land in the work folder
    assert (tmp_path / "config" / "Takes" / "window.json").exists()  # the layout was saved
