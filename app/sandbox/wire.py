"""Reading hostile requests: JSON bodies within bounds, ``Range`` headers per RFC 9110.

Every function here turns bad input into a `BadRequest` (status, code, message) or a
documented outcome, never an exception the server would answer with a 500.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import ClientDisconnect, Request

from app.catalog.jsonsafe import MAX_BYTES, PayloadError, loads_bounded

#: A job body is a few kilobytes (media travel as upload URLs), as for the CLI's payloads.
MAX_BODY_BYTES = MAX_BYTES
#: Read (and drop) at most this much of a refused body so the client sees the answer.
MAX_DRAIN_BYTES = 256 * 1024 * 1024
#: Range positions longer than this are beyond any file the sandbox serves.
MAX_POS_DIGITS = 18


class BadRequest(Exception):
    """A request refused before a handler looks at it; becomes the API's error shape."""

    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def is_json_type(content_type: str | None) -> bool:
    """``application/json`` or any ``+json`` type, parameters (charset) aside."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


async def json_object(request: Request, *, empty: Any = None,
                      max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's body as a JSON object, parsed by the catalog's bounded loader.

    415 without a JSON content type, 413 over `max_bytes`, 422 for JSON the loader refuses
    (nesting, huge numbers, NaN, duplicate keys, lone surrogates…) or a non-object. An empty
    body is `empty` when given (a copy), else 422."""
    if not is_json_type(request.headers.get("content-type")):
        await _drain(request)
        raise BadRequest(415, "unsupported_media_type", "Send the body as JSON "
                         "(Content-Type: application/json)", "Content-Type")
    raw = await _read_upto(request, max_bytes)
    if not raw.strip() and empty is not None:
        return dict(empty)
    try:
        body = loads_bounded(raw, max_bytes=max_bytes)
    except PayloadError as e:
        raise BadRequest(422, "invalid_json", f"The body is not acceptable JSON: {e}") from None
    if not isinstance(body, dict):
        raise BadRequest(422, "validation_failed", "The body must be a JSON object")
    return body


async def _read_upto(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _drain(request)
        raise _too_large(limit)
    data = bytearray()
    try:
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                await _drain(request)
                raise _too_large(limit)
    except ClientDisconnect:
        raise BadRequest(400, "incomplete_body", "The request body was cut off") from None
    return bytes(data)


async def _drain(request: Request) -> None:
    """Read what is left of the body (up to MAX_DRAIN_BYTES), so the answer reaches a client
    that is still sending."""
    got = 0
    try:
        async for chunk in request.stream():
            got += len(chunk)
            if got > MAX_DRAIN_BYTES:
                return
    except (ClientDisconnect, RuntimeError):  # gone, or the stream was consumed already
        return


def _too_large(limit: int) -> BadRequest:
    return BadRequest(413, "payload_too_large", f"The body is larger than {limit:,} bytes")


# ---- Range ------------------------------------------------------------------------------

_SPEC = re.compile(r"([0-9]*)-([0-9]*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """What a ``Range`` header asks of a `size`-byte file (RFC 9110 §14.2):

    - ``(start, end)`` inclusive for one satisfiable byte range → 206;
    - ``None`` when no range is satisfiable → 416;
    - ``False`` to ignore the header → 200 with the whole file: no header, another unit,
      a syntactically invalid range (``bytes=5-1``, ``bytes=abc``: the RFC says to ignore
      the field), or several ranges (a server may ignore them; the sandbox does)."""
    if not header:
        return False
    unit, eq, ranges = header.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return False
    specs = [s.strip() for s in ranges.split(",")]
    matches = [_SPEC.fullmatch(s) for s in specs]
    if any(m is None or m.group() == "-" for m in matches):
        return False
    if len(matches) != 1:
        return False
    m = matches[0]
    assert m is not None
    first, last = _digits(m.group(1)), _digits(m.group(2))
    if first is None:  # a suffix: the last `last` bytes
        assert last is not None
        n = _capped(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
    if last is not None and (len(last), last) < (len(first), first):
        return False
    start = _capped(first)
    if start >= size:
        return None
    return start, size - 1 if last is None else min(_capped(last), size - 1)


def _digits(text: str) -> str | None:
    """A range position's digits without leading zeros; None when absent."""
    return None if text == "" else (text.lstrip("0") or "0")


def _capped(digits: str) -> int:
    """A position as a number; one of any length is capped, never converted whole."""
    return int(digits) if len(digits) <= MAX_POS_DIGITS else 10 ** MAX_POS_DIGITS


def shown(value: str, most: int = 80) -> str:
    """A value from the request as a message shows it: quoted, control characters and lone
    surrogates escaped (so the answer always encodes), at most `most` characters."""
    text = repr(value)
    return text if len(text) <= most else text[: most - 2] + "…" + text[-1]
