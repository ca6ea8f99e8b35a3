"""Client behaviour that needs no sandbox: retry/poll arithmetic, local checks before any
connection, placing files without overwriting, secrets kept out of reprs."""

from __future__ import annotations

import asyncio
import itertools
import time

import mediafactory as mf
import pytest

from app.catalog.schemas import KLING_IMAGE, SEEDANCE_AUDIO
from app.client.api import ApiClient, RetryPolicy, parse_retry_after, place_file
from app.client.connection import Connection
from app.client.errors import AuthError, ValidationFailed
from app.client.manager import PollPolicy, RateLimiter
from app.client.profiles import Profile, ProfileError, Profiles


def test_retry_after_is_honoured_and_capped():
    p = RetryPolicy(retry_after_cap=5.0)
    waits = [p.delay(i, 2.0) for i in range(1, 50)]
    assert all(2.0 <= w <= 2.25 for w in waits)
    assert all(5.0 <= p.delay(1, 3600) <= 5.25 for _ in range(20))
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_backoff_grows_with_jitter_and_is_capped():
    p = RetryPolicy(backoff=0.5, backoff_cap=4.0)
    for retry, hi in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        ws = [p.delay(retry, None) for _ in range(200)]
        assert all(hi / 2 <= w <= hi for w in ws)
        assert len(set(ws)) > 100  # jittered


def test_poll_policy_budget_for_a_fifteen_minute_job():
    p = PollPolicy()
    assert p.initial == 2.0 and p.maximum == 15.0
    n = p.requests_for(15 * 60)
    assert n <= 150, n
    assert p.next(2.0) == 3.0 and p.next(14.0) == 15.0
    assert p.next(2.0, hint=7.0) == 7.0  # the server's hint wins
    assert p.next(2.0, hint=10_000) == p.hint_cap


def test_shared_rate_limiter_spaces_all_callers():
    async def main() -> list[float]:
        limiter = RateLimiter(0.05)
        stamps: list[float] = []

        async def one() -> None:
            await limiter.acquire()
            stamps.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(8)))
        return sorted(stamps)

    stamps = asyncio.run(main())
    # Wake-up jitter on a loaded machine can bring two observed stamps closer than the gap
    # the limiter enforced; the span of 8 acquisitions cannot shrink below 7 gaps.
    assert stamps[-1] - stamps[0] >= 7 * 0.05 - 0.02
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert sorted(gaps)[len(gaps) // 2] >= 0.045


class _Listener:
    """A bare TCP listener that counts connections (what a too-big upload must never open)."""

    def __init__(self) -> None:
        self.connections = 0

    async def __aenter__(self) -> str:
        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


def test_file_over_a_limit_sends_zero_bytes(tmp_path):
    big = mf.image(tmp_path / "big.png", 640, 480, pad_to_bytes=11_000_000)  # Kling: ≤ 10 MB
    text = mf.not_media(tmp_path / "notes.png")
    wav = mf.audio(tmp_path / "a.wav", seconds=1)

    async def main() -> _Listener:
        listener = _Listener()
        async with listener as url, ApiClient(url, "sk-test", max_retries=0) as api:
            with pytest.raises(ValidationFailed, match=r"11\.0 MB; this model takes at most 10"):
                await api.upload(big, rule=KLING_IMAGE, label="Start image")
            with pytest.raises(ValidationFailed, match="not an image, video or audio"):
                await api.upload(text)
            with pytest.raises(ValidationFailed, match="this field takes images"):
                await api.upload(wav, rule=KLING_IMAGE)
            with pytest.raises(ValidationFailed, match="cannot be read"):
                await api.upload(tmp_path / "missing.mp3", rule=SEEDANCE_AUDIO)
            assert len(api.trace) == 0
        return listener

    assert asyncio.run(main()).connections == 0


def test_place_file_never_overwrites(tmp_path):
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"mine")
    for n, expect in [(1, "clip-2.mp4"), (2, "clip-3.mp4")]:
        part = tmp_path / f".part{n}"
        part.write_bytes(b"new%d" % n)
        final = place_file(part, dest)
        assert final.name == expect and not part.exists()
    assert dest.read_bytes() == b"mine"


def test_key_is_in_no_repr(tmp_path):
    key = "sk-live-SECRET-0123456789"
    api = ApiClient("http://127.0.0.1:9", key)
    conn = Connection(Profile("prod", "api", "https://api.example"), "https://api.example", key)
    for obj in (api, api._auth, api._http, conn):
        assert key not in repr(obj) and key not in str(obj)
    assert key not in repr(vars(conn)) and key not in repr(vars(api._auth))
    assert key not in repr(AuthError("x"))
    asyncio.run(api.close())


def test_profiles_keep_urls_not_keys(tmp_path):
    profiles = Profiles(tmp_path / "profiles.json")
    assert profiles.active.is_sandbox
    profiles.save(Profile("prod", "api", "https://api.example"))
    profiles.set_active("prod")
    assert profiles.active.base_url == "https://api.example"
    assert [p.name for p in profiles.all()] == ["Sandbox", "prod"]
    with pytest.raises(ProfileError, match="https://"):
        profiles.save(Profile("bad", "api", "ftp://x"))
    profiles.remove("prod")
    assert profiles.active.is_sandbox


def test_no_keyring_gives_a_clear_message(monkeypatch):
    import keyring
    from keyring.backends import fail

    from app.client.connection import connect
    from app.client.profiles import KeyringUnavailable, get_key, set_key

    prod = Profile("prod", "api", "https://api.example")
    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(KeyringUnavailable, match=r"no keyring .* --key or the TAKES_API_KEY"):
            get_key(prod)
        with pytest.raises(KeyringUnavailable, match="Cannot save the API key"):
            set_key(prod, "sk-x")
        with pytest.raises(KeyringUnavailable):
            connect(prod)
        conn = connect(prod, key="sk-given")  # a key given explicitly needs no keyring
        assert conn.base_url == "https://api.example" and "sk-given" not in repr(conn)
    finally:
        keyring.set_keyring(old)
    with pytest.raises(ProfileError, match="No API key is saved"):
        connect(prod)  # the null keyring of the test run has nothing


def test_sandbox_profile_starts_a_private_server(tmp_path, monkeypatch):
    from app.client.connection import connect
    from app.client.profiles import SANDBOX

    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path))

    async def account(conn: Connection) -> dict:
        async with conn.client() as api:
            return await api.account()

    with connect(SANDBOX) as conn:
        assert conn.base_url.startswith("http://127.0.0.1:")
        assert asyncio.run(account(conn))["credits"] == 10_000
        key = conn._key.reveal()
        assert len(key) >= 24 and key not in repr(conn)
        assert (tmp_path / "sandbox").is_dir()
    with connect(SANDBOX) as again:
        assert again._key.reveal() != key  # a new random key each start
