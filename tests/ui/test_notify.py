"""Desktop notifications (app.ui.notify, app.client.notices) against a stand-in notification
service on a private D-Bus session (dbus-run-session + tests/ui/notify_service.py).

The notifier runs on the test's qasync loop, as in the app; the service records each Notify
call it receives, and the test reads what the desktop was told.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QMainWindow

from app.client.notices import notification_for
from app.client.store import JobRecord
from app.ui import notify

SERVICE = Path(__file__).with_name("notify_service.py")
DBUS_RUN_SESSION = shutil.which("dbus-run-session")
needs_dbus = pytest.mark.skipif(
    DBUS_RUN_SESSION is None,
    reason="dbus-run-session is missing (apt package dbus-daemon, or dbus on older Debian)")
SEEDANCE = "bytedance/seedance-v1-pro-t2v-480p"


def take(status: str, **kw) -> JobRecord:
    job = JobRecord.new(kw.pop("model_id", SEEDANCE),
                        kw.pop("payload", {"prompt": "a kite over a windy beach"}))
    job.status = status
    for k, v in kw.items():
        setattr(job, k, v)
    return job


def start_service(mode: str, record: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([DBUS_RUN_SESSION, "--", sys.executable, str(SERVICE), mode,
                             str(record)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        stop_service(proc)
        pytest.fail(f"the stand-in notification service did not start: {line!r}")
    return proc, line.split(" ", 1)[1].strip()


def stop_service(proc: subprocess.Popen[str]) -> None:
    proc.stdin.close()  # the service exits on end of input; dbus-run-session follows
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


@pytest.fixture
def service(request, tmp_path) -> Iterator[SimpleNamespace]:
    mode = getattr(request, "param", "serve")
    record = tmp_path / "notifications.jsonl"
    proc, address = start_service(mode, record)
    try:
        yield SimpleNamespace(address=address, record=record, mode=mode)
    finally:
        stop_service(proc)


def received(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


@pytest.fixture
def background_window(qtbot) -> QMainWindow:
    w = QMainWindow()
    w.setWindowTitle("Takes")
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    w.showMinimized()
    qtbot.waitUntil(w.isMinimized, timeout=2000)
    return w


# ---- what is said (Qt-free) ------------------------------------------------------------------

def test_what_a_take_that_ended_says():
    done = take("succeeded", result_path="/videos/Takes/kite-1.mp4", credits_charged=303)
    assert notification_for(done) == (
        "Take ready: a kite over a windy beach",
        "a kite over a windy beach\nkite-1.mp4 · 303 cr")
    failed = take("failed", error_code="insufficient_credits", error_message="")
    assert notification_for(failed) == (
        "Take failed: a kite over a windy beach",
        "a kite over a windy beach\nNot enough credits for this render.")
    late = take("timed_out")
    assert notification_for(late)[0] == "Take timed out: a kite over a windy beach"
    assert "15 minute limit" in notification_for(late)[1]
    mock = take("succeeded", result_path="/v/m.mp4", mock=True)
    assert notification_for(mock)[0].startswith("Mock take ready")
    assert "MOCK · free" in notification_for(mock)[1]


def test_what_says_nothing():
    for status in ("pending", "queued", "running", "canceled"):
        assert notification_for(take(status)) is None, status
    # succeeded but its file is still downloading: ready once saved
    assert notification_for(take("succeeded", result_path=None)) is None


def test_long_prompts_are_cut():
    job = take("succeeded", result_path="/v/x.mp4", payload={"prompt": "word " * 80})
    title, body = notification_for(job)
    assert len(title) <= 60 and title.endswith("…")
    assert len(body.splitlines()[0]) <= 90


def test_a_prompt_less_take_uses_the_tasks_words():
    job = take("succeeded", result_path="/v/up.mp4", model_id="takes/upscale",
               payload={"video": "/clips/beach.mp4", "factor": 2})
    title, _ = notification_for(job)
    assert "(no prompt)" not in title and title.startswith("Take ready: ")


# ---- what reaches the desktop ----------------------------------------------------------------

@needs_dbus
def test_a_take_ending_in_the_background_reaches_the_desktop(
        aloop, qtbot, service, background_window, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)  # the default bus
    notifier = notify.Notifier(background_window)
    assert notify.in_background(background_window)
    done = take("succeeded", result_path="/videos/Takes/kite-1.mp4", credits_charged=303)
    with qtbot.waitSignal(notifier.sent, timeout=10_000) as sig:
        started = time.perf_counter()
        notifier.job_changed(done)
        returned_s = time.perf_counter() - started
        aloop.run_until_complete(notifier.drain())
    assert returned_s < 0.05  # job_changed only schedules: the GUI thread never waits
    title, body = notification_for(done)
    assert sig.args == [title, body]
    [got] = received(service.record)
    assert got["summary"] == "Take ready: a kite over a windy beach"
    assert got["body"] == "a kite over a windy beach\nkite-1.mp4 · 303 cr"
    assert got["app_name"] == "Takes" and got["app_icon"] == "takes"
    assert got["hints"] == {"desktop-entry": "takes", "urgency": 1}
    assert got["expire_timeout"] == -1 and got["replaces_id"] == 0

    # the same state again says nothing; a failure of another take does, urgently
    notifier.job_changed(done)
    failed = take("failed", error_code="validation_error", error_message="duration <= 12 & > 0")
    notifier.job_changed(failed)
    notifier.job_changed(take("canceled"))
    notifier.job_changed(take("running"))
    aloop.run_until_complete(notifier.drain())
    got = received(service.record)
    assert len(got) == 2
    assert got[1]["summary"] == "Take failed: a kite over a windy beach"
    # the body is plain text: a server reading markup shows the characters themselves
    assert got[1]["body"] == ("a kite over a windy beach\nduration &lt;= 12 &amp; &gt; 0 "
                              "(The server rejected some parameters)")
    assert got[1]["hints"]["urgency"] == 2
    aloop.run_until_complete(notifier.close())


@needs_dbus
def test_in_the_foreground_nothing_is_sent(aloop, qtbot, service):
    w = QMainWindow()
    qtbot.addWidget(w)
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    notifier = notify.Notifier(w, bus=service.address)
    assert not notify.in_background(w)
    done = take("succeeded", result_path="/v/seen.mp4")
    notifier.job_changed(done)
    aloop.run_until_complete(notifier.drain())
    # seen while it ended: not told later either, when the window goes to the background
    w.showMinimized()
    qtbot.waitUntil(w.isMinimized, timeout=2000)
    notifier.job_changed(done)
    aloop.run_until_complete(notifier.drain())
    assert received(service.record) == []
    # a hidden window is in the background too
    w.hide()
    notifier.job_changed(take("failed"))
    aloop.run_until_complete(notifier.drain())
    assert len(received(service.record)) == 1
    aloop.run_until_complete(notifier.close())


@needs_dbus
@pytest.mark.parametrize("service", ["absent"], indirect=True)
def test_a_session_without_a_notification_server(aloop, service, caplog):
    with caplog.at_level(logging.INFO, logger="app.ui.notify"):
        got = aloop.run_until_complete(notify.send_dbus("t", "b", bus=service.address))
    assert got is None
    assert "no desktop notification: org.freedesktop.DBus.Error.ServiceUnknown" in caplog.text


@needs_dbus
@pytest.mark.parametrize("service", ["mute"], indirect=True)
def test_a_server_that_never_answers_is_given_up(aloop, service, caplog, qtbot):
    notifier = notify.Notifier(None, bus=service.address, timeout_s=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="app.ui.notify"), \
            qtbot.assertNotEmitted(notifier.sent):
        notifier.job_changed(take("failed"))
        aloop.run_until_complete(notifier.drain())
    assert time.monotonic() - started < 5
    assert "did not answer in 0 s" in caplog.text or "did not answer in 1 s" in caplog.text
    aloop.run_until_complete(notifier.close())


def test_no_session_bus_is_a_log_line(aloop, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bus socket there either
    with caplog.at_level(logging.INFO, logger="app.ui.notify"):
        got = aloop.run_until_complete(notify.send_dbus("t", "b"))
    assert got is None
    assert "no desktop notification" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_bus_address_that_leads_nowhere(aloop, tmp_path, caplog):
    gone = f"unix:path={tmp_path / 'no-such-socket'}"
    with caplog.at_level(logging.INFO, logger="app.ui.notify"):
        assert aloop.run_until_complete(notify.send_dbus("t", "b", bus=gone)) is None
    assert "no desktop notification" in caplog.text


def test_close_cancels_what_is_under_way(aloop, tmp_path):
    """A notification still being sent when the app closes ends with it (no pending task)."""
    import socket

    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)  # accepts, never speaks: the D-Bus handshake hangs
    try:
        notifier = notify.Notifier(None, bus=f"unix:path={path}", timeout_s=30)
        notifier.notify("t", "b")
        aloop.run_until_complete(_settle())
        assert notifier._tasks
        aloop.run_until_complete(notifier.close())
        assert not notifier._tasks
        notifier.job_changed(take("failed"))  # closed: nothing new starts
        assert not notifier._tasks
    finally:
        server.close()
        os.unlink(path)


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(0.1)
