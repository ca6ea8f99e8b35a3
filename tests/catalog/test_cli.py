"""`takes check` and `takes models` as a user runs them: a real process, JSON on stdout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog import MODELS

from .helpers import Media

ROOT = Path(__file__).resolve().parents[2]


def takes(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=60,
                          env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def write(folder: Path, payload: Any, name: str = "payload.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = json.loads(proc.stdout)  # exactly one JSON object, nothing else
    assert set(data) >= {"valid", "errors", "warnings", "credits", "breakdown"}
    assert set(data["credits"]) == {"min", "max"}
    for issue in data["errors"] + data["warnings"]:
        assert set(issue) == {"field", "message"}
    return data


@pytest.fixture(scope="module")
def job(media: Media, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a payload's media under relative names, like a creator's project."""
    folder = tmp_path_factory.mktemp("job")
    (folder / "refs").mkdir()
    shutil.copyfile(media.video(320, 240, 2.0), folder / "refs" / "clip.mp4")
    shutil.copyfile(media.video(320, 240, 10.5, 8), folder / "long.mp4")
    shutil.copyfile(media.image(640, 480, ".png"), folder / "refs" / "face.png")
    shutil.copyfile(media.image(640, 480, ".png", size=34_200_000), folder / "big.png")
    return folder


def test_valid_payload_with_relative_paths_resolved_from_the_payload_folder(job: Path,
                                                                            tmp_path: Path
                                                                            ) -> None:
    payload = write(job, {"out": "swap.mp4", "video_url": "refs/clip.mp4",
                          "image_url": "./refs/face.png", "keyframe_id": 48})
    proc = takes("check", "pixverse_swap", str(payload), cwd=tmp_path)  # cwd elsewhere
    assert proc.returncode == 0, proc.stderr
    data = result(proc)
    assert data["valid"] is True and data["errors"] == [] and data["warnings"] == []
    assert data["credits"] == {"min": 30, "max": 30}
    assert data["breakdown"] == "source 2.0 s ≤ 5 s: 30 cr"


def test_probe_dependent_limits_apply_through_the_cli(job: Path) -> None:
    payload = write(job, {"out": "swap.mp4", "video_url": "refs/clip.mp4",
                          "image_url": "refs/face.png", "keyframe_id": 49}, "kf.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 1
    data = result(proc)
    assert data["valid"] is False
    assert data["errors"] == [{"field": "keyframe_id", "message": "Keyframe 49 is past the end "
                               "of the source video (2.00 s × 24 = 48); pick 1–48"}]


def test_invalid_payload_exits_1_with_field_addressed_errors(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "@Image3 walks",
                          "image_urls": ["refs/face.png", "refs/face.png", "big.png"],
                          "resolution": "1080p", "duration": 10}, "seed.json")
    proc = takes("check", "seedance_r2v", str(payload))
    assert proc.returncode == 1
    data = result(proc)
    assert data["errors"] == [{"field": "image_urls.2", "message": "Image 3 is 34.2 MB; this "
                               "model takes at most 30 MB per image"}]
    assert data["credits"] == {"min": 1362, "max": 1362}
    assert "10 s × 136.2 cr/s at 1080p" in data["breakdown"]


def test_warnings_do_not_make_a_payload_invalid(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "video_url": "long.mp4",
                          "image_url": "refs/face.png"}, "long.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 0
    data = result(proc)
    assert data["valid"] is True
    assert data["warnings"] == [{"field": "video_url", "message": "Source video is 10.5 s; this "
                                 "model works best under ~10 s"}]
    assert data["credits"] == {"min": 60, "max": 60}


def test_missing_media_file_is_a_field_error(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "p", "video_url": "refs/nope.mp4"},
                    "missing.json")
    proc = takes("check", "wan_27_video_edit", str(payload))
    assert proc.returncode == 1
    assert result(proc)["errors"] == [{"field": "video_url",
                                       "message": "Source video could not be read: file not "
                                                  "found"}]


def test_http_urls_are_not_probed_and_make_the_price_a_range(job: Path) -> None:
    # 192.0.2.0/24 is reserved for documentation: probing it would hang or fail.
    payload = write(job, {"out": "o.mp4", "video_url": "http://192.0.2.1/clip.mp4",
                          "image_url": "https://192.0.2.1/face.png"}, "remote.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = result(proc)
    assert data["valid"] and data["warnings"] == []
    assert data["credits"] == {"min": 30, "max": 60}


def test_file_urls_are_local_files(job: Path) -> None:
    clip = (job / "refs" / "clip.mp4").as_uri()
    payload = write(job, {"out": "o.mp4", "video_url": clip, "upscale_factor": 4}, "uri.json")
    proc = takes("check", "topaz_upscale_video", str(payload))
    assert proc.returncode == 0
    assert result(proc)["credits"] == {"min": 8, "max": 8}  # 2 s × 4 cr/s (960 px)


def test_mock_costs_nothing(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "p", "video_url": "refs/clip.mp4",
                          "mock": True}, "mock.json")
    proc = takes("check", "wan_27_video_edit", str(payload))
    assert proc.returncode == 0
    data = result(proc)
    assert data["credits"] == {"min": 0, "max": 0}
    assert data["breakdown"].startswith("mock: free placeholder render")


