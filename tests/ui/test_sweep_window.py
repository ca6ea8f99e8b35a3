"""A 2×2 sweep in the real window against the sandbox: the grid of estimates and the total, the
total confirmed once above the threshold, a real double-click on the send button sends four
takes (not eight), the contact sheet from history plays them in sync (screenshot under
docs/img/), the sweep is recorded for after a restart, and a mock sweep of N takes is free."""

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
from app.client.sweeps import SweepBook
from app.ui.palette import qcolor
from app.ui.window import MainWindow

from .helpers import fast_poll, until

# the guide's pictures are refreshed with REVIEW_SHOTS_DIR=docs/img; a plain run leaves the
# tree clean
SHOTS = Path(os.environ.get("REVIEW_SHOTS_DIR") or Path(tempfile.gettempdir()) / "takes-shots")


def _shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
PROMPT = "a heron lands on a post"


def _open(tmp_path):
    from app.client.studio import Studio

    profile = replace(SANDBOX, confirm_above=500)
    return Studio.open_sandbox(tmp_path / "data", poll=fast_poll(), profile=profile,
                               render_seconds=0.3, credits=10_000)


def _cells(dialog) -> list[str]:
    g = dialog.grid
    return [g.item(r, c).text() for r in range(g.rowCount()) for c in range(g.columnCount())]


