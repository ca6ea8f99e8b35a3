"""× N takes on Render, in the real window against the sandbox: the count beside Render, the
button's price for all N, the total confirmed once above the threshold, a real double-click on
Render with × 3 sends three takes (not six) each with its own idempotency key of one intent,
each take new (distinct seeds where the model has a seed, said plainly where it has none), a
total over today's cap turns Render off and says why, and each form keeps its own count."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.client.profiles import SANDBOX
from app.client.settings import UiSettings
from app.ui.window import MainWindow

from .helpers import fast_poll, until

PROMPT = "a heron lands on a post"
LEFT = Qt.MouseButton.LeftButton
SHOTS = Path(os.environ.get("REVIEW_SHOTS_DIR") or Path(tempfile.gettempdir()) / "takes-shots")


def _shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def _open(tmp_path, **profile):  # type: ignore[no-untyped-def]
    from app.client.studio import Studio

    return Studio.open_sandbox(tmp_path / "data", poll=fast_poll(),
                               profile=replace(SANDBOX, **profile), render_seconds=0.3,
                               credits=10_000)


def _set_takes(spin, n: int) -> None:  # type: ignore[no-untyped-def]
    """Typed into the spin box as a user would: click in it, select all, type, Enter."""
    QTest.mouseClick(spin.lineEdit(), LEFT)
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(spin.lineEdit(), str(n))
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert spin.value() == n


async def _settled(studio, count: int) -> list:  # type: ignore[no-untyped-def]
    """The store's takes once `count` of them finished (and a little longer, for strays)."""
    for _ in range(200):
        jobs = await studio.read(studio.store.query)
        if len(jobs) >= count and all(j.finished for j in jobs):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    return await studio.read(studio.store.query)


