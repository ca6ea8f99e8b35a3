"""The core imports no Qt: checked in a fresh interpreter, and by import-linter's contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, json, pkgutil, sys
imported, skipped = [], []
for name in ("app.catalog", "app.media", "app.client", "app.sandbox", "app.resources",
             "app.desktop"):
    try:
        pkg = importlib.import_module(name)
    except ModuleNotFoundError as e:
        skipped.append(f"{name}: {e.name}")
        continue
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
# exercise the lazy imports too: validation, pricing and a real probe
from app.catalog import estimate, validate_payload
from app.media.probe import probe
validate_payload("seedance_r2v", {"out": "o.mp4", "prompt": "p"})
estimate("topaz_upscale_video", {"video_url": "https://example.com/v.mp4"})
try:
    probe(sys.argv[1])
except Exception:
    pass
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "qasync", "superqt",
                                                             "shiboken6"))
print(json.dumps({"imported": imported, "skipped": skipped, "qt": qt}))
"""


def test_core_modules_import_no_qt(tmp_path: Path) -> None:
    sample = tmp_path / "x.wav"
    sample.write_bytes(b"RIFF\0\0\0\0WAVE")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(sample)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "app.catalog.validate" in found["imported"]
    assert "app.media.probe" in found["imported"]
    assert "app.desktop" in found["imported"]
    assert found["qt"] == [], f"Qt imported by the core: {found['qt']}"


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_import_linter_contract_is_kept() -> None:
    proc = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "imports no Qt KEPT" in proc.stdout
