"""Validation of a payload (model params + wrapper params) against the catalog.

Pure: media facts come in as a mapping from the value written in the payload to a probe
result (`MediaInfo` or `ProbeError`), so this runs anywhere (a worker, the server, a CLI).
Results are field-addressed by dotted paths (``multi_prompt.2.duration``, ``image_urls.0``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from app.catalog import roles
from app.catalog.fields import (
    MediaSlot,
    adapter_for,
    field_at,
    field_default,
    label_for,
    list_item_type,
    media_slots,
)
from app.catalog.issues import Issue, Severity
from app.catalog.media import (
    FORMAT_LABELS,
    MB,
    MediaInfo,
    MediaRule,
    ProbeError,
    fmt_mb,
    fmt_num,
    is_remote,
    local_path,
    reference_problem,
)
from app.catalog.models import ModelSpec, get_model
from app.catalog.wrapper import WRAPPER, check_wrapper, split

Probes = Mapping[str, "MediaInfo | ProbeError"]
__all__ = ["WRAPPER", "InvalidPayload", "Issue", "Probes", "Report", "Severity",
           "split_payload", "validate_payload", "validated_params"]


@dataclass
class Report:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    #: the payload's model params, normalized (defaults filled, types coerced); fields that
    #: failed validation hold None, except lists, which keep their valid items (None in place
    #: of an invalid item).
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(Issue(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Issue(path, message, "warning"))

    def add(self, issue: Issue) -> None:
        (self.errors if issue.severity == "error" else self.warnings).append(issue)


@dataclass(frozen=True)
class Context:
    spec: ModelSpec
    data: dict[str, Any]
    probes: Probes
    report: Report
    given: frozenset[str] = frozenset()

    def info(self, value: str | None) -> MediaInfo | None:
        if not value:
            return None
        found = self.probes.get(value)
        return found if isinstance(found, MediaInfo) else None

    def label(self, path: str) -> str:
        return label_for(self.spec.input_model, path)


#: (model params, wrapper params); the name callers used before `app.catalog.wrapper`.
split_payload = split


def media_values(model_id: str, payload: Mapping[str, Any]) -> list[MediaSlot]:
    """Every media value of a payload (best effort on invalid payloads)."""
    spec = get_model(model_id)
    params, _ = split_payload(payload)
    return list(media_slots(spec.input_model, params))


def local_media(model_id: str, payload: Mapping[str, Any]) -> list[str]:
    """The payload's media values that name local files (what a caller should probe)."""
    seen: dict[str, None] = {}
    for slot in media_values(model_id, payload):
        if not is_remote(slot.value) and reference_problem(slot.value) is None:
            seen[slot.value] = None
    return list(seen)


