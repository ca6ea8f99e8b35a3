"""API keys in a real Secret Service: gnome-keyring on a private D-Bus session
(dbus-run-session), unlocked with a test password; and the path with no keyring at all.

The Secret Service test runs the real `takes` commands in a subprocess inside that session
(the test run itself uses keyring's null backend), against a sandbox on loopback; it skips,
saying why, only when dbus-run-session or gnome-keyring-daemon is not installed
(scripts/install-deps installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from client.helpers import KEY, PROMPT_ONLY, START_CREDITS

ROOT = Path(__file__).resolve().parents[2]
MISSING = [b for b in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(b)]

#: the session script: unlock a fresh login keyring, then run what the test asks
SESSION = r"""
set -eu
printf '%s' "$TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets \
    >/dev/null
run() { "$PYTHON" -m app "$@"; }
printf '%s\n' "$TEST_API_KEY" | run profile add Real --url "$SANDBOX_URL" --key-stdin --use \
    > "$OUT/add.json"
run profile test Real > "$OUT/test.json"
run profile list --json > "$OUT/list.json"
run submit seedance_r2v "$PAYLOAD" --workdir "$WORK" --wait --poll 0.05 > "$OUT/submit.txt"
"$PYTHON" -c '
import json, os, keyring
from app.client.profiles import keyring_status
print(json.dumps({"backend": keyring_status()[1],
                  "stored": keyring.get_password("takes", "Real") == os.environ["TEST_API_KEY"]}))
' > "$OUT/keyring.json"
run profile remove Real > /dev/null
"$PYTHON" -c 'import keyring; print(keyring.get_password("takes", "Real"))' > "$OUT/after.txt"
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHON_KEYRING_BACKEND", "TAKES_API_KEY", "DBUS_SESSION_BUS_ADDRESS")}
    home = tmp_path / "home"
    run = tmp_path / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_RUNTIME_DIR=str(run),
               XDG_VIDEOS_DIR=str(tmp_path / "Videos"), TAKES_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT), PYTHON=sys.executable, **extra)
    return env


@pytest.mark.timeout(180)
@pytest.mark.skipif(bool(MISSING), reason=f"no {' or '.join(MISSING)} on this machine "
                    "(scripts/install-deps installs gnome-keyring and dbus)")
def test_the_key_lives_in_a_real_secret_service(sandbox, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps(PROMPT_ONLY))
    env = _env(tmp_path, TEST_KEYRING_PASSWORD="test-password", TEST_API_KEY=KEY,
               SANDBOX_URL=sandbox.url, OUT=str(out), PAYLOAD=str(payload),
               WORK=str(tmp_path / "work"))
    proc = subprocess.run(["dbus-run-session", "--", "bash", "-c", SESSION], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    added = json.loads((out / "add.json").read_text())
    assert added["key_storage"] == "keyring" and added["credits"] == START_CREDITS
    assert json.loads((out / "test.json").read_text())["ok"] is True
    kr = json.loads((out / "keyring.json").read_text())
    assert "SecretService" in kr["backend"] and kr["stored"] is True
    # the active profile was used: the take is Real's, rendered and downloaded
    final = json.loads((out / "submit.txt").read_text().splitlines()[0])
    assert final["profile"] == "Real" and final["status"] == "succeeded"
    assert Path(final["result_path"]).is_file()
    assert (out / "after.txt").read_text().strip() == "None"  # removed with the profile
    # the key is in no file the app wrote, nor in what it printed; the keyring's own files
    # hold it encrypted
    assert KEY not in proc.stdout + proc.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".keyring" for p in files)
    assert any(p.name == "jobs.sqlite3" for p in files)
    assert (tmp_path / "data" / "profiles.json").is_file()
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p


def test_with_no_keyring_nothing_is_saved_until_the_user_chooses(sandbox, tmp_path):
    env = _env(tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    base = [sys.executable, "-m", "app", "profile", "add", "Real", "--url", sandbox.url,
            "--key-stdin"]

    def add(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *flags], input=KEY + "\n", env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    proc = add()
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no keyring" in proc.stderr
    assert "--session-key" in proc.stderr and "--plaintext-key-file" in proc.stderr
    assert not (tmp_path / "data" / "profiles.json").exists()
    proc = add("--plaintext-key-file")
    assert proc.returncode == 0, proc.stderr
    assert "plain text" in proc.stderr and "0600" in proc.stderr
    keys = tmp_path / "data" / "keys.json"
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    listed = subprocess.run([sys.executable, "-m", "app", "profile", "list", "--json"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert KEY not in listed.stdout and "Real" in listed.stdout
    tested = subprocess.run([sys.executable, "-m", "app", "profile", "test", "Real"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0 and json.loads(tested.stdout)["ok"] is True
    # only the file the user chose holds the key
    for p in tmp_path.rglob("*"):
        if p.is_file() and p != keys:
            assert KEY.encode() not in p.read_bytes(), p
