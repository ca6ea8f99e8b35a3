"""Fault injection for the sandbox: make it misbehave on purpose, so clients are tested for real.

Faults are set at start-up (`SandboxServer(faults={...})`), with `SandboxServer.set_faults(...)`
or with ``POST /v1/_test/faults`` (a JSON object, auth required; ``GET`` shows the state).
Each call replaces the keys it names; ``{"reset": true}`` clears everything first.

Keys:

``latency_s`` (float, 0–60)
    Every API request waits this long before it is handled.
``responses`` (list of rules, consumed in order)
    Each rule matches requests by ``paths``: a glob of ``"METHOD /path"`` (or a list of
    them; default ``"*"``, e.g. ``"POST /v1/jobs/*"``, ``"GET /v1/files/*"``), applies to
    the next ``count`` matching requests (default 1; ``-1`` = forever), then is dropped.
    A rule does one of:

    - ``{"status": 429, "retry_after": 2}``: answer with this status and a JSON error
      (``code`` / ``message`` optional) without running the handler; ``retry_after``
      (seconds) becomes the ``Retry-After`` header (429 and 503 get 1 s if not given).
    - ``{"drop": 0.6}``: run the handler, send this fraction of the response body (0 = the
      headers only), then close the socket. On ``POST /v1/jobs/*`` the job is created and
      charged: the client sees a dropped connection after its request was committed. On
      ``GET /v1/files/*`` this is the "download cut at 60 %" case. With ``"run": false``
      the handler is not run at all (nothing is committed): the client gets a status line
      and headers, then the connection closes.
    - ``{"delay_s": 5}``: run the handler, then wait before sending the response. On
      ``POST /v1/jobs/*`` the job exists before the client's read timeout fires.
    A rule may also be given alone: ``set_faults(status=429, retry_after=2, count=5,
    paths="POST /v1/jobs/*")`` appends it to the current list; ``"responses": {...}`` (one
    object) is a list of one.
``fail_jobs`` (int)
    The next N jobs created (``-1`` = all) fail: status ``failed`` with ``error``
    ``{"code": fail_code, "message": fail_message}`` (defaults ``render_failed`` and a
    sentence) after running; their credits are refunded.
``stuck_jobs`` (int)
    The next N jobs created (``-1`` = all) never finish: they stay ``running`` until the
    job timeout, then become ``timed_out`` (refunded).

The ``/v1/_test/faults`` endpoint itself is never faulted. Specs are checked before anything
changes: unknown keys, non-finite or negative numbers, delays over 60 s, ``paths`` that are not
strings, a ``drop`` outside [0, 1) are refused with a `FaultError` naming the key
(``responses.0.paths``); over HTTP that is a 422 ``invalid_faults``.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import threading
from typing import Any

RULE_KEYS = {"status", "drop", "delay_s", "retry_after", "count", "paths", "code", "message",
             "run"}
KNOWN = {"latency_s", "responses", "fail_jobs", "fail_code", "fail_message", "stuck_jobs",
         "reset"} | RULE_KEYS
DEFAULT_FAIL = ("render_failed", "The model could not render this job (injected fault).")
#: Bounds that keep a fault spec from wedging the server (sleeping forever, huge lists).
MAX_DELAY_S = 60.0
MAX_COUNT = 1_000_000
MAX_RULES = 100
MAX_TEXT = 500


class FaultError(ValueError):
    """An invalid fault specification; `field` names the key (``responses.0.drop``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class Faults:
    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {}
        if initial:
            self.update(initial)

    def update(self, spec: dict[str, Any]) -> dict[str, Any]:
        checked = _check(spec)
        extra = checked.pop("_rule", None)
        with self._lock:
            if checked.pop("reset", False):
                self._state = {}
            self._state.update(checked)
            if extra is not None:
                self._state.setdefault("responses", []).append(extra)
            return copy.deepcopy(self._state)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._state)

    @property
    def latency_s(self) -> float:
        return float(self._state.get("latency_s") or 0)

    def take_response(self, method: str, path: str) -> dict[str, Any] | None:
        """The first rule matching this request, consuming one of its uses."""
        target = f"{method.upper()} {path}"
        with self._lock:
            rules: list[dict[str, Any]] = self._state.get("responses") or []
            for i, rule in enumerate(rules):
                if not any(fnmatch.fnmatchcase(target, p) for p in rule["paths"]):
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                    if rule["count"] == 0:
                        del rules[i]
                return dict(rule)
        return None

    def job_fate(self) -> tuple[str, str | None, str | None]:
        """(fate, error code, error message) for a job about to be created. Nothing is
        consumed: call `consume_fate` once the job exists."""
        with self._lock:
            for key, fate in (("stuck_jobs", "stuck"), ("fail_jobs", "fail")):
                if int(self._state.get(key) or 0) == 0:
                    continue
                if fate == "fail":
                    return (fate, self._state.get("fail_code") or DEFAULT_FAIL[0],
                            self._state.get("fail_message") or DEFAULT_FAIL[1])
                return fate, None, None
        return "ok", None, None

    def consume_fate(self, fate: str) -> None:
        key = {"stuck": "stuck_jobs", "fail": "fail_jobs"}.get(fate)
        with self._lock:
            n = int(self._state.get(key) or 0) if key else 0
            if n > 0:
                self._state[key] = n - 1