@pytest.mark.parametrize(("content", "stderr"), [
    ("{not json", "not valid JSON: Expecting property name enclosed in double quotes "
                  "at line 1 column 2"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text (byte 0)"),
    (["a", "list"], "must hold a JSON object ({...}), not an array"),
    ("5", "must hold a JSON object ({...}), not a number"),
    (None, "cannot open the file (No such file or directory)"),
    ('{"out": "o.mp4", "seed": ' + "9" * 5000 + "}",
     "a number with 5,000 digits (at most 100) at $.seed"),
    ('{"shots": [' + "[" * 100_000 + "]" * 100_000 + "]}",
     "nesting deeper than 32 levels at $.shots.0.0.0…"),
    ('{"prompt": "a \\ud800 b"}', "a string with an unpaired surrogate at $.prompt"),
    ('{"duration": NaN}', "NaN, which is not a number JSON allows at $.duration"),
    ('{"duration": 1e999}', "a number too large to represent at $.duration"),
    ('{"out": "a.mp4", "out": "b.mp4"}', 'the key "out" given twice at $'),
    (" " * 1_000_001, "the file is larger than 1,000,000 bytes"),
], ids=["bad json", "not utf-8", "array", "number", "missing file", "5000 digits", "deep",
        "surrogate", "nan", "overflow", "duplicate key", "too big"])
def test_bad_payload_files_exit_2_with_one_line(tmp_path: Path, content: Any, stderr: str) -> None:
    path = tmp_path / "payload.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_text(json.dumps(content))
    proc = takes("check", "wan_27_video_edit", str(path))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"takes check: {path}: {stderr}\n"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "socket"])
def test_a_payload_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path,
                                                                 kind: str) -> None:
    import socket

    path = tmp_path / "payload.json"
    expect = {"fifo": "this is a FIFO (named pipe), not a regular file",
              "dev-zero": "this is a device, not a regular file",
              "folder": "this is a folder, not a regular file",
              "socket": "cannot open the file (No such device or address)"}[kind]
    with socket.socket(socket.AF_UNIX) as sock:
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path = Path("/dev/zero")
        elif kind == "folder":
            path.mkdir()
        else:
            sock.bind(str(path))
        proc = takes("check", "wan_27_video_edit", str(path))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"takes check: {path}: {expect}\n"


@pytest.mark.timeout(30)
def test_a_fifo_as_a_media_path_is_a_field_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "clip.mp4")
    payload = write(tmp_path, {"out": "o.mp4", "prompt": "p", "video_url": "clip.mp4"})
    proc = takes("check", "wan_27_video_edit", str(payload))
    assert proc.returncode == 1, proc.stderr
    assert result(proc)["errors"] == [{
        "field": "video_url",
        "message": "Source video could not be read: this is a FIFO (named pipe), not a file"}]
    assert proc.stderr == ""


