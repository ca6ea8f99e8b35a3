"""What every `takes` sub-command checks in its arguments before acting on them.

Each helper raises `argparse.ArgumentTypeError` (argparse turns it into one line and exit 2) or
`UsageError` for checks that need more than one argument. Messages say what to change.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.catalog.jsonsafe import MAX_BYTES, PayloadError, file_kind, loads_bounded, read_bounded


class UsageError(Exception):
    """A bad argument found after parsing; main() prints it as one line and exits 2."""


def whole(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {lo:,} to {hi:,}, not {_shown(text)}")
        return value
    return parse


def seconds(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in [lo, hi]."""
    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 32 else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds from {lo:g} to {hi:g}, not {_shown(text)}")
        return value
    return parse


def api_url(text: str) -> str:
    """An argparse type: an http(s) base URL."""
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != -1
    except ValueError:  # a bad port or bracket
        ok = False
    if not ok or not text.isprintable() or not text.isascii():
        raise argparse.ArgumentTypeError(
            f"must be an http(s) URL such as https://api.example.com, not {_shown(text)}")
    return text.rstrip("/")


def api_key(text: str) -> str:
    """An argparse type: a key that can travel in an HTTP header (never echoed back)."""
    try:
        check_key(text, "this")
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def check_key(key: str, where: str) -> None:
    if not key or not key.isascii() or not key.isprintable() or len(key) > 4096:
        raise UsageError(f"{where} API key must be printable ASCII characters (at most 4,096)")


def writable_folder(path: Path, flag: str) -> Path:
    """Create the folder if needed and prove a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UsageError(f"{flag} {_shown(str(path))} cannot be written to "
                         f"({e.strerror or e})") from None
    return path


def file_or_new(path: Path, flag: str) -> Path:
    """A path that is a regular file or does not exist yet, in a folder that can be written."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise UsageError(f"{flag} {_shown(str(path))}: {e.strerror or e}") from None
    if mode is not None and file_kind(mode) != "file":
        raise UsageError(f"{flag} {_shown(str(path))} is {file_kind(mode)}, not a file")
    writable_folder(path.parent, f"{flag}'s folder")
    return path


def json_object_file(path: str, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """A payload file: a regular file holding one bounded JSON object."""
    try:
        return json_object(read_bounded(path, max_bytes))
    except PayloadError as e:
        raise UsageError(f"{_shown(path)[1:-1]}: {e}") from None


def json_object(data: bytes | str) -> dict[str, Any]:
    value = loads_bounded(data)
    if not isinstance(value, dict):
        raise PayloadError(f"must hold a JSON object ({{...}}), not {_json_kind(value)}")
    return value


def check_argv(argv: list[str]) -> None:
    """Arguments must be text: a NUL or undecodable bytes would fail later, deep inside."""
    for i, arg in enumerate(argv, 1):
        if "\x00" in arg:
            raise UsageError(f"argument {i} contains a NUL character")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"argument {i} ({_shown(arg)}) has bytes that are not valid "
                             "UTF-8 text (rename the file or retype the value)") from None


def _json_kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _shown(text: str) -> str:
    """A value quoted for a one-line message: escaped, at most 80 characters."""
    short = text if len(text) <= 80 else text[:77] + "..."
    return repr(short)  # repr escapes what cannot be shown: NUL, control, lone surrogates
