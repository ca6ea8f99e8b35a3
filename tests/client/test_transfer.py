"""Downloads in large blocks: a thread hop per MiB, every byte kept across a cut (real sandbox)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

import app.client.api as api_module
from app.client.api import WRITE_BLOCK, ApiClient
from client.helpers import KEY, fast_client, run

SIZE = 9 * (1 << 20) + 12_345  # not a whole number of blocks


def big_file(sb: Any, name: str = "big.mp4", size: int = SIZE) -> tuple[str, bytes]:
    data = os.urandom(size)
    (sb.files_dir / name).write_bytes(data)
    return f"{sb.url}/v1/files/{name}", data


class Writes:
    """Records every write to the partial file (the size of each block written)."""

    def __init__(self, monkeypatch: Any) -> None:
        self.sizes: list[int] = []
        original = api_module._open_at
        sizes = self.sizes

        class Counting:
            def __init__(self, fh: Any) -> None:
                self._fh = fh

            def write(self, data: bytes) -> int:
                sizes.append(len(data))
                return self._fh.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._fh, name)

        monkeypatch.setattr(api_module, "_open_at", lambda p, o: Counting(original(p, o)))


def test_a_download_is_written_in_blocks_of_a_mib(sandbox, tmp_path, monkeypatch):
    url, data = big_file(sandbox)
    writes = Writes(monkeypatch)
    seen: list[int] = []

    async def main() -> Path:
        async with ApiClient(sandbox.url, KEY) as api:
            return await api.download(url, tmp_path / "out" / "big.mp4", expected_size=SIZE,
                                      progress=lambda done, total: seen.append(done))

    path = run(main())
    assert path.read_bytes() == data
    assert sum(writes.sizes) == SIZE
    # whole blocks of at least a MiB, then the rest: ~10 writes, not the ~150 of 64 KiB
    assert all(n >= WRITE_BLOCK for n in writes.sizes[:-1]), writes.sizes
    assert len(writes.sizes) <= SIZE // WRITE_BLOCK + 1, writes.sizes
    # progress still follows every chunk received, in order, to the end
    assert seen == sorted(seen) and seen[-1] == SIZE and len(seen) > len(writes.sizes)
    assert not list((tmp_path / "out").glob(".*.part"))


def test_a_cut_download_keeps_what_arrived_and_resumes_from_there(sandbox, tmp_path,
                                                                  monkeypatch):
    url, data = big_file(sandbox)
    sandbox.set_faults(responses=[{"paths": "GET /v1/files/*", "drop": 0.6}])
    writes = Writes(monkeypatch)
    ranges: list[str | None] = []

    async def main() -> Path:
        async with fast_client(sandbox.url) as api:
            async def note(request: httpx.Request) -> None:
                ranges.append(request.headers.get("Range"))

            api._http.event_hooks["request"].append(note)
            return await api.download(url, tmp_path / "big.mp4", expected_size=SIZE)

    path = run(main())
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert ranges[0] is None and len(ranges) == 2, ranges
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    # the bytes received before the cut (60 % of the file, less what was still in flight)
    # were written, the unfinished block included: the resume starts past the last MiB
    assert 0.6 * SIZE - (1 << 20) < resumed_at <= 0.6 * SIZE, (resumed_at, 0.6 * SIZE)
    assert resumed_at % WRITE_BLOCK != 0  # a part block was kept, not dropped
    assert sum(writes.sizes) == SIZE


def test_a_full_disk_mid_block_leaves_nothing_partial(sandbox, tmp_path, monkeypatch):
    url, _ = big_file(sandbox)
    original = api_module._open_at

    class Full:
        def __init__(self, fh: Any) -> None:
            self._fh = fh
            self.n = 0

        def write(self, data: bytes) -> int:
            self.n += 1
            if self.n == 3:
                raise OSError(28, "No space left on device")
            return self._fh.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

    monkeypatch.setattr(api_module, "_open_at", lambda p, o: Full(original(p, o)))

    async def main() -> str:
        async with ApiClient(sandbox.url, KEY) as api:
            try:
                await api.download(url, tmp_path / "out" / "big.mp4", expected_size=SIZE)
            except api_module.LocalFileError as e:
                return e.code or ""
        return "no error"

    assert run(main()) == "disk_full"
    assert list((tmp_path / "out").iterdir()) == []  # neither the result nor its .part
