"""A quiet terminal: Qt's messages and FFmpeg's chatter go to the log file, not to stderr.

What a normal start printed here before (Qt 6.11, Debian 12, no sound server, no screen):
`qt.multimedia.symbolsresolver: Couldn't load pipewire-0.3 library` and the same for va-x11,
va-drm and va; `qt.multimedia.ffmpeg: Using Qt multimedia with FFmpeg version 7.1.5`;
`PulseAudioService: pa_context_connect() failed`; `This plugin does not support
propagateSizeHints()` (offscreen); `qt.multimedia.playbackengine.codec: "No HW decoder found"`;
and for every clip opened, FFmpeg's own stream dump (`Input #0, mov,mp4,… Stream #0:0 …`).

Two knobs silence them, and both are needed:
- `install()` puts a Qt message handler in place (before the QApplication exists), so every
  Qt message — whatever thread sends it — becomes a Python log record named after its
  category (`qt.multimedia.ffmpeg`, `qt` for uncategorised ones) at the matching level:
  debug, info and warning messages go to the log file only; critical and fatal ones also
  reach the terminal (something is wrong). `QT_LOGGING_RULES` still decides what Qt emits.
- `quiet_ffmpeg()` lowers the log level of the FFmpeg that Qt Multimedia ships (its own
  libavutil, not PyAV's) to errors: the stream dump is an FFmpeg *info* message that FFmpeg
  prints itself, straight to stderr, past Qt's handler. Qt only installs its own FFmpeg log
  callback when `QT_FFMPEG_DEBUG` is set (any value turns FFmpeg debug output on: never set
  it unless that is what is wanted; then this leaves FFmpeg alone). `TAKES_FFMPEG_LOG`
  (quiet, error, warning, info, debug) picks another level.

`start()` does both and is safe to call more than once.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QLibraryInfo, QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger(__name__)

ENV_FFMPEG = "TAKES_FFMPEG_LOG"
AV_LEVELS = {"quiet": -8, "panic": 0, "fatal": 8, "error": 16, "warning": 24, "info": 32,
             "verbose": 40, "debug": 48, "trace": 56}
LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

_installed: dict[str, Any] = {}


def logger_name(category: str | None) -> str:
    """The Python logger a Qt category's messages go to ("default" and none: "qt")."""
    if not category or category == "default":
        return "qt"
    return category if category == "qt" or category.startswith("qt.") else f"qt.{category}"


def handle(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """The message handler (any thread): a Qt message as a log record."""
    try:
        category = context.category
    except Exception:  # a context Qt made without one
        category = None
    logging.getLogger(logger_name(category)).log(LEVELS.get(mode, logging.WARNING), "%s",
                                                 message)


def install() -> Callable[[], None]:
    """Route Qt's messages into Python logging; returns a function that puts back the handler
    that was there before (pytest-qt's, in tests)."""
    previous = qInstallMessageHandler(handle)

    def restore() -> None:
        qInstallMessageHandler(previous)
    return restore


def ffmpeg_libavutil() -> str | None:
    """The path of the libavutil Qt Multimedia loaded in this process, or None (not loaded
    yet, another platform, a Qt built without FFmpeg)."""
    libs = QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath)
    patterns = {"linux": "libavutil.so.*", "darwin": "libavutil.*.dylib"}
    pattern = patterns.get(sys.platform)
    if pattern is None or not hasattr(os, "RTLD_NOLOAD"):
        return None
    for path in sorted(glob.glob(os.path.join(libs, pattern)), key=len):
        try:
            ctypes.CDLL(path, mode=os.RTLD_NOLOAD)  # only one that is already loaded
        except OSError:
            continue
        return path
    return None


def load_multimedia() -> None:
    """Make Qt load its multimedia backend now (what the first QMediaPlayer would do), once a
    process, with every logging category off while it loads.

    Why off: the backend's plugin logs from inside `dlopen` (the FFmpeg stub's "Couldn't load
    pipewire-0.3" lines), which holds the dynamic loader's lock; a Python message handler
    (ours, pytest-qt's) then waits for the GIL. If another thread holds the GIL and is itself
    in `dlopen` (importing a C extension: the sandbox's start importing sqlite3 did), neither
    can go on: the process hangs. A disabled category never reaches the handler, so nothing
    waits for the GIL under the loader's lock. What is lost is that chatter only."""
    if _installed.get("multimedia"):
        return
    from PySide6.QtCore import QLoggingCategory
    from PySide6.QtMultimedia import QMediaFormat

    QLoggingCategory.setFilterRules("*=false")
    try:
        QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    finally:
        QLoggingCategory.setFilterRules("")  # the app sets no rules of its own
    _installed["multimedia"] = True


def quiet_ffmpeg(level: str | None = None) -> bool:
    """Set Qt's FFmpeg log level (default "error", or `TAKES_FFMPEG_LOG`); loads Qt's
    multimedia backend first. False (and a log line) when it cannot be done here."""
    if os.environ.get("QT_FFMPEG_DEBUG") is not None:
        log.info("QT_FFMPEG_DEBUG is set: FFmpeg's own logging left as Qt set it")
        return False
    name = (level or os.environ.get(ENV_FFMPEG) or "error").strip().lower()
    if name not in AV_LEVELS:
        log.warning("%s=%r is not one of %s; using error", ENV_FFMPEG, name, ", ".join(AV_LEVELS))
        name = "error"
    try:
        load_multimedia()
    except Exception as e:  # no QtMultimedia in this build: nothing of FFmpeg's to quiet
        log.info("Qt Multimedia not loaded (%s): FFmpeg's log level not set", e)
        return False
    path = ffmpeg_libavutil()
    if path is None:
        log.info("Qt Multimedia's FFmpeg not found in this process: its log level not set")
        return False
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)
        lib.av_log_set_level(ctypes.c_int(AV_LEVELS[name]))
        now = int(lib.av_log_get_level())
    except (OSError, AttributeError) as e:
        log.warning("could not set FFmpeg's log level through %s: %s", path, e)
        return False
    log.debug("FFmpeg log level %s (%d) in %s", name, now, path)
    return now == AV_LEVELS[name]


def start(defer_ffmpeg: bool = False) -> None:
    """Both knobs, once per process: the handler now, FFmpeg's level once a QApplication
    exists (call again after creating it; before, only the handler is installed).
    `defer_ffmpeg`: FFmpeg's level is set by `before_media`, just before the first player is
    made, rather than now (loading Qt's multimedia backend costs ~80 ms of the window's start,
    and FFmpeg says nothing until a player opens a file)."""
    if "restore" not in _installed:
        _installed["restore"] = install()
    if "ffmpeg" not in _installed:
        from PySide6.QtCore import QCoreApplication

        if QCoreApplication.instance() is not None:
            if defer_ffmpeg:
                _installed["deferred"] = True
            else:
                _installed.pop("deferred", None)
                _installed["ffmpeg"] = quiet_ffmpeg()


def before_media() -> None:
    """Call before making a QMediaPlayer: loads the multimedia backend safely
    (`load_multimedia`) and sets FFmpeg's level first when `start` deferred it (once; cheap
    after)."""
    if _installed.pop("deferred", None):
        _installed["ffmpeg"] = quiet_ffmpeg()
    with contextlib.suppress(Exception):  # no QtMultimedia: the player says so itself
        load_multimedia()


def stop() -> None:
    """Undo `start()`'s handler (FFmpeg's level stays: it is only chatter)."""
    restore = _installed.pop("restore", None)
    if restore is not None:
        with contextlib.suppress(Exception):
            restore()
    _installed.pop("ffmpeg", None)
