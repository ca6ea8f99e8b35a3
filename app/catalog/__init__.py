"""The model catalog: schemas, limits, validation and prices. Imports no Qt."""

from app.catalog.media import MediaInfo, MediaRule, ProbeError
from app.catalog.models import MODELS, ModelSpec, UnknownModel, get_model
from app.catalog.pricing import Estimate, estimate
from app.catalog.validate import (
    Issue,
    Report,
    available_tags,
    local_media,
    media_values,
    mentions,
    validate_payload,
)

__all__ = [
    "MODELS",
    "Estimate",
    "Issue",
    "MediaInfo",
    "MediaRule",
    "ModelSpec",
    "ProbeError",
    "Report",
    "UnknownModel",
    "available_tags",
    "estimate",
    "get_model",
    "local_media",
    "media_values",
    "mentions",
    "validate_payload",
]