def test_x3_on_render_is_three_takes_one_decision_even_double_clicked(aloop, qtbot, tmp_path,
                                                                       quick_double_click):
    studio = _open(tmp_path, confirm_above=200)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1300, 860)
        w.show()
        await w.start()
        said: list[str] = []
        w.controller.message.connect(said.append)
        w.choose_task("create")
        form = w.form
        form.set_payload({**form.payload(), "prompt": PROMPT, "duration": 4,
                          "resolution": "480p"})
        await until(form.is_submittable, what="a sendable form")
        spin = w.sweeps.takes_spin
        # beside Render, in its row, × 1 by default: the plain take
        assert spin.value() == 1 and spin.isVisible()
        assert spin.text() == "× 1 take"
        assert spin.parentWidget() is w.render_btn.parentWidget()
        assert spin.geometry().right() < w.render_btn.geometry().left()
        assert abs(spin.geometry().center().y() - w.render_btn.geometry().center().y()) < 12
        await until(lambda: w.render_btn.text() == "Render · 108 cr", what="one take's price")

        _set_takes(spin, 3)
        await until(lambda: w.render_btn.text() == "Render × 3 · 324 cr",
                    what="the price of three")
        assert spin.text() == "× 3 takes"
        assert w.render_btn.isEnabled()
        await asyncio.sleep(0.05)  # laid out again for the longer text
        btn = w.render_btn
        assert btn.width() >= btn.sizeHint().width()  # the price is not cut off
        assert btn.parentWidget().rect().contains(btn.geometry())
        note = w.render_note.text()
        assert note.startswith("3 takes × 108 cr = 324 cr in all.")
        assert "no seed" in note and "every take is new" in note, note
        assert w.grab().save(str(_shots() / "takes-n.png"))
        before = await studio.balance()

        # a real double-click on Render: one intent, one confirmation of the total
        QTest.mouseClick(w.render_btn, LEFT)
        QTest.mouseDClick(w.render_btn, LEFT)
        QTest.mouseRelease(w.render_btn, LEFT)
        await until(lambda: w.sweeps.confirm_dialog is not None, what="the one confirmation")
        box = w.sweeps.confirm_dialog
        assert box.render_button.text() == "Render 3 takes for 324 credits"
        assert "200 credits" in box.details.text()
        assert not w.render_btn.isEnabled()
        assert w.render_btn.text() == "Waiting for your confirmation…"
        assert not spin.isEnabled()  # the count cannot change under the decision
        assert await studio.read(studio.store.query) == []  # nothing sent while it asks
        QTest.mouseClick(box.render_button, LEFT)
        QTest.mouseClick(w.render_btn, LEFT)  # a late press while they are sent: nothing
        await until(lambda: not w.controller.intents.busy("render"), timeout=15,
                    what="the three sent")
        jobs = await _settled(studio, 3)
        assert len(jobs) == 3, [j.payload.get("out") for j in jobs]  # three, not six
        assert [j.credits_charged for j in jobs] == [108, 108, 108]
        keys = {j.idempotency_key for j in jobs}
        assert len(keys) == 3 and len({k.rsplit("-c", 1)[0] for k in keys}) == 1
        assert len({j.payload.get("out") for j in jobs}) == 3  # each its own file
        assert await studio.balance() == before - 324
        sent = [m for m in said if m.startswith("Render × 3 sent")]
        assert len(sent) == 1 and sent[0].startswith("Render × 3 sent: 3 takes of Create")
        assert "every take is new" in sent[0]
        assert w.queue.isVisible() and all(w.queue_model.job(j.id) is not None for j in jobs)
        # the takes are a sweep of N: their contact sheet is offered from history
        assert all(j.id in w.sweeps.by_job for j in jobs)

        # Render again, × 3 kept: a new intent, three more (each new), one more confirmation
        await until(w.render_btn.isEnabled, what="Render back on")
        assert w.render_btn.text() == "Render × 3 · 324 cr" and spin.isEnabled()
        QTest.mouseClick(w.render_btn, LEFT)
        await until(lambda: w.sweeps.confirm_dialog is not None, what="the next confirmation")
        QTest.mouseClick(w.sweeps.confirm_dialog.cancel_button, LEFT)  # declined: nothing
        await until(lambda: not w.controller.intents.busy("render"), what="declined")
        assert len(await studio.read(studio.store.query)) == 3
        assert "Nothing was charged" in said[-1]
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_takes_of_a_seeded_model_get_distinct_seeds_and_mock_is_free(aloop, qtbot, tmp_path,
                                                                     media):
    studio = _open(tmp_path)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1300, 860)
        w.show()
        await w.start()
        said: list[str] = []
        w.controller.message.connect(said.append)
        w.choose_task("restyle")
        form = w.form
        form.set_payload({**form.payload(), "video_url": str(media.clip),
                          "prompt": "as a watercolour", "resolution": "720p", "seed": 41})
        await until(form.is_submittable, what="a filled form")
        w.set_mock(True)
        spin = w.sweeps.takes_spin
        _set_takes(spin, 3)
        await until(lambda: w.render_btn.text() == "Render × 3 mock (free)",
                    what="three free takes")
        assert w.render_note.text() == ("3 mock takes, free. Each take gets its own seed, so "
                                        "every take is new.")
        QTest.mouseClick(w.render_btn, LEFT)
        await until(lambda: not w.controller.intents.busy("render"), timeout=15,
                    what="sent")
        assert w.sweeps.confirm_dialog is None  # free: nothing to confirm
        jobs = await _settled(studio, 3)
        assert len(jobs) == 3 and all(j.mock and j.credits_estimated == 0 for j in jobs)
        assert sorted(j.payload["seed"] for j in jobs) == [41, 42, 43]  # each take new
        assert any("distinct seeds (seed 41–43)" in m for m in said), said
        assert form.payload()["seed"] == 41  # the form itself is left as it was
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_the_count_is_kept_per_form_and_the_total_meets_the_cap(aloop, qtbot, tmp_path):
    studio = _open(tmp_path, daily_cap=300)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1300, 860)
        w.show()
        await w.start()
        w.choose_task("create")
        form = w.form
        form.set_payload({**form.payload(), "prompt": PROMPT, "duration": 4,
                          "resolution": "480p"})
        await until(form.is_submittable, what="a sendable form")
        await until(lambda: w.controller.spent_today is not None or
                    w.render_btn.text() == "Render · 108 cr", what="the button's price")
        spin = w.sweeps.takes_spin
        _set_takes(spin, 2)  # 216 of today's 300: fits
        await until(lambda: w.render_btn.text() == "Render × 2 · 216 cr",
                    what="two takes' price")
        assert w.render_btn.isEnabled()
        _set_takes(spin, 3)  # 324: over today's cap, Render off and says why
        await until(lambda: not w.render_btn.isEnabled(), what="Render off over the cap")
        assert w.render_btn.text() == "Render × 3 · 324 cr"
        assert "Over today's cap" in w.render_btn.toolTip()
        assert "Over today's cap" in w.render_note.text()
        assert w.render() is None  # Ctrl+Enter's path: refused, nothing sent
        QTest.mouseClick(w.render_btn, LEFT)
        await asyncio.sleep(0.2)
        assert await studio.read(studio.store.query) == []

        # another task's form: its own count (× 1 until set), never this one's 3
        w.choose_task("animate")
        await until(lambda: w.form is not None and w.form is not form, what="Animate")
        assert spin.value() == 1 and spin.isEnabled()
        assert "×" not in w.render_btn.text()
        # back to Create: its × 3 again, still refused with the reason
        w.choose_task("create")
        await until(lambda: w.form is form, what="Create again")
        await until(lambda: spin.value() == 3, what="Create's count back")
        assert w.render_btn.text() == "Render × 3 · 324 cr"
        assert not w.render_btn.isEnabled()
        _set_takes(spin, 1)  # × 1: the plain take, as before
        await until(lambda: w.render_btn.text() == "Render · 108 cr", what="one take")
        assert w.render_btn.isEnabled() and w.render_note.text() == ""
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
