"""The model catalog: schemas, limits, validation and prices. Imports no Qt."""

# The names below are loaded on first use (PEP 562): importing one submodule, such as
# app.catalog.media for a size limit, then costs that module alone, not pydantic and the seven
# models' schemas (~150 ms of the window's start, which imports them later, when a form needs
# them).
from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "MediaInfo": "media", "MediaRule": "media", "ProbeError": "media",
    "MODELS": "models", "ModelSpec": "models", "UnknownModel": "models", "get_model": "models",
    "Estimate": "pricing", "estimate": "pricing",
    "InvalidPayload": "validate", "Issue": "validate", "Report": "validate",
    "available_tags": "validate", "local_media": "validate", "media_values": "validate",
    "mentions": "validate", "validate_payload": "validate", "validated_params": "validate",
    "WRAPPER": "wrapper", "check_wrapper": "wrapper", "normalize_out": "wrapper",
    "out_problem": "wrapper", "split": "wrapper",
}

if TYPE_CHECKING:
    from app.catalog.media import MediaInfo, MediaRule, ProbeError
    from app.catalog.models import MODELS, ModelSpec, UnknownModel, get_model
    from app.catalog.pricing import Estimate, estimate
    from app.catalog.validate import (
        InvalidPayload,
        Issue,
        Report,
        available_tags,
        local_media,
        media_values,
        mentions,
        validate_payload,
        validated_params,
    )
    from app.catalog.wrapper import WRAPPER, check_wrapper, normalize_out, out_problem, split


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:  # a submodule reached as an attribute (app.catalog.models.MODELS)
        if name.startswith("_") or not name.isidentifier():
            raise AttributeError(f"module 'app.catalog' has no attribute {name!r}")
        try:
            return import_module(f"app.catalog.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"app.catalog.{name}":
                raise
            raise AttributeError(f"module 'app.catalog' has no attribute {name!r}") from None
    value = getattr(import_module(f"app.catalog.{where}"), name)
    globals()[name] = value
    return value


__all__ = [
    "MODELS",
    "WRAPPER",
    "Estimate",
    "InvalidPayload",
    "Issue",
    "MediaInfo",
    "MediaRule",
    "ModelSpec",
    "ProbeError",
    "Report",
    "UnknownModel",
    "available_tags",
    "check_wrapper",
    "estimate",
    "get_model",
    "local_media",
    "media_values",
    "mentions",
    "normalize_out",
    "out_problem",
    "split",
    "validate_payload",
    "validated_params",
]
