"""Any model's input schema → a catalog model the app can show, check and price. No Qt.

`import_schema` takes one of:

- a bare JSON Schema of the model's input (an object with ``properties``);
- an OpenAPI 3 document: the JSON request body of its POST operation, ``$ref`` resolved;
- a Cog/Replicate document (``components.schemas.Input``);
- fal's model-API envelope ``{"models": [{"endpoint_id", "openapi": {...}}]}``;
- the app's own ``GET /v1/models`` listing ``{"models": [{"id", "schema", "price"}]}`` or
  one entry of it.

It resolves every ``$ref`` (JSON pointers into the document; a reference to itself, a loop or
nesting deeper than `MAX_NESTING` becomes a JSON field and a warning, never a hang), orders the
fields as the provider shows them (``x-order``, ``x-fal-order-properties``, nested too; else
declaration order), and writes what it recognised as the app's own hints into a normalized,
ref-free JSON Schema: ``x-media`` (kind and limits, from ``format: uri``/``binary``, fal's
``ui``/``x-fal`` hints and names such as ``start_image_url``), ``x-widget`` (``prompt``,
``seed``) and ``x-mention`` (``@Image1`` in a description). That schema goes through the same
reader as the curated models (`app.catalog.specs.field_specs`), so a form, the validator and
the media probe read the same limits. Validation is jsonschema plus the media rules and prompt
mentions, with the curated models' field-addressed messages.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.catalog.issues import Issue
from app.catalog.media import MB, MediaInfo, MediaRule, fmt_num, is_remote, reference_problem
from app.catalog.pricing import Estimate
from app.catalog.specs import FieldSpec, editor_kind, field_specs
from app.catalog.wrapper import check_wrapper, split

__all__ = ["EDITORS", "MAX_NESTING", "ImportedModel", "SchemaError", "UnknownEstimate",
           "editor_of", "extra_models", "import_schema", "load_schema_file"]

#: How deep objects and arrays may nest once references are resolved. The deepest curated
#: model nests 3 levels (elements → item → reference images); a provider schema deeper
#: than this is shown as JSON from there on.
MAX_NESTING = 12
#: A schema that expands to more nodes than this is refused (references that fan out
#: exponentially would otherwise take minutes and gigabytes to inline).
MAX_NODES = 50_000
#: Schema files: the largest published one we keep is 12 kB; 5 MB refuses only garbage.
MAX_SCHEMA_BYTES = 5_000_000
#: JSON nesting of the file itself (an OpenAPI document nests ~15 levels).
MAX_SCHEMA_DEPTH = 64

#: The editor kinds `takes schema` reports (a specialised editor reports what it specialises).
EDITORS = ("dropdown", "slider", "spin", "toggle", "text", "prompt", "media", "media-list",
           "cards", "seed", "json")

PRICE_UNKNOWN = "price unknown until the provider charges"


@dataclass
class UnknownEstimate(Estimate):
    """No published price: the provider's charge is known only once it is made. `min`/`max`
    are 0 only to keep the shape of `Estimate`; read ``known`` (False) before adding them up:
    such a job always needs the confirm step and counts as "+ unknown" against a daily cap."""

    known: bool = False

    def text(self) -> str:
        return "price unknown"


class SchemaError(ValueError):
    """A document that is not a usable input schema; the message is one sentence."""


# ---- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedModel:
    """A model known only from its schema."""

    id: str
    name: str
    source: str  # "json-schema", "openapi", "cog", "fal", "takes"
    schema: dict[str, Any]  # normalized: no $ref, display order, x-media / x-widget hints
    fields: tuple[FieldSpec, ...]
    warnings: tuple[str, ...] = ()
    price: dict[str, Any] | None = None  # a rule of the catalog's price table, when published
    has_format: bool = False  # check_wrapper: imported models take no `format`

    @property
    def mention_prefixes(self) -> list[str]:
        return [f.mention for f in _walk(self.fields) if f.mention]

    def field(self, path: str) -> FieldSpec | None:
        """The field at a dotted path ('multi_prompt.2.duration' or 'multi_prompt.#.duration')."""
        parts = [p for p in path.split(".") if p and not p.isdigit() and p != "#"]
        specs, found = self.fields, None
        for name in parts:
            found = next((s for s in specs if s.name == name), None)
            if found is None:
                return None
            specs = found.children
        return found

    def label(self, path: str) -> str:
        """'image_urls.1' → 'Image Urls 2'; 'multi_prompt.0.duration' → 'Multi Prompt 1
        duration'."""
        words: list[str] = []
        specs = self.fields
        parts = [p for p in path.split(".") if p]
        for i, part in enumerate(parts):
            if part.isdigit():
                words[-1:] = [f"{words[-1]} {int(part) + 1}"] if words else [part]
                continue
            spec = next((s for s in specs if s.name == part), None)
            title = spec.title if spec is not None else part.replace("_", " ")
            words.append(title if i == 0 else title[:1].lower() + title[1:])
            specs = spec.children if spec is not None else ()
        text = " ".join(words)
        return text[:1].upper() + text[1:] if text else "The payload"

    def describe(self) -> dict[str, Any]:
        """What `takes schema` prints."""
        return {"model": self.id, "name": self.name, "source": self.source,
                "fields": [_describe(f) for f in self.fields],
                "price": self.price if self.price is not None else PRICE_UNKNOWN,
                "warnings": list(self.warnings)}

    def defaults(self) -> dict[str, Any]:
        return {f.name: copy.deepcopy(f.default) for f in self.fields if f.has_default}

    def validate(self, payload: Mapping[str, Any],
                 probes: Mapping[str, Any] | None = None) -> Any:
        """A `app.catalog.validate.Report` for a payload (model params + out/mock)."""
        return _validate(self, payload, probes or {})

    def media_values(self, payload: Mapping[str, Any]) -> list[tuple[str, str, MediaRule]]:
        """(path, value, rule) of every media value a payload holds."""
        params, _ = split(payload)
        return list(_media_slots(self.fields, params, ""))

    def local_media(self, payload: Mapping[str, Any]) -> list[str]:
        seen: dict[str, None] = {}
        for _, value, _ in self.media_values(payload):
            if not is_remote(value) and reference_problem(value) is None:
                seen[value] = None
        return list(seen)

    def available_tags(self, params: Mapping[str, Any]) -> dict[str, int]:
        """How many of each mention prefix the params hold: {'Image': 2, 'Element': 1}."""
        counts: dict[str, int] = {}
        for spec in self.fields:
            if spec.mention:
                value = params.get(spec.name)
                n = len(value) if isinstance(value, list) else (1 if value else 0)
                counts[spec.mention] = counts.get(spec.mention, 0) + n
        return counts

    def price_estimate(self, payload: Mapping[str, Any],
                       probes: Mapping[str, Any] | None = None) -> Estimate:
        """The estimate as the form and the guard-rails read it: an `Estimate`, or an
        `UnknownEstimate` (``known`` False) when no price is published."""
        found = self.estimate(payload, probes)
        if not found["known"]:
            return UnknownEstimate(0, 0, found["breakdown"], list(found["notes"]))
        return Estimate(found["min"], found["max"], found["breakdown"], list(found["notes"]),
                        mock=split(payload)[1].get("mock") is True)

    def estimate(self, payload: Mapping[str, Any],
                 probes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{"known", "min", "max", "breakdown", "notes", "needs_confirm"}: a price from the
        published rule, else "price unknown until the provider charges" (always confirmed)."""
        return _estimate(self, payload, probes or {})


def _walk(specs: tuple[FieldSpec, ...]) -> Iterator[FieldSpec]:
    for s in specs:
        yield s
        yield from _walk(s.children)


_KIND_TO_EDITOR = {"enum": "dropdown", "bool": "toggle", "string": "text", "prompt": "prompt",
                   "seed": "seed", "auto-int": "spin", "keyframe": "slider", "shots": "cards",
                   "elements": "cards", "media": "media", "media-list": "media-list",
                   "json": "json"}


def editor_of(spec: FieldSpec) -> str:
    """The editor kind `takes schema` reports for a field (one of `EDITORS`), decided as the
    form's registry decides (`app.forms.registry`): keyframe → slider, shots and elements →
    cards, auto-int → spin, a bounded number a slider, an unbounded one a spin box."""
    kind = editor_kind(spec)
    if kind in ("integer", "number"):
        return "slider" if spec.bounded else "spin"
    if kind == "json" and spec.is_list and spec.item_type == "object" and spec.children:
        return "cards"
    return _KIND_TO_EDITOR.get(kind, "json")


def _describe(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name, "title": spec.title, "editor": editor_of(spec),
                           "required": spec.required}
    if spec.type:
        out["type"] = spec.type
    if spec.has_default:
        out["default"] = spec.default
    if spec.nullable:
        out["nullable"] = True
    if spec.enum:
        out["choices"] = list(spec.enum)
    if spec.minimum is not None or spec.maximum is not None:
        out["range"] = [spec.minimum, spec.maximum]
    if spec.min_items is not None or spec.max_items is not None:
        out["items"] = [spec.min_items, spec.max_items]
    if spec.max_length is not None:
        out["max_length"] = spec.max_length
    if spec.media is not None:
        out["media"] = spec.media.to_schema()
    if spec.mention:
        out["mention"] = "@" + spec.mention
    if spec.children:
        out["fields"] = [_describe(c) for c in spec.children]
    return out


# ---- reading a document -------------------------------------------------------------------


def load_schema_file(path: str) -> Any:
    """The JSON of a schema file: a regular file, bounded in size and nesting, UTF-8.
    Raises SchemaError with what is wrong (a folder, a FIFO, too large, not JSON…)."""
    from app.catalog.jsonsafe import PayloadError, loads_bounded, read_bounded

    try:
        return loads_bounded(read_bounded(path, MAX_SCHEMA_BYTES), max_bytes=MAX_SCHEMA_BYTES,
                             max_depth=MAX_SCHEMA_DEPTH)
    except PayloadError as e:
        raise SchemaError(str(e)) from None


def import_schema(doc: Any, *, model_id: str | None = None, name: str | None = None,
                  price: dict[str, Any] | None = None) -> ImportedModel:
    """The catalog model a schema document describes (see the module's docstring)."""
    if not isinstance(doc, dict):
        raise SchemaError(f"this is {_json_kind(doc)}, not a schema (a JSON object)")
    source, root, schema, found_id, found_name, found_price = _locate(doc, model_id)
    warnings: list[str] = []
    budget = [MAX_NODES]
    # A ref is a pointer into the whole document; one that misses there is tried in the input
    # schema itself (a JSON Schema with its own $defs pasted into an OpenAPI body).
    normalized = _normalize(schema, (root, schema), warnings, (), 0, "", budget)
    if not isinstance(normalized.get("properties"), dict) or not normalized["properties"]:
        raise SchemaError("the input schema has no properties: there is nothing to fill in")
    _annotate_object(normalized, warnings, "")
    _check_validator_schema(normalized)
    warnings += [f"{where}: its pattern is not checked here (it could take very long to test); "
                 "the provider checks it" for where in _unsafe_patterns(normalized, "")]
    mid = model_id or found_id or str(normalized.get("title") or "imported")
    return ImportedModel(
        id=mid, name=name or found_name or str(normalized.get("title") or mid), source=source,
        schema=normalized, fields=field_specs(normalized), warnings=tuple(warnings),
        price=price if price is not None else found_price)


def extra_models(listing: Any, known: Any = None) -> tuple[list[ImportedModel], list[str]]:
    """The models a server's ``GET /v1/models`` lists beyond `known` (default: the curated
    catalog), imported, with their published prices; and one line per entry that could not
    be used (what the window's "More models" section shows and what it says it left out)."""
    from app.catalog.models import MODELS

    skip = set(MODELS if known is None else known)
    models = listing.get("models") if isinstance(listing, dict) else None
    if not isinstance(models, list):
        return [], ["the model list is not {\"models\": [...]}"]
    found: list[ImportedModel] = []
    problems: list[str] = []
    for entry in models:
        mid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(mid, str) or mid in skip:
            continue
        try:
            found.append(import_schema(entry))
        except SchemaError as e:
            problems.append(f"{mid[:80]}: {e}")
    return found, problems


def _json_kind(value: Any) -> str:
    return {list: "a JSON list", str: "a JSON string", bool: "true or false",
            type(None): "null"}.get(type(value), "a JSON number")


Located = tuple[str, dict[str, Any], dict[str, Any], "str | None", "str | None",
                "dict[str, Any] | None"]


def _locate(doc: dict[str, Any], model_id: str | None) -> Located:
    """(source, the document refs point into, the input schema, id, name, price)."""
    models = doc.get("models")
    if isinstance(models, list) and "properties" not in doc:
        entry = _pick_entry(models, model_id)
        if isinstance(entry.get("openapi"), dict):  # fal's model API
            meta = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
            src, root, schema, _, _, _ = _locate(entry["openapi"], None)
            return ("fal" if src == "openapi" else src, root, schema,
                    _text(entry.get("endpoint_id")), _text(meta.get("display_name")), None)
        return _listing_entry(entry)
    if "schema" in doc and "id" in doc and isinstance(doc["schema"], dict):
        return _listing_entry(doc)
    if isinstance(doc.get("openapi"), str) or isinstance(doc.get("swagger"), str):
        return _from_openapi(doc)
    if isinstance(doc.get("properties"), dict) or doc.get("type") == "object":
        return "json-schema", doc, doc, None, _text(doc.get("title")), None
    raise SchemaError("this JSON is not a schema: no properties, no OpenAPI document, no Cog "
                      "Input and no model listing")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _pick_entry(models: list[Any], model_id: str | None) -> dict[str, Any]:
    entries = [m for m in models if isinstance(m, dict)]
    ids = [str(m.get("id") or m.get("endpoint_id") or "?") for m in entries]
    if model_id is not None:
        for m, mid in zip(entries, ids, strict=True):
            if mid == model_id:
                return m
        raise SchemaError(f"no model {model_id!r} in this listing; it has: "
                          f"{', '.join(ids[:20]) or 'none'}")
    if len(entries) != 1:
        raise SchemaError(f"this listing holds {len(entries)} models: pick one with --model "
                          f"({', '.join(ids[:20]) or 'none'})")
    return entries[0]


def _listing_entry(entry: dict[str, Any]) -> Located:
    schema = entry.get("schema")
    if not isinstance(schema, dict):
        raise SchemaError(f"model {entry.get('id')!r} of the listing has no schema")
    price = entry.get("price") if isinstance(entry.get("price"), dict) else None
    return "takes", schema, schema, _text(entry.get("id")), _text(entry.get("name")), price


def _from_openapi(doc: dict[str, Any]) -> Located:
    schemas = (doc.get("components") or {}).get("schemas") or {}
    title = _text((doc.get("info") or {}).get("title"))
    if isinstance(schemas, dict) and isinstance(schemas.get("Input"), dict) and (
            "PredictionRequest" in schemas or "/predictions" in (doc.get("paths") or {})):
        return "cog", doc, schemas["Input"], None, title, None
    bodies: list[tuple[str, Any]] = []
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for route, item in paths.items():
        op = item.get("post") if isinstance(item, dict) else None
        body = _request_schema(doc, op) if isinstance(op, dict) else None
        if body is not None:
            bodies.append((str(route), body))
    if not bodies:
        raise SchemaError("this OpenAPI document has no POST operation with a JSON request body")
    if len(bodies) > 1:
        raise SchemaError(f"this OpenAPI document has {len(bodies)} POST operations with a "
                          f"JSON body ({', '.join(r for r, _ in bodies[:10])}): save the one "
                          "model's input schema on its own")
    route, body = bodies[0]
    return "openapi", doc, body, route.strip("/") or None, title, None


def _request_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    body = op.get("requestBody")
    if isinstance(body, dict) and isinstance(body.get("$ref"), str):
        body = _pointer(doc, body["$ref"])
    if not isinstance(body, dict):
        return None
    content = body.get("content") if isinstance(body.get("content"), dict) else {}
    for ctype, media in content.items():
        if "json" in str(ctype) and isinstance(media, dict) and isinstance(media.get("schema"),
                                                                           dict):
            return media["schema"]
    return None


def _pointer(doc: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node = doc
    for raw in ref[1:].split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


# ---- normalizing: refs inlined, nulls as anyOf, provider order ----------------------------

_META = ("title", "description", "default", "examples", "x-order", "readOnly", "writeOnly")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_DROP = ("$defs", "definitions", "$schema", "$id", "nullable", "discriminator", "xml",
         "externalDocs", "example")


def _normalize(node: Any, root: tuple[dict[str, Any], ...], warnings: list[str],
               stack: tuple[str, ...],
               depth: int, where: str, budget: list[int]) -> dict[str, Any]:
    budget[0] -= 1
    if budget[0] < 0:
        raise SchemaError(f"the schema expands to more than {MAX_NODES:,} parts once its "
                          "references are resolved: it is not a model's input schema")
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        field_name = where or "the input"
        if ref in stack:
            warnings.append(f"{field_name}: refers to itself ({ref}): shown as JSON")
            return _keep_meta(node)
        target = next((t for r in root if isinstance(t := _pointer(r, ref), dict)), None)
        if not isinstance(target, dict):
            warnings.append(f"{field_name}: reference {ref[:120]} cannot be resolved: shown as "
                            "JSON")
            return _keep_meta(node)
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _normalize(merged, root, warnings, (*stack, ref), depth, where, budget)
    if depth > MAX_NESTING:
        warnings.append(f"{where}: nested deeper than {MAX_NESTING} levels: shown as JSON")
        return _keep_meta(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {str(k): _normalize(v, root, warnings, stack, depth + 1, _join(where, k),
                                           budget) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _normalize(value, root, warnings, stack, depth + 1,
                                  _join(where, "#") if key == "items" else where, budget)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_normalize(v, root, warnings, stack, depth, where, budget)
                        for v in value]
        else:
            out[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    _openapi30(out)
    if isinstance(out.get("properties"), dict):
        out["properties"] = _ordered(node, out["properties"])
    if node.get("nullable") is True or (isinstance(out.get("type"), list)
                                        and "null" in out["type"]):
        out = _as_nullable(out)
    return out


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else str(name)


def _keep_meta(node: dict[str, Any]) -> dict[str, Any]:
    return {k: node[k] for k in _META if k in node}


def _openapi30(out: dict[str, Any]) -> None:
    """OpenAPI 3.0 / draft 4 spellings → JSON Schema 2020-12 (what jsonschema checks)."""
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
            out[bound] = out[limit]  # both: > limit for jsonschema, a slider's end for the form
        elif isinstance(out.get(bound), int | float) and limit not in out:
            out[limit] = out[bound]


def _as_nullable(out: dict[str, Any]) -> dict[str, Any]:
    """{"type": "string", "nullable": true} → anyOf [string, null], the shape the reader knows."""
    inner = {k: v for k, v in out.items() if k not in _META and not k.startswith("x-")
             and k not in ("ui", "_fal_ui_field")}
    outer = {k: v for k, v in out.items() if k not in inner}
    if isinstance(inner.get("type"), list):
        kinds = [t for t in inner["type"] if t != "null"]
        inner["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "anyOf" in inner and len(inner) == 1:
        branches = [b for b in inner["anyOf"] if b.get("type") != "null"]
    else:
        branches = [inner] if inner else []
    outer["anyOf"] = [*branches, {"type": "null"}]
    return outer


def _ordered(node: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Properties in the provider's display order: x-fal-order-properties, else x-order (Cog),
    else as declared. Names the order lists that do not exist are dropped; unlisted
    properties follow in declaration order."""
    order = node.get("x-fal-order-properties")
    if isinstance(order, list) and all(isinstance(n, str) for n in order):
        names = [n for n in dict.fromkeys(order) if n in props]
        names += [n for n in props if n not in names]
        return {n: props[n] for n in names}
    ranked = [(p.get("x-order"), i, n) for i, (n, p) in enumerate(props.items())]
    if any(isinstance(r, int | float) and not isinstance(r, bool) for r, _, _ in ranked):
        def key(item: tuple[Any, int, str]) -> tuple[int, float, int]:
            r, i, _ = item
            known = isinstance(r, int | float) and not isinstance(r, bool)
            return (0 if known else 1, float(r) if known else 0.0, i)
        return {n: props[n] for _, _, n in sorted(ranked, key=key)}
    return props


# ---- recognising media, prompts, seeds, mentions ------------------------------------------

_IMAGE = {"image", "images", "img", "frame", "photo", "picture", "mask"}
_VIDEO = {"video", "videos", "clip", "footage"}
_AUDIO = {"audio", "audios", "sound", "music", "speech"}
_URL_SUFFIX = {"url", "urls", "uri", "uris", "file", "files", "path"}
_LAST_MEDIA = {"image", "images", "video", "videos", "audio", "audios"}
_MENTION = re.compile(r"@(Image|Video|Audio|Element)1\b")


def _annotate_object(obj: dict[str, Any], warnings: list[str], where: str) -> None:
    props = obj.get("properties")
    if not isinstance(props, dict):
        return
    for name, prop in props.items():
        if "." in name or name.isdigit() or name == "#":
            warnings.append(f"{_join(where, name)}: a field name with a dot or only digits "
                            "cannot be told apart in messages; it is checked but named "
                            "loosely")
        if isinstance(prop, dict):
            _annotate(name, prop, warnings, _join(where, name))


def _main(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The one non-null alternative of a property (None when it has several)."""
    options = prop.get("anyOf") or prop.get("oneOf")
    if not isinstance(options, list):
        return prop
    real = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
    return real[0] if len(real) == 1 else None


def _annotate(name: str, prop: dict[str, Any], warnings: list[str], where: str) -> None:
    main = _main(prop)
    if main is None:
        return
    kind = main.get("type")
    if kind == "array" and isinstance(main.get("items"), dict):
        items = main["items"]
        if items.get("type") == "object" or "properties" in items:
            _annotate_object(items, warnings, where + ".#")
            if isinstance(items.get("properties"), dict) and items["properties"]:
                prop.setdefault("x-widget", "cards")  # a card per item (app/forms/imported.py)
    media_node = main.get("items") if kind == "array" else main
    if isinstance(media_node, dict) and media_node.get("type") == "string" and \
            "enum" not in media_node and "x-media" not in prop:
        rule = _media_rule(name, prop, main, media_node, warnings, where)
        if rule is not None:
            prop["x-media"] = rule.to_schema()
    if "x-widget" not in prop and "x-media" not in prop:
        if name == "prompt" and kind == "string":
            prop["x-widget"] = "prompt"
        elif name == "seed" and kind == "integer":
            prop["x-widget"] = "seed"
    if "x-mention" not in prop and ("x-media" in prop or kind == "array"):
        found = _MENTION.search(str(prop.get("description") or ""))
        if found:
            prop["x-mention"] = found.group(1)


def _media_rule(name: str, prop: dict[str, Any], main: dict[str, Any], node: dict[str, Any],
                warnings: list[str], where: str) -> MediaRule | None:
    hinted = _hinted_kind(prop, main, node)
    named = _named_kind(name)
    tokens = name.lower().split("_")
    formatted = node.get("format") in ("uri", "binary", "url") or "contentMediaType" in node
    looks_like_file = tokens[-1] in _URL_SUFFIX or tokens[-1] in _LAST_MEDIA
    kind = hinted or (named if (formatted or looks_like_file) else None)
    if kind is None:
        if formatted:
            warnings.append(f"{where}: takes a file or URL but nothing says whether an image, a "
                            "video or audio: shown as text")
        return None
    limits = next((h for h in (node.get("x-fal"), main.get("x-fal"), prop.get("x-fal"))
                   if isinstance(h, dict)), {})
    return _rule_from_fal(kind, limits, warnings, where)


def _hinted_kind(*nodes: dict[str, Any]) -> str | None:
    for n in nodes:
        ui = n.get("ui")
        for hint in (ui.get("field") if isinstance(ui, dict) else None, n.get("_fal_ui_field"),
                     str(n.get("contentMediaType") or "").split("/")[0] or None):
            if hint in ("image", "video", "audio"):
                return str(hint)
    return None


def _named_kind(name: str) -> str | None:
    tokens = set(name.lower().split("_"))
    for kind, words in (("video", _VIDEO), ("audio", _AUDIO), ("image", _IMAGE)):
        if tokens & words:
            return kind
    return None


def _rule_from_fal(kind: str, x: dict[str, Any], warnings: list[str], where: str) -> MediaRule:
    def num(key: str) -> float | None:
        v = x.get(key)
        return v if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 else None

    size = num("max_file_size")
    max_w, max_h = num("max_width"), num("max_height")
    if max_w is not None and max_h is not None and max_w != max_h:
        warnings.append(f"{where}: at most {fmt_num(max_w)}×{fmt_num(max_h)} px is checked as "
                        f"{fmt_num(max(max_w, max_h))} px a side")
    sides = [v for v in (max_w, max_h) if v is not None]
    lo_a, hi_a = num("min_aspect_ratio"), num("max_aspect_ratio")
    if (lo_a is None) != (hi_a is None):
        lo_a, hi_a = lo_a or 0.0, hi_a or 1e6
    ints = {k: int(v) for k in ("min_width", "min_height") if (v := num(k)) is not None}
    return MediaRule(
        kind=kind,  # type: ignore[arg-type]
        max_mb=round(size / MB, 6) if size is not None else None,
        max_side=int(max(sides)) if sides else None,
        min_aspect=lo_a, max_aspect=hi_a,
        min_duration=num("min_duration"), max_duration=num("max_duration"),
        min_fps=num("min_fps"), max_fps=num("max_fps"), **ints)


def _unsafe_patterns(node: Any, where: str) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    if "pattern" in node and not safe_pattern(node["pattern"]):
        yield where or "the input"
    for name, sub in (node.get("properties") or {}).items():
        yield from _unsafe_patterns(sub, _join(where, name))
    yield from _unsafe_patterns(node.get("items"), _join(where, "#"))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            yield from _unsafe_patterns(sub, where)


def _check_validator_schema(schema: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as BadSchema

    try:
        Draft202012Validator.check_schema(schema)
    except BadSchema as e:
        where = ".".join(str(p) for p in e.absolute_path)[:120] or "the top"
        raise SchemaError(f"not a valid JSON Schema at {where}: {e.message[:160]}") from None


# ---- validation ---------------------------------------------------------------------------


def _validate(model: ImportedModel, payload: Any, probes: Mapping[str, Any]) -> Any:
    from app.catalog.validate import Report

    report = Report()
    if not isinstance(payload, Mapping):
        report.error("", "The payload must be a JSON object")
        return report
    params, wrapper = split(payload)
    for issue in check_wrapper(model, wrapper, params):  # type: ignore[arg-type]
        report.add(issue)
    names = {f.name for f in model.fields}
    for key in params:
        if key not in names:
            report.error(key, f"{key!r} is not a parameter of {model.id}")
    known = {k: v for k, v in params.items() if k in names}
    for issue in schema_issues(model, known):
        report.add(issue)
    report.data = {**model.defaults(), **known}
    for path, value, rule in _media_slots(model.fields, known, ""):
        label = model.label(path)
        problem = reference_problem(value)
        if problem:
            report.error(path, f"{label} {problem}")
            continue
        found = probes.get(value)
        if found is None or is_remote(value):
            continue
        if isinstance(found, MediaInfo):
            from app.catalog.validate import media_problems

            for severity, message in media_problems(found, rule, label):
                report.add(Issue(path, message, severity))
        else:
            report.error(path, f"{label} could not be read: {getattr(found, 'reason', found)}")
    for issue in _mention_issues(model, known):
        report.add(issue)
    return report


#: A group holding a quantifier that is itself repeated — (a+)+, (\w*)*, (x|y+){2,} — can take
#: exponential time to test in Python's re: such a pattern is left to the provider.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
#: Strings longer than this are not tested against a pattern here (the provider still does).
MAX_PATTERN_INPUT = 10_000


def safe_pattern(pattern: Any) -> bool:
    """Whether a schema's ``pattern`` is tested locally: it compiles and cannot backtrack
    exponentially (no repeated group that holds a quantifier)."""
    if not isinstance(pattern, str) or len(pattern) > 1000 or _NESTED_QUANTIFIER.search(pattern):
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not isinstance(instance, str) or not safe_pattern(pattern) or \
            len(instance) > MAX_PATTERN_INPUT:
        return
    if re.search(pattern, instance) is None:
        yield ValidationError(f"{instance[:40]!r} does not match {pattern!r}")


def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})


def schema_issues(model: ImportedModel, params: Mapping[str, Any]) -> list[Issue]:
    """jsonschema's findings on the params, one per field path, in words."""
    validator = _validator_class()(model.schema)
    issues: dict[str, Issue] = {}
    for err in sorted(validator.iter_errors(dict(params)), key=lambda e: len(e.absolute_path)):
        for path, message in _explain(model, err):
            issues.setdefault(path, Issue(path, message))
    return list(issues.values())


def _explain(model: ImportedModel, err: Any) -> list[tuple[str, str]]:
    path = ".".join(str(p) for p in err.absolute_path)
    kind = err.validator
    value = err.instance
    if kind == "required":
        missing = [n for n in err.validator_value if isinstance(value, dict) and n not in value]
        return [(_join(path, n), f"{model.label(_join(path, n))} is required") for n in missing]
    if kind in ("anyOf", "oneOf"):
        real = [e for e in (err.context or []) if not (e.validator == "type"
                                                       and e.validator_value == "null")]
        if real:
            deepest = max(len(list(e.absolute_path)) for e in real)
            return [x for e in real if len(list(e.absolute_path)) == deepest
                    for x in _explain(model, e)][:1]
    label = model.label(path)
    return [(path, _message(kind, err.validator_value, value, label))]


def _message(kind: str, limit: Any, value: Any, label: str) -> str:
    from app.catalog.validate import _shown

    if kind == "enum":
        options = [str(o) for o in limit]
        shown = ", ".join(options[:-1]) + " or " + options[-1] if len(options) > 1 else \
            options[0]
        return f"{label} must be one of {shown}, not {_shown(value)}"
    if kind == "const":
        return f"{label} must be {limit}, not {_shown(value)}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"{label} is {_shown(value)}; the minimum is {fmt_num(limit)}" + (
            " (not included)" if kind == "exclusiveMinimum" else "")
    if kind in ("maximum", "exclusiveMaximum"):
        return f"{label} is {_shown(value)}; the maximum is {fmt_num(limit)}" + (
            " (not included)" if kind == "exclusiveMaximum" else "")
    if kind == "maxItems":
        return f"{label}: {len(value)} given; this model takes at most {limit}"
    if kind == "minItems":
        return f"{label}: {len(value)} given; this model needs at least {limit}"
    if kind == "maxLength":
        return f"{label} is {len(value):,} characters; this model takes at most {limit:,}"
    if kind == "minLength":
        return f"{label} must not be empty" if limit == 1 else \
            f"{label} must be at least {limit} characters"
    if kind == "type":
        wanted = limit if isinstance(limit, str) else (limit[0] if limit else "")
        return {"integer": f"{label} must be a whole number, not {_shown(value)}",
                "number": f"{label} must be a number, not {_shown(value)}",
                "boolean": f"{label} must be true or false",
                "string": f"{label} must be text",
                "array": f"{label} must be a list",
                "object": f"{label} must be an object"}.get(wanted, f"{label} has the wrong type")
    if kind == "additionalProperties":
        return f"{label} holds a key this model does not take"
    if kind == "pattern":
        return f"{label} does not have the form this model expects ({str(limit)[:60]})"
    if kind == "multipleOf":
        return f"{label} must be a multiple of {fmt_num(limit)}, not {_shown(value)}"
    return f"{label} is not valid ({kind})"


def _media_slots(specs: tuple[FieldSpec, ...], data: Any,
                 prefix: str) -> Iterator[tuple[str, str, MediaRule]]:
    if not isinstance(data, Mapping):
        return
    for spec in specs:
        value = data.get(spec.name)
        path = prefix + spec.name
        if value is None:
            continue
        if spec.media is not None:
            if isinstance(value, str):
                yield path, value, spec.media
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, str):
                        yield f"{path}.{i}", v, spec.media
        elif spec.children and isinstance(value, list):
            for i, item in enumerate(value):
                yield from _media_slots(spec.children, item, f"{path}.{i}.")


def _prompt_texts(model: ImportedModel, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, text) of every prompt the params hold: top level and inside cards (shots)."""
    for spec in model.fields:
        value = params.get(spec.name)
        if editor_of(spec) == "prompt" and isinstance(value, str):
            yield spec.name, value
        elif spec.children and isinstance(value, list):
            for i, item in enumerate(value):
                for child in spec.children:
                    text = item.get(child.name) if isinstance(item, dict) else None
                    if editor_of(child) == "prompt" and isinstance(text, str):
                        yield f"{spec.name}.{i}.{child.name}", text


def _mention_issues(model: ImportedModel, params: Mapping[str, Any]) -> list[Issue]:
    from app.catalog.validate import mentions

    prefixes = model.mention_prefixes
    if not prefixes:
        return []
    counts = model.available_tags(params)
    issues = []
    for path, text in _prompt_texts(model, params):
        bad = []
        for prefix, n, _, _ in mentions(text):
            if prefix not in prefixes:
                continue  # no field says so: the provider may mean something else by it
            if n < 1 or n > counts.get(prefix, 0):
                bad.append(f"@{prefix}{n} (there are {counts.get(prefix, 0)})")
        if bad:
            issues.append(Issue(path, "Mentions point at nothing: " + ", ".join(
                dict.fromkeys(bad))))
    return issues


# ---- prices -------------------------------------------------------------------------------


def _estimate(model: ImportedModel, payload: Mapping[str, Any],
              probes: Mapping[str, Any]) -> dict[str, Any]:
    params, wrapper = split(payload)
    mock = wrapper.get("mock") is True
    if model.price is None:
        if mock:
            return {"known": True, "min": 0, "max": 0, "needs_confirm": False, "notes": [],
                    "breakdown": f"mock: free placeholder render (a real render: {PRICE_UNKNOWN})"}
        return {"known": False, "min": None, "max": None, "needs_confirm": True,
                "breakdown": PRICE_UNKNOWN, "notes": [
                    "Every render of this model asks for confirmation; the ledger records what "
                    "the provider charges."]}
    from app.catalog.pricing import _RULES

    fn = _RULES.get(str(model.price.get("rule")))
    if fn is None:
        return {"known": False, "min": None, "max": None, "needs_confirm": True, "notes": [
            f"The published price rule {model.price.get('rule')!r} is not one this app knows."],
            "breakdown": PRICE_UNKNOWN}
    data = {**model.defaults(), **{k: v for k, v in params.items() if v is not None}}
    est = fn(model.price, data, probes)
    notes = [*est.notes, *([model.price["note"]] if model.price.get("note") else [])]
    if mock:
        return {"known": True, "min": 0, "max": 0, "needs_confirm": False, "notes": notes,
                "breakdown": f"mock: free placeholder render (a real render: {est.text()}; "
                             f"{est.breakdown})"}
    return {"known": True, "min": est.min, "max": est.max, "needs_confirm": False,
            "breakdown": est.breakdown, "notes": notes}
