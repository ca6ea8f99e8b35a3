"""The sandbox under hostile requests: every one gets a 4xx in the error shape (or the
RFC's 200/206/416 for ranges), nothing is charged, and the server keeps answering."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog import MODELS, estimate
from app.sandbox.faults import MAX_DELAY_S, FaultError, Faults
from app.sandbox.plan import make_plan
from app.sandbox.server import SandboxServer
from app.sandbox.wire import parse_range
from sandbox.helpers import FAST, api_client, balance, submit, upload, wait

CHEAP = {"prompt": "a test", "duration": 4, "resolution": "480p", "out": "a.mp4"}  # 108 cr
JSON = {"Content-Type": "application/json"}


def job_count(sb: SandboxServer) -> int:
    return len(sb.store.list_jobs(None, 1000, None))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One server for the tests that change nothing (they check that nothing changed)."""
    with SandboxServer(tmp_path_factory.mktemp("hostile"), **FAST) as sb:
        yield sb


@pytest.fixture(scope="module")
def c(shared: SandboxServer) -> Iterator[httpx.Client]:
    with api_client(shared) as client:
        yield client


@pytest.fixture
def unchanged(shared: SandboxServer, c: httpx.Client) -> Iterator[None]:
    """The test must leave no job and no charge behind."""
    before = job_count(shared), balance(c)
    yield
    assert (job_count(shared), balance(c)) == before


def assert_error(r: httpx.Response, status: int | tuple[int, ...], code: str | None = None
                 ) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert set(err) == {"code", "message", "fields"} and err["message"]
    assert all(set(f) == {"field", "message"} for f in err["fields"])
    if code:
        assert err["code"] == code, err
    return dict(err)


def duration_of(data: bytes, tmp: Path) -> float:
    path = tmp / "result.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as f:
        return float(f.duration or 0) / 1_000_000


# ---- what the catalog accepts renders --------------------------------------------------------


