"""The input schemas of the seven models: one pydantic model each, the single source of truth.

Per-field limits live in the field definitions (ranges, enums, lengths). Media limits are
stored as data in ``json_schema_extra["x-media"]`` (see `MediaRule`); prompt mentions in
``x-mention``; form hints (``x-widget``, ``x-guidance``, ``x-item-label``) next to them; field
roles (``x-role``: prompt, source; ``x-total``: list items summing to a field; ``x-summary``:
what names a take that has no prompt) read by
`app.catalog.roles`.
Cross-field rules are in `app.catalog.rules`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WrapValidator
from pydantic_core import PydanticCustomError

from app.catalog.media import IMAGE_FORMATS_ALL, VIDEO_FORMATS_ALL, MediaRule


def _media(rule: MediaRule, **extra: Any) -> dict[str, Any]:
    return {"x-media": rule.to_schema(), **extra}


def _int_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _numeric_str_to_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _seedance_duration(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except Exception:
        raise PydanticCustomError("takes_range", "must be auto or 4–15 s") from None


def _wan_duration(value: Any, handler: Any) -> Any:
    try:
        seconds = handler(value)
    except Exception:
        seconds = None
    if seconds is None or seconds == 1:
        raise PydanticCustomError("takes_range", "must be 0 (match the source) or 2–10 s")
    return seconds


KLING_SECONDS = tuple(str(s) for s in range(3, 16))
SHOT_SECONDS = tuple(str(s) for s in range(1, 16))
KlingDuration = Annotated[Literal[KLING_SECONDS], BeforeValidator(_int_to_str)]  # type: ignore[valid-type]
ShotDuration = Annotated[Literal[SHOT_SECONDS], BeforeValidator(_int_to_str)]  # type: ignore[valid-type]
SeedanceDuration = Annotated[
    Literal["auto"] | Annotated[int, Field(ge=4, le=15)],
    WrapValidator(_seedance_duration),
    BeforeValidator(_numeric_str_to_int),
]

# ---- media rules -------------------------------------------------------------------------

SEEDANCE_IMAGE = MediaRule(kind="image", formats=["jpeg", "png", "webp"], max_mb=30)
SEEDANCE_VIDEO = MediaRule(
    kind="video",
    formats=["mp4", "mov"],
    min_pixels=640 * 640,
    max_pixels=834 * 1112,
    pixels_approx=True,
)
SEEDANCE_AUDIO = MediaRule(kind="audio", formats=["mp3", "wav"], max_mb=15)
KLING_IMAGE = MediaRule(
    kind="image",
    formats=IMAGE_FORMATS_ALL,
    max_mb=10,
    min_width=300,
    min_height=300,
    min_aspect=0.40,
    max_aspect=2.50,
)
KLING_ELEMENT_VIDEO = MediaRule(
    kind="video",
    formats=VIDEO_FORMATS_ALL,
    max_mb=200,
    min_side=720,
    max_side=2160,
    min_duration=3.0,
    max_duration=10.05,
    min_fps=24,
    max_fps=60,
)
# The same limits as a Kling element video, but only MP4/MOV.
O3_SOURCE_VIDEO = replace(KLING_ELEMENT_VIDEO, formats=["mp4", "mov"])
PIXVERSE_VIDEO = MediaRule(kind="video", formats=VIDEO_FORMATS_ALL, warn_duration_over=10.0)
ANY_IMAGE = MediaRule(kind="image", formats=IMAGE_FORMATS_ALL)
WAN_VIDEO = MediaRule(kind="video", formats=["mp4", "mov"], max_mb=100, min_duration=2.0,
                      max_duration=10.0)
TOPAZ_VIDEO = MediaRule(kind="video", formats=VIDEO_FORMATS_ALL)

PROMPT_HELP = "Refer to references as @Image1, @Video1, @Audio1."


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---- seedance_r2v ------------------------------------------------------------------------


class SeedanceR2V(_Input):
    """ByteDance Seedance 2.0: a clip from a prompt plus reference images, videos and audio."""

    model_config = ConfigDict(title="Seedance 2.0 Reference-to-Video")

    prompt: str = Field(
        title="Prompt",
        min_length=1,
        description="Text prompt used to generate the video. " + PROMPT_HELP,
        json_schema_extra={"x-widget": "prompt", "x-role": "prompt"},
    )
    image_urls: list[str] = Field(
        default_factory=list,
        max_length=9,
        title="Reference images",
        description="Up to 9 images (JPEG/PNG/WebP, ≤ 30 MB each). Refer to them as @Image1…",
        json_schema_extra=_media(SEEDANCE_IMAGE, **{"x-mention": "Image", "x-item-label": "Image",
                                                    "x-role": "source"}),
    )
    video_urls: list[str] = Field(
        default_factory=list,
        max_length=3,
        title="Reference videos",
        description="Up to 3 videos (MP4/MOV), combined 2–15 s and under 50 MB, each about "
        "640×640 to 834×1112. Refer to them as @Video1…",
        json_schema_extra=_media(SEEDANCE_VIDEO, **{"x-mention": "Video", "x-item-label": "Video"}),
    )
    audio_urls: list[str] = Field(
        default_factory=list,
        max_length=3,
        title="Reference audio",
        description="Up to 3 clips (MP3/WAV), combined ≤ 15 s, ≤ 15 MB each; needs at least one "
        "image or video. Refer to them as @Audio1…",
        json_schema_extra=_media(SEEDANCE_AUDIO, **{"x-mention": "Audio", "x-item-label": "Audio"}),
    )
    resolution: Literal["480p", "720p", "1080p", "4k"] = Field(
        "720p",
        title="Resolution",
        description="Output resolution.",
        json_schema_extra={
            "x-guidance": {
                "480p": "480p for cheap drafts (~0.45× credits)",
                "720p": "720p: the default",
                "1080p": "1080p for final delivery (2.25×)",
                "4k": "4k for hero shots (~5.1×)",
            }
        },
    )
    duration: SeedanceDuration = Field(  # type: ignore[assignment]
        "auto",
        title="Duration",
        description="Duration in seconds (4–15), or auto to let the model decide.",
        json_schema_extra={"x-widget": "auto-int", "x-unit": "s"},
    )
    aspect_ratio: Literal["auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"] = Field(
        "auto",
        title="Aspect ratio",
        description="Aspect ratio of the video; auto follows the reference images' geometry. "
        "(Omitted, the wrapper would apply 9:16, so the app always sends it.)",
        json_schema_extra={"x-guidance": {"auto": "auto: follow the references"}},
    )
    generate_audio: bool = Field(
        True,
        title="Generate audio",
        description="Synchronized audio (SFX, ambient, lip-synced speech). Costs the same.",
    )
    bitrate_mode: Literal["standard", "high"] = Field(
        "standard",
        title="Bitrate",
        description="high requests a higher-quality, larger-file encode.",
    )
    end_user_id: str | None = Field(
        None, title="End user id", description="Unique ID of the end user."
    )


# ---- Kling v3 image-to-video (standard and pro share a schema) ---------------------------


class KlingShot(_Input):
    prompt: str = Field(title="Prompt", min_length=1, description="What happens in this shot.",
                        json_schema_extra={"x-widget": "prompt", "x-role": "prompt"})
    duration: ShotDuration = Field(  # type: ignore[valid-type]
        "5", title="Duration", description="Shot length in seconds (1–15).",
        json_schema_extra={"x-unit": "s"},
    )


class KlingElement(_Input):
    frontal_image_url: str | None = Field(
        None, title="Frontal image", description="Main view of the character or object.",
        json_schema_extra=_media(KLING_IMAGE),
    )
    reference_image_urls: list[str] | None = Field(
        None,
        max_length=3,
        title="Reference images",
        description="1–3 images from other angles (required for an image element).",
        json_schema_extra=_media(KLING_IMAGE, **{"x-item-label": "reference image"}),
    )
    video_url: str | None = Field(
        None, title="Video", description="A video element instead of an image set (max one).",
        json_schema_extra=_media(KLING_ELEMENT_VIDEO),
    )
    voice_id: str | None = Field(
        None, title="Voice id", description="Voice binding; video elements only."
    )


class KlingI2V(_Input):
    """Kling v3 image-to-video."""

    model_config = ConfigDict(title="Kling v3 Image-to-Video")

    start_image_url: str = Field(
        title="Start image",
        description="The first frame of the video; the output's aspect ratio follows it. "
        "Max 10 MB, at least 300×300 px, aspect ratio 0.40–2.50.",
        json_schema_extra=_media(KLING_IMAGE, **{"x-role": "source"}),
    )
    prompt: str | None = Field(
        None,
        max_length=2500,
        title="Prompt",
        description="Text prompt. Either a prompt or multiple shots, not both. "
        "Refer to elements as @Element1…",
        json_schema_extra={"x-widget": "prompt", "x-role": "prompt", "x-exclusive": "multi_prompt"},
    )
    multi_prompt: list[KlingShot] | None = Field(
        None,
        max_length=6,
        title="Shots",
        description="Multi-shot timeline: up to 6 shots of 1–15 s, 15 s in all.",
        json_schema_extra={"x-widget": "shots", "x-item-label": "Shot", "x-exclusive": "prompt",
                           "x-total": {"part": "duration", "whole": "duration"}},
    )
    duration: KlingDuration = Field(  # type: ignore[valid-type]
        "5", title="Duration", description="Total video length in seconds (3–15).",
        json_schema_extra={"x-unit": "s"},
    )
    generate_audio: bool = Field(
        True, title="Generate audio",
        description="Native audio (Chinese/English; other languages translated to English).",
    )
    end_image_url: str | None = Field(
        None, title="End image", description="Optional last frame (start-to-end interpolation).",
        json_schema_extra=_media(KLING_IMAGE),
    )
    elements: list[KlingElement] | None = Field(
        None,
        title="Elements",
        description="Characters/objects to inject: an image set (frontal + 1–3 references) or a "
        "video; at most one video element. Refer to them as @Element1…",
        json_schema_extra={"x-widget": "elements", "x-mention": "Element",
                           "x-item-label": "Element"},
    )
    shot_type: Literal["customize", "intelligent"] = Field(
        "customize", title="Shot type",
        description="Multi-shot generation type; intelligent lets the model plan the shots.",
    )
    negative_prompt: str = Field(
        "blur, distort, and low quality", max_length=2500, title="Negative prompt",
        description="What to steer away from.",
    )
    cfg_scale: float = Field(
        0.5, ge=0, le=1, title="CFG scale",
        description="How strictly the model follows the prompt.",
        json_schema_extra={"x-step": 0.05},
    )


# ---- kling_o3_video_edit -----------------------------------------------------------------


class O3Element(_Input):
    frontal_image_url: str = Field(title="Frontal image", description="Main view.",
                                   json_schema_extra=_media(KLING_IMAGE))
    reference_image_urls: list[str] = Field(
        min_length=1, max_length=3, title="Reference images",
        description="1–3 images from other angles.",
        json_schema_extra=_media(KLING_IMAGE, **{"x-item-label": "reference image"}),
    )


class KlingO3VideoEdit(_Input):
    """Kling O3 video-to-video editing with references and elements."""

    model_config = ConfigDict(title="Kling O3 Video Edit")

    prompt: str = Field(
        title="Prompt", min_length=1, max_length=2500,
        description="The edit. Refer to the source as @Video1, elements as @Element1…, "
        "reference images as @Image1…",
        json_schema_extra={"x-widget": "prompt", "x-role": "prompt"},
    )
    video_url: str = Field(
        title="Source video",
        description="MP4/MOV, 720–2160 px, 3.0–10.05 s, 24–60 fps, ≤ 200 MB.",
        json_schema_extra=_media(O3_SOURCE_VIDEO, **{"x-mention": "Video", "x-role": "source"}),
    )
    image_urls: list[str] | None = Field(
        None, title="Reference images",
        description="Style/appearance references (≤ 10 MB, ≥ 300×300, aspect 0.40–2.50); "
        "elements + images ≤ 4. Refer to them as @Image1…",
        json_schema_extra=_media(KLING_IMAGE, **{"x-mention": "Image", "x-item-label": "Image"}),
    )
    keep_audio: bool = Field(True, title="Keep audio",
                             description="Keep the original audio of the source video.")
    elements: list[O3Element] | None = Field(
        None, title="Elements",
        description="Characters/objects to inject (frontal + 1–3 references). "
        "Refer to them as @Element1…",
        json_schema_extra={"x-widget": "elements", "x-mention": "Element",
                           "x-item-label": "Element"},
    )
    shot_type: Literal["customize"] = Field(
        "customize", title="Shot type", description="Only customize is accepted."
    )


# ---- pixverse_swap -----------------------------------------------------------------------


class PixverseSwap(_Input):
    """PixVerse Swap: swap a person, object or background using a reference image."""

    model_config = ConfigDict(title="PixVerse Swap")

    video_url: str = Field(title="Source video", description="The video to swap in.",
                           json_schema_extra=_media(PIXVERSE_VIDEO, **{"x-role": "source"}))
    image_url: str = Field(title="Swap-in image", description="The element to swap in.",
                           json_schema_extra=_media(ANY_IMAGE))
    mode: Literal["person", "object", "background"] = Field(
        "person", title="Mode", description="What to swap.",
        json_schema_extra={"x-summary": True},
    )
    keyframe_id: int = Field(
        1, ge=1, title="Keyframe",
        description="Frame used for the mapping, at 24 fps: 1 = first frame, 24 = 1 s in. "
        "At most the source's duration × 24.",
        json_schema_extra={"x-widget": "keyframe", "x-depends-on": "video_url"},
    )
    resolution: Literal["360p", "540p", "720p"] = Field(
        "720p", title="Resolution", description="Output resolution (1080p is not supported)."
    )
    original_sound_switch: bool = Field(True, title="Keep original sound",
                                        description="Whether to keep the original audio.")
    seed: int | None = Field(None, title="Seed", description="Random seed; unset = random.",
                             json_schema_extra={"x-widget": "seed"})


# ---- wan_27_video_edit -------------------------------------------------------------------


class Wan27VideoEdit(_Input):
    """Wan 2.7 video edit: restyle existing footage from a text instruction."""

    model_config = ConfigDict(title="Wan 2.7 Video Edit")

    prompt: str = Field(title="Instruction", min_length=1,
                        description="Editing instruction or style-transfer description.",
                        json_schema_extra={"x-widget": "prompt", "x-role": "prompt"})
    video_url: str = Field(title="Source video", description="MP4/MOV, 2–10 s, ≤ 100 MB.",
                           json_schema_extra=_media(WAN_VIDEO, **{"x-role": "source"}))
    reference_image_url: str | None = Field(
        None, title="Reference image", description="Optional image for reference-based editing.",
        json_schema_extra=_media(ANY_IMAGE),
    )
    resolution: Literal["720p", "1080p"] = Field("1080p", title="Resolution",
                                                description="Output resolution tier.")
    aspect_ratio: Literal["16:9", "9:16", "1:1", "4:3", "3:4"] | None = Field(
        None, title="Aspect ratio", description="Unset: match the input video."
    )
    duration: Annotated[int, Field(ge=0, le=10), WrapValidator(_wan_duration)] = Field(
        0, title="Duration",
        description="0 = match the input; 2–10 s truncates from the start.",
        json_schema_extra={"x-unit": "s", "x-depends-on": "video_url"},
    )
    audio_setting: Literal["auto", "origin"] = Field(
        "auto", title="Audio", description="auto: the model decides; origin: keep the original."
    )
    seed: int | None = Field(None, ge=0, le=2147483647, title="Seed",
                             description="Random seed for reproducibility; unset = random.",
                             json_schema_extra={"x-widget": "seed"})
    enable_safety_checker: bool = Field(True, title="Safety checker",
                                        description="Content moderation on input and output.")


# ---- topaz_upscale_video -----------------------------------------------------------------

TOPAZ_MODELS = (
    "Proteus", "Artemis HQ", "Artemis MQ", "Artemis LQ", "Nyx", "Nyx Fast", "Nyx XL", "Nyx HF",
    "Gaia HQ", "Gaia CG", "Gaia 2", "Starlight Precise 1", "Starlight Precise 2",
    "Starlight Precise 2.5", "Starlight HQ", "Starlight Mini", "Starlight Sharp",
    "Starlight Fast 1", "Starlight Fast 2",
)


def _knob(title: str, description: str, le: float = 1.0, step: float = 0.05) -> Any:
    return Field(None, ge=0, le=le, title=title, description=description + " Unset: model default.",
                 json_schema_extra={"x-step": step})


class TopazUpscaleVideo(_Input):
    """Topaz video upscale, interpolation and clean-up."""

    model_config = ConfigDict(title="Topaz Video Upscale")

    video_url: str = Field(title="Source video", description="The video to upscale.",
                           json_schema_extra=_media(TOPAZ_VIDEO, **{"x-role": "source"}))
    model: Literal[TOPAZ_MODELS] = Field(  # type: ignore[valid-type]
        "Proteus", title="Enhancement model",
        description="Proteus = most videos; Artemis = denoise + sharpen; Nyx = denoising; "
        "Gaia HQ/CG = rendered content; Gaia 2 = animation at 2x (half price); "
        "Starlight = generative upscaling.",
        json_schema_extra={"x-summary": True},
    )
    upscale_factor: float = Field(2, ge=1, le=4, title="Upscale factor",
                                  description="2 doubles width and height.",
                                  json_schema_extra={"x-step": 0.5, "x-unit": "×",
                                                     "x-summary": True})
    target_fps: int | None = Field(
        None, ge=16, le=60, title="Target fps",
        description="Frame interpolation to this rate; unset = no interpolation. 60 doubles the "
        "price.", json_schema_extra={"x-unit": "fps"},
    )
    compression: float | None = _knob("Compression", "Compression artifact removal.")
    noise: float | None = _knob("Noise", "Noise reduction.")
    halo: float | None = _knob("Halo", "Halo reduction.")
    grain: float | None = _knob("Grain", "Film grain amount.", le=0.1, step=0.01)
    recover_detail: float | None = _knob("Recover detail", "Higher keeps more original detail.")
    H264_output: bool = Field(False, title="H.264 output",
                              description="Use H.264 for the output (default H.265).")
