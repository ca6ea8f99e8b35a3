"""Download speed: a 200 MB result from the sandbox through ApiClient.download vs curl.

The sandbox runs in its own process (`python3 -m app sandbox`), the file sits in its files
folder; curl and the client fetch the same URL in the same run, alternating, each `--runs`
times; the figure is the ratio of the median times (curl's time / the client's: 1.0 = as
fast as curl). Both write to the same disk; the client also fsyncs and renames, as it
always does. Exit status 1 when the ratio is under the target or a copy differs.

    python3 bench/download.py [--mb 200] [--runs 3] [--target 0.8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from client_memory import sha256, start_sandbox  # noqa: E402

from app.client.api import ApiClient  # noqa: E402

MB = 1_000_000


def curl(url: str, key: str, dest: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(dest), "-H",
                    f"Authorization: Bearer {key}", url], check=True)
    return time.perf_counter() - t


async def takes(url: str, key: str, dest: Path) -> float:
    async with ApiClient(url.split("/v1/")[0], key, timeout=120.0) as api:
        t = time.perf_counter()
        await api.download(url, dest, overwrite=True)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.8)
    args = ap.parse_args(argv)
    if shutil.which("curl") is None:
        print("curl is not installed: no baseline", file=sys.stderr)
        return 2
    key = "bench-" + os.urandom(8).hex()
    with tempfile.TemporaryDirectory(prefix="takes-bench-") as tmp:
        d = Path(tmp)
        files = d / "sandbox" / "files"
        files.mkdir(parents=True)
        src = files / "big.mp4"
        with open(src, "wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(MB))
        proc, base = start_sandbox(d / "sandbox", key)
        url = f"{base}/v1/files/big.mp4"
        curl_s: list[float] = []
        takes_s: list[float] = []
        try:
            curl(url, key, d / "warm.bin")  # page cache, server warm-up
            asyncio.run(takes(url, key, d / "warm2.bin"))
            for _ in range(args.runs):
                curl_s.append(curl(url, key, d / "curl.bin"))
                takes_s.append(asyncio.run(takes(url, key, d / "takes.bin")))
        finally:
            proc.terminate()
            proc.wait(10)
        want = sha256(src)
        same = sha256(d / "curl.bin") == want and sha256(d / "takes.bin") == want
    c, t = statistics.median(curl_s), statistics.median(takes_s)
    ratio = c / t
    result = {"figure": "download of a file from the sandbox, curl's time / Takes' time",
              "size_mb": args.mb, "runs": args.runs,
              "baseline_curl_s": round(c, 3), "takes_s": round(t, 3),
              "curl_mb_s": round(args.mb / c, 1), "takes_mb_s": round(args.mb / t, 1),
              "ratio": round(ratio, 2), "target": f">= {args.target}",
              "all_curl_s": [round(x, 3) for x in curl_s],
              "all_takes_s": [round(x, 3) for x in takes_s],
              "identical": same, "load_avg": round(os.getloadavg()[0], 1),
              "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))
    return 0 if same and ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
