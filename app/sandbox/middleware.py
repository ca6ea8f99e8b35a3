"""The sandbox's ASGI middleware: authentication first, then fault injection.

Both answer with the API's error shape (``{"error": {"code", "message", "fields"}}``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.sandbox.server import SandboxServer

log = logging.getLogger("app.sandbox.app")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class AuthMiddleware:
    """401 for any request without ``Authorization: Bearer <key>``. The key is compared in
    constant time and never echoed."""

    def __init__(self, app: ASGIApp, server: SandboxServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            await _send_json(send, 401, {"error": {
                "code": "unauthorized",
                "message": "Missing or invalid API key (send Authorization: Bearer <key>)",
                "fields": []}}, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and secrets.compare_digest(
                    token.strip().encode(), self.server.key.encode())
        return False


class Drop(Exception):
    """Raised to abandon a response half-sent (the connection is then closed)."""


class FaultMiddleware:
    """Applies `app.sandbox.faults` to API requests (after authentication)."""

    def __init__(self, app: ASGIApp, server: SandboxServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/v1/_test/"):
            await self.app(scope, receive, send)
            return
        faults = self.server.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        rule = faults.take_response(scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
        elif "status" in rule:
            await self._forced(rule, send)
        elif "delay_s" in rule:
            await self.app(scope, receive, _delayed(send, float(rule["delay_s"])))
        else:
            try:
                dropping = _dropping(send, float(rule["drop"]))
                if rule.get("run", True):
                    await self.app(scope, receive, dropping)
                else:  # the request is never handled: headers, then the connection closes
                    await _send_json(dropping, 502, {"error": {"code": "dropped"}})
            except BaseException as e:
                if not _is_drop(e):
                    raise
                log.info("fault: dropped the response to %s %s", scope["method"], path)

    async def _forced(self, rule: dict[str, Any], send: Send) -> None:
        status = int(rule["status"])
        headers = {}
        if rule.get("retry_after") is not None:
            headers["Retry-After"] = str(rule["retry_after"])
        default = {429: "rate_limited", 503: "unavailable"}.get(status, "server_error"
                                                                 if status >= 500 else "fault")
        await _send_json(send, status, {"error": {
            "code": rule.get("code") or default,
            "message": rule.get("message") or f"Injected fault: HTTP {status}",
            "fields": []}}, headers)


def _is_drop(e: BaseException) -> bool:
    if isinstance(e, BaseExceptionGroup):
        return all(_is_drop(x) for x in e.exceptions)
    return isinstance(e, Drop)


def _delayed(send: Send, delay: float) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(delay)
        await send(message)
    return wrapped


def _dropping(send: Send, fraction: float) -> Send:
    """A `send` that lets `fraction` of the body through, then raises `Drop`."""
    state: dict[str, Any] = {"start": None, "cut": None, "sent": 0, "buffer": bytearray()}

    async def cut_here(chunk: bytes) -> None:
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        raise Drop

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            length = next((int(v) for k, v in message.get("headers", [])
                           if k.lower() == b"content-length"), None)
            state["start"] = message
            if length is not None:
                state["cut"] = int(length * fraction)
                await send(message)
                if state["cut"] == 0:
                    raise Drop
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = bytes(message.get("body", b""))
        if state["cut"] is None:  # no Content-Length: buffer, then send a part of it
            state["buffer"] += body
            if message.get("more_body"):
                return
            data = bytes(state["buffer"])
            start = dict(state["start"])
            start["headers"] = [*start.get("headers", []),
                                (b"content-length", str(len(data)).encode())]
            await send(start)
            await cut_here(data[: int(len(data) * fraction)])
        room = state["cut"] - state["sent"]
        if len(body) >= room:
            await cut_here(body[:room])
        state["sent"] += len(body)
        await send(message)

    return wrapped

