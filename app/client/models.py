"""The models one profile can render: the curated catalog plus the models its server lists
beyond it (``GET /v1/models``, imported from their schemas). No Qt.

`ModelSet` answers, for any model id of the profile, what the job manager and the window
ask: is it known, its media values, its validation report and its estimate. The curated
models keep their pydantic path (`app.catalog`); an imported model (`ImportedModel`) brings
its own (jsonschema plus the media rules; "price unknown" when the server publishes no price).

`ModelSet.from_listing(listing)` builds one from a server's model list; `load_cached` /
`save_cached` keep the last listing of each profile in the data folder (read at connect, so
the window shows "More models" at once and a server that does not answer leaves the last list).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.catalog.fields import MediaSlot
from app.catalog.importer import ImportedModel, extra_models
from app.catalog.pricing import Estimate

__all__ = ["CACHE_DIR", "ModelSet", "cache_path", "load_cached", "save_cached"]

#: where the last model list of each profile is kept, under the data folder
CACHE_DIR = "models"
#: a cached listing larger than this is not read (a real one is tens of kB)
MAX_CACHE_BYTES = 5_000_000


@dataclass(frozen=True)
class ModelSet:
    """Curated models plus imported ones (by id); immutable: a new listing is a new set."""

    imported: Mapping[str, ImportedModel] = field(default_factory=dict)
    #: one line per listed model that could not be used (said under "More models")
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, models: Iterable[ImportedModel], problems: Iterable[str] = ()) -> ModelSet:
        from app.catalog.models import MODELS

        found: dict[str, ImportedModel] = {}
        notes = list(problems)
        for m in models:
            if m.id in MODELS:
                notes.append(f"{m.id}: has the id of a curated model; the curated one is used")
            elif m.id in found:
                notes.append(f"{m.id}: listed twice; the first is used")
            else:
                found[m.id] = m
        return cls(found, tuple(notes))

    @classmethod
    def from_listing(cls, listing: Any) -> ModelSet:
        """The set a server's ``GET /v1/models`` answer describes."""
        models, problems = extra_models(listing)
        return cls.of(models, problems)

    # ---- what is known ------------------------------------------------------------------
    @property
    def extra(self) -> list[ImportedModel]:
        """The imported models, in the order the server listed them."""
        return list(self.imported.values())

    def get_imported(self, model_id: str) -> ImportedModel | None:
        return self.imported.get(model_id)

    def knows(self, model_id: str) -> bool:
        from app.catalog.models import MODELS

        return model_id in MODELS or model_id in self.imported

    def name(self, model_id: str) -> str:
        from app.catalog.models import MODELS

        if model_id in MODELS:
            return MODELS[model_id].name
        m = self.imported.get(model_id)
        return m.name if m is not None else model_id

    # ---- the questions of a take --------------------------------------------------------
    def media_values(self, model_id: str, payload: Mapping[str, Any]) -> list[MediaSlot]:
        """Every media value of a payload, as `app.catalog.media_values` gives them."""
        m = self.imported.get(model_id)
        if m is None:
            from app.catalog.validate import media_values

            return media_values(model_id, payload)
        return [MediaSlot(path, value, rule, m.label(path))
                for path, value, rule in m.media_values(payload)]

    def validate(self, model_id: str, payload: Mapping[str, Any],
                 probes: Mapping[str, Any] | None = None) -> Any:
        """An `app.catalog.validate.Report`; `UnknownModel` for an id nobody knows."""
        m = self.imported.get(model_id)
        if m is None:
            from app.catalog.validate import validate_payload

            return validate_payload(model_id, dict(payload), dict(probes or {}))
        return m.validate(payload, probes or {})

    def estimate(self, model_id: str, payload: Mapping[str, Any],
                 probes: Mapping[str, Any] | None = None) -> Estimate:
        """An `Estimate`; for an imported model without a published price an
        `UnknownEstimate` (``known`` False: confirmed every time, "+ unknown" under a cap)."""
        m = self.imported.get(model_id)
        if m is None:
            from app.catalog.pricing import estimate

            return estimate(model_id, payload, dict(probes or {}))
        return m.price_estimate(payload, probes or {})

    def check_known(self, model_id: str) -> None:
        """Raise `UnknownModel` (with the ids this profile knows) for an unknown id."""
        if not self.knows(model_id):
            from app.catalog.models import UnknownModel

            raise UnknownModel(model_id)


CURATED = ModelSet()


# ---- the cache of each profile's last listing --------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def cache_path(data_dir: Path | str, profile: str) -> Path:
    """``<data>/models/<profile>.json`` (the profile's name made a safe file name)."""
    name = _SAFE.sub("_", profile)[:100] or "_"
    return Path(data_dir) / CACHE_DIR / f"{name}.json"


def load_cached(data_dir: Path | str, profile: str) -> Any | None:
    """The last listing saved for a profile, or None (missing, unreadable, not JSON)."""
    from app.catalog.jsonsafe import PayloadError, loads_bounded, read_bounded

    path = cache_path(data_dir, profile)
    try:
        return loads_bounded(read_bounded(str(path), MAX_CACHE_BYTES),
                             max_bytes=MAX_CACHE_BYTES, max_depth=64)
    except (PayloadError, OSError, ValueError):
        return None


def save_cached(data_dir: Path | str, profile: str, listing: Any) -> None:
    """Keep a profile's listing (written to a temp file, then renamed: never half a file)."""
    path = cache_path(data_dir, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(listing, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