@pytest.mark.parametrize(("args", "stderr"), [
    (["check", "sora_9", "p.json"], "takes check: unknown model 'sora_9'"),
    (["check"], "takes check: the following arguments are required: model_id, payload "
                "(see takes check --help)"),
    (["nope"], "takes: argument command: invalid choice: 'nope'"),
    (["check", "wan_27_video_edit", "p\udcff.json"],
     "takes: argument 3 ('p\\udcff.json') has bytes that are not valid UTF-8 text"),
    (["models", "--bogus"], "takes: unrecognized arguments: --bogus (see takes --help)"),
    (["jobs", "--limit", "abc"], "takes jobs: argument --limit: must be a whole number from 1 to "
                                 "100,000, not 'abc' (see takes jobs --help)"),
    (["jobs", "--limit", "-5"], "takes jobs: argument --limit: must be a whole number"),
    (["jobs", "--limit", "9" * 5000], "takes jobs: argument --limit: must be a whole number"),
    (["sandbox", "--port", "99999"], "takes sandbox: argument --port: must be a whole number "
                                     "from 0 to 65,535, not '99999'"),
    (["sandbox", "--credits", "-5"], "takes sandbox: argument --credits: must be a whole number"),
    (["sandbox", "--render-seconds", "nan"], "takes sandbox: argument --render-seconds: must be "
                                             "a number of seconds from 0 to 3600, not 'nan'"),
    (["sandbox", "--job-timeout", "inf"], "takes sandbox: argument --job-timeout: must be"),
    (["sandbox", "--key", "clé"], "takes sandbox: argument --key: this API key must be "
                                  "printable ASCII"),
    (["submit", "wan_27_video_edit", "p.json", "--api", "ftp://x"],
     "takes submit: argument --api: must be an http(s) URL"),
    (["submit", "wan_27_video_edit", "p.json", "--api", "http://h:99999"],
     "takes submit: argument --api: must be an http(s) URL"),
    (["resume", "--poll", "-1"], "takes resume: argument --poll: must be a number of seconds"),
    (["shot", "x.png", "--size", "0x0"], "takes shot: --size must look like 1440x900 (each "
                                         "side 100 to 8,192), not '0x0'"),
    (["shot", "x.png", "--size", "99999x99999"], "takes shot: --size must look like 1440x900"),
    (["shot", "x.png", "--history", "1000000"], "takes shot: argument --history: must be a whole "
                                                "number from 0 to 100"),
    (["shot", "x.jpg"], "takes shot: the screenshot is a PNG: name it *.png, not 'x.jpg'"),
    (["shot", "/proc/takes-test/x.png"], "takes shot: the screenshot's folder '/proc/takes-test' "
                                         "cannot be written to (No such file or directory)"),
], ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else "")
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str],
                                            stderr: str) -> None:
    proc = takes(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(stderr), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_nul_in_an_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main  # the OS cannot pass a NUL in argv: only a caller in-process can

    assert main(["check", "wan_27_video_edit", "p\x00.json"]) == 2
    assert capsys.readouterr().err == "takes: argument 3 contains a NUL character\n"


@pytest.mark.parametrize("flag", ["--store", "--workdir"])
def test_unusable_store_or_workdir_is_refused_before_sending(tmp_path: Path, flag: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    payload = write(tmp_path, {"out": "o.mp4", "prompt": "p"})
    for place, why in [(blocker / "sub" / "x", "Not a directory"),
                       (Path("/proc/takes-test/x"), "No such file or directory")]:
        proc = takes("submit", "kling_v3_std_i2v", str(payload), "--mock", flag, str(place),
                     cwd=tmp_path)
        assert (proc.returncode, proc.stdout) == (2, "")
        assert proc.stderr.count("\n") == 1 and why in proc.stderr, proc.stderr
        assert flag in proc.stderr


@pytest.mark.parametrize(("make", "expect"), [
    (lambda p: p.mkdir(), "is a folder, not a file"),
    (lambda p: os.mkfifo(p), "is a FIFO (named pipe), not a file"),
    (lambda p: p.write_bytes(b"not a database at all" * 100), "cannot open the job store"),
], ids=["folder", "fifo", "garbage"])
@pytest.mark.timeout(30)
def test_jobs_refuses_a_store_that_is_not_a_database(tmp_path: Path, make, expect: str) -> None:
    store = tmp_path / "jobs.sqlite3"
    make(store)
    proc = takes("jobs", "--store", str(store))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.count("\n") == 1 and expect in proc.stderr, proc.stderr


def test_takes_models_lists_the_catalog_as_json() -> None:
    proc = takes("models")
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)
    by_id = {m["id"]: m for m in models}
    assert list(by_id) == ["seedance_r2v", "kling_v3_std_i2v", "kling_v3_pro_i2v",
                           "kling_o3_video_edit", "pixverse_swap", "wan_27_video_edit",
                           "topaz_upscale_video"]
    for m in models:
        assert {"id", "task", "price"} <= set(m)
        assert m["price"]["rule"]
    assert by_id["seedance_r2v"]["price"]["rates"] == {"480p": 135, "720p": 303,
                                                       "1080p": 681, "4k": 1555}
    assert by_id["kling_v3_std_i2v"]["price"] == {**by_id["kling_v3_std_i2v"]["price"],
                                                  "rule": "flat", "credits": 84}
    assert by_id["kling_v3_pro_i2v"]["price"]["audio_off"] == 22.4
    assert by_id["kling_v3_pro_i2v"]["price"]["audio_on"] == 33.6
    assert by_id["kling_o3_video_edit"]["price"]["credits"] == 126
    assert by_id["pixverse_swap"]["price"]["credits"] == 30
    assert by_id["wan_27_video_edit"]["price"]["credits"] == 100
    assert by_id["topaz_upscale_video"]["price"]["tiers"] == [[720, 2], [1080, 4], [None, 16]]
    assert by_id["seedance_r2v"]["wrapper_params"] == ["out", "mock", "format"]
    assert by_id["pixverse_swap"]["wrapper_params"] == ["out", "mock"]
    assert by_id["kling_o3_video_edit"]["mentions"] == ["@Video", "@Image", "@Element"]


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["", ".", "..", "/dev/zero", "/proc", "a\x00b", "o.mp4", "../o.mp4",
                       "file:///dev/zero", "http://[::1", "5.0", "-1", "1e400", "x" * 3000]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=st.sampled_from(sorted(MODELS)), payload=st.dictionaries(
    st.sampled_from(["out", "prompt", "duration", "resolution", "video_url", "image_url",
                     "image_urls", "start_image_url", "seed", "mock", "format", "shots",
                     "elements", "keyframe_id", "x"]), _VALUES, max_size=6))
def test_check_never_crashes_on_hostile_payloads(tmp_path: Path, capsys, model: str,
                                                 payload: dict[str, Any]) -> None:
    from app.cli import main

    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(payload))
    code = main(["check", model, str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), err
    assert "unexpected error" not in err, (payload, err)
    if code in (0, 1):
        assert result_of(out)["valid"] is (code == 0)
    else:
        assert err.count("\n") == 1


def result_of(stdout: str) -> dict[str, Any]:
    return json.loads(stdout)


def test_a_closed_stdout_is_not_a_traceback() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "app", "models"], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command writes
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert err == ""
