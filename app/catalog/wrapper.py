"""The wrapper params (ours, not the model's): ``out``, ``mock`` and ``format``.

The single home of their names and their rules, so the form, `takes check`, the client and
the sandbox agree on them before anything is uploaded or charged.

``out`` names the result's file inside the work folder. It is checked so that every
accepted value becomes exactly one new file there on any platform: text; relative (no
leading ``/`` or ``\\``, no drive such as ``C:``); no ``..`` part at all (``a/../b.mp4``
too: whether it stays inside depends on folders existing); no control characters; valid
Unicode; at most 1,024 characters; each folder or file name at most 255 bytes in UTF-8; and
a file name ending in ``.mp4`` (case-insensitive, as the preview reads suffixes), the only
container the render API returns. Both ``/`` and ``\\`` separate parts. Empty and ``.``
parts (``a//b.mp4``, ``./b.mp4``) are harmless — every platform's path join collapses them
— so they are accepted; `normalize_out` gives the canonical spelling (``a/b.mp4``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from app.catalog.issues import Issue

if TYPE_CHECKING:
    from app.catalog.models import ModelSpec

WRAPPER = ("out", "mock", "format")
#: ``format`` → the ``aspect_ratio`` it means (only models with ``has_format``).
FORMAT_TO_ASPECT = {"shorts": "9:16", "reels": "9:16", "horizontal": "16:9"}
#: What the result can be saved as: the API and the sandbox return MP4.
RESULT_SUFFIXES = (".mp4",)
MAX_OUT_CHARS = 1024
MAX_PART_BYTES = 255

_SEPARATORS = re.compile(r"[/\\]")


def split(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model params, wrapper params) of a payload."""
    params = {k: v for k, v in payload.items() if k not in WRAPPER}
    wrapper = {k: v for k, v in payload.items() if k in WRAPPER}
    return params, wrapper


def wrapper_params(spec: ModelSpec) -> list[str]:
    """The wrapper params a model takes: ``format`` only where it maps to a size."""
    return [w for w in WRAPPER if w != "format" or spec.has_format]


def check_wrapper(spec: ModelSpec, wrapper: Mapping[str, Any],
                  params: Mapping[str, Any]) -> list[Issue]:
    """The issues on ``out``, ``mock`` and ``format`` (``params``: for format vs aspect)."""
    issues: list[Issue] = []
    problem = out_problem(wrapper.get("out"))
    if problem:
        issues.append(Issue("out", problem))
    if "mock" in wrapper and not isinstance(wrapper["mock"], bool):
        issues.append(Issue("mock", "mock must be true or false"))
    if "format" in wrapper:
        issues += _format_issues(spec, wrapper["format"], params)
    return issues


def _format_issues(spec: ModelSpec, fmt: Any, params: Mapping[str, Any]) -> list[Issue]:
    if not spec.has_format:
        return [Issue("format", f"format has no effect on {spec.id}: this model has no size or "
                      "aspect-ratio parameter, so it is not sent", "warning")]
    if not isinstance(fmt, str) or fmt not in FORMAT_TO_ASPECT:
        return [Issue("format", f"format must be one of {', '.join(FORMAT_TO_ASPECT)}")]
    aspect = params.get("aspect_ratio")
    if aspect not in (None, FORMAT_TO_ASPECT[fmt]):
        return [Issue("format", f"format {fmt!r} means {FORMAT_TO_ASPECT[fmt]} but aspect_ratio "
                      f"is {aspect}: aspect_ratio is what the app sends", "warning")]
    return []


# ---- out ----------------------------------------------------------------------------------


def out_problem(out: Any) -> str | None:
    """What is wrong with an ``out`` value, as a message saying what to change; None if fine."""
    if out is None or out == "":
        return "Output path (out) is required"
    if not isinstance(out, str):
        return "Output path (out) must be text"
    for check in (_text_problem, _place_problem, _name_problem):
        problem = check(out)
        if problem:
            return problem
    return None


def normalize_out(out: str) -> str:
    """An accepted ``out`` in its canonical spelling: ``/`` separators, no empty or ``.``
    parts (``.\\a//b.mp4`` → ``a/b.mp4``). The file every platform writes for it."""
    return "/".join(_parts(out))


def _parts(out: str) -> list[str]:
    return [p for p in _SEPARATORS.split(out) if p not in ("", ".")]


