"""Credit estimates for any (possibly incomplete) form state, from the price table's data."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.catalog.media import MediaInfo
from app.catalog.models import get_model, price_rule
from app.catalog.rules import shot_seconds
from app.catalog.validate import Probes, coerce_field, split_payload


def round_credits(x: float) -> int:
    """Nearest whole credit, halves up (not banker's rounding). The tiny epsilon keeps a half
    that binary floats store as 2.4999999… a half."""
    return math.floor(x + 0.5 + 1e-9)


@dataclass
class Estimate:
    min: int
    max: int
    breakdown: str
    notes: list[str] = field(default_factory=list)
    mock: bool = False

    @property
    def is_range(self) -> bool:
        return self.min != self.max

    def text(self) -> str:
        return f"{self.min} cr" if not self.is_range else f"{self.min}–{self.max} cr"

    def to_dict(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max}


def estimate(model_id: str, payload: Mapping[str, Any], probes: Probes | None = None) -> Estimate:
    """The credits a payload will cost. Unknown inputs (auto duration, remote media) → a range."""
    get_model(model_id)
    params, wrapper = split_payload(payload)
    rule = price_rule(model_id)
    kind = rule["rule"]
    try:
        fn = _RULES[kind]
    except KeyError:
        raise ValueError(f"unknown price rule {kind!r} for {model_id}") from None
    est = fn(rule, _with_defaults(model_id, params), probes or {})
    if rule.get("note"):
        est.notes.append(rule["note"])
    if wrapper.get("mock") is True:
        would = est.text()
        return Estimate(0, 0, f"mock: free placeholder render (a real render: {would}; "
                        f"{est.breakdown})", est.notes, mock=True)
    return est


def _with_defaults(model_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params as the price rules read them: typed, and an invalid value replaced by its
    default (a list keeps its valid items), so an unfinished form still gets a price."""
    model = get_model(model_id).input_model
    data = get_model(model_id).defaults()
    for name, raw in params.items():
        if name not in model.model_fields or raw is None:
            continue
        value, exc = coerce_field(model, name, raw)
        if exc is None or value is not None:
            data[name] = value
    return data


def _info(probes: Probes, value: Any) -> MediaInfo | None:
    found = probes.get(value) if isinstance(value, str) else None
    return found if isinstance(found, MediaInfo) else None


def _per_5s(rule: dict[str, Any], data: dict[str, Any], probes: Probes) -> Estimate:
    res = data.get("resolution") or "720p"
    rates: dict[str, float] = rule["rates"]
    rate = rates.get(res, rates["720p"])
    approx = "≈" if res in rule.get("approx", []) else ""
    per_s = rate / 5
    clip_s = 5
    duration = data.get("duration", "auto")
    notes: list[str] = []
    if approx:
        notes.append(f"The reference gives the {res} price as approximate (≈{rate} cr per 5 s).")
    seconds = _int_or_none(duration)
    if seconds is None:
        lo_s, hi_s = rule.get("auto_seconds", [4, 15])
        lo, hi = round_credits(rate * lo_s / clip_s), round_credits(rate * hi_s / clip_s)
        text = (f"auto duration ({lo_s}–{hi_s} s) × {approx}{per_s:g} cr/s at {res} "
                f"({approx}{rate} cr per 5 s)")
        return Estimate(lo, hi, text, notes)
    total = round_credits(rate * seconds / clip_s)
    return Estimate(total, total, f"{seconds} s × {approx}{per_s:g} cr/s at {res} "
                    f"({approx}{rate} cr per 5 s)", notes)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _flat(rule: dict[str, Any], data: dict[str, Any], probes: Probes) -> Estimate:
    c = int(rule["credits"])
    return Estimate(c, c, f"{c} cr per call")


def _per_second_audio(rule: dict[str, Any], data: dict[str, Any], probes: Probes) -> Estimate:
    audio = data.get("generate_audio", True) is not False
    rate = float(rule["audio_on"] if audio else rule["audio_off"])
    shots = shot_seconds(data.get("multi_prompt"))
    seconds = shots if shots is not None else _int_or_none(data.get("duration", "5")) or 5
    total = round_credits(rate * seconds)
    where = f"{seconds} s (shots)" if shots is not None else f"{seconds} s"
    return Estimate(total, total, f"{where} × {rate:g} cr/s, audio {'on' if audio else 'off'}")


def _per_clip(rule: dict[str, Any], data: dict[str, Any], probes: Probes) -> Estimate:
    base = int(rule["credits"])
    clip = float(rule["clip_s"])
    double = base * int(rule["over_multiplier"])
    info = _info(probes, data.get(rule["source_field"]))
    if info is None or info.duration_s is None:
        return Estimate(base, double, f"{base} cr per {clip:g} s clip, {double} cr when the "
                        f"source is longer than {clip:g} s (source length not known yet)")
    if info.duration_s > clip + 1e-6:
        return Estimate(double, double, f"source {info.duration_s:.1f} s > {clip:g} s: "
                        f"{base} × {rule['over_multiplier']} = {double} cr")
    return Estimate(base, base, f"source {info.duration_s:.1f} s ≤ {clip:g} s: {base} cr")


def _tier_rate(tiers: list[list[Any]], short_side: float) -> int:
    for top, rate in tiers:
        if top is None or short_side <= top:
            return int(rate)
    return int(tiers[-1][1])


def _per_second_short_side(rule: dict[str, Any], data: dict[str, Any],
                           probes: Probes) -> Estimate:
    tiers = rule["tiers"]
    factor = float(data.get("upscale_factor") or 2)
    mult = 1.0
    parts: list[str] = []
    if data.get("target_fps") == 60:
        mult *= rule["fps60_multiplier"]
        parts.append(f"× {rule['fps60_multiplier']} for 60 fps")
    if data.get("model") in rule.get("half_price_models", []):
        mult *= 0.5
        parts.append(f"× 0.5 for {data['model']}")
    extra = (" " + " ".join(parts)) if parts else ""
    info = _info(probes, data.get(rule["source_field"]))
    if info is None or info.duration_s is None or info.short_side is None:
        lo_s, hi_s = rule.get("unknown_duration_s", [1, 60])
        lo_rate, hi_rate = min(r for _, r in tiers), max(r for _, r in tiers)
        return Estimate(
            round_credits(lo_rate * mult * lo_s), round_credits(hi_rate * mult * hi_s),
            f"{lo_rate:g}–{hi_rate:g} cr/s by output size{extra}; the source's length and size "
            f"are not known yet (range assumes {lo_s}–{hi_s} s)",
            ["Topaz is billed per second of video: the price is known once the source is probed."],
        )
    out_short = info.short_side * factor
    base = _tier_rate(tiers, out_short)
    total = round_credits(base * mult * info.duration_s)
    return Estimate(total, total, f"{info.duration_s:.2f} s × {base} cr/s (output short side "
                    f"{out_short:g} px = {info.short_side} × {factor:g}){extra}")


_RULES: dict[str, Callable[[dict[str, Any], dict[str, Any], Probes], Estimate]] = {
    "per_5s_by_resolution": _per_5s,
    "flat": _flat,
    "per_second_by_audio": _per_second_audio,
    "per_clip_by_source_duration": _per_clip,
    "per_second_by_output_short_side": _per_second_short_side,
}
