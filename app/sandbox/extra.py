"""Extra models for the sandbox: models known only by a schema file (`takes sandbox
--models-dir DIR`, `SandboxServer(models_dir=…)`).

Each ``*.json`` file of the folder is one model's input schema in any shape
`app.catalog.importer.import_schema` reads (a bare JSON Schema, an OpenAPI document, a
Cog/Replicate document, fal's model envelope). Its id is the one the document names (fal's
``endpoint_id``, the OpenAPI route), else (a bare JSON Schema, a Cog document) the file's
stem. The server then

- lists it in ``GET /v1/models`` after the curated seven, with its normalized schema and
  ``"price": null`` (the sandbox publishes no price for it: the app says "price unknown until
  the provider charges" and asks to confirm every paid render);
- takes ``POST /v1/jobs/<id>``: validated by the importer (jsonschema plus the media rules),
  media URLs mapped to uploaded files as for the curated models, charged `CREDITS_PER_SECOND`
  per second of the placeholder it renders (what "the provider charges", known once charged);
- renders a placeholder like the curated generators: its length from a ``duration`` field,
  its shape from ``aspect_ratio`` or the first image given, audio unless ``generate_audio``
  is false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.catalog.importer import ImportedModel, SchemaError, import_schema, load_schema_file
from app.catalog.media import MediaInfo
from app.catalog.wrapper import split

__all__ = ["CREDITS_PER_SECOND", "ExtraModelError", "ExtraModels", "load_models_dir"]

#: what the sandbox charges for a render of an extra model, per second of output
CREDITS_PER_SECOND = 10
#: placeholder lengths are kept within this (a schema may allow hours)
MIN_S, MAX_S = 1.0, 20.0
DEFAULT_S = 5.0
#: the most schema files one folder may hold
MAX_FILES = 200
#: a model id usable as a route: no empty segment, no "..", no query or percent signs
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ExtraModelError(ValueError):
    """A models folder the sandbox cannot serve; the message names the file and the cause."""


@dataclass(frozen=True)
class ExtraModels:
    """The extra models a sandbox serves, by id, in file-name order."""

    models: Mapping[str, ImportedModel]

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.models

    def get(self, model_id: str) -> ImportedModel | None:
        return self.models.get(model_id)

    def listing(self) -> list[dict[str, Any]]:
        """Their entries of ``GET /v1/models``."""
        return [{"id": m.id, "name": m.name, "task": "imported",
                 "task_label": f"Imported from {m.source}", "tier": None,
                 "wrapper_params": ["out", "mock"], "mentions": [
                     "@" + p for p in m.mention_prefixes], "price": m.price,
                 "schema": m.schema} for m in self.models.values()]

    def media_rules(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for m in self.models.values():
            for _, _, rule in _rules(m.fields):
                out.append(rule.to_schema())
        return out


def _rules(specs: Any) -> Any:
    for s in specs:
        if s.media is not None:
            yield s.name, s.name, s.media
        yield from _rules(s.children)


def load_models_dir(folder: Path | str | None) -> ExtraModels:
    """The models of a folder's schema files; `ExtraModelError` for a folder that is not
    one, a file that is not a schema, an id that is taken or not usable in a URL."""
    from app.catalog.models import MODELS

    if folder is None:
        return ExtraModels({})
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ExtraModelError(f"{root} is not a folder of schema files")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() == ".json" and p.is_file())
    if len(files) > MAX_FILES:
        raise ExtraModelError(f"{root} holds {len(files)} schema files; at most {MAX_FILES}")
    found: dict[str, ImportedModel] = {}
    for path in files:
        try:
            doc = load_schema_file(str(path))
            model = import_schema(doc)
            if model.source in ("json-schema", "cog"):  # the document names no model id
                model = import_schema(doc, model_id=path.stem)
        except SchemaError as e:
            raise ExtraModelError(f"{path.name}: {e}") from None
        if not _ID.match(model.id) or len(model.id) > 200 or model.id.endswith("/cancel"):
            raise ExtraModelError(f"{path.name}: the model id {model.id[:80]!r} cannot be a "
                                  "route (letters, digits, . _ - and / between parts)")
        if model.id in MODELS or model.id in found:
            raise ExtraModelError(f"{path.name}: the model id {model.id!r} is taken")
        found[model.id] = model
    return ExtraModels(found)


# ---- a job of an extra model --------------------------------------------------------------


def validate(model: ImportedModel, payload: Mapping[str, Any],
             infos: Mapping[str, MediaInfo]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(the params with defaults, the field errors) of a job body (media as local paths)."""
    report = model.validate(payload, infos)
    params = {**model.defaults(), **split(payload)[0]}
    return params, [i.to_dict() for i in report.errors]


def cost(model: ImportedModel, payload: Mapping[str, Any],
         infos: Mapping[str, MediaInfo]) -> int:
    """What this server charges: the published price's maximum, else per second rendered."""
    if split(payload)[1].get("mock") is True:
        return 0
    est = model.price_estimate(payload, infos)
    if getattr(est, "known", True):
        return int(est.max)
    params = {**model.defaults(), **split(payload)[0]}
    return round(CREDITS_PER_SECOND * _length(params))


def _length(params: Mapping[str, Any]) -> float:
    from app.sandbox.plan import seconds

    value = seconds(params.get("duration"), DEFAULT_S)
    if isinstance(params.get("duration"), str) and value == DEFAULT_S:
        value = seconds(str(params["duration"]).rstrip("sS"), DEFAULT_S)  # fal's "5s"
    return min(MAX_S, max(MIN_S, value))


def make_plan(model: ImportedModel, params: Mapping[str, Any], wrapper: Mapping[str, Any],
              infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    """A generator's placeholder: length, shape and audio from the params."""
    from app.sandbox.plan import FPS, parse_ratio, size_for_aspect

    aspect = params.get("aspect_ratio")
    w = h = 0
    if isinstance(aspect, str) and ":" in aspect:
        w, h = size_for_aspect(*parse_ratio(aspect))
    else:
        for _, value, _ in model.media_values(params):
            info = infos.get(value)
            if info is not None and info.width and info.height:
                w, h = size_for_aspect(info.width, info.height)
                break
    if not w:
        w, h = size_for_aspect(16, 9)
    return {"kind": "generate", "width": w, "height": h, "duration_s": _length(params),
            "audio": params.get("generate_audio", True) is not False, "fps": FPS,
            "model": model.id, "mock": bool(wrapper.get("mock"))}
