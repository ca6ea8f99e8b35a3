"""Profiles: names from hostile input, limits, where keys are kept (never a silent plaintext
file), and the profile check against a real sandbox: wrong URL, wrong key, no answer."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.client import profiles as P
from app.client.profiles import (
    SANDBOX,
    KeyringUnavailable,
    KeyStorage,
    Profile,
    ProfileError,
    Profiles,
    check_profile,
    get_key,
)
from client.helpers import KEY, START_CREDITS, free_port


@pytest.fixture
def profiles(tmp_path):
    return Profiles(tmp_path / "data" / "profiles.json")


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "tab\there", "x" * 65, "a/b", "a\\b",
                                  "..", ".", "Sandbox", "built-in SANDBOX", "\u202eevil",
                                  "line\nbreak", "\ud800half", 42, None])
def test_hostile_names_are_refused_and_the_file_stays_valid(profiles, name):
    with pytest.raises(ProfileError):
        profiles.add(Profile(name, "api", "https://api.example"), "sk-1", KeyStorage.SESSION)
    assert [p.name for p in profiles.all()] == ["Sandbox"]
    assert not profiles.path.exists() or json.loads(profiles.path.read_text())


def test_odd_but_fine_names_round_trip_as_valid_json(profiles):
    names = ["Ünïcødé 🎬 \"quoted\" 'x'", "  padded  ", "x" * 64, "a:b*c?"]
    for n in names:
        profiles.add(Profile(n, "api", "https://api.example/"), "sk-1", KeyStorage.SESSION)
    text = profiles.path.read_text(encoding="utf-8")
    assert text.isascii() and json.loads(text)["version"] == 1
    assert [p.name for p in profiles.all()][1:] == [n.strip() for n in names]
    assert profiles.get("padded").base_url == "https://api.example"  # no trailing /
    assert "sk-1" not in text


def test_a_damaged_or_foreign_file_reads_as_the_sandbox(profiles):
    profiles.path.parent.mkdir(parents=True)
    for junk in ("{not json", "[]", '{"profiles": 7}', '{"profiles": [1, {"name": 2}, '
                 '{"name": "x", "kind": "alien"}, {"name": "ok", "kind": "api", '
                 '"base_url": "https://a.example", "confirm_above": "lots", "extra": 1}]}'):
        profiles.path.write_text(junk)
        names = [p.name for p in profiles.all()]
        assert names[0] == "Sandbox" and profiles.active.is_sandbox
        assert names[1:] in ([], ["ok"])
    assert profiles.get("ok").confirm_above is None  # a bad limit: the default


def test_limits_defaults_and_settings(profiles):
    assert (SANDBOX.confirm_threshold, SANDBOX.day_cap) == (None, None)
    profiles.add(Profile("Work", "api", "https://api.example"), "k", KeyStorage.SESSION)
    work = profiles.get("Work")
    assert (work.confirm_threshold, work.day_cap) == (500, 5000)
    work = profiles.set_limits("Work", confirm_above="off", daily_cap="12,000")
    assert (work.confirm_threshold, work.day_cap) == (None, 12_000)
    sb = profiles.set_limits("Sandbox", confirm_above=100, daily_cap=1000)
    assert (sb.confirm_threshold, sb.day_cap) == (100, 1000) and sb.is_sandbox
    assert profiles.get("sandbox").day_cap == 1000  # kept in profiles.json
    assert profiles.get("Work").day_cap == 12_000
    for bad in ("-1", "1e3", "12.5", "x" * 20, True, -5):
        with pytest.raises(ProfileError, match="whole number"):
            profiles.set_limits("Work", daily_cap=bad)
    with pytest.raises(ProfileError, match="cannot be removed"):
        profiles.remove("Sandbox")
    profiles.set_active("Work")
    profiles.remove("Work")
    assert profiles.active.is_sandbox


def test_session_keys_stay_in_memory(profiles, tmp_path):
    p = profiles.add(Profile("Temp", "api", "https://api.example"), "sk-session-only-123",
                     KeyStorage.SESSION)
    assert get_key(p) == "sk-session-only-123"
    assert "sk-session-only-123" not in repr(p) and "sk-session-only-123" not in repr(profiles)
    for f in tmp_path.rglob("*"):
        assert not f.is_file() or b"sk-session-only-123" not in f.read_bytes()
    profiles.remove("Temp")
    assert get_key(p) is None


def test_a_plaintext_key_file_only_when_chosen_and_owner_only(profiles):
    p = profiles.add(Profile("Lab", "api", "https://api.example"), "sk-file-456",
                     KeyStorage.FILE)
    path = profiles.key_file
    assert p.key_file == str(path) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"Lab": "sk-file-456"}
    assert get_key(profiles.get("Lab")) == "sk-file-456"
    assert "{path}" in P.PLAINTEXT_WARNING and "0600" in P.PLAINTEXT_WARNING
    os.chmod(path, 0o644)  # someone opened it up: refused, with the fix
    with pytest.raises(ProfileError, match="chmod 600"):
        get_key(profiles.get("Lab"))
    os.chmod(path, 0o600)
    # moving the key into the session removes it from the file
    profiles.add(Profile("Lab", "api", "https://api.example"), "sk-file-456",
                 KeyStorage.SESSION)
    assert json.loads(path.read_text()) == {}


def test_no_keyring_is_said_and_nothing_is_saved(profiles):
    # the test run's backend is keyring.backends.null: it would silently keep nothing
    ok, why = P.keyring_status()
    assert not ok and "null" in why
    with pytest.raises(KeyringUnavailable, match=r"--session-key.*--plaintext-key-file"):
        profiles.add(Profile("Work", "api", "https://api.example"), "sk-x")
    assert [p.name for p in profiles.all()] == ["Sandbox"] and not profiles.key_file.exists()


# ---- the check: GET /v1/account ----------------------------------------------------------


def _check(url: str, key: str = KEY, wait_s: float = 5.0):
    return asyncio.run(check_profile(url, key, wait_s=wait_s))


def test_a_good_url_and_key_pass_with_the_balance(sandbox):
    c = _check(sandbox.url + "/")
    assert c.ok and c.credits == START_CREDITS and f"{START_CREDITS:,} credits" in c.message


def test_a_wrong_key_is_refused_with_the_reason(sandbox):
    c = _check(sandbox.url, "sk-wrong-key-999")
    assert not c.ok and c.problem == "key" and c.status == 401 and "refused the API key" in \
        c.message and "sk-wrong-key-999" not in c.message and KEY not in c.message


def test_a_wrong_url_is_refused_with_the_reason(sandbox):
    c = _check(sandbox.url + "/api")  # a path the API is not under: 404
    assert not c.ok and c.problem == "url" and "not as the Takes API" in c.message
    port = free_port()
    c = _check(f"http://127.0.0.1:{port}")
    assert not c.ok and c.problem == "url" and "connection refused" in c.message
    c = _check("http://no-such-host.invalid")
    assert not c.ok and c.problem == "url" and "does not resolve" in c.message
    c = _check("ftp://x")
    assert not c.ok and c.problem == "url"


def test_a_server_that_is_not_a_takes_api(tmp_path):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever)
    t.start()
    try:
        c = _check(f"http://127.0.0.1:{server.server_address[1]}")
        assert not c.ok and c.problem == "url" and "no credits balance" in c.message
    finally:
        server.shutdown()
        server.server_close()
        t.join()


def test_no_answer_is_a_network_problem():
    with socket.socket() as s:  # accepts connections (the backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        c = _check(f"http://127.0.0.1:{s.getsockname()[1]}", wait_s=0.5)
    assert not c.ok and c.problem == "network" and "within 0.5 s" in c.message
