"""`takes shot`: the real command, in its own process, writes a real screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TAKES_DATA_DIR": str(tmp / "nope"),
           "XDG_CONFIG_HOME": str(tmp / "xdg-config")}
    return subprocess.run([sys.executable, "-m", "app", "shot", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_shot_with_history_writes_a_picture(qapp, tmp_path):
    out = tmp_path / "shots" / "history.png"
    r = _run("--history", "3", "--size", "1280x800", str(out), tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("history.png")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    # not a blank window: many distinct colours (thumbnails, text, the video frame)
    small = image.scaled(160, 100)
    colours = {small.pixel(x, y) for x in range(160) for y in range(100)}
    assert len(colours) > 200
    assert not (tmp_path / "nope").exists()  # a private sandbox, not the user's data
    assert not (tmp_path / "xdg-config" / "Takes").exists()  # nor the user's settings


def test_shot_refuses_unknown_model(tmp_path):
    r = _run("--model", "nope", str(tmp_path / "x.png"), tmp=tmp_path)
    assert r.returncode == 2 and "unknown model" in r.stderr
    assert not (tmp_path / "x.png").exists()
