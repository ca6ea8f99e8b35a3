"""Client and server agree: what `takes check` accepts, the sandbox accepts and renders; what the
sandbox rejects, `takes check` rejects on the same fields with the same words.

For each of the seven models, payloads are generated from the model's JSON Schema
(hypothesis-jsonschema), then some are mutated (a required field dropped, wrong types,
numbers as text, out-of-range and huge numbers, hostile strings, deep nesting, bad `out`s, bad
media values). Media fields get real files made by `mediafactory`; as the client does, they
are uploaded first, so the sandbox gets the uploaded files' URLs and `takes check` the local
paths. One side is `takes check`'s engine (the bounded JSON loader, then `check_payload`),
the other a real sandbox on loopback (`mock: true`, so renders are quick).

CI runs a short budget; ``TAKES_AGREEMENT_EXAMPLES=500`` (per model and kind) runs a long one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mediafactory as mf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from app.catalog import MODELS, get_model
from app.catalog.check import check_payload
from app.catalog.fields import media_slots, set_path
from app.catalog.jsonsafe import PayloadError
from app.catalog.media import MediaRule
from app.catalog.validate import media_problems
from app.cliargs import json_object
from app.media.probe import probe
from app.sandbox.server import SandboxServer

EXAMPLES = int(os.environ.get("TAKES_AGREEMENT_EXAMPLES", "0")) or None
SETTINGS = settings(max_examples=EXAMPLES or 4, deadline=None, database=None,
                    derandomize=EXAMPLES is None,  # CI: the same examples every run
                    suppress_health_check=list(HealthCheck))

GOOD_OUTS = ["o.mp4", "takes/a take.mp4", "X.MP4", "a//b.mp4", "é" * 125 + "x.mp4"]
BAD_OUTS = [".", "", "a/../..", "..\\x", "/abs.mp4", "C:\\x", "a\x00b.mp4", "a" * 300 + ".mp4",
            "a/" * 2000 + "x.mp4", "x.txt", "x", "dir/", "\ud800.mp4", "é" * 126 + ".mp4", 5,
            None]
BAD_REFS = ["", "http://[::1", "file://%00", "file:///tmp/a%00.mp4", "http://x:99999/v",
            "https://", "clips/\x00.mp4"]
#: Values the sandbox still gets wrong (reported in notes/A-findings.md for its owner): left
#: out of the generated payloads, and their fixed cases below are strict xfails until fixed.
SANDBOX_PENDING: dict[str, str] = {}  # all fixed (97862c9): "http://[::1" was a 500
REMOTE = "https://cdn.example.com/ref.mp4"
HOSTILE_STRINGS = ["\x00", "a\x00b", "\ud800", "\udfff x", "x" * 3000, "\u202e.mp4", "  ", ""]
HOSTILE_VALUES: list[Any] = [
    -1, 0, 2**31, 2**63, -(2**63), 10**30, 1e308, -1e-308, 0.5, float("nan"), float("inf"),
    True, None, [], {}, [None], {"": 1}, "5.0", "05", " 7 ", "1e1", "Infinity",
]


#: How a message from probing a local file starts (`takes check` only: the sandbox sees URLs).
PROBED = " could not be read: "


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# ---- the two sides --------------------------------------------------------------------------


class Verdict:
    """What one side said: accepted, or rejected with {field: [messages]} (field "" = the body
    as a whole was refused before validation)."""

    def __init__(self, accepted: bool, fields: dict[str, list[str]], detail: str = "",
                 credits: int | None = None) -> None:
        self.accepted = accepted
        self.fields = fields
        self.detail = detail
        self.credits = credits  # check: the estimate's max; sandbox: credits_charged

    def __repr__(self) -> str:
        return f"Verdict(accepted={self.accepted}, fields={self.fields}, {self.detail})"


def by_field(errors: list[dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(e["field"], []).append(e["message"])
    return {k: sorted(v) for k, v in out.items()}


def check_side(model_id: str, body: str, base: Path) -> Verdict:
    """`takes check` on a payload file holding `body`: the loader, then the engine."""
    try:
        payload = json_object(body)
    except PayloadError as e:
        return Verdict(False, {"": [str(e)]}, "usage error (exit 2)")
    result = check_payload(model_id, payload, base_dir=base)
    return Verdict(result["valid"], by_field(result["errors"]), credits=result["credits"]["max"])


def sandbox_side(c: httpx.Client, model_id: str, body: str) -> tuple[Verdict, str | None]:
    r = c.post(f"/v1/jobs/{model_id}", content=body.encode("utf-8", "surrogatepass"),
               headers={"Content-Type": "application/json"})
    if r.status_code == 202:
        job = r.json()
        return Verdict(True, {}, "202", credits=job["credits_charged"]), job["id"]
    try:
        err = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        return Verdict(False, {"?": [r.text[:200]]}, f"HTTP {r.status_code}"), None
    fields = by_field(err.get("fields") or [])
    return Verdict(False, fields or {"": [err.get("message", "")]},
                   f"HTTP {r.status_code} {err.get('code')}"), None


def agree(check: Verdict, server: Verdict) -> None:
    assert check.accepted == server.accepted, (check, server)
    if check.accepted:  # the price shown is what is charged (a range: its top, refunded after)
        assert check.credits == server.credits, (check, server)
        return
    if "" in check.fields:  # refused as JSON by both loaders: the words are each side's own
        assert server.detail.startswith(("HTTP 4",)), (check, server)
        return
    assert server.detail.startswith("HTTP 422"), (check, server)
    assert set(check.fields) == set(server.fields), (check, server)
    for name in check.fields:
        if any(PROBED in m for m in check.fields[name]):
            continue  # a local file that cannot be read: the client stops before uploading it
        assert check.fields[name] == server.fields[name], (name, check, server)


# ---- media: real files, uploaded as the client would ----------------------------------------


MPEG4 = "mpeg4"  # quicker to encode than H.264; probing and the sandbox do not mind


class Pool:
    """Real media files per kind; `urls` maps each local path to its uploaded URL."""

    def __init__(self, folder: Path) -> None:
        self.files: dict[str, list[str]] = {
            "image": [str(mf.image(folder / "i640x480.png", 640, 480)),
                      str(mf.image(folder / "i480x640.jpg", 480, 640)),
                      str(mf.image(folder / "i200x200.png", 200, 200))],
            "video": [str(mf.video(folder / "v720p.mp4", 1280, 720, 3.05, 24, audio=True,
                                   codec=MPEG4)),
                      str(mf.video(folder / "v720sq.mp4", 720, 720, 2.0, 24, codec=MPEG4)),
                      str(mf.video(folder / "v320.mp4", 320, 240, 2.0, 24, codec=MPEG4)),
                      str(mf.video(folder / "v160.mp4", 160, 120, 1.0, 24, codec=MPEG4))],
            "audio": [str(mf.audio(folder / "a2s.wav", 2.0)),
                      str(mf.audio(folder / "a2s.mp3", 2.0))],
        }
        self.urls: dict[str, str] = {}
        self.infos = {p: probe(p) for paths in self.files.values() for p in paths}

    def fitting(self, rule: MediaRule) -> list[str]:
        """The two cheapest files to render from that break none of `rule`'s limits (else
        every file of its kind): an upscale of a 720p clip is the slowest render there is."""
        kind = self.files[rule.kind]
        fit = [p for p in kind if not any(sev == "error" for sev, _ in
                                          media_problems(self.infos[p], rule, "x"))]
        return sorted(fit, key=self._cost)[:2] or kind

    def _cost(self, path: str) -> float:
        info = self.infos[path]
        return (info.width or 1) * (info.height or 1) * (info.duration_s or 1)

    def upload_all(self, c: httpx.Client) -> None:
        for path in (p for paths in self.files.values() for p in paths):
            with open(path, "rb") as fh:
                r = c.post("/v1/uploads", files={"file": (Path(path).name, fh)})
            assert r.status_code == 201, r.text
            self.urls[path] = r.json()["url"]

    def choices(self, kind: str) -> st.SearchStrategy[str]:
        bad = [v for v in BAD_REFS if v not in SANDBOX_PENDING]
        return st.one_of(st.sampled_from(self.files[kind]), st.sampled_from([*bad, REMOTE]))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("agreement-sandbox"), credits=10**12,
                       render_seconds=0.05, job_timeout_s=120.0) as sb:
        yield sb


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=30.0,
                      headers={"Authorization": f"Bearer {sandbox.key}"}) as c:
        yield c


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory, client: httpx.Client) -> Pool:
    p = Pool(tmp_path_factory.mktemp("agreement-media"))
    p.upload_all(client)
    return p


# ---- payloads ---------------------------------------------------------------------------------


def with_media(draw: st.DrawFn, model_id: str, params: dict[str, Any], pool: Pool,
               clean: bool = False) -> dict[str, Any]:
    """Every media value replaced by a real file, a remote URL or a bad value (`clean`: by a
    real file that fits the field)."""
    model = get_model(model_id).input_model
    for slot in list(media_slots(model, params, include_empty=True)):
        choices = st.sampled_from(pool.fitting(slot.rule)) if clean else \
            pool.choices(slot.rule.kind)
        set_path(params, slot.path, draw(choices))
    return params


def _tidy(draw: st.DrawFn, model_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fewer optional fields, and a prompt or shots, not both: payloads likelier valid."""
    model = get_model(model_id).input_model
    for name, f in model.model_fields.items():
        if not f.is_required() and name in params and draw(st.booleans()):
            del params[name]
    if model_id.startswith("kling_v3"):
        if params.get("multi_prompt"):
            params.pop("prompt", None)
            params.pop("duration", None)
        else:
            params.pop("multi_prompt", None)
            params["prompt"] = params.get("prompt") or "a take"
    return params


