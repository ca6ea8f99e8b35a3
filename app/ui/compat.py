"""Work-arounds for bugs in the libraries under the window, each with its reason.

`protect_none()`: with PySide6/shiboken6 6.12 on Python < 3.12, every call of a C++ method
that returns void (``widget.update()``, ``repaint()``, ``setText()``, ``processEvents()`` …)
drops one reference to ``None`` that it never took, and every ``Signal.emit()`` one to
``True`` (the binding assumes the immortal singletons of Python 3.12). They start with a few
thousand references, so after a few thousand such calls the interpreter aborts ("Fatal
Python error: none_dealloc" / "bool_dealloc"): a scrolled history or a long session gets
there quickly. Python 3.12 made these objects immortal; this gives them the same property
by raising their reference counts far beyond reach (CPython never deallocates them anyway).
No effect on Python ≥ 3.12.
"""

from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 40
_done = False


def none_refcount_leaks() -> bool:
    """True when void PySide calls lose references to None (this interpreter and binding)."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("x")
    return sys.getrefcount(None) < before


def protect_none() -> bool:
    """Make None's reference count unreachable by the binding's leak. Returns True if done."""
    global _done
    if _done or sys.version_info >= (3, 12):
        return _done
    if not none_refcount_leaks():
        return False
    for singleton in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt: the first field
        refcnt.value += _BOOST
    _done = True
    return True