@pytest.mark.parametrize("duration", ["5.0", "5", 5.0, " 5 ", "+5"])
def test_seedance_duration_spellings_render_five_seconds(
        client: httpx.Client, tmp_path: Path, duration: Any) -> None:
    payload = {"prompt": "x", "duration": duration, "resolution": "480p", "out": "a.mp4"}
    r = submit(client, "seedance_r2v", payload)
    assert r.status_code == 202, r.text
    assert r.json()["credits_charged"] == estimate("seedance_r2v", payload).max == 5 * 27
    job = wait(client, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["duration_s"] == pytest.approx(5, abs=0.1)
    data = client.get(job["result"]["url"]).content
    assert duration_of(data, tmp_path) == pytest.approx(5, abs=0.15)


def test_kling_durations_as_numbers_render(client: httpx.Client, media: dict[str, Path]
                                           ) -> None:
    url = upload(client, media["img_640x480"])
    shots = [{"prompt": "a", "duration": 3}, {"prompt": "b", "duration": "4"}]
    for payload, seconds in (({"prompt": "x", "duration": 6}, 6), ({"multi_prompt": shots}, 7)):
        r = submit(client, "kling_v3_std_i2v", {"start_image_url": url, "out": "k.mp4",
                                                "mock": True, **payload})
        assert r.status_code == 202, r.text
        job = wait(client, r.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["duration_s"] == pytest.approx(seconds, abs=0.1)


# ---- bodies ------------------------------------------------------------------------------

HOSTILE_BODIES = {
    "NaN": b"NaN",
    "Infinity value": b'{"prompt": "x", "out": "a.mp4", "duration": Infinity}',
    "NaN value": b'{"prompt": NaN, "out": "a.mp4"}',
    "a list": b"[5]",
    "a string": b'"prompt"',
    "null": b"null",
    "10^5000": b'{"prompt": "x", "out": "a.mp4", "duration": 1' + b"0" * 5000 + b"}",
    "5000-digit float": b'{"prompt": "x", "out": "a.mp4", "duration": 1.' + b"5" * 5000 + b"}",
    "1e400": b'{"prompt": "x", "out": "a.mp4", "duration": 1e400}',
    "lone surrogate": b'{"prompt": "\\ud800", "out": "a.mp4"}',
    "surrogate in a key": b'{"\\udfff": 1, "prompt": "x", "out": "a.mp4"}',
    "10,000-deep": b"[" * 10_000 + b"]" * 10_000,
    "10,000-deep object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "duplicate keys": b'{"prompt": "x", "out": "a.mp4", "prompt": "y"}',
    "empty": b"",
    "whitespace": b"   \n",
    "not UTF-8": b'{"prompt": "\xff\xfe", "out": "a.mp4"}',
    "truncated": b'{"prompt": "x", "out": "a.mp',
    "NUL in a key": b'{"pro\\u0000mpt": "x", "out": "a.mp4"}',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
@pytest.mark.usefixtures("unchanged")
def test_hostile_bodies_are_4xx_and_charge_nothing(c: httpx.Client, name: str) -> None:
    r = c.post("/v1/jobs/seedance_r2v", content=HOSTILE_BODIES[name], headers=JSON)
    err = assert_error(r, 422)
    assert err["code"] in ("invalid_json", "validation_failed")
    assert c.get("/v1/account").status_code == 200  # and the server still answers


@pytest.mark.usefixtures("unchanged")
def test_a_20_mb_body_is_413_without_being_parsed(c: httpx.Client) -> None:
    client = c
    big = b'{"prompt": "' + b"x" * 20_000_000 + b'", "out": "a.mp4"}'
    t = time.monotonic()
    assert_error(client.post("/v1/jobs/seedance_r2v", content=big, headers=JSON), 413,
                 "payload_too_large")

    def chunks() -> Any:  # no Content-Length: refused while it streams in
        for i in range(0, len(big), 1 << 20):
            yield big[i:i + (1 << 20)]

    assert_error(client.post("/v1/jobs/seedance_r2v", content=chunks(), headers=JSON), 413,
                 "payload_too_large")
    assert time.monotonic() - t < 20


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/jsonx",
                                   "\u00e9/json"])
def test_bodies_that_are_not_json_by_type_are_415(shared: SandboxServer, c: httpx.Client,
                                                  ctype: str | None) -> None:
    before = job_count(shared)
    headers = {"Content-Type": ctype.encode("utf-8")} if ctype else {}
    r = c.post("/v1/jobs/seedance_r2v", content=json.dumps(CHEAP), headers=headers)
    assert_error(r, 415, "unsupported_media_type")
    assert job_count(shared) == before
    r = c.post("/v1/jobs/seedance_r2v", content=json.dumps({**CHEAP, "mock": True}),
               headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 202
    assert job_count(shared) == before + 1


@pytest.mark.parametrize("key", ["", "x" * 256])
@pytest.mark.usefixtures("unchanged")
def test_bad_idempotency_keys_are_422(c: httpx.Client, key: str) -> None:
    client = c
    err = assert_error(submit(client, "seedance_r2v", CHEAP, key=key) if key else
                       client.post("/v1/jobs/seedance_r2v", json=CHEAP,
                                   headers={"Idempotency-Key": ""}), 422)
    assert err["fields"][0]["field"] == "Idempotency-Key"


@pytest.mark.usefixtures("unchanged")
def test_an_unknown_model_is_404(c: httpx.Client) -> None:
    client = c
    for model in ("nope", "a" * 3000, "seedance_r2v%00", "%ff"):
        err = assert_error(client.post(f"/v1/jobs/{model}", json=CHEAP), 404, "unknown_model")
        assert len(err["message"]) <= 300


# ---- uploads -------------------------------------------------------------------------------


def test_broken_multipart_is_400(client: httpx.Client, sandbox: SandboxServer) -> None:
    r = client.post("/v1/uploads", content=b"--x\r\nContent-Disposition: form-data; "
                    b'name="file"; filename="a.png"\r\n\r\nabc',
                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert_error(r, (400, 415, 422))
    r = client.post("/v1/uploads", content=b"garbage",
                    headers={"Content-Type": "multipart/form-data"})  # no boundary
    assert_error(r, (400, 422))
    assert_error(client.post("/v1/uploads", json={"file": "x"}), 415, "unsupported_media_type")
    assert not list(sandbox.files_dir.iterdir())


# ---- ranges ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(c: httpx.Client) -> tuple[str, bytes]:
    job = wait(c, submit(c, "seedance_r2v", {**CHEAP, "mock": True}).json()["id"])
    url = job["result"]["url"]
    return url, c.get(url).content


HUGE = "9" * 5000


@pytest.mark.parametrize(("header", "status", "part"), [
    ("bytes=0-99999999999999999999999", 206, (0, None)),
    (f"bytes=0-{HUGE}", 206, (0, None)),
    (f"bytes=-{HUGE}", 206, (0, None)),
    ("bytes=5-", 206, (5, None)),
    ("bytes=-5", 206, (-5, None)),
    ("bytes=0000000000000000000000000000003-4", 206, (3, 5)),
    (f"bytes={HUGE}-", 416, None),
    ("bytes=99999999999999999999999-99999999999999999999999", 416, None),
    ("bytes=-0", 416, None),
    ("bytes=5-1", 200, (0, None)),  # invalid: the field is ignored (RFC 9110 §14.1.1)
    ("bytes=abc", 200, (0, None)),
    ("bytes=", 200, (0, None)),
    ("bytes=-", 200, (0, None)),
    ("bytes=0-1,5-6", 200, (0, None)),  # several ranges: the sandbox sends the whole file
    ("bytes=0-1,abc", 200, (0, None)),
    ("items=0-5", 200, (0, None)),
    ("bytes=\u0663-5", 200, (0, None)),  # an Arabic-Indic digit is not a digit here
    ("bytes=1-2" + ",3-4" * 2000, 200, (0, None)),
], ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_range_headers(c: httpx.Client, result: tuple[str, bytes], header: str,
                       status: int, part: tuple[int, int | None] | None) -> None:
    client = c
    url, data = result
    raw = header.encode("utf-8")
    r = client.get(url, headers={"Range": raw})
    assert r.status_code == status, r.text[:200]
    if status == 416:
        assert_error(r, 416, "range_not_satisfiable")
        assert r.headers["Content-Range"] == f"bytes */{len(data)}"
        return
    assert part is not None
    assert r.content == data[part[0]:part[1]]
    assert int(r.headers["Content-Length"]) == len(r.content)
    if status == 206:
        start = part[0] % len(data)
        assert r.headers["Content-Range"] == f"bytes {start}-{start + len(r.content) - 1}/" \
                                              f"{len(data)}"
    head = client.head(url, headers={"Range": raw})
    assert head.status_code == status and head.headers["Content-Length"] == \
        r.headers["Content-Length"]


@settings(max_examples=200, deadline=None)
@given(header=st.text(max_size=60) | st.from_regex(r"bytes=[0-9]{0,30}-[0-9]{0,30}",
                                                    fullmatch=True),
       size=st.integers(1, 10**6))
def test_parse_range_never_raises_and_stays_in_the_file(header: str, size: int) -> None:
    got = parse_range(header, size)
    if isinstance(got, tuple):
        start, end = got
        assert 0 <= start <= end < size


# ---- query and path params -----------------------------------------------------------------


@pytest.mark.parametrize("query", [
    {"limit": "99999999999999999999999999"}, {"limit": "9" * 5000}, {"limit": "-1"},
    {"limit": "0"}, {"limit": "1.5"}, {"limit": "\u0665"}, {"limit": "5%00"},
    {"cursor": "-5"}, {"cursor": "99999999999999999999999999"}, {"cursor": "9" * 5000},
    {"cursor": "1e3"}, {"cursor": "\u0665"}, {"cursor": "abc"},
    {"status": "bogus"}, {"status": "queued%00"}, {"status": "%ED%A0%80"},
    {"status": "%FF"},
])
def test_bad_list_params_are_422(c: httpx.Client, query: dict[str, str]) -> None:
    client = c
    raw = "&".join(f"{k}={v}" for k, v in query.items())  # sent as written: %FF stays raw
    err = assert_error(client.get(f"/v1/jobs?{raw}"), 422, "validation_failed")
    assert err["fields"] and err["fields"][0]["field"] in query


def test_good_list_params_still_work(client: httpx.Client) -> None:  # a server with no jobs
    for q in ({"limit": "100"}, {"limit": "1"}, {"cursor": "999999999999999999"},
              {"status": "queued"}):
        r = client.get("/v1/jobs", params=q)
        assert r.status_code == 200 and r.json()["jobs"] == []


@pytest.mark.parametrize("job_id", ["a%00b", "%00", "x" * 8000, "%ff%fe", "\u00e9t\u00e9",
                                    "%ed%a0%80", "job_..%2f..%2fsandbox.sqlite3"])
@pytest.mark.usefixtures("unchanged")
def test_odd_ids_are_404_with_a_short_message(c: httpx.Client, job_id: str) -> None:
    client = c
    for method, path in (("GET", f"/v1/jobs/{job_id}"), ("POST", f"/v1/jobs/{job_id}/cancel"),
                         ("GET", f"/v1/files/{job_id}")):
        err = assert_error(client.request(method, path), 404, "not_found")
        assert len(err["message"]) < 120


# ---- the fault endpoint validates what it is given -----------------------------------------

BAD_FAULTS: list[tuple[dict[str, Any], str]] = [
    ({"latency_s": math.inf}, "latency_s"),
    ({"latency_s": math.nan}, "latency_s"),
    ({"latency_s": -1}, "latency_s"),
    ({"latency_s": MAX_DELAY_S + 1}, "latency_s"),
    ({"latency_s": 1e308}, "latency_s"),
    ({"latency_s": "1"}, "latency_s"),
    ({"latency_s": True}, "latency_s"),
    ({"status": 500, "paths": [5]}, "paths"),
    ({"status": 500, "paths": []}, "paths"),
    ({"status": 500, "paths": {"a": 1}}, "paths"),
    ({"responses": [{"status": 500, "paths": [None]}]}, "responses.0.paths"),
    ({"responses": [{"status": 500}, {"drop": 1.5}]}, "responses.1.drop"),
    ({"responses": [{"drop": -0.1}]}, "responses.0.drop"),
    ({"responses": [{"drop": math.nan}]}, "responses.0.drop"),
    ({"responses": [{"drop": True}]}, "responses.0.drop"),
    ({"responses": [{"delay_s": math.inf}]}, "responses.0.delay_s"),
    ({"responses": [{"delay_s": 3600}]}, "responses.0.delay_s"),
    ({"responses": [{"status": True}]}, "responses.0.status"),
    ({"responses": [{"status": 200}]}, "responses.0.status"),
    ({"responses": [{"status": 429, "retry_after": "soon"}]}, "responses.0.retry_after"),
    ({"responses": [{"status": 429, "retry_after": -1}]}, "responses.0.retry_after"),
    ({"responses": [{"status": 500, "count": 1.5}]}, "responses.0.count"),
    ({"responses": [{"status": 500, "count": True}]}, "responses.0.count"),
    ({"responses": [{"status": 500, "count": 10**30}]}, "responses.0.count"),
    ({"responses": [{"status": 500, "code": 5}]}, "responses.0.code"),
    ({"responses": [{"status": 500, "bogus": 1}]}, "responses.0.bogus"),
    ({"responses": [{"status": 500, "drop": 0.5}]}, "responses.0"),
    ({"responses": [5]}, "responses.0"),
    ({"responses": "all"}, "responses"),
    ({"fail_jobs": 1.5}, "fail_jobs"),
    ({"fail_jobs": -2}, "fail_jobs"),
    ({"stuck_jobs": True}, "stuck_jobs"),
    ({"fail_message": ["x"]}, "fail_message"),
    ({"reset": "yes"}, "reset"),
    ({"bogus": 1}, "bogus"),
]


@pytest.mark.parametrize(("spec", "field"), BAD_FAULTS, ids=[f for _, f in BAD_FAULTS])
def test_bad_fault_specs_are_refused_naming_the_field(spec: dict[str, Any], field: str) -> None:
    faults = Faults({"latency_s": 0.1})
    with pytest.raises(FaultError) as e:
        faults.update(spec)
    assert e.value.field == field and field in str(e.value)
    assert faults.snapshot() == {"latency_s": 0.1}  # nothing changed


def test_the_fault_endpoint_refuses_with_422_and_keeps_serving(
        sandbox: SandboxServer, client: httpx.Client) -> None:
    for spec, field in BAD_FAULTS:
        if any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(spec)):
            continue  # not JSON; sent raw below
        err = assert_error(client.post("/v1/_test/faults", json=spec), 422, "invalid_faults")
        assert err["fields"][0]["field"] == field, err
    for raw in (b'{"latency_s": Infinity}', b'{"latency_s": NaN}', b'{"latency_s": 1e400}',
                b"[5]", b'{"responses": [' * 50 + b"]" * 50 + b"}"):
        assert_error(client.post("/v1/_test/faults", content=raw, headers=JSON), 422)
    assert_error(client.post("/v1/_test/faults", content=b"{}"), 415)
    assert client.get("/v1/_test/faults").json() == {"faults": {}}
    t = time.monotonic()
    assert client.get("/v1/account").status_code == 200
    assert time.monotonic() - t < 2
    ok = client.post("/v1/_test/faults", json={"latency_s": 0.2, "responses": [
        {"status": 503, "paths": ["GET /v1/models"], "retry_after": 0}]})
    assert ok.status_code == 200 and ok.json()["faults"]["latency_s"] == 0.2
    assert client.post("/v1/_test/faults", content=b"", headers=JSON).status_code == 200


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["latency_s", "responses", "fail_jobs", "stuck_jobs",
                                        "status", "drop", "delay_s", "paths", "count",
                                        "retry_after", "reset", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats()
                                    | st.text(max_size=5),
                                    lambda c: st.lists(c, max_size=3)
                                    | st.dictionaries(st.sampled_from(
                                        ["status", "drop", "delay_s", "paths", "count"]), c,
                                        max_size=3), max_leaves=8), max_size=4))
def test_any_fault_spec_is_accepted_bounded_or_refused(spec: dict[str, Any]) -> None:
    faults = Faults()
    try:
        state = faults.update(spec)
    except FaultError:
        return
    assert 0 <= faults.latency_s <= MAX_DELAY_S
    for rule in state.get("responses", []):
        assert all(isinstance(p, str) for p in rule["paths"])
        assert 0 <= float(rule.get("delay_s", 0)) <= MAX_DELAY_S
        assert 0 <= float(rule.get("drop", 0)) < 1
        faults.take_response("GET", "/v1/account")


def test_faults_given_at_start_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(FaultError, match="latency_s"):
        SandboxServer(tmp_path, faults={"latency_s": math.inf})
    with SandboxServer(tmp_path, faults={"latency_s": 0}) as sb, api_client(sb) as c:
        assert c.get("/v1/account").status_code == 200


# ---- plans ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from(sorted(MODELS)),
       params=st.dictionaries(
           st.sampled_from(["duration", "aspect_ratio", "multi_prompt", "upscale_factor",
                            "target_fps", "generate_audio", "video_url", "keep_audio"]),
           st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats()
           | st.text(max_size=8) | st.lists(st.dictionaries(st.just("duration"),
                                                            st.text(max_size=4)
                                                            | st.integers()), max_size=3)),
       fmt=st.sampled_from([None, "shorts", "horizontal", "bogus"]))
def test_a_plan_is_made_from_any_params_with_a_sane_size(model: str, params: dict[str, Any],
                                                         fmt: str | None) -> None:
    """The catalog decides what is valid; the plan never crashes on a spelling it coerces."""
    plan = make_plan(model, params, {"format": fmt} if fmt else {}, {})
    assert plan["width"] >= 2 and plan["height"] >= 2
    assert math.isfinite(plan["duration_s"]) and math.isfinite(plan["fps"])
