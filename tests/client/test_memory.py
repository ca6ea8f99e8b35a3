"""A 200 MB upload and download keep the client's memory growth under 50 MB (the bench)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_200_mb_upload_and_download_grow_rss_by_less_than_50_mb():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "client_memory.py"),
                           "--mb", "200", "--limit-mb", "50"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    result = json.loads(proc.stdout)
    assert result["identical"] is True
    assert result["upload_rss_growth_mb"] < 50, result
    assert result["download_rss_growth_mb"] < 50, result
    assert proc.returncode == 0, proc.stderr
