"""Projects: named groups of takes, presets and a work sub-folder. No Qt.

A project has a name the user chose (and may rename) and an id fixed when it is made: a safe
folder name derived from the name (`folder_name`), which is also the work sub-folder its takes'
results land in (`<work folder>/<id>/`) and what a take stores (`JobRecord.project`). Renaming
a project changes its name only: its folder, and the takes in it, stay as they are. Deleting a
project deletes no take and no file: its takes go back to "no project" (`JobStore.drop_project`).

The list, and the project chosen in the window, live in the data folder as `projects.json`,
written atomically and read through bounded JSON like the presets (`app.client.presets`); a
damaged file reads as empty, said in the log. Plain blocking file work: the window calls these
on a worker, never on the GUI thread.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.client.presets import _read, _write

MAX_NAME = 80
MAX_PROJECTS = 500
#: a folder name's bound, in UTF-8 bytes (a path part is 255 bytes on most file systems; the
#: results' own names, and " 2"-style suffixes, need the rest)
MAX_FOLDER_BYTES = 64
NO_PROJECT = ""
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in (*range(1, 10), "¹", "²", "³")),
             *(f"LPT{i}" for i in (*range(1, 10), "¹", "²", "³"))}
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


class ProjectError(ValueError):
    """A project name or change that cannot be kept; the message says why."""


@dataclass(frozen=True)
class Project:
    id: str  # its folder name, fixed when made
    name: str
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at}


def check_name(name: Any) -> str:
    """A project's name as kept (spaces collapsed); ProjectError says what is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise ProjectError("A project needs a name.")
    if "\x00" in name:
        raise ProjectError("A project name cannot hold a NUL character.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ProjectError(f"A project name has at most {MAX_NAME} characters "
                           f"(this one has {len(name):,}).")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise ProjectError("A project name cannot hold control characters.")
    return name


def safe_folder(name: str) -> str:
    """A folder name from any text: no path separators or characters a file system refuses,
    no `.`/`..`, no leading or trailing dots and spaces, not a reserved device name (CON,
    NUL, COM1…, with or without an extension), at most `MAX_FOLDER_BYTES` bytes; never
    empty ("Project")."""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join("_" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    text = _UNSAFE.sub("_", text)
    text = " ".join(text.split()).strip(" .")
    raw = text.encode("utf-8")
    if len(raw) > MAX_FOLDER_BYTES:
        text = raw[:MAX_FOLDER_BYTES].decode("utf-8", "ignore").rstrip(" .")
    if not text.strip("_"):
        text = "Project"
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = f"_{text}"
    return text


def is_safe_folder(folder: Any) -> bool:
    """Whether `folder` is a name `safe_folder` could have made (the job manager asks before
    it puts a result in a project's sub-folder)."""
    return isinstance(folder, str) and bool(folder) and safe_folder(folder) == folder


def folder_name(name: str, taken: Iterable[str] = ()) -> str:
    """The folder (and id) of a new project named `name`: `safe_folder(name)`, with " 2",
    " 3"… added when another project's folder has it already, compared case-insensitively
    (a case-insensitive file system would make them one folder)."""
    used = {t.casefold() for t in taken}
    base = safe_folder(name)
    if base.casefold() not in used:
        return base
    for n in range(2, MAX_PROJECTS + len(used) + 2):
        suffix = f" {n}"
        stem = base.encode("utf-8")[:MAX_FOLDER_BYTES - len(suffix)].decode("utf-8", "ignore")
        candidate = safe_folder(f"{stem.rstrip(' .')}{suffix}")
        if candidate.casefold() not in used:
            return candidate
    raise ProjectError("Too many projects share this name.")  # unreachable in practice


class Projects:
    """The projects of a data folder, and the one chosen in the window."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _data(self) -> tuple[list[Project], str]:
        data = _read(self.path)
        items = data.get("projects") if isinstance(data, dict) else None
        out: list[Project] = []
        ids: set[str] = set()
        for d in items if isinstance(items, list) else []:
            if not isinstance(d, dict):
                continue
            pid, name, made = d.get("id"), d.get("name"), d.get("created_at")
            if is_safe_folder(pid) and isinstance(name, str) and name.strip() and \
                    pid.casefold() not in ids:
                ids.add(pid.casefold())
                out.append(Project(pid, name, float(made) if isinstance(made, int | float)
                                   else 0.0))
        current = data.get("current") if isinstance(data, dict) else None
        if not any(p.id == current for p in out):
            current = NO_PROJECT
        return out, str(current)

    def all(self) -> list[Project]:
        """The projects, by name (case-insensitive)."""
        return sorted(self._data()[0], key=lambda p: (p.name.casefold(), p.id))

    def current(self) -> str:
        """The id of the project chosen in the window ("" : none, or one since deleted)."""
        return self._data()[1]

    def get(self, project_id: str) -> Project | None:
        return next((p for p in self._data()[0] if p.id == project_id), None)

    def find(self, name: str) -> Project | None:
        """A project by its name (case-insensitive, spaces collapsed) or by its id."""
        items = self._data()[0]
        key = " ".join(str(name).split()).casefold()
        return next((p for p in items if p.name.casefold() == key), None) or \
            next((p for p in items if p.id == name), None)

    def create(self, name: str) -> Project:
        name = check_name(name)
        items, current = self._data()
        if any(p.name.casefold() == name.casefold() for p in items):
            raise ProjectError(f"There is a project named {name!r} already.")
        if len(items) >= MAX_PROJECTS:
            raise ProjectError(f"There are {MAX_PROJECTS} projects already: delete one first.")
        project = Project(folder_name(name, (p.id for p in items)), name, time.time())
        self._save([*items, project], current)
        return project

    def rename(self, project_id: str, new: str) -> Project:
        """A new name; its id and folder stay (its takes and files are where they were)."""
        new = check_name(new)
        items, current = self._data()
        found = next((p for p in items if p.id == project_id), None)
        if found is None:
            raise ProjectError("That project does not exist (any more).")
        if any(p.name.casefold() == new.casefold() and p.id != project_id for p in items):
            raise ProjectError(f"There is a project named {new!r} already.")
        renamed = Project(found.id, new, found.created_at)
        self._save([renamed if p is found else p for p in items], current)
        return renamed

    def delete(self, project_id: str) -> bool:
        """Forget a project (the caller moves its takes back to no project); the chosen one
        becomes no project when it was this one."""
        items, current = self._data()
        kept = [p for p in items if p.id != project_id]
        if len(kept) == len(items):
            return False
        self._save(kept, NO_PROJECT if current == project_id else current)
        return True

    def set_current(self, project_id: str) -> str:
        items, _ = self._data()
        if project_id and not any(p.id == project_id for p in items):
            raise ProjectError("That project does not exist (any more).")
        self._save(items, project_id)
        return project_id

    def _save(self, items: list[Project], current: str) -> None:
        _write(self.path, {"projects": [p.to_dict() for p in items], "current": current})
