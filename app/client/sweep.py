"""Variations and sweeps: one base payload × one or two varied fields × N takes → cells.

Each cell is validated like `takes check` (valid, field-addressed errors) and priced (credits
min/max); the total is the sum of the valid cells whose price is known, and the cells of
unknown price (an imported model without a published price) are counted apart. Where the model
has a seed field, the N takes of one cell get distinct seeds; where it has none every take is
new (the provider picks), and the sweep says so.

Qt-free: `takes sweep` (app/client/sweep_cli.py) and the window's sweep dialog
(app/ui/sweep.py) both build their cells here. The fields a sweep can vary and their kinds come
from the model's JSON schema, so a catalog model and one imported from its schema are the same.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: a sweep is at most this many cells (values × values × takes), and N takes at most this
MAX_CELLS = 100
MAX_TAKES = 50
MAX_VALUES = 50
MAX_VARIED = 2
MAX_TEXT = 2500
SEED_MAX = 2_147_483_647
#: the idempotency key of a sweep's cell: the intent's key, then the cell's number
KEY_SEPARATOR = "-c"


class SweepError(ValueError):
    """The sweep cannot be built as asked (a usage error: unknown field, bad value, too big)."""


@dataclass(frozen=True)
class FieldKind:
    """What values a field of a sweep takes, read from the model's JSON schema."""

    name: str
    title: str
    kind: str  # "enum" | "bool" | "integer" | "number" | "seed" | "text"
    choices: tuple[Any, ...] = ()  # enum values; for a number, its constants too ('auto')
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    default: Any = None

    def describe(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("integer", "number", "seed"):
            word = "a whole number" if self.kind != "number" else "a number"
            lo = "" if self.minimum is None else f" from {_num(self.minimum)}"
            hi = "" if self.maximum is None else f" to {_num(self.maximum)}"
            also = "".join(f" or {c}" for c in self.choices)
            return f"{word}{lo}{hi}{also}"
        return "any text"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _branches(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A property's alternatives without null: `anyOf: [X, null]` → [X]."""
    alts = prop.get("anyOf")
    if not isinstance(alts, list):
        return [prop]
    return [a for a in alts if isinstance(a, Mapping) and a.get("type") != "null"]


def field_kinds(schema: Mapping[str, Any]) -> dict[str, FieldKind]:
    """The fields of a model's JSON schema a sweep can vary: enums, booleans, numbers, the
    seed and plain text (not media, lists or nested objects)."""
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    out: dict[str, FieldKind] = {}
    for name, prop in (props or {}).items():
        if not isinstance(prop, Mapping) or "x-media" in prop:
            continue
        kind = _kind_of(name, prop)
        if kind is not None:
            out[name] = kind
    return out


def _kind_of(name: str, prop: Mapping[str, Any]) -> FieldKind | None:
    title = str(prop.get("title") or name.replace("_", " "))
    default = prop.get("default")
    step = prop.get("x-step") if isinstance(prop.get("x-step"), int | float) else None
    if prop.get("x-widget") == "seed" or name == "seed":
        lo, hi = 0.0, float(SEED_MAX)
        for b in _branches(prop):
            lo = float(b.get("minimum", lo))
            hi = float(b.get("maximum", hi))
        return FieldKind(name, title, "seed", (), lo, hi, 1, default)
    consts: list[Any] = []
    number: Mapping[str, Any] | None = None
    enum: list[Any] = []
    for b in _branches(prop):
        t = b.get("type")
        if "const" in b:
            consts.append(b["const"])
        elif isinstance(b.get("enum"), list):
            enum.extend(b["enum"])
        elif t in ("integer", "number"):
            number = b
        elif t == "boolean":
            return FieldKind(name, title, "bool", (False, True), default=default)
        elif t == "string" and (len(_branches(prop)) == 1 or not (consts or enum or number)):
            return FieldKind(name, title, "text", default=default)
    if number is not None:
        kind = "integer" if number.get("type") == "integer" else "number"
        lo = number.get("minimum", number.get("exclusiveMinimum"))
        hi = number.get("maximum", number.get("exclusiveMaximum"))
        return FieldKind(name, title, kind, tuple(consts + enum),
                         None if lo is None else float(lo), None if hi is None else float(hi),
                         step if step is not None else (1 if kind == "integer" else None),
                         default)
    if enum or consts:
        return FieldKind(name, title, "enum", tuple(dict.fromkeys(consts + enum)),
                         default=default)
    return None


# ---- values ------------------------------------------------------------------------------


def parse_value(kind: FieldKind, raw: str) -> Any:
    """One value typed on the command line, as the field's kind reads it (SweepError when it
    is not of that kind). A number out of the field's range is kept: its cell is invalid and
    says why, like `takes check`."""
    text = raw.strip()
    shown = text[:60]
    if "\x00" in raw:
        raise SweepError(f"a value of {kind.name} holds a NUL byte")
    if kind.kind == "enum":
        for c in kind.choices:
            if text == str(c) or text == json.dumps(c):
                return c
        raise SweepError(f"{shown!r} is not a value of {kind.name} ({kind.describe()})")
    if kind.kind == "bool":
        low = text.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise SweepError(f"{shown!r} is not a value of {kind.name} (true or false)")
    if kind.kind in ("integer", "number", "seed"):
        for c in kind.choices:
            if text == str(c):
                return c
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not math.isfinite(x) or (kind.kind != "number" and not x.is_integer()):
            raise SweepError(f"{shown!r} is not a value of {kind.name} ({kind.describe()})")
        if kind.kind == "seed" and not (kind.minimum or 0) <= x <= (kind.maximum or SEED_MAX):
            raise SweepError(f"{shown!r} is not a seed of {kind.name} ({kind.describe()})")
        return int(x) if kind.kind != "number" or (x.is_integer() and "." not in text) else x
    if len(raw) > MAX_TEXT:
        raise SweepError(f"a value of {kind.name} is longer than {MAX_TEXT} characters")
    return raw


@dataclass(frozen=True)
class Vary:
    """One varied field and its values, in order."""

    field: str
    values: tuple[Any, ...]


def parse_vary(kinds: Mapping[str, FieldKind], text: str, model_id: str = "") -> Vary:
    """`FIELD=V1,V2,...` → a `Vary` (SweepError: unknown field, bad or repeated values)."""
    if "\x00" in text:
        raise SweepError("--vary holds a NUL byte")
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise SweepError(f"--vary takes FIELD=V1,V2,..., not {text[:60]!r}")
    if name not in kinds:
        where = f" of {model_id}" if model_id else ""
        can = ", ".join(sorted(kinds)) or "none"
        raise SweepError(f"{name[:60]!r} is not a field{where} a sweep can vary (it can vary: "
                         f"{can})")
    kind = kinds[name]
    parts = [rest] if kind.kind == "text" and "," not in rest else rest.split(",")
    if len(parts) > MAX_VALUES:
        raise SweepError(f"--vary {name}: at most {MAX_VALUES} values")
    values = [parse_value(kind, p) for p in parts if p.strip() or kind.kind == "text"]
    if not values:
        raise SweepError(f"--vary {name}= needs at least one value")
    seen: list[Any] = []
    for v in values:
        if any(v == s and type(v) is type(s) for s in seen):
            raise SweepError(f"--vary {name}: the value {str(v)[:60]!r} is given twice")
        seen.append(v)
    return Vary(name, tuple(values))


# ---- cells ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Priced:
    """What a check says about one payload: `credits` None when its price is unknown."""

    valid: bool
    errors: list[dict[str, Any]]
    credits: tuple[int, int] | None
    mock: bool = False


@dataclass
class Cell:
    index: int
    vary: dict[str, Any]
    take: int  # 1..N within its combination
    payload: dict[str, Any]
    valid: bool
    errors: list[dict[str, Any]]
    credits: tuple[int, int] | None  # None: unknown until the provider charges

    @property
    def unknown(self) -> bool:
        return self.valid and self.credits is None

    def label(self, takes: int = 1) -> str:
        words = ", ".join(f"{k} {v}" for k, v in self.vary.items())
        return f"{words} · take {self.take}" if takes > 1 else (words or f"take {self.take}")

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.credits if self.credits is not None else (None, None)
        return {"vary": dict(self.vary), "payload": self.payload, "valid": self.valid,
                "errors": self.errors, "credits": {"min": lo, "max": hi}}


@dataclass
class Sweep:
    model_id: str
    varies: tuple[Vary, ...]
    takes: int
    cells: list[Cell]
    seeds: str  # what the sweep says about seeds
    notes: list[str] = field(default_factory=list)

    @property
    def valid_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.valid]

    @property
    def total(self) -> tuple[int, int]:
        """The sum of the valid cells whose price is known (min, max)."""
        known = [c.credits for c in self.valid_cells if c.credits is not None]
        return sum(lo for lo, _ in known), sum(hi for _, hi in known)

    @property
    def unknown(self) -> int:
        """How many valid cells have a price unknown until the provider charges."""
        return sum(1 for c in self.cells if c.unknown)

    @property
    def invalid(self) -> int:
        return sum(1 for c in self.cells if not c.valid)

    def total_text(self) -> str:
        lo, hi = self.total
        text = f"{lo:,} credits" if lo == hi else f"{lo:,}–{hi:,} credits"
        if self.unknown:
            text += f" + {self.unknown} cell{'s' if self.unknown != 1 else ''} of unknown price"
        return text

    def summary(self) -> list[str]:
        """The lines a person reads beside the JSON: seeds, unknown prices, invalid cells."""
        lines = [self.seeds, *self.notes]
        if self.unknown:
            lines.append(f"{self.unknown} cell{'s' if self.unknown != 1 else ''} of unknown "
                         "price (not in the total: the provider says the price when it "
                         "charges)")
        if self.invalid:
            lines.append(f"{self.invalid} invalid cell{'s' if self.invalid != 1 else ''} "
                         "(not sent, not in the total)")
        return [line for line in lines if line]

    def to_dict(self) -> dict[str, Any]:
        """The JSON `takes sweep` prints: the cells, and the total of the valid ones."""
        lo, hi = self.total
        return {"takes": [c.to_dict() for c in self.cells], "credits": {"min": lo, "max": hi}}


def seed_field(kinds: Mapping[str, FieldKind]) -> FieldKind | None:
    return next((k for k in kinds.values() if k.kind == "seed"), None)


def expand(model_id: str, base: Mapping[str, Any], varies: Sequence[Vary], takes: int,
           kinds: Mapping[str, FieldKind], check: Callable[[dict[str, Any]], Priced], *,
           first_seed: int | None = None) -> Sweep:
    """The cells of a sweep, each checked by `check` (a `Priced`). Raises SweepError when the
    sweep cannot be built (too many cells, a field varied twice, N takes of a varied seed)."""
    if not 1 <= takes <= MAX_TAKES:
        raise SweepError(f"--takes must be 1 to {MAX_TAKES}, not {takes}")
    if len(varies) > MAX_VARIED:
        raise SweepError(f"a sweep varies at most {MAX_VARIED} fields")
    names = [v.field for v in varies]
    if len(set(names)) != len(names):
        raise SweepError(f"{names[0]!r} is varied twice")
    count = math.prod(len(v.values) for v in varies) * takes
    if count > MAX_CELLS:
        raise SweepError(f"this sweep would be {count} takes; at most {MAX_CELLS}")
    seed = seed_field(kinds)
    seeds, seed_note = _seeds(model_id, base, seed, names, takes, first_seed)
    cells: list[Cell] = []
    for combo in itertools.product(*(v.values for v in varies)):
        vary = dict(zip(names, combo, strict=True))
        for take in range(1, takes + 1):
            payload = copy.deepcopy(dict(base))
            payload.update(vary)
            if seeds is not None and seed is not None:
                payload[seed.name] = seeds[take - 1]
            if isinstance(payload.get("out"), str) and payload["out"].strip():
                payload["out"] = cell_out(payload["out"], vary, take if takes > 1 else None)
            priced = check(payload)
            cells.append(Cell(len(cells), vary, take, payload, priced.valid,
                              list(priced.errors), priced.credits))
    return Sweep(model_id, tuple(varies), takes, cells, seed_note)


def cell_out(out: str, vary: Mapping[str, Any], take: int | None) -> str:
    """A cell's own output file: the base `out` with the cell's values before its extension
    (`take.mp4` → `take-480p-5.mp4`, `take-480p-5-t2.mp4` for its 2nd take)."""
    words = [_slug(v) for v in vary.values()] + ([f"t{take}"] if take is not None else [])
    suffix = "-".join(w for w in words if w)
    if not suffix:
        return out
    head, slash, name = out.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or "{" in ext:
        stem, ext = name, ""
    return f"{head}{slash}{stem}-{suffix}{'.' + ext if ext else ''}"


def _slug(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    text = "".join(c if c.isascii() and (c.isalnum() or c in "._") else "_" for c in text)
    return text.strip("._")[:24]


def _seeds(model_id: str, base: Mapping[str, Any], seed: FieldKind | None, varied: list[str],
           takes: int, first: int | None) -> tuple[list[int] | None, str]:
    """Distinct seeds for the N takes of a cell, and what the sweep says about seeds."""
    if seed is None:
        return None, (f"this model ({model_id}) has no seed: every take is new (the same "
                      "parameters render differently each time, and no take can be repeated "
                      "exactly)")
    if seed.name in varied:
        if takes > 1:
            raise SweepError(f"--takes {takes} with {seed.name} varied would render each seed "
                             f"{takes} times alike; vary {seed.name} or give --takes, not both")
        return None, f"each cell renders with the {seed.name} it is given"
    if takes == 1:
        given = base.get(seed.name)
        return None, (f"the take renders with {seed.name} {given}" if isinstance(given, int)
                      else f"{seed.name} not set: the provider picks one for each take")
    lo = int(seed.minimum or 0)
    hi = int(seed.maximum if seed.maximum is not None else SEED_MAX)
    given = base.get(seed.name)
    start = first if first is not None else given if isinstance(given, int) and \
        not isinstance(given, bool) else lo + secrets.randbelow(max(1, hi - lo - takes))
    start = min(max(start, lo), max(lo, hi - takes + 1))
    seeds = list(range(start, start + takes))
    return seeds, (f"the {takes} takes of each cell get distinct seeds "
                   f"({seed.name} {seeds[0]}–{seeds[-1]})")


def cell_key(intent: str, index: int) -> str:
    """The idempotency key of cell `index` of the sweep whose intent key is `intent`: the same
    intent always gives the same keys, so a repeated send makes nothing new."""
    key = f"{intent}{KEY_SEPARATOR}{index:03d}"
    if len(key) <= 255:
        return key
    return hashlib.sha256(intent.encode()).hexdigest() + f"{KEY_SEPARATOR}{index:03d}"


# ---- checking a cell like `takes check` ------------------------------------------------------


def catalog_checker(model_id: str, base_dir: Path) -> Callable[[dict[str, Any]], Priced]:
    """A cell's check exactly as `takes check` (app/catalog/check.py) does it: local media
    probed (once per file for the whole sweep), the payload validated and priced."""
    from app.catalog.check import resolve_local
    from app.catalog.media import is_remote
    from app.catalog.pricing import estimate
    from app.catalog.validate import probe_values, validate_payload
    from app.media.probe import probe

    cache: dict[str, Any] = {}

    def check(payload: dict[str, Any]) -> Priced:
        paths = resolve_local(payload, base_dir, model_id)
        todo = [p for p in paths.values() if p not in cache]
        if todo:
            cache.update(probe_values(todo, probe))
        probes = {v: cache[p] for v, p in paths.items() if not is_remote(v)}
        report = validate_payload(model_id, payload, probes)
        est = estimate(model_id, payload, probes)
        return Priced(report.valid, [i.to_dict() for i in report.errors], (est.min, est.max),
                      est.mock)

    return check


def priced(report: Any, est: Any) -> Priced:
    """A `Priced` from a validation `Report` and an `Estimate` (known or not)."""
    from app.client.guard import price_unknown

    credits = None if price_unknown(est) else (est.min, est.max)
    return Priced(bool(report.valid), [i.to_dict() for i in report.errors], credits,
                  bool(getattr(est, "mock", False)))


def cell_estimate(cell: Cell, breakdown: str = "") -> Any:
    """The `Estimate` of a valid cell (an unknown one: the importer's `UnknownEstimate`)."""
    from app.catalog.pricing import Estimate

    if cell.credits is None:
        from app.catalog.importer import UnknownEstimate

        return UnknownEstimate(0, 0, breakdown or "price unknown until the provider charges")
    mock = cell.payload.get("mock") is True
    return Estimate(cell.credits[0], cell.credits[1], breakdown or cell.label(), mock=mock)
