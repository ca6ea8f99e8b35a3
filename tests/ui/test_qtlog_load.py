"""Loading Qt's multimedia backend while another thread imports C extensions does not hang.

The backend's plugin logs from inside `dlopen` (holding the dynamic loader's lock) and a Python
message handler then needs the GIL; a thread holding the GIL and calling `dlopen` itself waits
for that lock: a deadlock (seen when the window's early sandbox start imported sqlite3 while
the GUI thread loaded the backend). `qtlog.load_multimedia` turns logging categories off for
the load. Without that, this probe hangs every time (checked by hand: the same script with
`setFilterRules` made a no-op times out)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, os, threading, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import qInstallMessageHandler
    from app.ui import compat, qtlog
    app = compat.ensure_app(["probe"])
    qInstallMessageHandler(lambda mode, ctx, msg: None)  # a Python handler, as pytest-qt's
    stop = False
    lib = ctypes.util.find_library("m") or "libm.so.6"
    def spin():
        while not stop:
            ctypes.CDLL(lib)  # dlopen with the GIL held, as importing a C extension does
    t = threading.Thread(target=spin, daemon=True)
    t.start()
    time.sleep(0.05)
    qtlog.load_multimedia()
    qtlog.load_multimedia()  # once a process: the second is free
    stop = True
    t.join(5)
    print("loaded", flush=True)
""")


def test_the_backend_loads_while_another_thread_dlopens():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "loaded"
