"""Cross-field rules: limits that involve more than one field or file."""

from __future__ import annotations

from collections.abc import Callable

from app.catalog.media import MB, fmt_mb
from app.catalog.validate import Context

Rule = Callable[[Context], None]

MAX_SEEDANCE_FILES = 12


def _known(ctx: Context, values: list[str]) -> tuple[list[float], list[int], bool]:
    """Durations and sizes of the probed values, and whether every value was probed."""
    durations: list[float] = []
    sizes: list[int] = []
    complete = True
    for v in values:
        info = ctx.info(v)
        if info is None:
            complete = False
            continue
        sizes.append(info.size_bytes)
        if info.duration_s is not None:
            durations.append(info.duration_s)
        else:
            complete = False
    return durations, sizes, complete


def seedance_files(ctx: Context) -> None:
    lists = [(n, ctx.data.get(n) or []) for n in ("image_urls", "video_urls", "audio_urls")]
    total = sum(len(v) for _, v in lists)
    if total > MAX_SEEDANCE_FILES:
        seen = 0
        for name, values in lists:
            if seen + len(values) > MAX_SEEDANCE_FILES:
                idx = MAX_SEEDANCE_FILES - seen
                ctx.report.error(f"{name}.{idx}", f"{total} reference files in all; this model "
                                 f"takes at most {MAX_SEEDANCE_FILES} across images, videos "
                                 "and audio")
                return
            seen += len(values)


def seedance_videos(ctx: Context) -> None:
    videos = ctx.data.get("video_urls") or []
    if not videos:
        return
    durations, sizes, complete = _known(ctx, videos)
    total_s = sum(durations)
    if total_s > 15 + 1e-6 or (complete and total_s < 2 - 1e-6):
        ctx.report.error("video_urls", f"Reference videos add up to {total_s:.1f} s; this model "
                         "takes 2–15 s combined")
    if sum(sizes) >= 50 * MB:
        ctx.report.error("video_urls", f"Reference videos total {fmt_mb(sum(sizes))}; this model "
                         "takes under 50 MB in all")


def seedance_audio(ctx: Context) -> None:
    audios = ctx.data.get("audio_urls") or []
    if not audios:
        return
    if not (ctx.data.get("image_urls") or ctx.data.get("video_urls")):
        ctx.report.error("audio_urls", "Reference audio needs at least one reference image or "
                         "video")
    durations, _, _ = _known(ctx, audios)
    if sum(durations) > 15 + 1e-6:
        ctx.report.error("audio_urls", f"Reference audio adds up to {sum(durations):.1f} s; this "
                         "model takes at most 15 s combined")


def kling_prompt_or_shots(ctx: Context) -> None:
    prompt, shots = ctx.data.get("prompt"), ctx.data.get("multi_prompt")
    has_prompt = bool(prompt and prompt.strip())
    if has_prompt and shots:
        ctx.report.error("multi_prompt", "Use either a single prompt or shots, not both")
    elif not has_prompt and not shots and not {"prompt", "multi_prompt"} & _errored(ctx):
        ctx.report.error("prompt", "Write a prompt (or switch to shots)")


def _errored(ctx: Context) -> set[str]:
    return {i.field.split(".")[0] for i in ctx.report.errors}


def shot_seconds(shots: list[dict[str, object]] | None) -> int | None:
    """The clip length a multi-shot timeline implies (None when a shot is invalid)."""
    if not shots:
        return None
    total = 0
    for shot in shots:
        d = shot.get("duration", "5") if isinstance(shot, dict) else None
        if isinstance(d, bool) or not str(d).strip().isdigit():
            return None
        total += int(str(d).strip())
    return total


def kling_shot_total(ctx: Context) -> None:
    shots = ctx.data.get("multi_prompt")
    total = shot_seconds(shots)
    if total is None:
        return
    if total > 15:
        ctx.report.error("multi_prompt", f"Shots add up to {total} s; the clip can be at most "
                         "15 s")
    elif total < 3:
        ctx.report.error("multi_prompt", f"Shots add up to {total} s; the clip must be at least "
                         "3 s")
    elif "duration" in ctx.given and ctx.data.get("duration") not in (None, str(total)):
        ctx.report.error("duration", f"Shots add up to {total} s but duration is "
                         f"{ctx.data['duration']} s; in multi-shot mode they must match")


def kling_elements(ctx: Context) -> None:
    elements = ctx.data.get("elements") or []
    video_seen: int | None = None
    for i, el in enumerate(elements):
        if not isinstance(el, dict):
            continue
        label = f"Element {i + 1}"
        has_images = bool(el.get("frontal_image_url") or el.get("reference_image_urls"))
        video = el.get("video_url")
        if has_images and video:
            ctx.report.error(f"elements.{i}", f"{label} is either an image set or a video, "
                             "not both")
            continue
        if not has_images and not video:
            ctx.report.error(f"elements.{i}", f"{label} needs a frontal image and 1–3 reference "
                             "images, or a video")
            continue
        if has_images:
            if not el.get("frontal_image_url"):
                ctx.report.error(f"elements.{i}.frontal_image_url",
                                 f"{label} needs a frontal image")
            if not el.get("reference_image_urls"):
                ctx.report.error(f"elements.{i}.reference_image_urls",
                                 f"{label} needs 1–3 reference images")
            if el.get("voice_id"):
                ctx.report.error(f"elements.{i}.voice_id", f"{label}: a voice can only be bound "
                                 "to a video element")
        if video:
            if video_seen is not None:
                ctx.report.error(f"elements.{i}.video_url", f"Only one element may carry a "
                                 f"video (Element {video_seen + 1} already does)")
            else:
                video_seen = i


def o3_reference_count(ctx: Context) -> None:
    elements = ctx.data.get("elements") or []
    images = ctx.data.get("image_urls") or []
    total = len(elements) + len(images)
    if total > 4:
        where = "image_urls" if images else "elements"
        ctx.report.error(where, f"{len(elements)} elements + {len(images)} reference images = "
                         f"{total}; this model takes at most 4 in all")


def pixverse_keyframe(ctx: Context) -> None:
    keyframe = ctx.data.get("keyframe_id")
    info = ctx.info(ctx.data.get("video_url"))
    if keyframe is None or info is None or info.duration_s is None:
        return
    top = keyframe_max(info.duration_s)
    if keyframe > top:
        ctx.report.error("keyframe_id", f"Keyframe {keyframe} is past the end of the source "
                         f"video ({info.duration_s:.2f} s × 24 = {top}); pick 1–{top}")


def keyframe_max(duration_s: float) -> int:
    return max(1, int(duration_s * 24 + 1e-6))


def wan_duration(ctx: Context) -> None:
    duration = ctx.data.get("duration")
    info = ctx.info(ctx.data.get("video_url"))
    if duration and info is not None and info.duration_s is not None \
            and duration > info.duration_s + 1e-6:
        ctx.report.error("duration", f"Duration {duration} s is longer than the source video "
                         f"({info.duration_s:.1f} s); use 0 to match it")


RULES: dict[str, list[Rule]] = {
    "seedance_r2v": [seedance_files, seedance_videos, seedance_audio],
    "kling_v3_std_i2v": [kling_prompt_or_shots, kling_shot_total, kling_elements],
    "kling_v3_pro_i2v": [kling_prompt_or_shots, kling_shot_total, kling_elements],
    "kling_o3_video_edit": [o3_reference_count],
    "pixverse_swap": [pixverse_keyframe],
    "wan_27_video_edit": [wan_duration],
    "topaz_upscale_video": [],
}
