"""Bounded JSON: every entry point (CLI payload files, sandbox request bodies) loads through here.

`json.loads` alone turns hostile input into RecursionError (deep nesting), ValueError (a
5,000-digit integer), MemoryError (/dev/zero) or a later UnicodeEncodeError (a lone surrogate).
Here each becomes a `PayloadError` whose message says what is wrong and where (`$.shots.0.prompt`).

Defaults, and why: a payload is a few kilobytes (media travel as paths or uploads, never inline),
so 1 MB is generous; the deepest catalog payload nests 4 levels, so 32 leaves room without
approaching the recursion limit; no field needs more than 20 digits (seeds are 32-bit), so 100
stays clear of Python's 4,300-digit limit; the longest text field is 2,500 characters, so 100,000
refuses only garbage.
NUL: refused in keys (no field name has one); in values it is left to the field's own check
(`out` refuses control characters), since JSON carries it safely.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_INT_DIGITS = 100
MAX_STRING = 100_000

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


class PayloadError(ValueError):
    """Input that is not acceptable JSON; the message is one sentence for the user."""


class _Bad:
    """Left in the parsed tree by a parse hook; reported with its path once the tree exists."""

    def __init__(self, what: str) -> None:
        self.what = what


def loads_bounded(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                  max_int_digits: int = MAX_INT_DIGITS, max_string: int = MAX_STRING) -> Any:
    """Parse JSON within the bounds, or raise PayloadError naming the problem and its path."""
    text = _text(data, max_bytes)
    _check_depth(text, max_depth)
    try:
        value = json.loads(text, parse_int=_int_hook(max_int_digits),
                           parse_float=_float_hook(max_int_digits),
                           parse_constant=_refuse_constant, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as e:
        raise PayloadError(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise PayloadError(f"nesting deeper than {max_depth} levels") from None
    _check_tree(value, "$", max_string)
    return value


def read_bounded(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most max_bytes; never blocks on a FIFO or a device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except ValueError:
        raise PayloadError("the path contains a NUL character") from None
    except OSError as e:
        raise PayloadError(f"cannot open the file ({e.strerror or e})") from None
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind != "file":
            raise PayloadError(f"this is {kind}, not a regular file")
        data = _read_upto(fd, max_bytes + 1)
    except OSError as e:
        raise PayloadError(f"cannot read the file ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise PayloadError(f"the file is larger than {max_bytes:,} bytes")
    return data


def file_kind(mode: int) -> str:
    """'file' for a regular file, else what it is, in words (for 'this is a FIFO, not ...')."""
    if stat.S_ISREG(mode):
        return "file"
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a file")


def _read_upto(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = os.read(fd, min(65536, limit - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _text(data: bytes | str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise PayloadError(f"the payload is larger than {max_bytes:,} bytes")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PayloadError(f"not UTF-8 text (byte {e.start:,})") from None


def _check_depth(text: str, max_depth: int) -> None:
    if text.count("[") + text.count("{") <= max_depth:
        return
    stack: list[list[Any]] = []  # per open container: [is_array, index or last key]
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            if len(stack) >= max_depth:
                raise PayloadError(f"nesting deeper than {max_depth} levels at {_path(stack)}")
            stack.append([tok == "[", 0 if tok == "[" else None])
        elif tok in "]}":
            if stack:
                stack.pop()
        elif tok == ",":
            if stack and stack[-1][0]:
                stack[-1][1] += 1
        elif stack and not stack[-1][0] and _is_key(text, m.end()):
            stack[-1][1] = tok[1:-1]


def _is_key(text: str, end: int) -> bool:
    return text[end:end + 64].lstrip()[:1] == ":"


def _path(stack: list[list[Any]], shown: int = 4) -> str:
    parts = [str(key)[:64] for _, key in stack if key is not None]
    return "$" + "".join(f".{part}" for part in parts[:shown]) + ("…" if len(parts) > shown else "")


def _int_hook(max_digits: int) -> Any:
    def parse(s: str) -> int | _Bad:
        digits = len(s.lstrip("-"))
        if digits > max_digits:
            return _Bad(f"a number with {digits:,} digits (at most {max_digits})")
        return int(s)
    return parse


def _float_hook(max_digits: int) -> Any:
    def parse(s: str) -> float | _Bad:
        if len(s) > max_digits:
            return _Bad(f"a number written with {len(s):,} characters (at most {max_digits})")
        value = float(s)
        return value if math.isfinite(value) else _Bad("a number too large to represent")
    return parse


def _refuse_constant(name: str) -> _Bad:
    return _Bad(f"{name}, which is not a number JSON allows")


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Bad:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return _Bad(f"the key {_show(twice)} given twice")


def _check_tree(value: Any, path: str, max_string: int) -> None:
    if isinstance(value, _Bad):
        raise PayloadError(f"{value.what} at {path}")
    if isinstance(value, str):
        _check_string(value, path, max_string)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_key(key, path, max_string)
            _check_tree(item, f"{path}.{_show_key(key)}", max_string)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_tree(item, f"{path}.{i}", max_string)


def _check_key(key: str, path: str, max_string: int) -> None:
    _check_string(key, path, max_string, "key")
    if "\x00" in key:
        raise PayloadError(f"a key with a NUL character at {path}")


def _check_string(s: str, path: str, max_string: int, what: str = "string") -> None:
    if len(s) > max_string:
        raise PayloadError(f"a {what} of {len(s):,} characters (at most {max_string:,}) at {path}")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError(f"a {what} with an unpaired surrogate at {path}") from None


def _show_key(key: str) -> str:
    """A key as it may appear in a one-line message: printable, short."""
    return _show(key)[1:-1] if key.isprintable() and len(key) <= 64 else _show(key)


def _show(s: str) -> str:
    text = json.dumps(s[:64])
    return text if len(s) <= 64 else text[:-1] + '…"'
