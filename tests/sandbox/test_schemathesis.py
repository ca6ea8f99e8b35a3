"""schemathesis against the sandbox's own OpenAPI, on a real server on loopback.

Every documented operation is fuzzed (valid and invalid bodies, query strings, headers, path
ids) and each answer must be: not a 5xx, a status the document lists for that operation, and a
body matching the schema it gives for that status.

Budget: TAKES_SCHEMATHESIS_EXAMPLES examples per operation (default 20: well under a minute
here); raise it for a long run, e.g. ``TAKES_SCHEMATHESIS_EXAMPLES=500``.

Left out: ``/v1/_test/faults``. It makes the server misbehave on purpose (503 forever, 60 s
latency), which would turn every later case into an injected fault; its spec validation has
its own tests (test_hostile.py). Bodies drop ``webhook_url`` so that the server never POSTs
to hosts the fuzzer invents.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from app.sandbox.server import SandboxServer

EXAMPLES = int(os.environ.get("TAKES_SCHEMATHESIS_EXAMPLES", "20"))
_KEYS = itertools.count()
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
#: (operation, status) → answers seen; printed at the end (``pytest -s``) for the long run.
SEEN: Counter[tuple[str, int]] = Counter()
#: Why schema-valid (positive) job bodies were refused: what the schema cannot say.
REFUSED: Counter[str] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    data: Path = tmp_path_factory.mktemp("schemathesis")
    with SandboxServer(data, render_seconds=0.05, job_timeout_s=60, credits=3000) as sb:
        yield sb
    print("\nschemathesis answers:", sum(SEEN.values()))
    for (op, status), n in sorted(SEEN.items()):
        print(f"  {op:45} {status} × {n}")
    print("schema-valid job bodies refused, most common reasons:")
    for why, n in REFUSED.most_common(15):
        print(f"  {n:5} × {why}")


@pytest.fixture(scope="module")
def api_schema(live: SandboxServer) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json", headers=_auth(live))


def _auth(sb: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.key}"}


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex="^/v1/_test/")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
def test_no_server_error_and_every_answer_as_documented(case: Any, live: SandboxServer
                                                         ) -> None:
    if isinstance(case.body, dict):
        case.body.pop("webhook_url", None)
    _fresh_key(case)
    response = case.call_and_validate(base_url=live.url, headers=_auth(live), checks=CHECKS)
    SEEN[(f"{case.method} {case.path}", response.status_code)] += 1
    if response.status_code == 422 and case.path.startswith("/v1/jobs/") and \
            case.meta is not None and not case.meta.generation.mode.is_negative:
        for f in response.json()["error"]["fields"]:
            REFUSED[f"{case.path.rsplit('/', 1)[1]} {f['field']}: {f['message'][:70]}"] += 1


def _fresh_key(case: Any) -> None:
    """Keys are global: the fuzzer reuses a few values, and a used key answers 409 before the
    body is looked at. A valid key is made unique per case, so bodies are really checked
    (the replay and 409 paths have their own tests in test_api.py)."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        headers["Idempotency-Key"] = f"{key[:200]}-{next(_KEYS)}"
