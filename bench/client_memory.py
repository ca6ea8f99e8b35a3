"""Client memory under a big transfer: upload then download a 200 MB file through ApiClient.

The sandbox runs in a separate process, so only the client's memory is measured: resident
set size sampled every few milliseconds from /proc (Linux), growth over a warmed-up baseline.
Exit status 1 if either transfer grows RSS by 50 MB or more, or the bytes differ.

    python3 bench/client_memory.py [--mb 200] [--limit-mb 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app.client.api import ApiClient  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1_000_000


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class PeakRss:
    """Samples RSS in a thread; `peak` is the highest value seen since `reset()`."""

    def __init__(self, every: float = 0.002) -> None:
        self.every = every
        self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.every)

    def reset(self) -> int:
        self.peak = rss()
        return self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def make_source(path: Path, size: int) -> Path:
    """A real MP4 padded with zeros to `size` bytes (the sandbox probes uploads)."""
    import mediafactory as mf

    mf.video(path, 320, 240, 1.0, 24, pad_to_bytes=size)
    return path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def start_sandbox(data: Path, key: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "app", "sandbox", "--key", key, "--data",
                             str(data)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Sandbox API: "):
            return proc, line.split(": ", 1)[1].strip()
    raise RuntimeError("the sandbox did not start")


async def transfer(url: str, key: str, src: Path, dest: Path, meter: PeakRss) -> dict[str, float]:
    async with ApiClient(url, key, timeout=120.0) as api:
        # warm up: imports, connection pool, first-call allocations
        small = make_source(src.with_name("small.mp4"), 2 * MB)
        await api.download(await api.upload(small), dest.with_name("small-copy.mp4"))
        base = meter.reset()
        t = time.perf_counter()
        file_url = await api.upload(src)
        up_s, up_peak = time.perf_counter() - t, meter.peak
        meter.reset()
        t = time.perf_counter()
        await api.download(file_url, dest)
        down_s, down_peak = time.perf_counter() - t, meter.peak
    return {"baseline_rss_mb": base / MB, "upload_s": up_s, "download_s": down_s,
            "upload_rss_growth_mb": (up_peak - base) / MB,
            "download_rss_growth_mb": (down_peak - base) / MB}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    ap.add_argument("--limit-mb", type=float, default=50.0, help="allowed RSS growth")
    args = ap.parse_args(argv)
    key = "bench-" + os.urandom(8).hex()
    with tempfile.TemporaryDirectory(prefix="takes-bench-") as tmp:
        d = Path(tmp)
        src = make_source(d / "big.mp4", args.mb * MB)
        proc, url = start_sandbox(d / "sandbox", key)
        meter = PeakRss()
        try:
            result = asyncio.run(transfer(url, key, src, d / "out" / "big-copy.mp4", meter))
        finally:
            meter.stop()
            proc.terminate()
            proc.wait(10)
        same = sha256(src) == sha256(d / "out" / "big-copy.mp4")
    result = {"size_mb": args.mb, **{k: round(v, 2) for k, v in result.items()},
              "identical": same, "limit_mb": args.limit_mb}
    print(json.dumps(result, indent=2))
    ok = same and max(result["upload_rss_growth_mb"],
                      result["download_rss_growth_mb"]) < args.limit_mb
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
