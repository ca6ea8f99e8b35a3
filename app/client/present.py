"""How a job reads on screen: status words, excerpts, times, credits. Plain Python, no Qt.

Works on any object with the `JobRecord` attributes, so it is tested without a window.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from app.catalog import MODELS, roles
from app.catalog.status import ACTIVE, FAILURES, TERMINAL
from app.catalog.status import timestamp as ts

COMPARE_TASKS = ("edit", "swap", "restyle", "upscale")
TASK_NAMES = {
    "create": "Create",
    "animate": "Animate",
    "edit": "Edit with references",
    "swap": "Swap",
    "restyle": "Restyle",
    "upscale": "Upscale",
}
STATUS_WORDS = {
    "pending": "Sending",
    "queued": "Queued",
    "running": "Rendering",
    "succeeded": "Done",
    "failed": "Failed",
    "canceled": "Canceled",
    "timed_out": "Timed out",
    "sending": "Sending",
    "unknown": "Unknown — may have been charged",
}
#: what to do about a take whose request may have been accepted without its id being stored
UNKNOWN_ADVICE = ("Its request went out but the answer never arrived, so it may be queued and "
                  "charged. Takes will not send it again by itself: check the provider's "
                  "dashboard (fal: fal.ai/dashboard/requests) for the request; Retry makes a "
                  "new take, charged again.")
#: Plain words for error codes whose server message may be terse.
ERROR_WORDS = {
    "insufficient_credits": "Not enough credits for this render.",
    "timeout": "The render took longer than the 15 minute limit.",
    "timed_out": "The render took longer than the 15 minute limit.",
    "unauthorized": "The API key was refused.",
    "validation_error": "The server rejected some parameters.",
}


def task_of(model_id: str) -> str:
    spec = MODELS.get(model_id)
    return spec.task if spec else ""


def task_title(model_id: str) -> str:
    """'Animate (pro)' for a model id; the id itself for an unknown model."""
    spec = MODELS.get(model_id)
    if spec is None:
        return model_id
    name = TASK_NAMES.get(spec.task, spec.task_label)
    return f"{name} ({spec.tier})" if spec.tier else name


def prompt_of(payload: Mapping[str, Any] | None, model_id: str | None = None) -> str:
    """A take's prompts as one line ("one | two" for shots); see app.catalog.roles."""
    return roles.prompt_text(model_id, payload, sep=" | ")


def take_words(job: Any) -> str:
    """What a take is called in a list: its prompt, else the task's own words (the source file,
    the mode or factor) — never a bare "(no prompt)"."""
    if getattr(job, "name", ""):  # the user's name for it first
        return str(job.name)
    prompt = prompt_of(job.payload, job.model_id)
    if prompt:
        return prompt
    words = roles.summary(job.model_id, job.payload)
    return " · ".join([task_title(job.model_id), *words])


def excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_media(model_id: str, payload: Mapping[str, Any] | None) -> str | None:
    """The input a result is compared against (the source video), or the first input picture."""
    return roles.source_media(model_id, payload)


def error_words(job: Any) -> str:
    """The server's reason, in words ('' when the job did not fail)."""
    if job.status not in FAILURES:
        return ""
    message = (job.error_message or "").strip()
    known = ERROR_WORDS.get(job.error_code or "")
    if job.status == "timed_out" and not message:
        message = ERROR_WORDS["timed_out"]
    if not message:
        message = known or "The server gave no reason."
    elif known and known.rstrip(".").lower() not in message.lower():
        message = f"{message} ({known.rstrip('.')})"
    return message


def status_text(job: Any) -> str:
    words = STATUS_WORDS.get(job.status, job.status)
    position = getattr(job, "queue_position", None)
    if job.status == "queued" and isinstance(position, int) and position > 0:
        return f"{words} · {position} ahead"
    if job.status == "running" and job.progress is not None:
        return f"{words} {round(float(job.progress) * 100)}%"
    if job.status in FAILURES:
        return f"{words}: {error_words(job)}"
    if job.status == "unknown":
        return f"{words}: {UNKNOWN_ADVICE}"
    return words


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    m, s = divmod(seconds, 60)
    return f"{m}:{s:02d}" if m < 60 else f"{m // 60}:{m % 60:02d}:{s:02d}"


def elapsed_s(job: Any, now: float) -> float | None:
    start = ts(job.started_at) or ts(job.submitted_at) or ts(job.created_at)
    if start is None:
        return None
    end = ts(job.finished_at) if job.status in TERMINAL else None
    return max(0.0, (end if end is not None else now) - start)


def run_seconds(job: Any) -> float | None:
    """How long the server rendered a finished job (started → finished)."""
    start, end = ts(job.started_at), ts(job.finished_at)
    if start is None or end is None or end < start:
        return None
    return end - start


def typical_duration(jobs: Iterable[Any]) -> float | None:
    """Median render time of past succeeded jobs (None without history)."""
    times = [t for j in jobs if j.status == "succeeded" and (t := run_seconds(j)) is not None]
    return statistics.median(times) if times else None


def typical_duration_of(times: list[float]) -> float | None:
    return statistics.median(times) if times else None


