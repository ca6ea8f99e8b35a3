"""Where the app keeps its files. `TAKES_DATA_DIR` overrides the platform default (tests, CI)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "Takes"


def data_dir() -> Path:
    """The per-user data folder (job store, sandbox state, profiles)."""
    override = os.environ.get("TAKES_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
