"""Typed API errors, each with a message a creator can read. None of them ever holds the key."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Any failure talking to the render API. `str(e)` is the human message."""

    default_code = "api_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or self.default_code
        self.retry_after = retry_after
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status}, code={self.code!r})"


class AuthError(ApiError):
    """401/403: the key is missing, wrong or revoked. Never retried."""

    default_code = "unauthorized"


class ValidationFailed(ApiError):
    """422 (or a local check before anything is sent): field-addressed problems."""

    default_code = "validation_failed"

    def __init__(self, message: str, fields: list[dict[str, Any]] | None = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.fields: list[dict[str, Any]] = list(fields or [])


class OutOfCredits(ApiError):
    default_code = "insufficient_credits"


class RateLimited(ApiError):
    default_code = "rate_limited"


class ServerError(ApiError):
    default_code = "server_error"


class NetworkError(ApiError):
    """The request did not complete: no connection, a timeout, a dropped connection."""

    default_code = "network_error"


class NotFound(ApiError):
    default_code = "not_found"


class Conflict(ApiError):
    """409: e.g. an idempotency key reused with another body."""

    default_code = "conflict"


class DownloadError(ApiError):
    """A download that could not be completed or verified."""

    default_code = "download_failed"


class LocalFileError(DownloadError):
    """The result cannot be written here (a path too long, a full disk): nothing partial is
    left, and the take stays downloadable once the cause is fixed."""

    default_code = "local_file"


def fields_text(fields: list[dict[str, Any]], limit: int = 4) -> str:
    parts = [f"{f.get('field') or '(payload)'}: {f.get('message', 'invalid')}"
             for f in fields[:limit]]
    more = len(fields) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
