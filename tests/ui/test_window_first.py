"""The window paints before its connection is made (the speed issue's first frame).

`Studio.begin_profile` opens the store and the job manager at once and makes the connection
(the built-in sandbox's child process) meanwhile; here the connection is held back on purpose
until the test lets it go, so what the window shows in between is seen, not raced."""

from __future__ import annotations

import asyncio
import threading

import app.client.connection as connection
from app.client.profiles import SANDBOX_NAME
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui.window import MainWindow

from .helpers import until


def test_the_window_is_usable_while_the_sandbox_starts(aloop, qtbot, tmp_path, media,
                                                       monkeypatch):
    go = threading.Event()
    real = connection.connect

    def held(*args, **kw):
        go.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(connection, "connect", held)
    studio = Studio.begin_profile(tmp_path / "data", work_dir=tmp_path / "work")
    assert not studio.connected and studio.connection_failure is None
    assert studio.profile_name == SANDBOX_NAME

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        starting = asyncio.ensure_future(w.start())
        w.choose_task("upscale")
        form = w.form
        form.set_payload({**form.payload(), "video_url": str(media.clip)})
        w.set_mock(True)
        await until(form.is_submittable, what="a filled form")
        # drawn and filled in, but nothing can be sent yet: Render says why
        assert not w.render_btn.isEnabled()
        assert w.render_btn.text() == "Starting the sandbox…"
        assert "Starting the sandbox" in w.render_btn.toolTip()
        assert w.render() is None
        assert not studio.connected
        go.set()  # the sandbox answers
        await asyncio.wait_for(starting, 60)
        await until(lambda: w.render_btn.isEnabled(), timeout=30, what="Render on")
        assert studio.connected and studio.server is not None
        assert w.render_btn.text() == "Render mock (free)"
        task = w.render()
        assert task is not None
        await task
        await until(lambda: w.queue_model.rowCount() == 1 and
                    w.queue_model.job_at(0).status == "succeeded", timeout=30,
                    what="the take")
        w.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 120))
    finally:
        go.set()
        aloop.run_until_complete(studio.close())


def test_a_connection_that_cannot_be_made_is_said_and_loses_nothing(tmp_path):
    """A real profile without a key: the studio opens all the same, says why it cannot
    connect, and the take asked of it is refused without being lost or sent."""
    from app.client.deferred import NotConnected
    from app.client.profiles import Profile, Profiles

    profiles = Profiles(tmp_path / "profiles.json")
    profiles.save(Profile("work", "api", "http://127.0.0.1:9"))
    studio = Studio.begin_profile(tmp_path, "work", work_dir=tmp_path / "work")

    async def scenario() -> None:
        assert await studio.wait_connected() is False
        assert "No API key" in (studio.connection_failure or "")
        assert not studio.client.online
        try:
            await studio.run(studio.client.account())
        except NotConnected as e:
            assert "Could not connect" in str(e)
        else:
            raise AssertionError("the account was read without a connection")
        assert await studio.balance() is None

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(studio.close())


def test_closing_the_window_while_it_starts_ends_the_start_quietly(aloop, qtbot, tmp_path):
    """The user quits at once: start() ends without touching the deleted window, leaves no
    subscription on the manager, and nothing is logged as an error."""
    import logging

    studio = Studio.begin_profile(tmp_path / "data", work_dir=tmp_path / "work")
    manager = studio.manager

    async def scenario(delay: float) -> None:
        w = MainWindow(studio, UiSettings(tmp_path / f"cfg{delay}"))
        w.show()
        controller = w.controller
        starting = asyncio.ensure_future(w.start())
        await asyncio.sleep(delay)
        w.close()  # WA_DeleteOnClose: the C++ window goes
        await asyncio.wait_for(starting, 60)  # neither RuntimeError nor CancelledError
        await asyncio.sleep(0.1)
        assert controller._from_core not in manager._listeners

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        for delay in (0, 0.01, 0.05):
            aloop.run_until_complete(scenario(delay))
    finally:
        logging.getLogger().removeHandler(handler)
        aloop.run_until_complete(studio.close())
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
