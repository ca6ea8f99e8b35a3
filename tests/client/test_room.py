"""Room for the result: a work folder + `out` over the platform's path or name limits is
refused before anything is sent or charged; too little free space, a disk that fills up
mid-download (a real small tmpfs, and an injected ENOSPC) leave nothing partial, and the take,
charged once, stays downloadable until there is room. Real sandbox on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.client import api as api_module
from app.client import manager as manager_module
from app.client.errors import ValidationFailed
from app.client.manager import JobManager
from app.client.store import JobRecord, JobStore
from client.helpers import (
    FAST_POLL,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    Harness,
    balance,
    run,
    server_jobs,
    until,
)

Usage = namedtuple("Usage", "total used free")


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


def deep_folder(root: Path, length: int) -> Path:
    """A real folder whose path is about `length` bytes (names of 200 bytes each)."""
    d = root
    while len(os.fsencode(d)) < length - 201:
        d = d / ("d" * 200)
    d.mkdir(parents=True)
    return d


async def assert_nothing_sent(h: Harness) -> None:
    assert [a for a in h.api.trace if a.method == "POST"] == []  # no upload, no job
    assert h.store.query() == []
    assert await server_jobs(h.api) == []
    assert await balance(h.api) == START_CREDITS


def test_a_path_over_the_platform_limit_is_refused_before_anything_is_sent(sandbox, tmp_path,
                                                                         media):
    """~3,400 bytes of work folder + a 972-character `out` (valid for the catalog) > 4,096."""
    work = deep_folder(tmp_path, 3600)
    out = "/".join(["o" * 240] * 4) + "/take.mp4"
    assert len(os.fsencode(work / out)) > os.pathconf(tmp_path, "PC_PATH_MAX")
    payload = {**PROMPT_ONLY, "image_urls": [str(media["img_640x480"])],
               "prompt": "a lighthouse, in the style of @Image1", "out": out}

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            h.manager = JobManager(h.api, h.store, work, FAST_POLL)
            with pytest.raises(ValidationFailed) as info:
                await h.manager.submit("seedance_r2v", payload)
            err = info.value
            assert err.code == "path_too_long" and err.fields[0]["field"] == "out"
            limit = os.pathconf(tmp_path, "PC_PATH_MAX") - 1
            assert f"this system allows {limit:,}" in str(err)
            assert "Choose a shorter work folder or output name" in str(err)
            await assert_nothing_sent(h)
            assert files_in(work) == []

    run(main())


def test_a_name_over_the_file_systems_limit_is_refused_before_anything_is_sent(
        sandbox, tmp_path, monkeypatch):
    """A 204-byte name is fine for the catalog (255) but not for a file system that allows
    143 bytes per name (eCryptfs): refused with the limit of this file system."""
    real = os.pathconf

    def pathconf(path: object, name: str) -> int:
        return 143 if name == "PC_NAME_MAX" else real(path, name)

    monkeypatch.setattr(os, "pathconf", pathconf)
    out = "n" * 200 + ".mp4"

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            with pytest.raises(ValidationFailed) as info:
                await h.manager.submit("seedance_r2v", {**PROMPT_ONLY, "out": out})
            assert info.value.code == "path_too_long"
            assert "is 204 bytes; this file system allows 143 per name" in str(info.value)
            assert "Choose a shorter output name" in str(info.value)
            await assert_nothing_sent(h)

    run(main())


def test_a_taken_name_of_255_bytes_gets_a_numbered_name_that_still_fits(sandbox, tmp_path):
    """The second take with a 255-byte `out`: `-2` would make 257 bytes; the name is cut."""
    out = "é" * 122 + "abcdefg" + ".mp4"  # 244 + 7 + 4 = 255 bytes
    assert len(out.encode()) == 255

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            paths = []
            for _ in range(2):
                rec = await h.manager.submit("seedance_r2v", {**PROMPT_ONLY, "out": out})
                rec = await h.manager.wait(rec.id)
                assert rec.result_path, rec.error_message
                paths.append(Path(rec.result_path))
            assert paths[0].name == out
            assert paths[1].name.endswith("-2.mp4") and len(os.fsencode(paths[1].name)) <= 255
            assert paths[1].name.startswith("é" * 122)
            assert len(files_in(h.work)) == 2

    run(main())


async def _settled_without_file(h: Harness, payload: dict) -> JobRecord:
    rec = await h.manager.submit("seedance_r2v", payload)
    rec = await h.manager.wait(rec.id)
    assert rec.status == "succeeded" and rec.result_path is None
    assert rec.error_code == "download_failed"
    return rec


async def _made_room_then_resumed(h: Harness, rec: JobRecord, work: Path) -> None:
    """`resume` (what the next start or `takes resume` does) downloads it: one file, one
    job, one charge."""
    assert h.store.unfinished() == [h.store.get(rec.id)]  # still downloadable
    await h.manager.resume(rec.id)
    await until(lambda: h.store.get(rec.id).result_path)
    done = h.store.get(rec.id)
    assert done.error_code is None and done.error_message is None
    size = await asyncio.to_thread(os.path.getsize, done.result_path)
    assert size == done.result["size_bytes"]
    assert files_in(work) == [str(Path(done.result_path).relative_to(work))]
    assert len(await server_jobs(h.api)) == 1
    assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST


def test_not_enough_free_space_downloads_nothing_and_the_take_stays_downloadable(
        sandbox, tmp_path, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(manager_module.shutil, "disk_usage",
                        lambda p: Usage(10**9, 10**9 - 40_000, 40_000))

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            rec = await _settled_without_file(h, PROMPT_ONLY)
            assert "Not enough free space in" in rec.error_message
            needs = round(rec.result["size_bytes"] / 1024)
            assert f"it needs {needs} KB, 39 KB is free" in rec.error_message
            assert "the take stays downloadable" in rec.error_message
            assert files_in(h.work) == []
            get_files = [a for a in h.api.trace if a.path.startswith("/v1/files/")]
            assert get_files == []  # refused before the download began
            monkeypatch.setattr(manager_module.shutil, "disk_usage", real)
            await _made_room_then_resumed(h, rec, h.work)

    run(main())


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a small tmpfs here ({e}); the injected ENOSPC test runs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=10)


def test_a_real_disk_that_fills_up_mid_download_leaves_nothing_partial(sandbox, tmp_path,
                                                                       monkeypatch):
    """A 256 KB tmpfs with ~48 KB left for a ~100 KB result. The free-space check is told
    there is room (another program takes it meanwhile): the real write fails with ENOSPC."""
    with small_disk(tmp_path / "disk", "256k") as disk:
        filler = disk / "filler.bin"
        filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - 48 * 1024))
        work = disk / "work"
        monkeypatch.setattr(manager_module.shutil, "disk_usage",
                            lambda p: Usage(10**9, 0, 10**9))

        async def main() -> None:
            async with Harness(sandbox, tmp_path) as h:
                h.manager = JobManager(h.api, h.store, work, FAST_POLL)
                rec = await _settled_without_file(h, PROMPT_ONLY)
                assert "No space left on device" in rec.error_message
                assert "Free some space" in rec.error_message
                assert "stays downloadable" in rec.error_message
                assert files_in(work) == []  # no .part, no final file
                assert [a for a in h.api.trace if a.path.startswith("/v1/files/")]
                filler.unlink()  # room made
                await _made_room_then_resumed(h, rec, work)

        run(main())


def test_an_injected_enospc_from_the_writer_leaves_nothing_partial(sandbox, tmp_path,
                                                                   monkeypatch):
    real_open = api_module._open_at
    writes: list[int] = []

    class FullDisk:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def write(self, chunk: bytes) -> int:
            writes.append(len(chunk) // 2)  # half of the first chunk fits, then the disk is full
            self.fh.write(chunk[: len(chunk) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> object:
            return getattr(self.fh, name)

    monkeypatch.setattr(api_module, "_open_at", lambda p, offset: FullDisk(real_open(p, offset)))

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            rec = await _settled_without_file(h, PROMPT_ONLY)
            assert writes and writes[0] > 0  # it failed mid-way, with bytes already on disk
            assert "No space left on device" in rec.error_message
            assert files_in(h.work) == []
            monkeypatch.setattr(api_module, "_open_at", real_open)
            await _made_room_then_resumed(h, rec, h.work)

    run(main())


def test_takes_submit_refuses_a_path_over_the_limit_with_one_line_and_no_charge(tmp_path):
    """The CLI on its built-in sandbox: exit 1, one line naming the limit, the field error as
    JSON on stdout, no take stored, nothing charged (the sandbox's ledger is empty)."""
    import json
    import sys

    from app.sandbox.server import SandboxServer

    root = Path(__file__).resolve().parents[2]
    work = deep_folder(tmp_path / "w", 3600)
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({**PROMPT_ONLY, "out": "/".join(["o" * 240] * 4) + "/t.mp4"}))
    env = {**os.environ, "TAKES_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "app", "submit", "seedance_r2v", str(payload),
                           "--workdir", str(work), "--store", str(tmp_path / "jobs.sqlite3")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "out:" in line and "this system allows" in line and "Traceback" not in line
    assert json.loads(proc.stdout)["errors"][0]["field"] == "out"
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        assert store.query() == []
    finally:
        store.close()
    with SandboxServer(tmp_path / "data" / "sandbox") as sb:
        assert sb.store.ledger() == []