def _text_problem(out: str) -> str | None:
    bad = next((c for c in out if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        return (f"Output path (out) holds a broken character ({_code(bad)}, half of a "
                "surrogate pair) at position " f"{out.index(bad) + 1:,}: retype the name")
    bad = next((c for c in out if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        return (f"Output path (out) holds a control character ({_code(bad)}) at position "
                f"{out.index(bad) + 1:,}: remove it")
    if len(out) > MAX_OUT_CHARS:
        return (f"Output path (out) is {len(out):,} characters long; the most is "
                f"{MAX_OUT_CHARS:,}: use a shorter path")
    return None


def _place_problem(out: str) -> str | None:
    if out.startswith(("/", "\\")) or PureWindowsPath(out).drive or \
            PurePosixPath(out).is_absolute():
        return f"Output path {_quoted(out)} must be relative to the work folder"
    if ".." in _SEPARATORS.split(out):
        return f"Output path {_quoted(out)} must stay inside the work folder (no '..')"
    return None


def _name_problem(out: str) -> str | None:
    parts = _parts(out)
    if not parts:
        return (f"Output path {_quoted(out)} names the work folder itself, not a file: give a "
                "file name such as take.mp4")
    last = _SEPARATORS.split(out)[-1]
    if last in ("", "."):
        return (f"Output path {_quoted(out)} names a folder, not a file: add a file name such "
                f"as {'/'.join([*parts, 'take.mp4'])}")
    for part in parts:
        size = len(part.encode("utf-8"))
        if size > MAX_PART_BYTES:
            return (f"Output path: the name {_quoted(part)} is {size:,} bytes long; a file or "
                    f"folder name may be at most {MAX_PART_BYTES} bytes (UTF-8): shorten it")
    name = PurePosixPath(parts[-1])
    if name.suffix.lower() not in RESULT_SUFFIXES or not name.stem:
        stem = name.stem if name.name.lower() not in RESULT_SUFFIXES else ""
        if PurePosixPath(stem).suffix.lower() not in RESULT_SUFFIXES:  # x.mp4.part → x.mp4
            stem += RESULT_SUFFIXES[0]
        better = stem if 4 < len(stem) <= 44 else "take" + RESULT_SUFFIXES[0]
        return (f"Output path {_quoted(out)} must be a file name ending in "
                f"{' or '.join(RESULT_SUFFIXES)} (the result is an MP4 video), such as {better}")
    return None


def _code(c: str) -> str:
    return f"U+{ord(c):04X}"


def _quoted(text: str, most: int = 60) -> str:
    """A value as a message shows it: quoted, escaped, cut to `most` characters."""
    if len(text) <= most:
        return repr(text)
    shown = repr(text[: most - 1])
    return shown[:-1] + "…" + shown[-1]


# ---- the out pattern: {task} {model} {date} {time} {n} ------------------------------------

#: The tokens an ``out`` pattern may hold, expanded before the ``out`` check.
OUT_TOKENS = ("task", "model", "date", "time", "n")
MAX_N = 9_999
_TOKEN = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def has_tokens(out: Any) -> bool:
    """Whether an ``out`` value is a pattern (holds a known ``{token}``)."""
    return isinstance(out, str) and any(m.group(1) in OUT_TOKENS for m in _TOKEN.finditer(out))


def out_pattern_problem(pattern: Any) -> str | None:
    """What is wrong with the tokens of a pattern (an unknown ``{name}``); None if fine."""
    if not isinstance(pattern, str):
        return None
    unknown = [m.group(0) for m in _TOKEN.finditer(pattern) if m.group(1) not in OUT_TOKENS]
    if unknown:
        return (f"Output path: {_quoted(unknown[0], 30)} is not a token; the tokens are "
                f"{', '.join('{' + t + '}' for t in OUT_TOKENS)}")
    return None


def expand_out(pattern: str, *, task: str, model: str, when: Any,
               taken: Any = None) -> str:
    """The ``out`` a pattern names for a take made at `when` (a local `datetime`): ``{task}``
    and ``{model}`` as safe file-name text, ``{date}`` as 2026-12-03, ``{time}`` as 14-05-09,
    ``{n}`` the smallest number from 1 whose path `taken(out)` says is free. Without ``{n}``
    the pattern is expanded once (the download never overwrites: it numbers the file). The
    result still goes through `out_problem`; an unknown token raises `ValueError`."""
    problem = out_pattern_problem(pattern)
    if problem:
        raise ValueError(problem)
    values = {"task": _safe(task), "model": _safe(model), "date": when.strftime("%Y-%m-%d"),
              "time": when.strftime("%H-%M-%S")}

    def fill(n: int) -> str:
        return _TOKEN.sub(lambda m: str(n) if m.group(1) == "n" else values[m.group(1)],
                          pattern)

    if "{n}" not in pattern or taken is None:
        return fill(1)
    for n in range(1, MAX_N + 1):
        out = fill(n)
        if out_problem(out) or not taken(out):  # an invalid result: the check says why
            return out
    raise ValueError(f"Output path: every number up to {MAX_N:,} is taken for "
                     f"{_quoted(pattern)}: choose another name")


def _safe(text: str) -> str:
    """A token's value as one file-name part: no separators, control or reserved characters."""
    return _UNSAFE.sub("-", str(text)).strip(" .-") or "take"
