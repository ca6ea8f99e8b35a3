"""The guard-rails in the window, against the real sandbox: a render above the threshold waits
for the confirm dialog (a double-click asks once, Cancel sends nothing), one the balance or
today's cap cannot cover is refused before the click and the Render button says why, a mock
render stays free, and Re-run passes the same gate."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.client.profiles import SANDBOX
from app.client.settings import UiSettings
from app.ui import confirm
from app.ui.window import MainWindow

from .helpers import fast_poll, until

PROMPT = "a heron lands on a post"


def _open(tmp_path, **limits):
    from dataclasses import replace

    from app.client.studio import Studio

    credits = limits.pop("credits", 10_000)
    profile = replace(SANDBOX, **limits)
    return Studio.open_sandbox(tmp_path / "data", poll=fast_poll(), profile=profile,
                               render_seconds=0.3, credits=credits)


async def _window(studio, tmp_path) -> MainWindow:
    w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
    w.show()
    await w.start()
    w.choose_task("create")
    form = w.form
    form.set_payload({**form.payload(), "prompt": PROMPT, "duration": 4, "resolution": "480p"})
    await until(form.is_submittable, what="a sendable form")
    return w


async def _stored(studio) -> list:
    return await studio.read(studio.store.query)


def test_above_the_threshold_the_price_is_confirmed_first(aloop, qtbot, tmp_path,
                                                        quick_double_click, monkeypatch):
    studio = _open(tmp_path, confirm_above=100)

    async def scenario() -> None:
        w = await _window(studio, tmp_path)
        before = await studio.balance()
        assert w.render_btn.isEnabled() and w.render_btn.text() == "Render · 108 cr"
        asked: list[object] = []
        real_ask = confirm.ask
        monkeypatch.setattr(confirm, "ask", lambda *a: asked.append(a[1]) or real_ask(*a))

        # a double-click on Render: one question, nothing sent while it is open
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)  # a real double-click:
        QTest.mouseDClick(w.render_btn, Qt.MouseButton.LeftButton)  # press, release, press,
        QTest.mouseRelease(w.render_btn, Qt.MouseButton.LeftButton)  # release
        await until(lambda: w.confirm_dialog is not None, what="the confirm dialog")
        dialog = w.confirm_dialog
        assert "108 credits" in dialog.render_button.text()
        assert "4 s" in dialog.breakdown.text() or "480p" in dialog.breakdown.text()
        assert "100 credits" in dialog.details.text()
        assert dialog.cancel_button.isDefault()
        assert not w.render_btn.isEnabled()
        assert w.render_btn.text() == "Waiting for your confirmation…"
        await asyncio.sleep(0.3)
        assert await _stored(studio) == []
        assert len(asked) == 1  # the second press found the first intent still waiting

        # Cancel: nothing sent, nothing charged, the form keeps what was typed
        QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is None and w.render_btn.isEnabled(),
                    what="the button back")
        assert await _stored(studio) == []
        assert await studio.balance() == before
        assert w.form.payload()["prompt"] == PROMPT
        assert "not confirmed" in w.status.text()

        # again, and yes: exactly one take, charged once
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the confirm dialog again")
        QTest.mouseClick(w.confirm_dialog.render_button, Qt.MouseButton.LeftButton)
        await until(lambda: w.queue_model.rowCount() == 1
                    and w.queue_model.job_at(0).status == "succeeded", timeout=20,
                    what="the take to finish")
        jobs = await _stored(studio)
        assert len(jobs) == 1 and jobs[0].credits_charged == 108
        await until(lambda: w.balance_label.text() == f"Credits: {before - 108:,}",
                    what="the balance read again after the charge")

        # Re-run from the history goes through the same confirm step
        task = w.controller.retry(jobs[0], "Re-run")
        assert task is not None
        await until(lambda: w.confirm_dialog is not None, what="the re-run's confirm dialog")
        QTest.keyClick(w.confirm_dialog, Qt.Key.Key_Escape)
        await task
        assert len(await _stored(studio)) == 1  # declined: nothing sent
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_a_render_the_balance_cannot_cover_is_refused_before_the_click(aloop, qtbot, tmp_path):
    studio = _open(tmp_path, credits=50)

    async def scenario() -> None:
        w = await _window(studio, tmp_path)
        await until(lambda: w.controller.balance == 50, what="the balance")
        await until(lambda: not w.render_btn.isEnabled(), what="Render off")
        why = w.render_btn.toolTip()
        assert why.startswith("Not enough credits") and "108" in why and "50" in why, why
        assert w.render_note.text() == why
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        assert w.render() is None
        await asyncio.sleep(0.2)
        assert await _stored(studio) == []

        # a mock render is free: allowed, sent, charged nothing
        w.set_mock(True)
        assert w.render_btn.isEnabled() and w.render_btn.text() == "Render mock (free)"
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.queue_model.rowCount() == 1, what="the mock take")
        assert await studio.balance() == 50
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_todays_cap_turns_render_off_with_the_reason(aloop, qtbot, tmp_path):
    studio = _open(tmp_path, daily_cap=150)

    async def scenario() -> None:
        w = await _window(studio, tmp_path)
        await until(lambda: w.controller.spent_today == 0, what="today's spend")
        assert w.render_btn.isEnabled()
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.queue_model.rowCount() == 1
                    and w.queue_model.job_at(0).status == "succeeded", timeout=20,
                    what="the first take")
        await until(lambda: w.controller.spent_today == 108, what="today's spend read again")
        await until(lambda: not w.render_btn.isEnabled(), what="Render off")
        why = w.render_btn.toolTip()
        assert why.startswith("Over today's cap") and "150" in why and "42" in why, why
        assert "108 of the 150" in w.balance_label.toolTip()
        # the manager's gate refuses it too, should anything get past the button
        from app.client.guard import Refused

        payload = w.form.payload()
        try:
            await studio.run(studio.manager.submit("seedance_r2v", payload))
        except Refused as e:
            assert e.code == "daily_cap_reached"
        else:
            raise AssertionError("the cap let a take through")
        assert len(await _stored(studio)) == 1
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_promote_to_paid_shows_the_price_then_renders_the_mock_take_for_real(
        aloop, qtbot, tmp_path, quick_double_click):
    studio = _open(tmp_path)  # the sandbox's defaults: no threshold, still asked

    async def scenario() -> None:
        w = await _window(studio, tmp_path)
        w.set_mock(True)
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.queue_model.rowCount() == 1
                    and w.queue_model.job_at(0).status == "succeeded", timeout=20,
                    what="the mock take")
        mock = w.queue_model.job_at(0)
        before = await studio.balance()
        # the history's "Render for real…" on the mock take; declined: nothing sent
        w.choose_task("history")
        await until(lambda: w.history_model.rowCount() == 1, what="the take in history")
        assert w.history.select(mock.id)
        button = w.history.details.promote_btn
        assert button.isVisible() and button.isEnabled()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the price")
        assert "108 credits" in w.confirm_dialog.render_button.text()
        assert w.confirm_dialog.windowTitle() == "Render this take for real"
        QTest.mouseClick(w.confirm_dialog.cancel_button, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is None, what="the dialog closed")
        await asyncio.sleep(0.2)
        assert len(await _stored(studio)) == 1
        # confirmed: one paid take, a child of the mock one, charged
        task = w.controller.promote(mock)
        await until(lambda: w.confirm_dialog is not None, what="the price again")
        QTest.mouseClick(w.confirm_dialog.render_button, Qt.MouseButton.LeftButton)
        await task
        paid = [j for j in await _stored(studio) if j.id != mock.id]
        assert len(paid) == 1 and paid[0].parent_id == mock.id
        assert paid[0].payload.get("mock") is not True
        await until(lambda: w.queue_model.job(paid[0].id) is not None
                    and w.queue_model.job(paid[0].id).status == "succeeded", timeout=20,
                    what="the paid take")
        assert await studio.balance() == before - 108
        assert w.controller.promote(paid[0]) is None  # a paid take has nothing to promote
        await until(lambda: w.history.select(paid[0].id), what="the paid take in history")
        assert not w.history.details.promote_btn.isVisible()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_the_naming_pattern_of_preferences_names_each_take(aloop, qtbot, tmp_path,
                                                          quick_double_click):
    studio = _open(tmp_path)
    settings = UiSettings(tmp_path / "cfg")
    settings.set("out_pattern", "{task}/{model}-{n}.mp4")

    async def scenario() -> None:
        w = MainWindow(studio, settings)
        w.show()
        await w.start()
        w.choose_task("create")
        form = w.form
        assert form.payload()["out"] == "create/seedance_r2v-1.mp4"
        form.set_payload({**form.payload(), "prompt": PROMPT, "duration": 4,
                          "resolution": "480p"})
        await until(form.is_submittable, what="a sendable form")
        await w.render()
        await until(lambda: form.payload()["out"] == "create/seedance_r2v-2.mp4",
                    what="the next take's own name")
        await until(lambda: w.queue_model.rowCount() == 1
                    and w.queue_model.job_at(0).result_path, timeout=20, what="the file")
        assert w.queue_model.job_at(0).result_path.endswith("create/seedance_r2v-1.mp4")
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
