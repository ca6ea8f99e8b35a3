"""A quiet terminal: the real app started offscreen, a clip opened in its preview, closed; its
stderr is empty and Qt's messages are in the log file (app.client.logs + app.ui.qtlog).

The app runs in a process of its own (DRIVER below, an observer like window_process.py: it
switches the log file and the Qt handler on as `takes` does at start, waits for the window,
loads a real clip into the window's own preview, which is what made FFmpeg print its stream
dump, then closes the window). The same start without them is the control: it shows the
noise this test is about (else an empty stderr would prove nothing).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mediafactory as mf
import pytest

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r'''
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
mode, clip = sys.argv[1], sys.argv[2]
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui.main import make_app, run_app
# Qt Multimedia (and the window, which uses it) only once run_app has set the log up
app = make_app()
state = {"ticks": 0}

def window():
    from app.ui.window import MainWindow
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)

def wait_ready():
    w = window()
    if w is None or not w.balance_label.text()[-1:].isdigit():
        QTimer.singleShot(30, wait_ready)
        return
    w.preview.load(clip, title="clip", autoplay=True)
    QTimer.singleShot(30, lambda: wait_played(w))

def wait_played(w):
    from PySide6.QtMultimedia import QMediaPlayer
    LOADED = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia,
              QMediaPlayer.MediaStatus.EndOfMedia)
    state["ticks"] += 1
    if w.preview.player.mediaStatus() not in LOADED and state["ticks"] < 400:
        QTimer.singleShot(30, lambda: wait_played(w))
        return
    print("PLAYED", w.preview.player.mediaStatus().name, flush=True)
    QTimer.singleShot(800, w.close)

QTimer.singleShot(0, wait_ready)
sys.exit(run_app(quiet=mode == "quiet"))  # takes: quiet; the control: without it
'''


def start(tmp_path: Path, mode: str, clip: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_LOGGING_RULES", "QT_FFMPEG_DEBUG", "TAKES_LOG_DIR")}
    env.update(QT_QPA_PLATFORM="offscreen", TAKES_DATA_DIR=str(tmp_path / mode),
               TAKES_WORK_DIR=str(tmp_path / mode / "work"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
               PYTHONPATH=str(ROOT))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.run([sys.executable, str(driver), mode, str(clip)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mf.video(tmp_path_factory.mktemp("quiet") / "clip.mp4", 320, 240, seconds=1.0)


def test_a_normal_start_prints_nothing_and_logs_qt(tmp_path, clip):
    run = start(tmp_path, "quiet", clip)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("PLAYED"), run.stdout + run.stderr
    assert "PLAYED InvalidMedia" not in run.stdout
    assert run.stderr == ""
    log = (tmp_path / "quiet" / "logs" / "takes.log").read_text(encoding="utf-8")
    # Qt's own messages are in the file, each under its category (not those of the
    # backend's load: qtlog.load_multimedia turns them off, see test_qtlog_load.py)
    assert re.search(r"(INFO|WARNING) qt(\.multimedia[.\w]*)? \[MainThread\]: ", log), log
    assert "Input #0" not in log  # FFmpeg's info chatter is dropped, not moved


def test_without_them_the_terminal_is_noisy(tmp_path, clip):
    """The control: the same start printed Qt's multimedia lines and FFmpeg's stream dump."""
    run = start(tmp_path, "raw", clip)
    assert run.returncode == 0, run.stderr
    assert "qt.multimedia" in run.stderr
    assert "Input #0" in run.stderr  # FFmpeg's dump of the clip, printed by FFmpeg itself


def test_qt_messages_become_log_records(qapp, caplog):
    from PySide6.QtCore import qWarning

    from app.ui import qtlog

    restore = qtlog.install()
    try:
        with caplog.at_level("DEBUG", logger="qt"):
            qWarning("a warning Qt would have printed")
    finally:
        restore()
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "qt"] == [("qt", "WARNING", "a warning Qt would have printed")]
    assert qtlog.logger_name("qt.multimedia.ffmpeg") == "qt.multimedia.ffmpeg"
    assert qtlog.logger_name("default") == "qt"
    assert qtlog.logger_name("kwin.plugin") == "qt.kwin.plugin"


def test_ffmpeg_level_is_set_in_qts_own_libavutil(qapp, monkeypatch):
    import ctypes

    from app.ui import qtlog

    monkeypatch.delenv("QT_FFMPEG_DEBUG", raising=False)
    monkeypatch.setenv(qtlog.ENV_FFMPEG, "warning")
    assert qtlog.quiet_ffmpeg() is True
    path = qtlog.ffmpeg_libavutil()
    assert path is not None and "PySide6" in path  # Qt's copy, not PyAV's
    lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)
    assert lib.av_log_get_level() == qtlog.AV_LEVELS["warning"]
    assert qtlog.quiet_ffmpeg("error") is True
    assert lib.av_log_get_level() == qtlog.AV_LEVELS["error"]
    monkeypatch.setenv("QT_FFMPEG_DEBUG", "1")
    assert qtlog.quiet_ffmpeg() is False  # asked-for debug output is left alone
    assert lib.av_log_get_level() == qtlog.AV_LEVELS["error"]
