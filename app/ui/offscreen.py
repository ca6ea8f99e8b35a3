"""A roomy offscreen screen (the plugin's default is 800×800, too small for the studio)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

SCREEN = {"name": "takes-offscreen", "x": 0, "y": 0, "width": 1920, "height": 1200,
          "logicalDpiX": 96, "logicalDpiY": 96, "dpr": 1}


def use_offscreen(width: int = 1920, height: int = 1200) -> str:
    """Point QT_QPA_PLATFORM at the offscreen plugin with one large screen. Call before the
    QApplication exists; a platform chosen by the user (other than plain 'offscreen') wins."""
    current = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if current != "offscreen":
        return current
    config = Path(tempfile.gettempdir()) / f"takes-offscreen-{width}x{height}.json"
    if not config.exists():
        data = {"screens": [{**SCREEN, "width": width, "height": height}]}
        tmp = config.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, config)
    value = f"offscreen:configfile={config}"
    os.environ["QT_QPA_PLATFORM"] = value
    return value
