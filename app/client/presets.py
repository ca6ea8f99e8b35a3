"""Named presets (a model, its parameters and references) and recent prompts per model.

Both live in the data folder as small JSON files (`presets.json`, `prompts.json`), written
atomically (a temporary file, fsync, rename: a crash leaves the old file or the new one) and
read through bounded JSON (`app.catalog.jsonsafe`): a damaged file reads as empty, said in
the log, and is replaced at the next save. Plain blocking file work: the window calls these
on a worker, never on the GUI thread.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.catalog.jsonsafe import PayloadError, loads_bounded, read_bounded

log = logging.getLogger(__name__)
MAX_NAME = 80
RECENT_PER_MODEL = 20
MAX_PROMPT = 10_000


class PresetError(ValueError):
    """A preset name or payload that cannot be kept; the message says why."""


@dataclass(frozen=True)
class Preset:
    name: str
    model_id: str
    payload: dict[str, Any]
    saved_at: float
    #: the project it belongs to (app.client.projects: its id); "" : every project's
    project: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "model_id": self.model_id, "payload": self.payload,
             "saved_at": self.saved_at}
        if self.project:
            d["project"] = self.project
        return d

    @property
    def key(self) -> tuple[str, str, str]:
        return self.name, self.model_id, self.project


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise PresetError("A preset needs a name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise PresetError(f"A preset name has at most {MAX_NAME} characters.")
    if any(ord(c) < 32 for c in name):
        raise PresetError("A preset name cannot hold control characters.")
    return name


def _read(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return loads_bounded(read_bounded(path))
    except PayloadError as e:
        log.warning("%s is not readable (%s); it reads as empty", path.name, e)
        return None


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # the old file stays as it was
        raise


class Presets:
    """The presets of a data folder; a name is unique per model and project (saving again
    replaces). A preset of a project is offered with that project's; one of no project
    with every project's."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def all(self, model_id: str | None = None, project: str | None = None) -> list[Preset]:
        """The presets (of `model_id`); `project`: those of that project and the global
        ones ("" : the global ones only)."""
        data = _read(self.path)
        items = data.get("presets") if isinstance(data, dict) else None
        out: list[Preset] = []
        for d in items if isinstance(items, list) else []:
            if isinstance(d, dict) and isinstance(d.get("name"), str) and \
                    isinstance(d.get("model_id"), str) and isinstance(d.get("payload"), dict):
                saved = d.get("saved_at")
                owner = d.get("project")
                out.append(Preset(d["name"], d["model_id"], d["payload"],
                                  float(saved) if isinstance(saved, int | float) else 0.0,
                                  owner if isinstance(owner, str) else ""))
        return [p for p in out if (model_id is None or p.model_id == model_id) and
                (project is None or p.project in ("", project))]

    def save(self, name: str, model_id: str, payload: dict[str, Any],
             project: str = "") -> Preset:
        name = check_name(name)
        if not isinstance(payload, dict):
            raise PresetError("A preset keeps a form's parameters (a JSON object).")
        kept = {k: v for k, v in payload.items() if k not in ("mock", "out")}
        try:
            json.dumps(kept, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise PresetError(f"These parameters cannot be kept: {e}") from None
        preset = Preset(name, model_id, kept, time.time(), project)
        others = [p for p in self.all() if p.key != preset.key]
        self._save([*others, preset])
        return preset

    def rename(self, name: str, model_id: str, new: str, project: str = "") -> Preset:
        new = check_name(new)
        items = self.all()
        if any(p.key == (new, model_id, project) for p in items if p.name != name):
            raise PresetError(f"There is a preset named {new!r} for this model already.")
        found = [p for p in items if p.key == (name, model_id, project)]
        if not found:
            raise PresetError(f"No preset named {name!r}.")
        renamed = Preset(new, model_id, found[0].payload, found[0].saved_at, project)
        self._save([renamed if p is found[0] else p for p in items])
        return renamed

    def delete(self, name: str, model_id: str, project: str = "") -> bool:
        items = self.all()
        kept = [p for p in items if p.key != (name, model_id, project)]
        if len(kept) != len(items):
            self._save(kept)
        return len(kept) != len(items)

    def _save(self, items: list[Preset]) -> None:
        _write(self.path, {"presets": [p.to_dict() for p in items]})


class RecentPrompts:
    """The last prompts sent per model, most recent first, without repeats."""

    def __init__(self, path: Path, keep: int = RECENT_PER_MODEL) -> None:
        self.path = Path(path)
        self.keep = keep

    def _all(self) -> dict[str, list[str]]:
        data = _read(self.path)
        if not isinstance(data, dict):
            return {}
        return {m: [p for p in v if isinstance(p, str)] for m, v in data.items()
                if isinstance(m, str) and isinstance(v, list)}

    def of(self, model_id: str) -> list[str]:
        return self._all().get(model_id, [])[: self.keep]

    def add(self, model_id: str, prompt: str) -> list[str]:
        text = prompt.strip() if isinstance(prompt, str) else ""
        data = self._all()
        if not text or len(text) > MAX_PROMPT or "\x00" in text:
            return data.get(model_id, [])
        recent = [text, *[p for p in data.get(model_id, []) if p != text]][: self.keep]
        data[model_id] = recent
        _write(self.path, data)
        return recent
