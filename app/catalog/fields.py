"""Walking a model's fields: labels for dotted paths, and where the media values are."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from app.catalog.media import MediaRule


def extra_of(f: FieldInfo) -> dict[str, Any]:
    return f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}


def _unwrap(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(nested model class or None, is_list) for an annotation like list[X] | None."""
    args = [annotation]
    is_list = False
    while args:
        a = args.pop()
        origin = typing.get_origin(a)
        if origin in (typing.Union, types.UnionType):
            args.extend(x for x in typing.get_args(a) if x is not type(None))
        elif origin is list:
            is_list = True
            args.extend(typing.get_args(a))
        elif origin is typing.Annotated:
            args.append(typing.get_args(a)[0])
        elif isinstance(a, type) and issubclass(a, BaseModel):
            return a, is_list
    return None, is_list


def nested_model(f: FieldInfo) -> type[BaseModel] | None:
    return _unwrap(f.annotation)[0]


def is_list_field(f: FieldInfo) -> bool:
    return _unwrap(f.annotation)[1]


def list_item_type(f: FieldInfo) -> Any:
    """The item type of a list field (``list[X] | None`` → X), or None for other fields."""
    args = [f.annotation]
    while args:
        a = args.pop()
        origin = typing.get_origin(a)
        if origin in (typing.Union, types.UnionType):
            args.extend(x for x in typing.get_args(a) if x is not type(None))
        elif origin is typing.Annotated:
            args.append(typing.get_args(a)[0])
        elif origin is list:
            return typing.get_args(a)[0]
    return None


def field_at(model: type[BaseModel], path: str) -> FieldInfo | None:
    """The field a dotted path ends in ('multi_prompt.2.duration' → KlingShot.duration);
    None when the path names no field (a list item, an unknown key)."""
    current: type[BaseModel] | None = model
    found: FieldInfo | None = None
    for part in (p for p in path.split(".") if p):
        if part.isdigit() and found is not None:
            continue
        if current is None or part not in current.model_fields:
            return None
        found = current.model_fields[part]
        current = nested_model(found)
    return found


@functools.cache
def adapter_for(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    f = model.model_fields[name]
    return TypeAdapter(typing.Annotated[f.annotation, f])  # type: ignore[name-defined]


def label_for(model: type[BaseModel], path: str) -> str:
    """'image_urls.2' → 'Image 3'; 'elements.0.reference_image_urls.1' → 'Element 1 reference
    image 2'; 'multi_prompt.2.duration' → 'Shot 3 duration'."""
    parts = [p for p in path.split(".") if p]
    words: list[str] = []
    current: type[BaseModel] | None = model
    i = 0
    while i < len(parts):
        name = parts[i]
        if current is None or name not in current.model_fields:
            words.append(name.replace("_", " "))
            i += 1
            continue
        f = current.model_fields[name]
        extra = extra_of(f)
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        if nxt is not None and nxt.isdigit() and "x-item-label" in extra:
            item = extra["x-item-label"]
            words.append(f"{item} {int(nxt) + 1}")
            i += 2
        else:
            title = f.title or name.replace("_", " ")
            words.append(title if not words else title.lower())
            i += 1
        current = nested_model(f)
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class MediaSlot:
    """One media value in a payload: its dotted path, the value, its rule and its label."""

    path: str
    value: str
    rule: MediaRule
    label: str


def media_slots(model: type[BaseModel], data: dict[str, Any], prefix: str = "",
                root: type[BaseModel] | None = None,
                include_empty: bool = False) -> Iterator[MediaSlot]:
    """Every media value (text) in `data`; empty strings too with `include_empty`."""
    root = root or model
    for name, f in model.model_fields.items():
        value = data.get(name) if isinstance(data, dict) else None
        if value is None:
            continue
        path = f"{prefix}{name}"
        extra = extra_of(f)
        sub = nested_model(f)
        if isinstance(value, list) != is_list_field(f):
            continue  # a list where one value goes, or the reverse: a type error, no media
        if "x-media" in extra:
            rule = MediaRule.from_schema(extra["x-media"])
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for idx, v in items:
                if isinstance(v, str) and (v or include_empty):
                    p = path if idx is None else f"{path}.{idx}"
                    yield MediaSlot(p, v, rule, label_for(root, p))
        elif sub is not None:
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for idx, v in items:
                p = path if idx is None else f"{path}.{idx}"
                if isinstance(v, dict):
                    yield from media_slots(sub, v, p + ".", root, include_empty)


def set_path(data: Any, dotted: str, value: Any) -> None:
    """Put `value` at a dotted path of a media slot (`elements.0.frontal_image_url`)."""
    parts = dotted.split(".")
    for part in parts[:-1]:
        data = data[int(part)] if isinstance(data, list) else data[part]
    last = parts[-1]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


@functools.cache
def _default_makers(model: type[BaseModel]) -> dict[str, Any]:
    """Per optional field of `model`: a callable making its default (once per model).

    pydantic's `FieldInfo.get_default(call_default_factory=True)` inspects the factory's
    signature on every call (to learn whether it takes the validated data): half of a form's
    validation went there. A factory that takes no data is called directly; a plain default
    is deep-copied as pydantic does (`smart_deepcopy`: immutable values are not copied)."""
    from pydantic._internal._utils import smart_deepcopy

    makers: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        if f.is_required():
            continue
        factory = f.default_factory
        if factory is None:
            makers[name] = functools.partial(smart_deepcopy, f.default)
        elif _takes_data(factory):  # decided once here, not on every call
            makers[name] = functools.partial(f.get_default, call_default_factory=True)
        else:
            makers[name] = factory
    return makers


def _takes_data(factory: Any) -> bool:
    try:
        from pydantic._internal._fields import takes_validated_data_argument
    except ImportError:  # another pydantic: let it decide on each call, as before
        return True
    return bool(takes_validated_data_argument(factory))


def field_default(model: type[BaseModel], name: str) -> Any:
    """The default of an optional field of `model`, as pydantic would make it (a fresh copy
    of a mutable one each call)."""
    return _default_makers(model)[name]()


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The default of every optional field of `model` (required fields left out)."""
    return {name: make() for name, make in _default_makers(model).items()}
