"""The folder each Browse… dialog opens in: the last one a file of that kind (image, video,
audio) was chosen from, kept in memory and, once a window's settings are attached, in
`UiSettings` under ``last_folder`` (``{kind: folder}``; written with the rest of the settings,
off the GUI thread, by whoever saves them). No file I/O here: only path strings.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

KEY = "last_folder"


class Settings(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


class HasSettings(Protocol):
    settings: Settings


class FolderMemory:
    """Last folder per media kind."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}
        self._any = ""  # the last folder of any kind (a first video opens where images were)
        self.settings: Settings | None = None

    def use_settings(self, settings: Settings) -> None:
        """Read the folders saved last time (they replace what is in memory) and keep new ones
        there too."""
        self.settings = settings
        saved = settings.get(KEY)
        items = saved.items() if isinstance(saved, dict) else ()
        self._last = {k: v for k, v in items if isinstance(k, str) and isinstance(v, str) and v}
        self._any = next(reversed(self._last.values()), "")  # the last one chosen
        if self._last:
            settings.set(KEY, dict(self._last))

    def reset(self) -> None:
        """Forget every folder and the settings (tests)."""
        self._last, self._any, self.settings = {}, "", None

    def folder(self, kind: str) -> str:
        """Where a dialog for `kind` opens: its last folder, the last folder of any kind, else
        the home folder (never the current directory). The user's Pictures/Videos folders are
        not looked up here: finding them reads ~/.config/user-dirs.dirs, file work the GUI
        thread does not do."""
        return self._last.get(kind) or self._any or os.path.expanduser("~")

    def remember(self, kind: str, files: list[str]) -> None:
        """The folder of the first chosen file becomes `kind`'s last folder."""
        local = [f for f in files if f and "://" not in f]
        if not local:
            return
        folder = os.path.dirname(os.path.abspath(local[0]))  # string work, no file access
        self._last.pop(kind, None)
        self._last[kind] = self._any = folder  # the newest last
        if self.settings is not None:
            saved = self.settings.get(KEY)
            merged = dict(saved) if isinstance(saved, dict) else {}
            merged.pop(kind, None)
            merged[kind] = folder
            self.settings.set(KEY, merged)


FOLDERS = FolderMemory()


def attach(window: HasSettings) -> FolderMemory:
    """Keep the Browse… folders in `window.settings` (idempotent: the same memory each call)."""
    if FOLDERS.settings is not window.settings:
        FOLDERS.use_settings(window.settings)
    return FOLDERS
