"""Features that attach themselves to the window: each module's `install(window)` is called once
at the end of `MainWindow.__init__` (it must be idempotent and return its object), and its
`start(window)`, when it has one, once the window has started (the studio connected).

A module listed here that does not exist yet is skipped (features land one at a time); one that
exists but fails to import or install raises: a broken feature is a bug, never silence.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

#: (attribute on the window, module): the window keeps each installed object as that attribute
FEATURES: tuple[tuple[str, str], ...] = (
    ("sweeps", "app.ui.sweep"),
    ("local_queue", "app.ui.local_queue"),
    ("review", "app.ui.review"),
    ("fal", "app.ui.fal"),
    ("export", "app.ui.export"),
    ("presets", "app.ui.presets"),
    ("use_as", "app.ui.use_as"),
    ("labels", "app.ui.labels"),
    ("projects", "app.ui.projects"),
)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return None


def install(window: Any) -> None:
    for attr, name in FEATURES:
        mod = _module(name)
        if mod is not None and hasattr(mod, "install"):
            setattr(window, attr, mod.install(window))


def start(window: Any) -> None:
    for _attr, name in FEATURES:
        mod = _module(name)
        if mod is not None and hasattr(mod, "start"):
            mod.start(window)