def test_a_2x2_sweep_renders_four_takes_and_shows_the_contact_sheet(aloop, qtbot, tmp_path,
                                                                    quick_double_click):
    studio = _open(tmp_path)

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
        sweeps = w.sweeps
        assert w.toolbar.findChild(type(sweeps.sweep_btn), "sweepButton") is sweeps.sweep_btn

        QTest.mouseClick(sweeps.sweep_btn, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.dialog is not None, what="the sweep dialog")
        d = sweeps.dialog
        assert not d.send_button.isEnabled()  # nothing varied, one take: nothing to send
        # an invalid combination is marked with its reason, and left out of the total
        prompts = d.pick(0, "prompt")
        prompts.text.setPlainText(f"{PROMPT}\n@Image3 takes off")
        d.pick(1, "resolution")
        texts = _cells(d)
        assert texts[0] == "108 cr" and texts[1].startswith("invalid: ") and "Image" in texts[1]
        bad = d.grid.item(1, 0)
        assert bad.foreground().color() == qcolor("error") and "prompt" in bad.toolTip()
        assert "1 invalid" in d.total.text() and d.send_button.text() == \
            "Render 1 take for 108 credits"
        _shots()
        res_editor = d.editors[1]
        QTest.mouseClick({v: b for b, v in res_editor.boxes}["720p"],
                         Qt.MouseButton.LeftButton)
        assert d.grid.rowCount() == 2 and d.grid.columnCount() == 2
        await asyncio.sleep(0.05)  # the values editors shown
        assert d.editors[0].isVisible() and d.editors[1].isVisible()
        assert d.grab().save(str(SHOTS / "sweep-dialog.png"))
        d.pick(1, None)
        res = d.pick(0, "resolution")
        boxes = {v: b for b, v in res.boxes}
        assert boxes["480p"].isChecked() and not boxes["720p"].isChecked()  # the form's value
        QTest.mouseClick(boxes["720p"], Qt.MouseButton.LeftButton)
        dur = d.pick(1, "duration")
        dur.set_range(4, 5, 1)
        assert d.grid.rowCount() == 2 and d.grid.columnCount() == 2
        assert _cells(d) == ["108 cr", "135 cr", "242 cr", "303 cr"]
        assert "788 credits" in d.total.text() and "no seed: every take is new" in \
            d.seeds.text()
        assert d.send_button.text() == "Render 4 takes for 788 credits"
        before = await studio.balance()

        # a real double-click on the send button: one intent, one confirmation of the total
        QTest.mouseClick(d.send_button, Qt.MouseButton.LeftButton)
        QTest.mouseDClick(d.send_button, Qt.MouseButton.LeftButton)
        QTest.mouseRelease(d.send_button, Qt.MouseButton.LeftButton)
        await until(lambda: getattr(sweeps, "confirm_dialog", None) is not None,
                    what="the one confirmation of the total")
        box = sweeps.confirm_dialog
        assert box.render_button.text() == "Render 4 takes for 788 credits"
        assert "500 credits" in box.details.text()
        assert await studio.read(studio.store.query) == []  # nothing sent while it asks
        QTest.mouseClick(box.render_button, Qt.MouseButton.LeftButton)
        QTest.mouseClick(d.send_button, Qt.MouseButton.LeftButton)  # a late second press

        async def all_done() -> bool:
            jobs = await studio.read(studio.store.query)
            return len(jobs) >= 4 and all(j.status == "succeeded" and j.result_path
                                          for j in jobs)

        for _ in range(200):
            if await all_done():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        jobs = await studio.read(studio.store.query)
        assert len(jobs) == 4, [j.payload.get("out") for j in jobs]  # four, not eight
        assert sorted(j.credits_charged for j in jobs) == [108, 135, 242, 303]
        assert len({j.idempotency_key for j in jobs}) == 4
        keys = sorted(j.idempotency_key for j in jobs)
        assert len({k.rsplit("-c", 1)[0] for k in keys}) == 1  # one intent's keys
        await until(lambda: sweeps.last is not None and not d.sending, what="sweep recorded")
        assert await studio.balance() == before - 788
        assert "Sweep sent: 4 takes" in d.note.text()
        assert not d.send_button.isEnabled() and d.send_button.text().startswith("Sent")
        QTest.mouseClick(d.send_button, Qt.MouseButton.LeftButton)  # pressed again, later
        assert sweeps.send() is None
        await asyncio.sleep(0.2)
        assert len(await studio.read(studio.store.query)) == 4
        rec = sweeps.last
        assert sorted(rec.job_ids) == sorted(j.id for j in jobs)
        saved = await studio.read(SweepBook(studio.data_dir).get, rec.id)
        assert saved is not None and saved.fields == ["resolution", "duration"]
        d.reject()

        # history: a take of the sweep offers its contact sheet
        w.choose_task("history")
        await until(lambda: w.history_model.rowCount() == 4, what="history rows")
        w.history.select(jobs[0].id)
        await until(lambda: sweeps.sheet_btn.isVisibleTo(w.history), what="Contact sheet")
        QTest.mouseClick(sweeps.sheet_btn, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.sheet is not None and sweeps.sheet.players, timeout=15,
                    what="the sheet's players")
        sheet = sweeps.sheet
        labels = sorted(c.label.text() for c in sheet.cells)
        assert labels == ["resolution 480p, duration 4", "resolution 480p, duration 5",
                          "resolution 720p, duration 4", "resolution 720p, duration 5"]
        assert len(sheet.players) == 4
        QTest.mouseClick(sheet.play_btn, Qt.MouseButton.LeftButton)
        assert sheet.play_btn.text() == "Pause all"
        await until(lambda: all(c.frames > 0 for c in sheet.cells), timeout=15,
                    what="every cell playing")
        positions = [p.position() for p in sheet.players]
        assert max(positions) - min(positions) < 800, positions  # in step
        _shots()
        assert sheet.grab().save(str(SHOTS / "contact-sheet.png"))
        QTest.mouseClick(sheet.play_btn, Qt.MouseButton.LeftButton)
        assert sheet.play_btn.text() == "Play all"
        await asyncio.sleep(0.2)
        assert all(p.playbackState() != p.PlaybackState.PlayingState for p in sheet.players)
        sheet.reject()

        # mock: N takes of the form, free, no confirmation
        w.choose_task("create")
        w.set_mock(True)
        sweeps.takes_spin.setValue(6)  # more than the sandbox's 4 at once: some wait
        QTest.mouseClick(sweeps.sweep_btn, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.dialog is not None, what="the sweep dialog again")
        d = sweeps.dialog
        assert d.takes.value() == 6 and d.send_button.text() == "Render 6 mock takes (free)"
        assert _cells(d) == ["mock (free)"] * 6
        QTest.mouseClick(d.send_button, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.last is not rec and sweeps.last is not None
                    and not d.sending, timeout=15, what="the mock sweep")
        assert sweeps.confirm_dialog is None  # free: nothing to confirm
        mock_rec = sweeps.last
        # the takes that waited in the local queue are in the record once it sent them
        await until(lambda: len(mock_rec.job_ids) == 6, timeout=20, what="six sent")
        mocks = [j for j in await studio.read(studio.store.query) if j.mock]
        assert len(mocks) == 6 and all(j.credits_estimated == 0 for j in mocks)
        assert sorted(j.id for j in mocks) == sorted(mock_rec.job_ids)
        d.reject()
        assert await studio.balance() == before - 788
        for _ in range(100):  # the mock takes finish before the window closes
            if all(j.finished for j in await studio.read(studio.store.query)):
                break
            await asyncio.sleep(0.1)
        w.close()
        await studio.close()

        # after a restart: history knows the sweep's takes (its contact sheet is offered)
        again = _open(tmp_path)
        w2 = MainWindow(again, UiSettings(tmp_path / "cfg"))
        w2.show()
        await w2.start()
        await until(lambda: jobs[0].id in w2.sweeps.by_job, what="the sweeps read again")
        assert w2.sweeps.by_job[jobs[0].id].id == rec.id
        assert sorted(w2.sweeps.by_job[mocks[0].id].job_ids) == sorted(mock_rec.job_ids)
        w2.close()
        await again.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_cells_the_cap_refuses_while_sending_wait_held_in_the_queue(aloop, qtbot, tmp_path):
    """The total fits today's cap when it is decided; a take rendered while the confirmation
    is open spends some of it; the cells that no longer fit stay unsent, held in the local
    queue with the reason, and the sweep record and its contact sheet say so."""
    from app.client.studio import Studio

    profile = replace(SANDBOX, confirm_above=200, daily_cap=300)
    studio = Studio.open_sandbox(tmp_path / "data", poll=fast_poll(), profile=profile,
                                 render_seconds=0.3, credits=10_000)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.choose_task("create")
        form = w.form
        form.set_payload({**form.payload(), "prompt": PROMPT, "duration": 4,
                          "resolution": "480p"})
        await until(form.is_submittable, what="a sendable form")
        sweeps = w.sweeps
        sweeps.takes_spin.setValue(1)
        d = sweeps.open()
        d.pick(0, "duration").set_range(4, 5, 1)
        assert _cells(d) == ["108 cr", "135 cr"] and "243 credits" in d.total.text()
        QTest.mouseClick(d.send_button, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.confirm_dialog is not None, what="the total's confirmation")
        # meanwhile a take of the form is rendered: 108 of today's 300 reserved
        task = w.render()
        assert task is not None
        await task
        QTest.mouseClick(sweeps.confirm_dialog.render_button, Qt.MouseButton.LeftButton)
        await until(lambda: sweeps.last is not None and not d.sending, timeout=15,
                    what="the sweep sent as far as the cap allows")
        rec = sweeps.last
        sent, held = rec.cells
        assert sent.job_id and not sent.held
        assert held.job_id is None and "today's cap" in held.held, held
        assert "1 held unsent" in d.note.text()
        jobs = await studio.read(studio.store.query)
        assert len(jobs) == 2  # the form's take and the one cell that fitted
        queue = w.local_queue.queue
        got: list[object] = []

        async def read_waiting() -> None:
            got[:] = [await studio.read(queue.get, held.key)]

        async def held_in_queue() -> bool:  # the queue marks it held on its own loop turn
            await read_waiting()
            w_ = got[0]
            return bool(w_ is not None and w_.held and "cap" in (w_.error_message or ""))

        deadline = asyncio.get_running_loop().time() + 10
        while not await held_in_queue():
            assert asyncio.get_running_loop().time() < deadline, f"not held: {got[0]}"
            await asyncio.sleep(0.05)
        d.reject()
        sheet = sweeps.open_sheet(rec)
        await until(lambda: sheet.cells[0].job is not None, what="the sheet's takes read")
        assert sheet.cells[1].picture.text() == "Held, unsent"
        assert "today's cap" in sheet.cells[1].status.text()
        sheet.reject()
        await studio.read(queue.cancel, held.key)  # nothing left waiting when the test ends
        for _ in range(100):
            if all(j.finished for j in await studio.read(studio.store.query)):
                break
            await asyncio.sleep(0.1)
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
