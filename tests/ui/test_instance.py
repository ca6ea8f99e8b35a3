"""Two app instances on one data folder: a second start brings the first to the front and exits;
a killed instance or a garbled lock file never blocks the next start. Real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.ui.instance import LOCK_NAME, SingleInstance

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("window_process.py")
START_S = 60


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TAKES_DATA_DIR": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"), "QT_QPA_PLATFORM": "offscreen",
            "TAKES_WORK_DIR": str(tmp / "work")}


def _first(tmp: Path) -> subprocess.Popen[str]:
    """The real app, observed by the harness; returns once its window is up (and minimised)."""
    proc = subprocess.Popen([sys.executable, str(HARNESS)], cwd=ROOT, env=_env(tmp),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # READY, or "" if it exited
    if line != "READY":
        proc.kill()
        pytest.fail(f"the first instance did not start (rc {proc.wait()})")
    return proc


def _second(tmp: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`takes` with no arguments, as a user starting it again would."""
    t = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "app"], cwd=ROOT, env=_env(tmp),
                          capture_output=True, text=True, timeout=START_S)
    return done, time.monotonic() - t


def _assert_handed_over(tmp: Path, first: subprocess.Popen[str]) -> None:
    second, took = _second(tmp)
    assert second.returncode == 0, second.stderr
    assert "already open on this data folder: its window was brought to the front" \
        in second.stderr
    assert took < 10  # it did not start a sandbox or a window of its own
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "RAISED"  # the first window was shown again
    assert first.wait(timeout=START_S) == 0


def test_a_second_start_focuses_the_first_and_exits(tmp_path):
    first = _first(tmp_path)
    try:
        _assert_handed_over(tmp_path, first)
    finally:
        first.kill()
        first.wait()
    assert not (tmp_path / "data" / LOCK_NAME).exists()  # released on a clean exit


def test_a_killed_instance_does_not_block_the_next_start(tmp_path):
    killed = _first(tmp_path)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert (tmp_path / "data" / LOCK_NAME).exists()  # its lock and socket stay behind
    first = _first(tmp_path)
    try:
        _assert_handed_over(tmp_path, first)  # and the new one answers on the socket
    finally:
        first.kill()
        first.wait()


@pytest.mark.parametrize("content", [b"", b"\x00garbage\xff", b"-5\n\n\n"])
def test_a_garbled_lock_file_does_not_block_a_start(tmp_path, content):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / LOCK_NAME).write_bytes(content)
    first = _first(tmp_path)
    try:
        _assert_handed_over(tmp_path, first)
    finally:
        first.kill()
        first.wait()


def test_an_unusable_data_folder_is_said_not_taken_for_a_second_start(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError, match=r"the data folder .*file/data cannot be created"):
        SingleInstance(tmp_path / "file" / "data").acquire()
