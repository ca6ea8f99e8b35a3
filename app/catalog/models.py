"""The catalog: the seven models, their tasks, wrapper parameters and price rules as data."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from app.catalog import schemas
from app.catalog.wrapper import FORMAT_TO_ASPECT, wrapper_params

__all__ = ["DEFAULT_PRICES", "FORMAT_TO_ASPECT", "MODELS", "ModelSpec", "UnknownModel",
           "get_model", "price_rule", "reset_prices", "set_prices"]

#: Prices as one table of data; `set_prices` replaces it (e.g. from the server's /v1/models).
DEFAULT_PRICES: dict[str, dict[str, Any]] = {
    "seedance_r2v": {
        "rule": "per_5s_by_resolution",
        "rates": {"480p": 135, "720p": 303, "1080p": 681, "4k": 1555},
        "approx": ["480p"],
        "auto_seconds": [4, 15],
        "note": "Audio costs the same either way.",
    },
    "kling_v3_std_i2v": {
        "rule": "flat",
        "credits": 84,
        "note": "The reference gives no per-second rule for this tier: shown as flat.",
    },
    "kling_v3_pro_i2v": {
        "rule": "per_second_by_audio",
        "audio_off": 22.4,
        "audio_on": 33.6,
        "headline": 112,
        "note": "The reference's headline 112 cr (5 s) holds for audio off only; "
        "generate_audio defaults to on (≈34 cr/s).",
    },
    "kling_o3_video_edit": {"rule": "flat", "credits": 126},
    "pixverse_swap": {
        "rule": "per_clip_by_source_duration",
        "credits": 30,
        "clip_s": 5,
        "over_multiplier": 2,
        "source_field": "video_url",
    },
    "wan_27_video_edit": {"rule": "flat", "credits": 100},
    "topaz_upscale_video": {
        "rule": "per_second_by_output_short_side",
        "tiers": [[720, 2], [1080, 4], [None, 16]],
        "fps60_multiplier": 2,
        "half_price_models": ["Gaia 2"],
        "source_field": "video_url",
        "unknown_duration_s": [1, 60],
    },
}

_prices: dict[str, dict[str, Any]] = copy.deepcopy(DEFAULT_PRICES)


def price_rule(model_id: str) -> dict[str, Any]:
    return _prices[model_id]


def set_prices(table: dict[str, dict[str, Any]]) -> None:
    """Replace price rules (unknown rule kinds are rejected by `estimate`)."""
    _prices.update(copy.deepcopy(table))


def reset_prices() -> None:
    _prices.clear()
    _prices.update(copy.deepcopy(DEFAULT_PRICES))


@cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    task: str
    task_label: str
    input_model: type[BaseModel]
    has_format: bool = False
    tier: str | None = None

    @property
    def mention_prefixes(self) -> list[str]:
        return [
            extra["x-mention"]
            for f in self.input_model.model_fields.values()
            if isinstance(extra := f.json_schema_extra, dict) and "x-mention" in extra
        ]

    @property
    def wrapper_params(self) -> list[str]:
        """``out`` and ``mock`` everywhere, ``format`` only where the reference maps it."""
        return wrapper_params(self)

    def defaults(self) -> dict[str, Any]:
        """The default value of every field that has one (required fields left out)."""
        from app.catalog.fields import model_defaults

        return model_defaults(self.input_model)

    def json_schema(self) -> dict[str, Any]:
        """The input model's JSON Schema (built once per model: a copy each call)."""
        return copy.deepcopy(_json_schema(self.input_model))

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "task": self.task,
            "task_label": self.task_label,
            "tier": self.tier,
            "wrapper_params": self.wrapper_params,
            "mentions": ["@" + p for p in self.mention_prefixes],
            "price": price_rule(self.id),
        }


MODELS: dict[str, ModelSpec] = {
    m.id: m
    for m in [
        ModelSpec("seedance_r2v", "Seedance 2.0 Reference-to-Video", "create",
                  "Create from text + references", schemas.SeedanceR2V, has_format=True),
        ModelSpec("kling_v3_std_i2v", "Kling v3 Standard Image-to-Video", "animate",
                  "Animate an image (draft)", schemas.KlingI2V, tier="standard"),
        ModelSpec("kling_v3_pro_i2v", "Kling v3 Pro Image-to-Video", "animate",
                  "Animate an image (final)", schemas.KlingI2V, tier="pro"),
        ModelSpec("kling_o3_video_edit", "Kling O3 Video Edit", "edit",
                  "Edit a video with references", schemas.KlingO3VideoEdit),
        ModelSpec("pixverse_swap", "PixVerse Swap", "swap",
                  "Swap a person, object or background", schemas.PixverseSwap),
        ModelSpec("wan_27_video_edit", "Wan 2.7 Video Edit", "restyle", "Restyle a video",
                  schemas.Wan27VideoEdit),
        ModelSpec("topaz_upscale_video", "Topaz Video Upscale", "upscale",
                  "Upscale / interpolate", schemas.TopazUpscaleVideo),
    ]
}


class UnknownModel(KeyError):
    def __str__(self) -> str:
        return f"unknown model {self.args[0]!r}; known: {', '.join(MODELS)}"


def get_model(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None
