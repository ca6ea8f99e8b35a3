"""The window's controller: one place says whether a request may be sent, and a refused press
sends nothing, stores nothing and leaves the intent gate free."""

from __future__ import annotations

import asyncio

from app.client.settings import UiSettings
from app.client.store import JobRecord
from app.ui.controller import SendRequest
from app.ui.intent import RENDER, RETRY
from app.ui.window import MainWindow

from .helpers import open_studio, until


def test_refusals_send_nothing_and_leave_the_gate_free(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        c = w.controller
        w.choose_task("create")
        form = w.form
        assert form is not None and form.model_id == "seedance_r2v"
        form.set_payload({**form.payload(), "prompt": ""})
        await until(lambda: not form.is_submittable(), what="an unsendable form")
        assert c.refusal(c.request()) == "The form has problems to fix first."
        assert not w.render_btn.isEnabled()
        assert w.render() is None and not c.intents.busy(RENDER)
        assert c.refusal(None) == "Nothing to render here."
        assert c.refusal(SendRequest("Render", "no_such_model", False)) == \
            "Unknown model 'no_such_model'."
        assert c.refusal(SendRequest("Render", "kling_v3_pro_i2v", False)) == \
            "The form for this take is not open."

        stray = JobRecord.new("no_such_model", {"prompt": "x"})
        said: list[str] = []
        c.message.connect(said.append)
        assert c.retry(stray, "Re-run") is None
        assert said == ["Re-run: Unknown model 'no_such_model'."]
        assert not c.intents.busy(RETRY)
        assert w.retry("not-in-the-queue") is None

        w.choose_task("history")
        assert w.form is None and w.render() is None  # Ctrl+Enter on the history page

        w.choose_task("create")
        form.set_payload({**form.payload(), "prompt": "a heron lands on a post",
                          "duration": 4, "resolution": "480p"})
        await until(form.is_submittable, what="a sendable form")
        assert c.refusal(c.request()) is None and w.render_btn.isEnabled()
        assert w.render_btn.text() == "Render · 108 cr"
        w.set_mock(True)
        assert w.render_btn.text() == "Render mock (free)"
        await asyncio.sleep(0.2)
        assert await studio.read(studio.store.query) == []  # nothing was ever sent
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))
