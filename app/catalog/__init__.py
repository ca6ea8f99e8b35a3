"""The model catalog: schemas, limits, validation and prices. Imports no Qt."""

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