def _check(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise FaultError("", "faults must be a JSON object")
    unknown = sorted(str(k) for k in set(spec) - KNOWN)
    if unknown:
        raise FaultError(unknown[0], f"unknown fault key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown)}; known: {', '.join(sorted(KNOWN))}")
    out = {k: v for k, v in spec.items() if k not in RULE_KEYS}
    alone = {k: v for k, v in spec.items() if k in RULE_KEYS}
    if alone:
        out["_rule"] = _rule(alone, "")
    if "latency_s" in out:
        out["latency_s"] = _seconds(out["latency_s"], "latency_s")
    for key in ("fail_jobs", "stuck_jobs"):
        if key in out:
            out[key] = _whole(out[key], key, -1, "a whole number (−1 = every job)")
    for key in ("fail_code", "fail_message"):
        if key in out and out[key] is not None:
            out[key] = _text(out[key], key)
    if "reset" in out and not isinstance(out["reset"], bool):
        raise FaultError("reset", "must be true or false")
    if "responses" in out:
        rules = out["responses"]
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list) or len(rules) > MAX_RULES:
            raise FaultError("responses", f"must be a list of at most {MAX_RULES} rules")
        out["responses"] = [_rule(r, f"responses.{i}.") for i, r in enumerate(rules)]
    return out


def _rule(rule: Any, where: str) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise FaultError(where.rstrip("."), "must be an object")
    unknown = sorted(str(k) for k in set(rule) - RULE_KEYS)
    if unknown:
        raise FaultError(where + unknown[0], f"unknown rule key; known: "
                         f"{', '.join(sorted(RULE_KEYS))}")
    kinds = [k for k in ("status", "drop", "delay_s") if k in rule]
    if len(kinds) != 1:
        raise FaultError(where.rstrip(".") or "responses",
                         "needs exactly one of status, drop, delay_s")
    out = dict(rule)
    out["paths"] = _paths(rule.get("paths", "*"), where + "paths")
    count = rule.get("count", 1)
    out["count"] = -1 if count is None else _whole(count, where + "count", -1,
                                                   "a positive whole number or -1 (forever)")
    if out["count"] == 0:
        raise FaultError(where + "count", "must be a positive whole number or -1 (forever)")
    if "status" in rule:
        out["status"] = _whole(rule["status"], where + "status", 400,
                               "an HTTP error status (400–599)", 599)
        if rule.get("retry_after") is None and out["status"] in (429, 503):
            out["retry_after"] = 1
    if rule.get("retry_after") is not None:
        out["retry_after"] = _whole(rule["retry_after"], where + "retry_after", 0,
                                    "whole seconds (0–3600)", 3600)
    for key in ("code", "message"):
        if rule.get(key) is not None:
            out[key] = _text(rule[key], where + key)
    if "run" in rule and not isinstance(rule["run"], bool):
        raise FaultError(where + "run", "must be true or false")
    if "drop" in rule:
        out["drop"] = _number(rule["drop"], where + "drop", "a fraction from 0 to below 1")
        if not 0 <= out["drop"] < 1:
            raise FaultError(where + "drop", "must be a fraction from 0 to below 1")
    if "delay_s" in rule:
        out["delay_s"] = _seconds(rule["delay_s"], where + "delay_s")
    return out


def _number(value: Any, field: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value):
        raise FaultError(field, f"must be {what}")
    return float(value)


def _seconds(value: Any, field: str) -> float:
    """A finite delay of 0–MAX_DELAY_S seconds (a longer one would wedge every client)."""
    seconds = _number(value, field, f"a number of seconds from 0 to {MAX_DELAY_S:g}")
    if not 0 <= seconds <= MAX_DELAY_S:
        raise FaultError(field, f"must be a number of seconds from 0 to {MAX_DELAY_S:g}")
    return seconds


def _whole(value: Any, field: str, least: int, what: str, most: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise FaultError(field, f"must be {what}")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise FaultError(field, f"must be text of at most {MAX_TEXT} characters")
    return value


def _paths(value: Any, field: str) -> list[str]:
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not paths or len(paths) > MAX_RULES or \
            not all(isinstance(p, str) and 0 < len(p) <= MAX_TEXT for p in paths):
        raise FaultError(field, 'must be a glob such as "POST /v1/jobs/*" or a list of them')
    return list(paths)
