"""`takes sandbox` in a subprocess: prints its URL and key, serves, stops on a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> tuple[subprocess.Popen[str], str, str | None]:
    proc = subprocess.Popen([sys.executable, "-m", "app", "sandbox", "--port", "0", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    url = key = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.match(r"Sandbox API: (http://127\.0\.0\.1:\d+)$", line.strip()):
            url = m.group(1)
        if m := re.match(r"API key: (\S+)$", line.strip()):
            key = m.group(1)
        if line.startswith("Press Ctrl+C"):
            break
    assert url, proc.stderr.read() if proc.stderr else ""
    return proc, url, key


def test_sandbox_command_serves_with_a_generated_key(tmp_path: Path) -> None:
    proc, url, key = _start("--data", str(tmp_path / "d"), "--credits", "500")
    try:
        assert key
        assert httpx.get(f"{url}/v1/account").status_code == 401
        r = httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {key}"})
        assert r.json() == {"credits": 500}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)  # also closes the pipes
        assert proc.returncode == 0
    # the same data directory keeps its balance; --credits only seeds a new one
    proc, url, key2 = _start("--data", str(tmp_path / "d"), "--key", "my-key",
                             "--credits", "9")
    try:
        assert key2 is None  # a given key is not printed
        r = httpx.get(f"{url}/v1/account", headers={"Authorization": "Bearer my-key"})
        assert r.json() == {"credits": 500}
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
        assert proc.returncode == 0


def test_a_killed_sandbox_finishes_its_jobs_after_a_restart(tmp_path: Path) -> None:
    args = ("--data", str(tmp_path / "d"), "--key", "k", "--render-seconds", "1.5")
    auth = {"Authorization": "Bearer k"}
    proc, url, _ = _start(*args)
    try:
        body = {"prompt": "x", "duration": 4, "resolution": "480p", "out": "a.mp4"}
        r = httpx.post(f"{url}/v1/jobs/seedance_r2v", json=body, headers={
            **auth, "Idempotency-Key": "once"})
        job_id = r.json()["id"]
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/v1/jobs/{job_id}", headers=auth).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()  # no clean shutdown
        proc.communicate(timeout=15)
    proc, url, _ = _start(*args)
    try:
        deadline = time.monotonic() + 20
        while (job := httpx.get(f"{url}/v1/jobs/{job_id}", headers=auth).json())[
                "status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["status"] == "succeeded"
        assert httpx.get(job["result"]["url"], headers=auth).status_code == 200
        assert httpx.get(f"{url}/v1/account", headers=auth).json() == {"credits": 10_000 - 108}
        again = httpx.post(f"{url}/v1/jobs/seedance_r2v", json=body, headers={
            **auth, "Idempotency-Key": "once"})
        assert again.json()["id"] == job_id
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def _refused(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "app", "sandbox", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    return proc.stderr.strip()


def test_bad_faults_are_one_line_and_nothing_serves(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert _refused("--data", data, "--faults", "[1]") == \
        "takes sandbox: --faults: must hold a JSON object ({...}), not an array"
    assert _refused("--data", data, "--faults", '{"latency_s": NaN}') == \
        "takes sandbox: --faults: NaN, which is not a number JSON allows at $.latency_s"
    assert _refused("--data", data, "--faults", "{" * 50) == \
        "takes sandbox: --faults: nesting deeper than 32 levels at $"
    assert _refused("--data", data, "--faults", "{oops").startswith(
        "takes sandbox: --faults: not valid JSON")
    # valid JSON, but a spec that would wedge the server: refused naming the key
    assert _refused("--data", data, "--faults", '{"latency_s": 1e999}') == \
        "takes sandbox: --faults: a number too large to represent at $.latency_s"
    assert _refused("--data", data, "--faults", '{"latency_s": 1e9}') == \
        "takes sandbox: --faults: latency_s: must be a number of seconds from 0 to 60"
    assert _refused("--data", data, "--faults", '{"status": 500, "paths": [5]}') == \
        'takes sandbox: --faults: paths: must be a glob such as "POST /v1/jobs/*" or a list ' \
        "of them"
    assert _refused("--data", data, "--faults", '{"responses": [{"drop": 2}]}') == \
        "takes sandbox: --faults: responses.0.drop: must be a fraction from 0 to below 1"
    assert _refused("--data", data, "--faults", '{"latency": 1}').startswith(
        "takes sandbox: --faults: latency: unknown fault key latency; known: ")


def test_a_data_folder_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert _refused("--data", str(blocker / "d")) == \
        f"takes sandbox: --data '{blocker / 'd'}' cannot be written to (Not a directory)"


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert _refused("--data", str(tmp_path / "d"), "--port", str(port)) == \
            f"takes sandbox: cannot listen on port {port}: Address already in use"


def test_one_server_per_folder_the_app_joins_it(tmp_path: Path) -> None:
    from app.client.connection import start_sandbox

    data = tmp_path / "d"
    proc, url, _ = _start("--data", str(data), "--key", "cli-key")
    try:
        assert _refused("--data", str(data)) == \
            f"takes sandbox: another process already serves {data} at {url}"
        with start_sandbox(data) as conn:  # the built-in sandbox on the same folder joins
            assert conn.base_url == url and not conn.owns_server
            assert conn._key.reveal() == "cli-key"
        assert httpx.get(f"{url}/v1/account",  # the joiner's close left it serving
                         headers={"Authorization": "Bearer cli-key"}).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
        assert proc.returncode == 0
    assert not (data / "sandbox.json").exists()