def probe_values(values: list[str], probe: Callable[[str], MediaInfo]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in values:
        try:
            out[v] = probe(local_path(v))
        except ProbeError as e:
            out[v] = e
    return out


def validate_payload(model_id: str, payload: Mapping[str, Any],
                     probes: Probes | None = None) -> Report:
    spec = get_model(model_id)
    report = Report()
    if not isinstance(payload, Mapping):
        report.error("", "The payload must be a JSON object")
        return report
    params, wrapper = split_payload(payload)
    for issue in check_wrapper(spec, wrapper, params):
        report.add(issue)
    report.data = _check_fields(spec, params, report)
    ctx = Context(spec, report.data, probes or {}, report, frozenset(params))
    for slot in media_slots(spec.input_model, report.data, include_empty=True):
        problem = reference_problem(slot.value)
        if problem:
            report.error(slot.path, f"{slot.label} {problem}")
        else:
            _check_media(ctx, slot)
    _check_mentions(ctx, params)
    from app.catalog.rules import RULES

    for rule in RULES.get(spec.id, []):
        rule(ctx)
    return report


class InvalidPayload(ValueError):
    """`validated_params` of a payload that does not validate; `report` says why."""

    def __init__(self, model_id: str, report: Report) -> None:
        first = report.errors[0]
        super().__init__(f"invalid {model_id} payload: {first.field}: {first.message}")
        self.report = report


def validated_params(model_id: str, payload: Mapping[str, Any],
                     probes: Probes | None = None) -> dict[str, Any]:
    """The model params of a valid payload as the schema validated and coerced them, JSON
    typed (seedance ``duration: "5.0"`` → 5, kling ``duration: 5`` → "5"; nested items with
    their defaults). Only the keys the payload gave; the wrapper params are left out. What a
    server must act on, rather than the raw body. Raises `InvalidPayload`."""
    report = validate_payload(model_id, payload, probes)
    if not report.valid:
        raise InvalidPayload(model_id, report)
    params, _ = split(payload)
    return {k: report.data[k] for k in params}


# ---- per-field structure ----------------------------------------------------------------


def _check_fields(spec: ModelSpec, params: dict[str, Any], report: Report) -> dict[str, Any]:
    model = spec.input_model
    data: dict[str, Any] = {}
    for key in params:
        if key not in model.model_fields:
            report.error(key, f"{key!r} is not a parameter of {spec.id}")
    for name, f in model.model_fields.items():
        if name not in params:
            if f.is_required():
                report.error(name, f"{label_for(model, name)} is required")
                data[name] = None
            else:
                data[name] = field_default(model, name)
            continue
        data[name], exc = coerce_field(model, name, params[name])
        if exc is not None:
            _report_pydantic(model, name, exc, report)
    return data


def coerce_field(model: type[BaseModel], name: str,
                 raw: Any) -> tuple[Any, ValidationError | None]:
    """(the JSON value of one field, its validation error or None).

    An invalid field gives None, except a list, which keeps its valid items in place (None in
    place of an invalid one) so that counts, mentions and cross-field rules still see them.
    """
    adapter = adapter_for(model, name)
    try:
        return adapter.dump_python(adapter.validate_python(raw), mode="json"), None
    except ValidationError as e:
        return _salvage(model, name, raw), e


def _salvage(model: type[BaseModel], name: str, raw: Any) -> list[Any] | None:
    item = list_item_type(model.model_fields[name])
    if item is None or not isinstance(raw, list):
        return None
    adapter = _item_adapter(item)
    out: list[Any] = []
    for value in raw:
        try:
            out.append(adapter.dump_python(adapter.validate_python(value), mode="json"))
        except ValidationError:
            out.append(None)
    return out


@functools.cache
def _item_adapter(item: Any) -> TypeAdapter[Any]:
    return TypeAdapter(item)


def _report_pydantic(model: Any, name: str, exc: ValidationError, report: Report) -> None:
    seen: set[str] = set()
    for err in exc.errors():
        loc = [str(x) for x in err["loc"] if not _is_union_tag(x)]
        path = ".".join([name, *loc])
        if path in seen:
            continue
        seen.add(path)
        f = field_at(model, path)
        unit = str(f.json_schema_extra.get("x-unit", "")) if f is not None and isinstance(
            f.json_schema_extra, dict) else ""
        report.error(path, friendly(err, label_for(model, path), unit=unit))


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _with_unit(x: Any, unit: str) -> str:
    text = fmt_num(x) if isinstance(x, int | float) and not isinstance(x, bool) else str(x)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "×" else f"{text} {unit}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def _shown(value: Any, unit: str = "") -> str:
    """How a rejected value reads in a message: 2 s, 5.5, “2k”."""
    if _is_number(value):
        number = float(str(value).strip())
        return _with_unit(int(number) if number.is_integer() else number, unit)
    if isinstance(value, str):
        return f"“{value}”"
    return "nothing" if value is None else f"{value!r}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _literal_message(label: str, expected: str, value: Any, unit: str) -> str:
    options = re.findall(r"'((?:[^'\\]|\\.)*)'", expected) or [expected]
    numbers = [int(o) for o in options if o.isdigit()]
    if len(numbers) == len(options) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        whole = "" if not _is_number(value) or float(str(value)).is_integer() else \
            " (whole numbers only)"
        return (f"{label} must be {numbers[0]}–{_with_unit(numbers[-1], unit)}{whole}, "
                f"not {_shown(value, unit)}")
    if len(options) == 1:
        return f"{label} must be {options[0]}, not {_shown(value)}"
    return f"{label} must be one of {_or_list(options)}, not {_shown(value)}"


def friendly(err: Any, label: str, unit: str = "") -> str:
    """A pydantic error in words a creator understands. `unit` ("s", "fps", "×") is the
    field's unit, used in ranges."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return f"{label} is required"
    if kind == "extra_forbidden":
        return f"{label} is not a parameter of this model"
    if kind == "literal_error":
        return _literal_message(label, str(ctx.get("expected", "")), value, unit)
    if kind.startswith("takes_"):
        return f"{label} {err.get('msg', 'is not valid')}, not {_shown(value, unit)}"
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return f"{label} is {_shown(value, unit)}; the minimum is {_with_unit(limit, unit)}"
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return f"{label} is {_shown(value, unit)}; the maximum is {_with_unit(limit, unit)}"
    if kind == "string_too_long":
        return (f"{label} is {len(value):,} characters; this model takes at most "
                f"{ctx['max_length']:,}")
    if kind == "string_too_short":
        return f"{label} must not be empty"
    if kind == "too_long":
        return (f"{label}: {ctx.get('actual_length')} given; this model takes at most "
                f"{ctx.get('max_length')}")
    if kind == "too_short":
        return (f"{label}: {ctx.get('actual_length')} given; this model needs at least "
                f"{ctx.get('min_length')}")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label} must be a whole number, not {_shown(value, unit)}"
    if kind in ("float_parsing", "float_type"):
        return f"{label} must be a number, not {_shown(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{label} must be true or false"
    if kind == "string_type":
        return f"{label} must be text"
    if kind in ("list_type",):
        return f"{label} must be a list"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{label} must be an object"
    return f"{label}: {err.get('msg', 'invalid value')}"


# ---- media ------------------------------------------------------------------------------


def _check_media(ctx: Context, slot: MediaSlot) -> None:
    if is_remote(slot.value):
        return
    found = ctx.probes.get(slot.value)
    if found is None:
        return  # not probed (yet): nothing known
    if isinstance(found, ProbeError):
        ctx.report.error(slot.path, f"{slot.label} could not be read: {found.reason}")
        return
    for severity, message in media_problems(found, slot.rule, slot.label):
        (ctx.report.error if severity == "error" else ctx.report.warn)(slot.path, message)


def media_problems(info: MediaInfo, rule: MediaRule, label: str) -> list[tuple[Severity, str]]:
    """What is wrong with one file for one rule, as (severity, message)."""
    problems: list[tuple[Severity, str]] = []

    def err(msg: str) -> None:
        problems.append(("error", msg))

    # A GIF is a picture or a clip: fields whose formats list it take it either way.
    gif_ok = info.format == "gif" and "gif" in rule.formats
    if info.kind != rule.kind and not gif_ok:
        err(f"{label} is {_a(info.kind)} file; this field takes {_KINDS[rule.kind]}")
        return problems
    if rule.formats and info.format not in rule.formats:
        name = FORMAT_LABELS.get(info.format, info.format.upper())
        err(f"{label} is {name}; this model takes {rule.formats_text()}")
    if rule.max_mb is not None and info.size_bytes > rule.max_mb * MB:
        err(f"{label} is {_size_over(info.size_bytes, rule.max_mb)}; this model takes at most "
            f"{fmt_num(rule.max_mb)} MB per {rule.kind}")
    _check_geometry(info, rule, label, problems)
    _check_time(info, rule, label, problems)
    return problems


_KINDS = {"image": "images", "video": "videos", "audio": "audio files"}


def _size_over(size_bytes: int, max_mb: float) -> str:
    """'34.2 MB'; a file just over the limit would read as the limit itself, so say it."""
    text = fmt_mb(size_bytes)
    if float(text.split()[0]) <= max_mb:
        return f"{size_bytes:,} bytes, just over {fmt_num(max_mb)} MB"
    return text


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _check_geometry(info: MediaInfo, rule: MediaRule, label: str,
                    problems: list[tuple[Severity, str]]) -> None:
    w, h = info.width, info.height
    if w is None or h is None:
        return
    size = f"{w}×{h}"
    if (rule.min_width and w < rule.min_width) or (rule.min_height and h < rule.min_height):
        problems.append(("error", f"{label} is {size}; this model needs at least "
                                  f"{rule.min_width}×{rule.min_height} px"))
    if rule.min_side and min(w, h) < rule.min_side:
        problems.append(("error", f"{label} is {size}; each side must be at least "
                                  f"{rule.min_side} px"))
    if rule.max_side and max(w, h) > rule.max_side:
        problems.append(("error", f"{label} is {size}; each side must be at most "
                                  f"{rule.max_side} px"))
    aspect = w / h
    lo, hi = rule.min_aspect, rule.max_aspect
    if (lo is not None and aspect < lo - 1e-9) or (hi is not None and aspect > hi + 1e-9):
        problems.append(("error", f"{label} has aspect ratio {aspect:.2f} ({size}); this model "
                                  f"takes {lo:.2f}–{hi:.2f}"))
    pixels = w * h
    sev: Severity = "warning" if rule.pixels_approx else "error"
    if rule.min_pixels and pixels < rule.min_pixels:
        problems.append((sev, f"{label} is {size}, smaller than the ~{_px(rule.min_pixels)} this "
                              "model expects"))
    if rule.max_pixels and pixels > rule.max_pixels:
        problems.append((sev, f"{label} is {size}, larger than the ~{_px(rule.max_pixels)} this "
                              "model expects"))


def _px(pixels: int) -> str:
    return {640 * 640: "640×640", 834 * 1112: "834×1112"}.get(pixels, f"{pixels:,} px")


def _check_time(info: MediaInfo, rule: MediaRule, label: str,
                problems: list[tuple[Severity, str]]) -> None:
    d = info.duration_s
    if d is not None:
        lo, hi = rule.min_duration, rule.max_duration
        if (lo is not None and d < lo - 1e-6) or (hi is not None and d > hi + 1e-6):
            span = f"{fmt_num(lo or 0)}–{fmt_num(hi)} s" if hi else f"at least {fmt_num(lo or 0)} s"
            problems.append(("error", f"{label} is {d:.2f} s; this model takes {span}"))
        if rule.warn_duration_over and d > rule.warn_duration_over:
            problems.append(("warning", f"{label} is {d:.1f} s; this model works best under "
                                        f"~{fmt_num(rule.warn_duration_over)} s"))
    fps = info.fps
    if fps is not None and (rule.min_fps or rule.max_fps):
        lo_f, hi_f = rule.min_fps or 0, rule.max_fps or 1e9
        if fps < lo_f - 0.01 or fps > hi_f + 0.01:
            problems.append(("error", f"{label} is {fps:g} fps; this model takes "
                                      f"{fmt_num(lo_f)}–{fmt_num(hi_f)} fps"))


# ---- mentions ---------------------------------------------------------------------------

MENTION = re.compile(r"@(Image|Video|Audio|Element)(\d+)\b")


def mentions(text: str) -> list[tuple[str, int, int, int]]:
    """(prefix, number, start, end) for each @Image1-style mention in text."""
    return [(m.group(1), int(m.group(2)), m.start(), m.end()) for m in MENTION.finditer(text)]


def available_tags(spec: ModelSpec, data: Mapping[str, Any]) -> dict[str, int]:
    """How many of each mention prefix exist in this payload: {'Image': 2, 'Element': 1}."""
    counts: dict[str, int] = {}
    for name, f in spec.input_model.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        prefix = extra.get("x-mention")
        if not prefix:
            continue
        value = data.get(name)
        n = len(value) if isinstance(value, list) else (1 if value else 0)
        counts[prefix] = counts.get(prefix, 0) + n
    return counts


_NOUNS = {"Audio": "audio clip"}


def _check_mentions(ctx: Context, params: Mapping[str, Any]) -> None:
    # A reference whose value is invalid still exists: count what the payload holds.
    present = {k: params[k] for k in ctx.data if ctx.data[k] is None and params.get(k)}
    counts = available_tags(ctx.spec, {**ctx.data, **present})
    prefixes = ctx.spec.mention_prefixes
    for path, text in roles.prompt_texts(ctx.spec.id, ctx.data):
        bad: list[str] = []
        for prefix, n, _, _ in mentions(text):
            tag = f"@{prefix}{n}"
            if prefix not in prefixes:
                bad.append(f"{tag} (this model takes no {prefix.lower()} references)")
            elif n < 1 or n > counts.get(prefix, 0):
                have = counts.get(prefix, 0)
                bad.append(f"{tag} (there {'is' if have == 1 else 'are'} "
                           f"{_plural(have, _NOUNS.get(prefix, prefix.lower()))})")
        if bad:
            ctx.report.error(path, "Mentions point at nothing: " + ", ".join(dict.fromkeys(bad)))
