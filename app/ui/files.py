"""File operations the window offers: trash, reveal. Safe to call from a worker thread."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFile, QStandardPaths


def move_to_trash(path: str) -> bool:
    """Move a file to the system trash; a file already gone counts as done."""
    if not os.path.exists(path):
        return True
    if _trash(path):
        return True
    # Qt needs the XDG data folder to exist before it makes Trash/ inside it.
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    if data and not os.path.isdir(data):
        Path(data).mkdir(parents=True, exist_ok=True)
        return _trash(path)
    return False


def _trash(path: str) -> bool:
    ok = QFile.moveToTrash(path)
    return bool(ok[0] if isinstance(ok, tuple) else ok)
