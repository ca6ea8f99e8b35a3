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


def test_run_app_begins_one_connection_before_the_window_and_the_window_uses_it(
        qapp, tmp_path, monkeypatch):
    """The sandbox's start is begun before the window is built (EarlyConnection), and the
    window's studio takes that connection rather than starting another."""
    import app.client.studio as studio_mod

    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TAKES_WORK_DIR", str(tmp_path / "work"))
    begun: list[object] = []
    real = studio_mod.begin_connection

    def counted(*a, **kw):
        made = real(*a, **kw)
        begun.append(made[2])
        return made

    monkeypatch.setattr(studio_mod, "begin_connection", counted)
    windows_at_begin: list[int] = []
    real_init = studio_mod.EarlyConnection.__init__

    def init(self, *a, **kw):
        windows_at_begin.append(sum(isinstance(w, MainWindow)
                                    for w in QApplication.topLevelWidgets()))
        real_init(self, *a, **kw)

    monkeypatch.setattr(studio_mod.EarlyConnection, "__init__", init)
    seen: dict[str, object] = {}

    def close_when_ready() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].balance_label.text().startswith("Credits: 10,000"):
            seen["connection"] = windows[0].studio.client._pending
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    assert run_app() == 0
    assert windows_at_begin == [0]
    assert len(begun) == 1 and seen["connection"] is begun[0]


def test_an_early_connection_of_another_folder_is_dropped_and_its_sandbox_stopped(tmp_path):
    """Taken for another data folder (or never taken), the early connection is closed: the
    sandbox it started does not outlive it."""
    from app.client.studio import EarlyConnection
    from app.sandbox import folder

    early = EarlyConnection(tmp_path / "a")
    pending = early._begun[2]
    assert early.take(tmp_path / "b", None) is None
    assert early.take(tmp_path / "a", None) is None  # one take, even a refused one
    pending.join(60)  # made, then closed by the done callback on its own thread
    assert pending.done()
    assert folder.read_state(tmp_path / "a" / "sandbox") is None
    early.close()  # nothing left: harmless
