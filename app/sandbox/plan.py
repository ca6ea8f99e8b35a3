"""What a sandbox job renders: its duration, frame size, audio and source, from the payload.

A plan is plain JSON, decided when the job is created (where the probes of the uploaded
files are at hand) and stored with the job, so a restarted server renders the same thing.
Frame sizes are small on purpose (short side 240 px): the sandbox renders placeholders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.catalog.media import MediaInfo
from app.catalog.models import FORMAT_TO_ASPECT

SHORT_SIDE = 240
FPS = 24
UPSCALE_CAP = 1280
DEFAULT_ASPECT = "9:16"
FALLBACK_SOURCE = {"width": 320, "height": 180, "duration_s": 5.0, "fps": FPS, "has_audio": False}

#: How each edit model alters its source (the renderer's effect names).
EFFECTS = {
    "kling_o3_video_edit": "invert",
    "pixverse_swap": "tint",
    "wan_27_video_edit": "posterize",
    "topaz_upscale_video": "upscale",
}


def even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def size_for_aspect(aw: float, ah: float, short: int = SHORT_SIDE) -> tuple[int, int]:
    """A small (width, height) of the given aspect ratio, short side `short`, both even."""
    if aw >= ah:
        return even(short * aw / ah), even(short)
    return even(short), even(short * ah / aw)


def parse_ratio(text: Any) -> tuple[float, float]:
    """(w, h) of ``"16:9"``; 9:16 for anything that is not a ratio of positive numbers."""
    a, _, b = str(text).partition(":")
    w, h = seconds(a, 0), seconds(b, 0)
    return (w, h) if w > 0 and h > 0 else parse_ratio(DEFAULT_ASPECT)


def seconds(value: Any, default: float) -> float:
    """A number from a validated value of any spelling the schema coerces (5, 5.0, "5",
    "5.0", " 5 "); `default` for ``auto``, None or anything else."""
    if isinstance(value, bool):
        return default
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def make_plan(model_id: str, params: Mapping[str, Any], wrapper: Mapping[str, Any],
              infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    """The render plan of a validated payload. `params` are the model params as given,
    `infos` the probes of media values this server holds (keyed by the value)."""
    builder = _BUILDERS[model_id]
    plan = builder(params, wrapper, infos)
    plan.setdefault("fps", FPS)
    plan["model"] = model_id
    plan["mock"] = bool(wrapper.get("mock"))
    return plan


def _seedance(params: Mapping[str, Any], wrapper: Mapping[str, Any],
              infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    length = seconds(params.get("duration"), 5)
    if "aspect_ratio" in params and params["aspect_ratio"] is not None:
        aspect = params["aspect_ratio"]
        if aspect == "auto":
            aspect = _first_image_aspect(params.get("image_urls") or [], infos) or DEFAULT_ASPECT
    else:
        aspect = FORMAT_TO_ASPECT.get(wrapper.get("format") or "", DEFAULT_ASPECT)
    w, h = size_for_aspect(*parse_ratio(aspect))
    return {"kind": "generate", "width": w, "height": h, "duration_s": length,
            "audio": params.get("generate_audio", True) is not False, "aspect": aspect}


def _info(infos: Mapping[str, MediaInfo], value: Any) -> MediaInfo | None:
    return infos.get(value) if isinstance(value, str) else None


def _first_image_aspect(values: Any, infos: Mapping[str, MediaInfo]) -> str | None:
    for v in values if isinstance(values, list) else []:
        info = _info(infos, v)
        if info is not None and info.width and info.height:
            return f"{info.width}:{info.height}"
    return None


def _kling_i2v(params: Mapping[str, Any], wrapper: Mapping[str, Any],
               infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    shots = params.get("multi_prompt")
    if isinstance(shots, list) and shots:
        length = sum(seconds(s.get("duration") if isinstance(s, Mapping) else None, 5)
                     for s in shots)
    else:
        length = seconds(params.get("duration"), 5)
    start = _info(infos, params.get("start_image_url"))
    if start is not None and start.width and start.height:
        w, h = size_for_aspect(start.width, start.height)
    else:
        w, h = size_for_aspect(16, 9)
    return {"kind": "generate", "width": w, "height": h, "duration_s": length,
            "audio": params.get("generate_audio", True) is not False}


def _source(params: Mapping[str, Any], infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    info = _info(infos, params.get("video_url"))
    if info is None or not info.width or not info.height or not info.duration_s:
        return {"path": None, **FALLBACK_SOURCE}
    return {"path": info.path, "width": info.width, "height": info.height,
            "duration_s": info.duration_s, "fps": info.fps or FPS, "has_audio": info.has_audio}


def _transform(model_id: str, params: Mapping[str, Any], infos: Mapping[str, MediaInfo],
               duration: float | None = None, audio: bool | None = None,
               aspect: str | None = None) -> dict[str, Any]:
    src = _source(params, infos)
    if aspect:
        w, h = size_for_aspect(*parse_ratio(aspect))
    else:
        w, h = size_for_aspect(src["width"], src["height"], min(SHORT_SIDE,
                                                                 min(src["width"],
                                                                     src["height"])))
    return {"kind": "transform", "effect": EFFECTS[model_id], "source": src,
            "width": w, "height": h,
            "duration_s": float(duration if duration is not None else src["duration_s"]),
            "audio": src["has_audio"] if audio is None else audio}


def _o3(params: Mapping[str, Any], wrapper: Mapping[str, Any],
        infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    src = _source(params, infos)
    keep = params.get("keep_audio", True) is not False
    return _transform("kling_o3_video_edit", params, infos, audio=keep and src["has_audio"])


def _swap(params: Mapping[str, Any], wrapper: Mapping[str, Any],
          infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    src = _source(params, infos)
    keep = params.get("original_sound_switch", True) is not False
    return _transform("pixverse_swap", params, infos, audio=keep and src["has_audio"])


def _wan(params: Mapping[str, Any], wrapper: Mapping[str, Any],
         infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    src = _source(params, infos)
    wanted = seconds(params.get("duration"), 0)
    duration = src["duration_s"] if wanted == 0 else min(float(wanted), src["duration_s"])
    return _transform("wan_27_video_edit", params, infos, duration=duration,
                      aspect=params.get("aspect_ratio"))


def _topaz(params: Mapping[str, Any], wrapper: Mapping[str, Any],
           infos: Mapping[str, MediaInfo]) -> dict[str, Any]:
    src = _source(params, infos)
    factor = seconds(params.get("upscale_factor"), 2) or 2
    w, h = src["width"] * factor, src["height"] * factor
    cap = UPSCALE_CAP / max(w, h)
    if cap < 1:
        w, h = w * cap, h * cap
    fps = seconds(params.get("target_fps"), 0) or src["fps"] or FPS
    return {"kind": "transform", "effect": "upscale", "source": src, "width": even(w),
            "height": even(h), "duration_s": float(src["duration_s"]), "audio": src["has_audio"],
            "fps": min(60, max(1, round(float(fps)))), "factor": factor}


_BUILDERS = {
    "seedance_r2v": _seedance,
    "kling_v3_std_i2v": _kling_i2v,
    "kling_v3_pro_i2v": _kling_i2v,
    "kling_o3_video_edit": _o3,
    "pixverse_swap": _swap,
    "wan_27_video_edit": _wan,
    "topaz_upscale_video": _topaz,
}
