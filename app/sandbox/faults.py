"""Fault injection for the sandbox: make it misbehave on purpose, so clients are tested for real.

Faults are set at start-up (`SandboxServer(faults={...})`), with `SandboxServer.set_faults(...)`
or with ``POST /v1/_test/faults`` (a JSON object, auth required; ``GET`` shows the state).
Each call replaces the keys it names; ``{"reset": true}`` clears everything first.

Keys:

``latency_s`` (float)
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

The ``/v1/_test/faults`` endpoint itself is never faulted.
"""

from __future__ import annotations

import copy
import fnmatch
import threading
from typing import Any

RULE_KEYS = {"status", "drop", "delay_s", "retry_after", "count", "paths", "code", "message",
             "run"}
KNOWN = {"latency_s", "responses", "fail_jobs", "fail_code", "fail_message", "stuck_jobs",
         "reset"} | RULE_KEYS
DEFAULT_FAIL = ("render_failed", "The model could not render this job (injected fault).")


class FaultError(ValueError):
    """An invalid fault specification (the message says which key)."""


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


def _check(spec: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise FaultError("faults must be a JSON object")
    unknown = set(spec) - KNOWN
    if unknown:
        raise FaultError(f"unknown fault keys: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(KNOWN))}")
    out = {k: v for k, v in spec.items() if k not in RULE_KEYS}
    alone = {k: v for k, v in spec.items() if k in RULE_KEYS}
    if alone:
        out["_rule"] = _rule(alone, len(spec.get("responses") or []))
    for key in ("latency_s",):
        if key in out and (not isinstance(out[key], int | float) or out[key] < 0):
            raise FaultError(f"{key} must be a number of seconds ≥ 0")
    for key in ("fail_jobs", "stuck_jobs"):
        if key in out and (not isinstance(out[key], int) or isinstance(out[key], bool)
                           or out[key] < -1):
            raise FaultError(f"{key} must be a whole number (−1 = every job)")
    if "responses" in out:
        rules = out["responses"]
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise FaultError("responses must be a list of rules")
        out["responses"] = [_rule(r, i) for i, r in enumerate(rules)]
    return out


def _rule(rule: Any, i: int) -> dict[str, Any]:
    where = f"responses[{i}]"
    if not isinstance(rule, dict):
        raise FaultError(f"{where} must be an object")
    kinds = [k for k in ("status", "drop", "delay_s") if k in rule]
    if len(kinds) != 1:
        raise FaultError(f"{where} needs exactly one of status, drop, delay_s")
    out = dict(rule)
    paths = rule.get("paths", "*")
    out["paths"] = [paths] if isinstance(paths, str) else list(paths)
    count = rule.get("count", 1)
    if count is None:
        count = -1
    if not isinstance(count, int) or count == 0 or count < -1:
        raise FaultError(f"{where}.count must be a positive whole number or -1 (forever)")
    out["count"] = count
    if "status" in rule:
        status = rule["status"]
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise FaultError(f"{where}.status must be an HTTP error status (400–599)")
        if "retry_after" not in rule and status in (429, 503):
            out["retry_after"] = 1
    if "run" in rule and not isinstance(rule["run"], bool):
        raise FaultError(f"{where}.run must be true or false")
    if "drop" in rule and not (isinstance(rule["drop"], int | float) and 0 <= rule["drop"] < 1):
        raise FaultError(f"{where}.drop must be a fraction from 0 to below 1")
    if "delay_s" in rule and not (isinstance(rule["delay_s"], int | float)
                                  and rule["delay_s"] >= 0):
        raise FaultError(f"{where}.delay_s must be a number of seconds ≥ 0")
    return out