def _mutate(draw: st.DrawFn, model_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    model = get_model(model_id).input_model
    names = sorted(model.model_fields)
    kind = draw(st.sampled_from(["drop", "type", "numeric-text", "hostile-string", "deep",
                                 "huge-int", "out", "extra", "mock", "format"]))
    if kind == "drop":
        required = [n for n, f in model.model_fields.items() if f.is_required()] or ["out"]
        payload.pop(draw(st.sampled_from(required)), None)
    elif kind == "type":
        payload[draw(st.sampled_from(names))] = draw(st.sampled_from(HOSTILE_VALUES))
    elif kind == "numeric-text":
        numeric = [k for k, v in payload.items() if isinstance(v, int | float)
                   and not isinstance(v, bool)]
        key = draw(st.sampled_from(numeric or ["duration"]))
        n = payload[key] if numeric else draw(st.integers(0, 20))
        payload[key] = draw(st.sampled_from([str(n), f"{float(n)}", f" {n} ", f"{n}.5"]))
    elif kind == "hostile-string":
        payload[draw(st.sampled_from(names))] = draw(st.sampled_from(HOSTILE_STRINGS))
    elif kind == "deep":
        payload[draw(st.sampled_from(names))] = nested(draw(st.sampled_from([30, 40, 5000])))
    elif kind == "huge-int":
        payload[draw(st.sampled_from(names))] = draw(st.sampled_from([10**100, 10**101,
                                                                      -(10**5000)]))
    elif kind == "out":
        payload["out"] = draw(st.sampled_from(BAD_OUTS))
    elif kind == "extra":
        payload[draw(st.sampled_from(["seed_image", "webhook", "Prompt", "\x00", "\ud800"]))] = 1
    elif kind == "mock":
        payload["mock"] = draw(st.sampled_from(["yes", 1, None, [True], False]))
    else:
        payload["format"] = draw(st.sampled_from(["reels", "square", None, 5, "horizontal"]))
    return payload


@st.composite
def payloads(draw: st.DrawFn, model_id: str, pool: Pool, kind: str) -> dict[str, Any]:
    """kind: "schema" (as generated, media from the pool or bad values), "clean" (tidied,
    fitting files only) or "mutated" (schema, then one mutation)."""
    params = draw(from_schema(get_model(model_id).json_schema()))
    if kind == "clean":
        params = _tidy(draw, model_id, params)
    params = with_media(draw, model_id, params, pool, clean=kind == "clean")
    payload = {**params, "out": draw(st.sampled_from(GOOD_OUTS)), "mock": True}
    if kind == "mutated":
        payload = _mutate(draw, model_id, payload)
    return payload


def uploaded(payload: dict[str, Any], pool: Pool, model_id: str) -> dict[str, Any]:
    """What the client sends: local files replaced by their uploaded URLs."""
    sent = json.loads(json.dumps(payload))
    model = get_model(model_id).input_model
    for slot in media_slots(model, sent):
        if slot.value in pool.urls:
            set_path(sent, slot.path, pool.urls[slot.value])
    return sent


def dumps(payload: Any) -> str | None:
    try:
        return json.dumps(payload, ensure_ascii=True)
    except (ValueError, RecursionError):  # a 5,000-digit int, 5,000 levels: JSON text by hand
        return None


def deep_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


# ---- the tests --------------------------------------------------------------------------------


def run_agreement(model_id: str, kind: str, pool: Pool, client: httpx.Client,
                  tmp_path: Path) -> list[str]:
    accepted: list[str] = []

    @SETTINGS
    @given(payload=payloads(model_id, pool, kind))
    def one(payload: dict[str, Any]) -> None:
        body = dumps(payload)
        if body is None:
            return  # not JSON text json can write; the hand-made cases are in the next test
        sent = dumps(uploaded(payload, pool, model_id))
        assert sent is not None
        check = check_side(model_id, body, tmp_path)
        server, job_id = sandbox_side(client, model_id, sent)
        agree(check, server)
        if job_id:
            accepted.append(job_id)

    one()
    return accepted


def wait_rendered(client: httpx.Client, job_ids: list[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    for job_id in job_ids:
        while True:
            job = client.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "canceled", "timed_out"):
                assert job["status"] == "succeeded", job
                break
            assert time.monotonic() < deadline, f"job stuck: {job}"
            time.sleep(0.05)


@pytest.mark.parametrize("kind", ["schema", "clean", "mutated"])
@pytest.mark.parametrize("model_id", list(MODELS))
def test_check_and_sandbox_agree(model_id: str, kind: str, pool: Pool,
                                 client: httpx.Client, tmp_path: Path) -> None:
    accepted = run_agreement(model_id, kind, pool, client, tmp_path)
    wait_rendered(client, accepted)


BASES: dict[str, dict[str, Any]] = {
    "seedance_r2v": {"prompt": "a take"},
    "kling_v3_std_i2v": {"start_image_url": REMOTE, "prompt": "a take"},
    "kling_v3_pro_i2v": {"start_image_url": REMOTE, "prompt": "a take"},
    "kling_o3_video_edit": {"prompt": "edit", "video_url": REMOTE},
    "pixverse_swap": {"video_url": REMOTE, "image_url": REMOTE},
    "wan_27_video_edit": {"prompt": "snow", "video_url": REMOTE},
    "topaz_upscale_video": {"video_url": REMOTE},
}

TOPAZ_RAW = '{"video_url": "%s", "out": "o.mp4", "mock": true, "noise": VALUE}' % REMOTE  # noqa: UP031

# Cases met before, each a fixed example (the list and what the fuzzing found).
SEEN: list[Any] = [
    ("seedance_r2v", {"prompt": "p", "duration": "5.0", "out": "o.mp4", "mock": True}),
    ("seedance_r2v", {"prompt": "p", "duration": "5.0", "out": "o.mp4"}),  # 303 cr, 5 s
    ("seedance_r2v", {"prompt": "p", "duration": " 4 ", "out": "o.mp4", "mock": True}),
    ("seedance_r2v", {"prompt": "p", "duration": 4.0, "out": "o.mp4", "mock": True}),
    ("kling_v3_std_i2v", {**BASES["kling_v3_std_i2v"], "duration": 7.0, "out": "o.mp4",
                          "mock": True}),
    ("wan_27_video_edit", {**BASES["wan_27_video_edit"], "duration": "4", "out": "o.mp4",
                           "mock": True}),
    ("topaz_upscale_video", {**BASES["topaz_upscale_video"], "upscale_factor": "1.5",
                             "target_fps": "16.0", "out": "o.mp4", "mock": True}),
    ("pixverse_swap", {**BASES["pixverse_swap"], "keyframe_id": "24", "out": "o.mp4",
                       "mock": True}),
    *[pytest.param("wan_27_video_edit", {**BASES["wan_27_video_edit"], "video_url": v,
                                         "out": "o.mp4", "mock": True},
                   marks=[pytest.mark.xfail(strict=True, reason=SANDBOX_PENDING[v])]
                   if v in SANDBOX_PENDING else []) for v in BAD_REFS],
    *[("topaz_upscale_video", {**BASES["topaz_upscale_video"], "out": o, "mock": True})
      for o in BAD_OUTS],
    ("topaz_upscale_video", TOPAZ_RAW.replace("VALUE", deep_text(5000))),
    ("topaz_upscale_video", TOPAZ_RAW.replace("VALUE", "1" + "0" * 5000)),
    ("topaz_upscale_video", TOPAZ_RAW.replace("VALUE", "NaN")),
    ("topaz_upscale_video", TOPAZ_RAW.replace("VALUE", "-Infinity")),
    ("seedance_r2v", '{"prompt": "\\ud800", "out": "o.mp4", "mock": true}'),
    ("seedance_r2v", '{"prompt": "p", "out": "o.mp4", "out": "p.mp4", "mock": true}'),
    ("seedance_r2v", '[{"prompt": "p", "out": "o.mp4"}]'),
    ("kling_o3_video_edit", {"prompt": "p", "video_url": REMOTE, "image_urls": "x" * 300,
                             "out": "o.mp4", "mock": True}),
    ("seedance_r2v", {"prompt": "p", "video_urls": REMOTE, "out": "o.mp4", "mock": True}),
    ("pixverse_swap", {"video_url": [REMOTE], "image_url": REMOTE, "out": "o.mp4"}),
]


def _seen_id(case: Any) -> str:
    model_id, payload = case.values if hasattr(case, "values") else case
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"{model_id}:{text[:60]}"


@pytest.mark.parametrize(("model_id", "case"), SEEN, ids=[_seen_id(c) for c in SEEN])
def test_seen_cases_agree(model_id: str, case: dict[str, Any] | str, client: httpx.Client,
                          tmp_path: Path) -> None:
    body = case if isinstance(case, str) else json.dumps(case)
    check = check_side(model_id, body, tmp_path)
    server, job_id = sandbox_side(client, model_id, body)
    agree(check, server)
    if job_id:
        wait_rendered(client, [job_id])


def test_seedance_duration_text_is_priced_charged_and_rendered_as_5s(
        client: httpx.Client, tmp_path: Path) -> None:
    body = json.dumps({"prompt": "p", "duration": "5.0", "out": "o.mp4"})
    check = check_side("seedance_r2v", body, tmp_path)
    server, job_id = sandbox_side(client, "seedance_r2v", body)
    assert check.accepted and server.accepted and check.credits == server.credits == 303
    assert job_id is not None
    wait_rendered(client, [job_id])
    job = client.get(f"/v1/jobs/{job_id}").json()
    r = client.get(job["result"]["url"])
    assert r.status_code == 200
    path = tmp_path / "r.mp4"
    path.write_bytes(r.content)
    assert abs((probe(path).duration_s or 0) - 5.0) < 0.1
