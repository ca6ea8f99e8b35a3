"""Field roles: what a field means beyond its type, read from the schema's hints.

`x-role: prompt` marks the texts a take is searched and titled by (and where @-mentions live),
`x-role: source` the input a result is compared against, and `x-total: {part, whole}` on a
list of objects says that the items' `part` values add up to the top-level field `whole` (Kling's
shots and the clip duration); `x-summary` marks the settings that name a take without a prompt
(Swap's mode, Upscale's factor and model). Every reader of these meanings asks here, not by
field name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from app.catalog.specs import FieldSpec, field_specs

PROMPT = "prompt"
SOURCE = "source"


@dataclass(frozen=True)
class Total:
    """The `part` of every item of the list field `items` adds up to the field `whole`."""

    items: str
    part: str
    whole: str


@cache
def specs_of(model_id: str) -> tuple[FieldSpec, ...]:
    """The field specs of a curated model (empty for a model the catalog does not know)."""
    from app.catalog.models import MODELS

    spec = MODELS.get(model_id)
    return field_specs(spec.json_schema()) if spec is not None else ()


def _with_role(specs: tuple[FieldSpec, ...], role: str) -> Iterator[FieldSpec]:
    for s in specs:
        if s.role == role:
            yield s
        yield from _with_role(s.children, role)


@cache
def _known_prompt_paths() -> tuple[str, ...]:
    """Prompt paths of every curated model: used for a take whose model is unknown."""
    from app.catalog.models import MODELS

    paths = {s.path for mid in MODELS for s in _with_role(specs_of(mid), PROMPT)}
    return tuple(sorted(paths, key=lambda p: (p.count("."), p)))


def _prompt_paths(model_id: str | None) -> tuple[str, ...]:
    specs = specs_of(model_id) if model_id else ()
    if not specs:
        return _known_prompt_paths()
    return tuple(s.path for s in _with_role(specs, PROMPT))


def _values_at(data: Any, parts: list[str], prefix: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) for a spec path, "#" standing for every item of a list
    ("multi_prompt.#.prompt" → "multi_prompt.0.prompt", "multi_prompt.1.prompt", …)."""
    if not parts:
        yield prefix, data
        return
    head, rest = parts[0], parts[1:]
    if head == "#":
        for i, item in enumerate(data if isinstance(data, list) else []):
            yield from _values_at(item, rest, f"{prefix}.{i}")
    elif isinstance(data, Mapping) and head in data:
        yield from _values_at(data[head], rest, f"{prefix}.{head}" if prefix else head)


def prompt_texts(model_id: str | None, data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(dotted path, text) of every prompt of a payload, in schema order."""
    if not isinstance(data, Mapping):
        return []
    out: list[tuple[str, str]] = []
    for path in _prompt_paths(model_id):
        out += [(p, v) for p, v in _values_at(data, path.split("."), "") if isinstance(v, str)]
    return out


def prompt_text(model_id: str | None, data: Mapping[str, Any] | None,
                sep: str = "\n") -> str:
    """The prompts of a payload as one text (blank ones left out)."""
    return sep.join(t.strip() for _, t in prompt_texts(model_id, data) if t.strip())


def source_media(model_id: str, data: Mapping[str, Any] | None) -> str | None:
    """The input a result is compared against: the first source field that holds a value
    (the first item of a list)."""
    if not isinstance(data, Mapping):
        return None
    for spec in _with_role(specs_of(model_id), SOURCE):
        value = data.get(spec.name) if "." not in spec.path else None
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value
    return None


def totals(specs: tuple[FieldSpec, ...]) -> list[Total]:
    """The sums a schema declares between a list's items and a top-level field."""
    names = {s.name for s in specs}
    out: list[Total] = []
    for s in specs:
        t = s.total
        if t and isinstance(t.get("part"), str) and t.get("whole") in names:
            out.append(Total(s.name, t["part"], t["whole"]))
    return out


def summary(model_id: str, data: Mapping[str, Any] | None) -> list[str]:
    """The source's file name and the summary settings of a take, in schema order, in words
    ("clip.mp4", "person", "×2"): what names a take that has no prompt."""
    if not isinstance(data, Mapping):
        return []
    words: list[str] = []
    source = source_media(model_id, data)
    if source:
        words.append(source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    for spec in specs_of(model_id):
        value = data.get(spec.name, spec.default if spec.has_default else None)
        if spec.summary and isinstance(value, str | int | float) and not isinstance(value, bool):
            text = f"{value:g}" if isinstance(value, float) else str(value)
            words.append(f"×{text}" if spec.unit == "×" else f"{text} {spec.unit}".strip())
    return words
