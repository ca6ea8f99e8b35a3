import gc
import os
import sys
import threading
from pathlib import Path

import pytest

# Qt must see these before it is imported anywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["leaks"]  # a test that leaves threads or tasks behind fails (tests/leaks.py)

from app.ui.compat import ensure_app, prepare_process  # noqa: E402 (after the environment)

prepare_process()  # as the app does, before any thread allocates (see app.ui.compat)


@pytest.fixture(scope="session")
def qapp(qapp_args):  # type: ignore[no-untyped-def]
    """pytest-qt's QApplication, made where the app makes its own (app.ui.compat.ensure_app)."""
    return ensure_app(qapp_args)

# TAKES_TEST_OFFTHREAD_GC=1: a background thread runs gc.collect() every 50 ms for the whole
# session, so any Qt object left in a garbage cycle is freed off the GUI thread at once (which
# crashes Qt later) instead of once in a while. scripts/test runs the Qt areas this way.
OFFTHREAD_GC = os.environ.get("TAKES_TEST_OFFTHREAD_GC") == "1"
_stop_collecting = threading.Event()


def _collect_off_thread() -> None:
    while not _stop_collecting.wait(0.05):
        gc.collect()


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    if OFFTHREAD_GC:
        threading.Thread(target=_collect_off_thread, name="offthread-gc", daemon=True).start()


def pytest_unconfigure(config) -> None:  # type: ignore[no-untyped-def]
    _stop_collecting.set()
