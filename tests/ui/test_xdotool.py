"""A real double-click (X input from xdotool, under Xvfb) on the real app's Render button makes
one paid take. Skipped where Xvfb or xdotool is missing (scripts/install-deps installs both)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("window_process.py")
TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool")


@pytest.fixture
def display(tmp_path):
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(10)


@pytest.mark.parametrize(("clicks", "mode", "takes"), [
    (["click", "--repeat", "2", "--delay", "80", "1"], "render", 1),
    (["click", "--repeat", "3", "--delay", "150", "1"], "render", 1),
    (["click", "--repeat", "2", "--delay", "80", "1"], "render3", 3),
], ids=["double-click", "triple-click", "double-click-x3"])
def test_a_real_double_click_on_render_is_one_paid_take(tmp_path, display, clicks, mode,
                                                        takes):
    """…or, with × 3 beside Render, one intent of three paid takes (not six)."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "TAKES_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "TAKES_WORK_DIR": str(tmp_path / "work")}
    app = subprocess.Popen([sys.executable, str(HARNESS), mode], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert app.stdout is not None
        button = app.stdout.readline().split()
        assert button[:1] == ["BUTTON"], f"the window did not come up (rc {app.poll()})"
        subprocess.run(["xdotool", "mousemove", *button[1:], *clicks], env=env, check=True,
                       timeout=TIMEOUT_S)
        assert app.stdout.readline().split() == ["TAKES", str(takes), "CHARGES", str(takes)]
        assert app.wait(TIMEOUT_S) == 0
    finally:
        app.kill()
        app.wait()
