"""Access to `resources/` (icons, theme palettes, the desktop entry). Qt-free.

`resources/` is installed as the package `takes_resources` (package data, see pyproject.toml)
and read with `importlib.resources`, so a checkout, an editable install and a wheel behave
alike. Run from a checkout that was never installed, the folder beside `app/` is used.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from importlib.resources.abc import Traversable
from pathlib import Path

ICON_NAMES = ("takes", "render", "cancel", "retry", "rerun", "reveal", "play", "pause",
              "compare", "favourite", "favourite-on", "delete", "copy", "history", "mock",
              "offline", "profile", "credits",
              # media kinds (form thumbnails) and the preview's transport
              "image", "video", "audio", "loop", "sound", "mute", "step-back", "step-forward")
THEMES = ("light", "dark")


class ResourceError(LookupError):
    """A resource that is not shipped (a typo in a name, or a broken install)."""


@functools.cache
def root() -> Traversable:
    try:
        return importlib.resources.files("takes_resources")
    except ModuleNotFoundError:  # a checkout run without `pip install -e .`
        return Path(__file__).resolve().parent.parent / "resources"


def read_bytes(*parts: str) -> bytes:
    node = root()
    for part in parts:
        node = node / part
    try:
        return node.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ResourceError(f"missing resource: {'/'.join(parts)}") from None


def icon_svg(name: str) -> bytes:
    """The SVG of an icon in ICON_NAMES (line icons draw in `currentColor`)."""
    if name not in ICON_NAMES:
        raise ResourceError(f"unknown icon {name!r}; known: {', '.join(ICON_NAMES)}")
    return read_bytes("icons", f"{name}.svg")


@functools.cache
def _palettes() -> dict[str, dict[str, str]]:
    data = json.loads(read_bytes("themes", "palette.json"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def palette(theme: str) -> dict[str, str]:
    """Role → "#rrggbb" for a theme in THEMES, the status colours included as `status.<name>`."""
    if theme not in THEMES:
        raise ResourceError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
    data = _palettes()
    colours = dict(data[theme])
    colours.update({f"status.{k}": v for k, v in data["status"].items()})
    return colours


def desktop_entry_template() -> str:
    return read_bytes("takes.desktop").decode("utf-8")
