"""Work-arounds for the libraries under the window, each with its reason.

Qt objects must be destroyed on the thread they live on (the GUI thread). Python's cycle
collector runs on whichever thread happens to allocate when a threshold is crossed (the
embedded sandbox's uvicorn thread, httpx and worker threads), so a Qt object that dies with
a garbage cycle can be destroyed off the GUI thread: Qt warns "Timers cannot be stopped from
another thread" and later fires those timers at freed memory (SIGSEGV in
`QTimerInfoList::activateTimers`). `release_loop_qobjects` and `gui_thread_collection` keep
that from happening; `tune_malloc` keeps a long session's memory from creeping. `ensure_app`
is the one place a QApplication is made (the app's `make_app`, the tests' `qapp`), with what
must come before it; `post` is how Qt Multimedia is called (a deadlock in its FFmpeg backend);
`skip_feature_scan` keeps PySide6's import hook from reading every module's source at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import sys
from collections.abc import Iterator
from typing import Any

_tuned: bool | None = None  # tune_malloc's result, once a process
GC_INTERVAL_MS = 200
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed (see tune_malloc)
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # glibc's mallopt parameters


def prepare_process() -> bool:
    """What must happen before the first worker thread allocates, once (`tune_malloc`): the
    app and the test session both call it, through `ensure_app` or directly."""
    global _tuned
    if _tuned is None:
        _tuned = tune_malloc()
    return _tuned


def ensure_app(argv: list[str] | None = None) -> Any:
    """The process's QApplication: made here, after `prepare_process`, or the one that
    exists. Every creator (the app's `make_app`, the tests' `qapp`) comes through here."""
    from PySide6.QtWidgets import QApplication

    prepare_process()
    skip_feature_scan()
    return QApplication.instance() or QApplication(sys.argv if argv is None else list(argv))


#: modules that may use PySide6 by name (the app's, the Qt glue it runs on, the tests')
_QT_USERS = ("app", "tests", "bench", "PySide6", "shiboken6", "qasync", "pytestqt", "superqt")


def _uses_pyside_by_name(module: Any) -> bool:
    name = getattr(module, "__name__", "")
    if not isinstance(name, str):
        return False
    return name == "__main__" or name.split(".", 1)[0] in _QT_USERS


def skip_feature_scan() -> bool:
    """PySide6 replaces `__import__`: after every import its hook
    (`shibokensupport.feature.feature_imported`) asks whether the module "uses PySide6" by
    reading its whole source (`inspect.getsource`) and searching it for "PySide6", so that a
    module may later opt into PySide6's `__feature__`s (snake_case, true_property). That is
    ~90 ms of the window's start (every module imported after PySide6: pydantic, httpx, the
    catalog…). Takes selects no feature anywhere (a test checks), and for a module whose
    feature selection is never switched "uses PySide6" (0, no feature) and "does not" (-1,
    ignored) behave alike; the app's own modules and the Qt glue keep 0, decided by name.
    Returns whether the hook was found (a PySide6 without it: nothing to do)."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _uses_pyside_by_name
    return True


def post(obj: Any, method: str, *args: Any) -> None:
    """Call a Qt Multimedia slot from the event loop instead of from Python.

    The FFmpeg backend's renderer threads take the GIL while they tear down (they disconnect
    from Python-made objects such as our QAudioOutput); a direct call such as `stop()` holds
    the GIL while it waits for their locks, and the two wait for each other for ever. Queued,
    the call runs in C++ from the event loop, without the GIL, in the order it was posted.
    """
    from PySide6.QtCore import QMetaObject, Qt

    QMetaObject.invokeMethod(obj, method, Qt.ConnectionType.QueuedConnection, *args)


def release_loop_qobjects(loop: asyncio.AbstractEventLoop) -> None:
    """Destroy a closed qasync loop's Qt objects now, on this (the GUI) thread.

    qasync's `close()` only flags its timer object as stopped: every `call_later` still
    pending (a `wait_for` timeout, a sleep) keeps a Qt timer registered, and the handles
    behind them (holding socket notifiers, tasks, widgets) stay alive with the loop, which
    sits in a reference cycle (loop ↔ selector) that only the collector frees.
    """
    import shiboken6

    timer = loop._timer  # type: ignore[attr-defined]
    timer._SimpleTimer__callbacks.clear()  # drop the handles here, not on a collector thread
    for qobject in (timer, loop._QEventLoop__call_soon_signaller):  # type: ignore[attr-defined]
        if shiboken6.isValid(qobject):
            shiboken6.delete(qobject)  # its destructor unregisters its timers



@contextlib.contextmanager
def gui_thread_collection(app: Any) -> Iterator[Any]:
    """Within: automatic collection off, run from a GUI-thread timer instead (yields it).

    Python's own rules are kept (`DueCollector`): only the thread that collects changes, so
    garbage cycles holding Qt objects always die on the GUI thread. No pause is added: a
    collection holds the GIL, so the GUI thread waited for it wherever it ran.
    """
    from PySide6.QtCore import QTimer

    was_enabled = gc.isenabled()
    gc.disable()
    timer = QTimer(app)
    timer.timeout.connect(DueCollector())
    timer.start(GC_INTERVAL_MS)
    try:
        yield timer
    finally:
        timer.stop()
        timer.deleteLater()
        if was_enabled:
            gc.enable()


class DueCollector:
    """Called now and then: collects the generation Python itself would collect now.

    The youngest generation whose count passed its threshold; the oldest only once the objects
    promoted into it since the last full collection are a quarter of those that survived it
    (CPython's guard against quadratic full collections, `long_lived_pending`).
    """

    def __init__(self) -> None:
        self.long_lived_total = len(gc.get_objects(generation=2))
        self.long_lived_pending = 0

    def __call__(self) -> int | None:
        """The generation collected, or None."""
        counts, limits = gc.get_count(), gc.get_threshold()
        if counts[2] > limits[2] > 0 and self.long_lived_pending >= self.long_lived_total // 4:
            gc.collect(2)
            self.long_lived_total = len(gc.get_objects(generation=2))
            self.long_lived_pending = 0
            return 2
        for gen in (1, 0):
            if counts[gen] > limits[gen] > 0:
                young = sum(len(gc.get_objects(generation=g)) for g in range(gen + 1))
                unreachable = gc.collect(gen)
                if gen == 1:  # the survivors moved into the oldest generation
                    self.long_lived_pending += max(0, young - unreachable)
                return gen
        return None


def tune_malloc(arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep a long session's resident memory from creeping (glibc's malloc; measured in
    tests/ui/test_soak.py).

    - A fixed mmap threshold. By default glibc raises it each time a large block is freed (up
      to 32 MB), so decoded video frames and picture buffers (0.3–4 MB) soon come from the
      heap, and what they leave between long-lived small blocks stays resident. Fixed, such
      blocks are mapped and unmapped whole: after 100 renders the heap held 36 MB free
      instead of 70–100 MB, and RSS was 30–50 MB lower.
    - Fewer arenas (by default one per allocating thread, up to 8 per core): memory freed in
      one is not reused by threads on another, so as decoder, thumbnail and server threads
      come and go RSS creeps: 63 renders grew it by 165 MB with the default, 16 MB with 2.

    No-op (False) where the C library has no `mallopt` (macOS, musl, Windows).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    fixed = mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    capped = mallopt(_M_ARENA_MAX, arenas)
    return bool(fixed and capped)
