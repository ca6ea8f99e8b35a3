"""`takes submit` (private in-process sandbox), `takes jobs`, and their errors."""

from __future__ import annotations

import json
import logging

import mediafactory as mf
import pytest

from app.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TAKES_API_KEY", raising=False)
    (tmp_path / "refs").mkdir()
    mf.image(tmp_path / "refs" / "start.png", 640, 480)
    payload = tmp_path / "refs" / "take.json"
    payload.write_text(json.dumps({"start_image_url": "start.png", "prompt": "pan left",
                                   "duration": "3", "out": "shots/pan.mp4"}))
    return tmp_path, payload


def test_submit_wait_mock_with_a_private_sandbox_then_jobs(env, capsys):
    tmp_path, payload = env
    work = tmp_path / "work"
    rc = main(["submit", "kling_v3_std_i2v", str(payload), "--wait", "--mock",
               "--workdir", str(work), "--poll", "0.1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0, out
    job = json.loads(out[0])
    assert job["status"] == "succeeded" and job["mock"] is True
    assert job["credits_charged"] == 0 and job["credits_estimated"] == 0
    assert out[1] == job["result_path"] == str(work / "shots" / "pan.mp4")
    # the relative reference was resolved next to the payload file, and stored that way
    assert job["payload"]["start_image_url"] == str(tmp_path / "refs" / "start.png")
    assert (tmp_path / "data" / "jobs.sqlite3").exists()

    assert main(["jobs"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [j["id"] for j in listed] == [job["id"]]
    assert main(["jobs", "--status", "failed"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_submit_without_wait_prints_the_confirmed_job(env, capsys):
    tmp_path, payload = env
    rc = main(["submit", "kling_v3_std_i2v", str(payload), "--mock", "--workdir",
               str(tmp_path / "work")])
    job = json.loads(capsys.readouterr().out)
    assert rc == 0 and job["remote_id"] and job["status"] in ("queued", "running")


def test_submit_errors(env, capsys):
    tmp_path, payload = env
    assert main(["submit", "sora", str(payload)]) == 2
    assert "unknown model" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"prompt": "no image", "out": "x.mp4"}))
    assert main(["submit", "kling_v3_std_i2v", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "Start image is required" in err
    assert json.loads(out)["errors"][0]["field"] == "start_image_url"
    assert main(["submit", "kling_v3_std_i2v", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == (f"takes submit: {tmp_path / 'missing.json'}: cannot open "
                                       "the file (No such file or directory)\n")
    assert main(["submit", "kling_v3_std_i2v", str(payload), "--api", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == "takes submit: --api needs a key: --key or TAKES_API_KEY\n"


def _takes(*args: str, cwd, **env: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    full_env = {k: v for k, v in os.environ.items() if k != "TAKES_API_KEY"}
    full_env.update(PYTHONPATH=str(root), TAKES_DATA_DIR=str(cwd / "data"), **env)
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("wait", [[], ["--wait"]], ids=["no-wait", "wait"])
def test_submit_with_a_fifo_as_media_exits_1_at_once(tmp_path, wait):
    import os

    os.mkfifo(tmp_path / "start.png")
    payload = tmp_path / "take.json"
    payload.write_text(json.dumps({"start_image_url": "start.png", "prompt": "p", "out": "o.mp4"}))
    proc = _takes("submit", "kling_v3_std_i2v", str(payload), *wait, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ("takes submit: The payload is not valid: start_image_url: Start image "
                           "could not be read: this is a FIFO (named pipe), not a file\n")
    assert json.loads(proc.stdout)["errors"][0]["field"] == "start_image_url"
    assert not list(tmp_path.rglob("*.part")) and not list(tmp_path.rglob("o.mp4"))


@pytest.mark.parametrize(("args", "env", "stderr"), [
    (["--api", "http://127.0.0.1:9"], {"TAKES_API_KEY": "clé"},
     "takes submit: the --key or TAKES_API_KEY API key must be printable ASCII characters "
     "(at most 4,096)\n"),
    (["--api", "http://127.0.0.1:9", "--key", "a b\tc"], {},
     "takes submit: argument --key: this API key must be printable ASCII characters "
     "(at most 4,096) (see takes submit --help)\n"),
], ids=["env key", "flag key"])
def test_a_key_that_cannot_travel_in_a_header_is_refused_unechoed(tmp_path, args, env, stderr):
    payload = tmp_path / "take.json"
    payload.write_text(json.dumps({"prompt": "p", "out": "o.mp4"}))
    proc = _takes("submit", "kling_v3_std_i2v", str(payload), *args, cwd=tmp_path, **env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", stderr)


def test_an_unforeseen_error_is_one_line_and_logged_without_the_key(env, capsys, monkeypatch):
    tmp_path, _payload = env
    import app.client.cli as client_cli

    def boom(args):
        logging.getLogger("app.test").warning("logged with key %s", args.key)
        raise RuntimeError(f"wedged with key {args.key}\nsecond line")

    monkeypatch.setattr(client_cli, "_resume", boom)
    assert main(["resume", "--api", "http://127.0.0.1:9", "--key", "sekrit-123"]) == 1
    log = tmp_path / "data" / "logs" / "cli.log"
    assert capsys.readouterr().err == \
        f"takes resume: unexpected error (RuntimeError); details in {log}\n"
    text = log.read_text()
    assert "wedged with key ***" in text and "Traceback" in text
    assert "app.test WARNING: logged with key ***" in text  # logs go to the file, not stderr
    assert "sekrit-123" not in text
