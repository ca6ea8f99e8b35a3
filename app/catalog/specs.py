"""From a model's JSON Schema to frozen, Qt-free field records the form generator reads.

Works on the JSON Schema alone (``$defs``/``$ref``, ``anyOf`` with null, ``const``, ``enum``),
so a schema sent by a server builds the same form as the local pydantic model. The ``x-*``
hints are carried through untouched; `editor_kind` picks the registry key for a field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.catalog.media import MediaRule

#: JSON Schema has no "unset" literal distinct from a default of null; this marks "no default".
NO_DEFAULT: Any = type("NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()

@dataclass(frozen=True)
class FieldSpec:
    """One field of a schema, with everything an editor needs and nothing Qt."""

    name: str
    path: str
    title: str
    description: str = ""
    type: str | None = None
    required: bool = False
    nullable: bool = False
    default: Any = NO_DEFAULT
    enum: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    step: float | None = None
    unit: str = ""
    widget: str | None = None
    guidance: Mapping[str, str] = field(default_factory=dict)
    media: MediaRule | None = None
    mention: str | None = None
    item_label: str | None = None
    exclusive: str | None = None
    depends_on: str | None = None
    role: str | None = None  # what the field means (x-role): see app.catalog.roles
    total: Mapping[str, str] | None = None  # items' part summing to a whole (x-total)
    summary: bool = False  # names a take that has no prompt (x-summary)
    item_type: str | None = None
    children: tuple[FieldSpec, ...] = ()

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def is_list(self) -> bool:
        return self.type == "array"

    @property
    def bounded(self) -> bool:
        return self.minimum is not None and self.maximum is not None

    @property
    def unset_allowed(self) -> bool:
        """An optional value whose default is "not sent": the editor shows an unset state."""
        return self.nullable and self.default in (None, NO_DEFAULT)

    def child(self, name: str) -> FieldSpec | None:
        return next((c for c in self.children if c.name == name), None)


def field_specs(schema: Mapping[str, Any], prefix: str = "") -> tuple[FieldSpec, ...]:
    """The fields of an object schema, in schema order."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    return tuple(
        _spec(name, prefix + name, sub, name in required, defs)
        for name, sub in schema.get("properties", {}).items()
    )


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return defs.get(ref.split("/")[-1], {})
    return node


def _branches(node: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]],
                                                                        bool]:
    """The non-null alternatives of a node, and whether null is allowed."""
    options = node.get("anyOf") or node.get("oneOf")
    if not options:
        return [_resolve(node, defs)], node.get("type") == "null"
    branches = [_resolve(o, defs) for o in options if o.get("type") != "null"]
    return branches, len(branches) < len(options)


def _spec(name: str, path: str, node: Mapping[str, Any], required: bool,
          defs: Mapping[str, Any]) -> FieldSpec:
    branches, nullable = _branches(node, defs)
    main = _main_branch(branches)
    item_type, children = _items(main, path, defs)
    media = node.get("x-media")
    return FieldSpec(
        name=name,
        path=path,
        title=str(node.get("title") or name.replace("_", " ").capitalize()),
        description=str(node.get("description") or ""),
        type=_type_of(main, branches),
        required=required,
        nullable=nullable,
        default=node.get("default", NO_DEFAULT),
        enum=_enum_of(main),
        minimum=_first(main, "minimum", branches),
        maximum=_first(main, "maximum", branches),
        min_length=main.get("minLength"),
        max_length=main.get("maxLength"),
        min_items=main.get("minItems"),
        max_items=main.get("maxItems"),
        step=node.get("x-step"),
        unit=str(node.get("x-unit") or ""),
        widget=node.get("x-widget"),
        guidance=dict(node.get("x-guidance") or {}),
        media=MediaRule.from_schema(media) if isinstance(media, dict) else None,
        mention=node.get("x-mention"),
        item_label=node.get("x-item-label"),
        exclusive=node.get("x-exclusive"),
        depends_on=node.get("x-depends-on"),
        role=node.get("x-role") if isinstance(node.get("x-role"), str) else None,
        total=dict(node["x-total"]) if isinstance(node.get("x-total"), dict) else None,
        summary=node.get("x-summary") is True,
        item_type=item_type,
        children=children,
    )


def _main_branch(branches: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The branch an editor is built for: the richest of the alternatives."""
    if len(branches) == 1:
        return branches[0]
    ranked = sorted(branches, key=lambda b: ("minimum" in b or "enum" in b, b.get("type") ==
                                             "integer"), reverse=True)
    return ranked[0] if ranked else {}


def _type_of(main: Mapping[str, Any], branches: list[Mapping[str, Any]]) -> str | None:
    types = {b.get("type") for b in branches}
    if len(types) > 1:
        return "mixed"
    t = main.get("type")
    if t is None and ("const" in main or "enum" in main):
        return "string"
    return t if isinstance(t, str) else None


def _enum_of(main: Mapping[str, Any]) -> tuple[Any, ...]:
    if "enum" in main:
        return tuple(main["enum"])
    if "const" in main:
        return (main["const"],)
    return ()


def _first(main: Mapping[str, Any], key: str, branches: list[Mapping[str, Any]]) -> float | None:
    if key in main:
        return main[key]
    return next((b[key] for b in branches if key in b), None)


def _items(main: Mapping[str, Any], path: str,
           defs: Mapping[str, Any]) -> tuple[str | None, tuple[FieldSpec, ...]]:
    if main.get("type") != "array":
        return None, ()
    items = _resolve(main.get("items", {}), defs)
    if items.get("type") == "object" or "properties" in items:
        return "object", field_specs({**items, "$defs": defs}, prefix=path + ".#.")
    t = items.get("type")
    return (t if isinstance(t, str) else None), ()


_KIND_BY_WIDGET = {"prompt", "seed", "auto-int", "keyframe", "shots", "elements", "json"}


def editor_kind(spec: FieldSpec, widgets: Collection[str] = _KIND_BY_WIDGET) -> str:
    """The registry key of the editor for a field: its ``x-widget`` hint when that names one of
    `widgets` (the form's editor table: `app.forms.registry.editor_for` decides through this),
    else the shape."""
    if spec.widget is not None and spec.widget in widgets:
        return spec.widget
    return shape_kind(spec)


def shape_kind(spec: FieldSpec) -> str:
    """The registry key from the field's shape alone (no ``x-widget``)."""
    if spec.media is not None:
        if spec.is_list and spec.item_type in (None, "string"):
            return "media-list"
        if spec.type == "string":
            return "media"
    if spec.enum and spec.type in ("string", "integer", "number"):
        return "enum"
    if spec.type == "boolean":
        return "bool"
    if spec.type == "integer":
        return "integer"
    if spec.type == "number":
        return "number"
    if spec.type == "string":
        return "string"
    return "json"


_INDEX = re.compile(r"\.#\.")


def concrete_path(spec_path: str, *indices: int) -> str:
    """'elements.#.video_url' with 2 → 'elements.2.video_url'."""
    out = spec_path
    for i in indices:
        out = _INDEX.sub(f".{i}.", out, count=1)
    return out


def decimals_for(step: float | None) -> int:
    """Decimals a value on a grid of `step` needs (0.05 → 2, 0.5 → 1, 1 → 0)."""
    if not step or float(step).is_integer():
        return 0
    text = f"{step:.6f}".rstrip("0")
    return len(text.split(".")[1])
