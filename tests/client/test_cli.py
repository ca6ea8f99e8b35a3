"""`takes submit` (private in-process sandbox), `takes jobs`, and their errors."""

from __future__ import annotations

import json
import logging

import mediafactory as mf
import pytest

from app.cli import main
from client.helpers import KEY, PROMPT_ONLY, PROMPT_ONLY_COST, START_CREDITS


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_VIDEOS_DIR", str(tmp_path / "Videos"))  # the default work folder
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
    full_env.update(PYTHONPATH=str(root), TAKES_DATA_DIR=str(cwd / "data"),
                    XDG_VIDEOS_DIR=str(cwd / "Videos"), **env)
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


# ---- profiles, guard-rails and the ledger from the terminal (a real sandbox on loopback) ----


def _with_stdin(monkeypatch, text: str) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def _add(monkeypatch, name: str, url: str, key: str, *flags: str) -> int:
    _with_stdin(monkeypatch, key + "\n")
    return main(["profile", "add", name, "--url", url, "--key-stdin", *flags])


def test_profile_add_tests_first_and_refuses_a_wrong_key_or_url(env, sandbox, capsys,
                                                                 monkeypatch):
    from client.helpers import free_port

    tmp_path, _ = env
    assert _add(monkeypatch, "Work", sandbox.url, "sk-not-the-key", "--session-key") == 1
    err = capsys.readouterr().err
    assert err.startswith("takes profile add: not saved: ") and "refused the API key" in err
    assert "sk-not-the-key" not in err and err.count("\n") == 1
    port = free_port()
    assert _add(monkeypatch, "Work", f"http://127.0.0.1:{port}", KEY, "--session-key") == 1
    assert "connection refused" in capsys.readouterr().err
    assert _add(monkeypatch, "Work", sandbox.url + "/nope", KEY, "--session-key") == 1
    assert "not as the Takes API" in capsys.readouterr().err
    # no keyring (the test run's null backend): said, with the two explicit choices
    assert _add(monkeypatch, "Work", sandbox.url, KEY) == 1
    err = capsys.readouterr().err
    assert "no keyring" in err and "--session-key" in err and "--plaintext-key-file" in err
    assert main(["profile", "list", "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == ["Sandbox"]
    for bad in ("a/b", "x" * 100, "Sandbox"):
        assert _add(monkeypatch, bad, sandbox.url, KEY, "--session-key") == 2
        assert capsys.readouterr().err.startswith("takes profile add: ")
    assert not (tmp_path / "data" / "profiles.json").exists()


def test_profile_lifecycle_and_limits(env, sandbox, capsys, monkeypatch):
    tmp_path, _ = env
    assert _add(monkeypatch, "Work", sandbox.url, KEY, "--plaintext-key-file", "--use",
                "--daily-cap", "off") == 0
    out, err = capsys.readouterr()
    added = json.loads(out)
    assert added["credits"] == START_CREDITS and added["active"] is True
    assert added["key_storage"] == "file" and added["daily_cap"] is None
    assert added["confirm_above"] == 500
    assert "warning: The key will be written in plain text" in err and "0600" in err
    assert _add(monkeypatch, "Work", sandbox.url, KEY, "--session-key") == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["profile", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "URL", "CONFIRM", "ABOVE", "DAILY", "CAP", "KEY"]
    assert table[1].split()[:2] == ["Built-in", "sandbox"]
    assert table[2].split() == ["*", "Work", sandbox.url, "500", "off", "file"]
    assert KEY not in "\n".join(table)
    assert main(["profile", "test", "Work"]) == 0
    assert json.loads(capsys.readouterr().out)["credits"] == START_CREDITS
    assert main(["profile", "test", "Sandbox"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["profile", "set", "Work", "--confirm-above", "0", "--daily-cap", "7000"]) == 0
    assert json.loads(capsys.readouterr().out)["daily_cap"] == 7000
    assert main(["profile", "set", "Work", "--daily-cap", "lots"]) == 2
    assert "whole number" in capsys.readouterr().err
    assert main(["profile", "use", "nobody"]) == 2
    assert "No profile named 'nobody'" in capsys.readouterr().err
    assert main(["profile", "use", "sandbox"]) == 0
    assert capsys.readouterr().out == "active profile: Built-in sandbox\n"
    assert main(["profile", "remove", "Work"]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "data" / "keys.json").read_text()) == {}
    assert main(["profile", "remove", "Sandbox"]) == 2
    assert "cannot be removed" in capsys.readouterr().err


def test_submit_passes_the_guard_rails_and_the_ledger_adds_up(env, sandbox, capsys,
                                                              monkeypatch):
    import csv
    import io

    tmp_path, _ = env
    work = tmp_path / "work"
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps({**PROMPT_ONLY, "out": "{task}-{date}-{n}.mp4"}))
    assert _add(monkeypatch, "Work", sandbox.url, KEY, "--session-key", "--confirm-above",
                "100", "--daily-cap", "250") == 0
    capsys.readouterr()
    monkeypatch.setenv("TAKES_API_KEY", KEY)  # a session key: given again by the environment
    submit = ["submit", "seedance_r2v", str(payload), "--profile", "Work", "--workdir",
              str(work), "--poll", "0.05", "--wait"]

    def jobs_on_the_server() -> int:
        import httpx

        r = httpx.get(f"{sandbox.url}/v1/jobs", headers={"Authorization": f"Bearer {KEY}"})
        return len(r.json()["jobs"])

    # above the threshold: refused without --yes, with the breakdown; nothing sent or stored
    assert main(submit) == 3
    out, err = capsys.readouterr()
    refused = json.loads(out)["refused"]
    assert refused["reason"] == "confirm" and refused["estimate"]["max"] == PROMPT_ONLY_COST
    assert refused["estimate"]["breakdown"] in err and "--yes" in err and err.count("\n") == 1
    assert jobs_on_the_server() == 0 and not list(work.iterdir())
    assert main(["jobs"]) == 0 and json.loads(capsys.readouterr().out) == []
    # confirmed: sent, the out pattern expanded ({n} counts past the first)
    assert main([*submit, "--yes"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["profile"] == "Work" and first["status"] == "succeeded"
    assert main([*submit, "--yes"]) == 0
    second = json.loads(capsys.readouterr().out.splitlines()[0])
    names = sorted(p.name for p in work.iterdir())
    assert len(names) == 2 and names[0].endswith("-1.mp4") and names[1].endswith("-2.mp4")
    assert names[0].startswith("create-") and first["payload"]["out"] != second["payload"]["out"]
    # over the daily cap (250: 216 spent): refused with the numbers, not sent
    assert main([*submit, "--yes"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["refused"]["reason"] == "daily_cap"
    assert "250 credits" in err and "216 credits" in err and jobs_on_the_server() == 2
    assert main(["profile", "set", "Work", "--daily-cap", "off"]) == 0
    capsys.readouterr()
    # an unknown token is refused before anything is sent
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**PROMPT_ONLY, "out": "{title}.mp4"}))
    assert main(["submit", "seedance_r2v", str(bad), "--profile", "Work", "--workdir",
                 str(work), "--yes"]) == 1
    out, err = capsys.readouterr()
    assert "{title}" in err and "is not a token" in err and err.count("\n") == 1
    assert json.loads(out)["errors"][0]["field"] == "out"
    assert jobs_on_the_server() == 2

    assert main(["jobs", "--profile", "Work"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["jobs", "--profile", "Sandbox"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    # the ledger: JSON, CSV to a file and to stdout
    assert main(["ledger", "--profile", "Work"]) == 0
    led = json.loads(capsys.readouterr().out)
    assert led["totals"]["overall"]["net"] == 2 * PROMPT_ONLY_COST
    assert led["totals"]["by_profile"]["Work"]["takes"] == 2
    assert main(["ledger", "--csv", str(tmp_path / "ledger.csv")]) == 0
    assert "2 rows written" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ledger.csv").read_text())))
    assert [r["charged"] for r in rows] == [str(PROMPT_ONLY_COST)] * 2
    assert main(["ledger", "--csv", "-", "--profile", "Sandbox"]) == 0
    assert list(csv.DictReader(io.StringIO(capsys.readouterr().out))) == []
    assert main(["ledger", "--profile", "nobody"]) == 2
    capsys.readouterr()

    # the key is in no file the CLI wrote (data folder, logs, results, exports)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "jobs.sqlite3" for p in written)
    for p in written:
        assert KEY.encode() not in p.read_bytes(), p


def test_submit_over_the_balance_is_not_sent(env, tmp_path, capsys, monkeypatch):
    from app.sandbox.server import SandboxServer
    from client.helpers import FAST

    with SandboxServer(tmp_path / "sb", key=KEY, **{**FAST, "credits": 100}) as sb:
        assert _add(monkeypatch, "Low", sb.url, KEY, "--session-key") == 0
        capsys.readouterr()
        monkeypatch.setenv("TAKES_API_KEY", KEY)
        payload = tmp_path / "p.json"
        payload.write_text(json.dumps(PROMPT_ONLY))
        assert main(["submit", "seedance_r2v", str(payload), "--profile", "Low", "--workdir",
                     str(tmp_path / "w")]) == 1
        out, err = capsys.readouterr()
        assert json.loads(out)["refused"]["reason"] == "balance"
        assert "the balance is 100 credits; 8 credits short" in err
        assert sb.store.balance() == 100 and sb.store.ledger() == []
        assert main(["jobs"]) == 0 and json.loads(capsys.readouterr().out) == []