def eta_s(job: Any, typical: float | None, now: float) -> float | None:
    """Seconds left: the model's typical duration minus what has run, refined by progress."""
    if job.status not in ACTIVE:
        return None
    start = ts(job.started_at)
    progress = float(job.progress or 0.0)
    if job.status == "running" and start is not None and progress >= 0.05:
        ran = max(0.0, now - start)
        by_progress = ran * (1 - progress) / progress
        if typical is None:
            return by_progress
        return max(0.0, (by_progress + max(0.0, typical - ran)) / 2)
    if typical is None:
        return None
    ran = max(0.0, now - start) if start is not None else 0.0
    return max(0.0, typical - ran)


def time_text(job: Any, typical: float | None, now: float) -> str:
    el = elapsed_s(job, now)
    parts = [duration_text(el)] if el is not None else []
    eta = eta_s(job, typical, now)
    if eta is not None:
        parts.append(f"~{duration_text(eta)} left")
    return " · ".join(parts)


def credits_text(job: Any) -> str:
    """A take's credits: the estimate until charged, the charge, or what happened to it.
    "refunded" only when credits were charged and given back; a take that ended before it
    was charged (refused for want of credits, canceled before it was sent) is "not charged"."""
    if job.mock:
        return "MOCK · free"
    charged, est = job.credits_charged, job.credits_estimated
    if job.status == "unknown":
        return f"≈{est} cr · may be charged" if est else "may be charged"
    if job.status == "canceled" or job.status in FAILURES:
        if charged:
            return f"{charged} cr charged"
        return "refunded" if getattr(job, "credits_refunded", 0) else "not charged"
    if charged is not None and job.status != "pending":
        return f"{charged} cr"
    if est is not None:
        return f"≈{est} cr"
    return ""


def param_rows(payload: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A payload flattened to (dotted key, text) rows, for details and comparisons."""
    rows: list[tuple[str, str]] = []
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(param_rows(value, name + "."))
        elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    rows.extend(param_rows(item, f"{name}.{i + 1}."))
                else:
                    rows.append((f"{name}.{i + 1}", _text(item)))
        else:
            rows.append((name, _text(value)))
    return rows


def model_name(model_id: str) -> str:
    """The model's own name, its id after it: "Seedance 2.0 Reference-to-Video
    (seedance_r2v)"."""
    from app.catalog import MODELS

    spec = MODELS.get(model_id)
    return f"{spec.name} ({model_id})" if spec is not None else model_id


_WRAPPER_TITLES = {"out": "File", "format": "Format", "mock": "Mock", "webhook_url": "Webhook",
                   "end_user_id": "End user id"}


def param_title(model_id: str, dotted: str) -> str:
    """A payload row's name in the form's words: `elements.1.frontal_image_url` →
    "Elements 1 · Frontal image" (the field titles of the model's schema; the API name when
    the schema does not know it)."""
    parts = dotted.split(".")
    if len(parts) == 1 and parts[0] in _WRAPPER_TITLES:
        return _WRAPPER_TITLES[parts[0]]
    schema, defs = _schema_of(model_id)
    words: list[str] = []
    node: Any = schema
    for part in parts:
        if part.isdigit():
            if words:
                words[-1] = f"{words[-1]} {part}"
            node = _deref(node.get("items", {}) if isinstance(node, dict) else {}, defs)
            continue
        props = node.get("properties", {}) if isinstance(node, dict) else {}
        field = _deref(props.get(part, {}), defs)
        words.append(str(field.get("title") or props.get(part, {}).get("title")
                         or _humane(part)))
        node = field
    return " · ".join(words)


def _humane(name: str) -> str:
    name = name.removesuffix("_urls").removesuffix("_url")
    return name.replace("_", " ").capitalize() or name


def _deref(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema a property stands for: its `$ref`, an `anyOf` with null, or its items'."""
    for _ in range(8):
        if not isinstance(node, dict):
            return {}
        if "$ref" in node:
            node = {**defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {}),
                    **({"title": node["title"]} if "title" in node else {})}
            continue
        options = [o for o in node.get("anyOf", []) if o.get("type") != "null"] \
            if isinstance(node.get("anyOf"), list) else []
        if len(options) == 1:
            node = {**options[0], **({"title": node["title"]} if "title" in node else {})}
            continue
        if node.get("type") == "array" and isinstance(node.get("items"), dict) \
                and "properties" not in node:
            items = _deref(node["items"], defs)
            if "properties" in items:
                return {**node, "items": items}
        return node
    return {}


@functools.lru_cache(maxsize=64)
def _schema_of(model_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from app.catalog import MODELS

    spec = MODELS.get(model_id)
    if spec is None:
        return {}, {}
    schema = spec.input_model.model_json_schema()
    return schema, schema.get("$defs", {})


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) if value else "—"
    return str(value)


def diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(key, value in a, value in b, differs) over the union of both payloads' keys."""
    ra, rb = dict(param_rows(a)), dict(param_rows(b))
    keys = list(ra) + [k for k in rb if k not in ra]
    return [(k, ra.get(k, "—"), rb.get(k, "—"), ra.get(k, "—") != rb.get(k, "—")) for k in keys]
