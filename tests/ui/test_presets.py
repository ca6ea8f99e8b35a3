"""Presets (a form kept under a name) and recent prompts, in the real window on the sandbox."""

from __future__ import annotations

import asyncio
import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.ui.window import MainWindow

from .helpers import open_studio, until


def test_presets_and_recent_prompts(aloop, qtbot, tmp_path, media):
    data = tmp_path / "data"
    studio = open_studio(data, render_seconds=0.2)
    said: list[str] = []

    async def window() -> MainWindow:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.presets.said.connect(said.append)
        await until(lambda: w.presets.loaded, what="presets read")
        return w

    async def scenario() -> None:
        w = await window()
        w.choose_task("restyle")
        form = w.form
        form.set_payload({**form.payload(), "video_url": str(media.clip),
                          "prompt": "as a watercolour", "resolution": "720p"})
        await until(form.is_submittable, what="a filled form")
        # save it under a name through the dialog a user sees
        box = w.presets.ask_save()
        assert box is not None and box.isVisible()
        box.setTextValue("  Soft   paint ")
        box.accept()
        await until(lambda: said and said[-1].startswith("Saved"), what="the save")
        assert said[-1] == "Saved preset 'Soft paint' for wan_27_video_edit."
        stored = json.loads((data / "presets.json").read_text())["presets"]
        assert [p["name"] for p in stored] == ["Soft paint"]
        assert stored[0]["payload"]["video_url"] == str(media.clip)  # references kept
        assert "out" not in stored[0]["payload"]
        # a name that cannot be kept: said, nothing written
        w.presets.save("\x07", form.model_id, form.payload())
        await until(lambda: said[-1].startswith("The preset was not saved"))
        assert "control characters" in said[-1] or "needs a name" in said[-1]

        # elsewhere, then applied from the Presets menu
        form.set_payload({**form.payload(), "prompt": "as charcoal", "resolution": "1080p"})
        w.presets._fill_menu()
        act = next(a for a in w.presets.menu.actions() if a.text() == "Soft paint")
        act.trigger()
        assert form.payload()["prompt"] == "as a watercolour"
        assert form.payload()["resolution"] == "720p"

        # the manager renames and deletes
        mgr = w.presets.open_manager()
        assert mgr.list.count() == 1
        rename = mgr.ask_rename()
        rename.setTextValue("Watercolour")
        rename.accept()
        await until(lambda: said[-1].startswith("Renamed"), what="the rename")
        assert mgr.list.item(0).text() == "Watercolour — wan_27_video_edit"

        # a take sent: its prompt joins the model's recent prompts, offered as it is typed
        w.set_mock(True)
        await w.render()
        edit = form.editor("prompt").edit
        await until(lambda: edit.recent_model.stringList() == ["as a watercolour"],
                    what="the recent prompt")
        edit.setFocus()
        edit.clear()
        QTest.keyClicks(edit, "as a")
        popup = edit.recent.popup()
        await until(popup.isVisible, what="the recent prompts' popup")
        QTest.keyClick(popup, Qt.Key.Key_Return)
        assert edit.toPlainText() == "as a watercolour"
        await until(lambda: (data / "prompts.json").exists(), what="prompts kept")
        assert json.loads((data / "prompts.json").read_text()) == {
            "wan_27_video_edit": ["as a watercolour"]}
        w.close()

        # after a restart both are read back
        w2 = await window()
        assert [p.name for p in w2.presets.presets] == ["Watercolour"]
        w2.choose_task("restyle")
        await until(lambda: w2.form.editor("prompt").edit.recent_model.stringList() ==
                    ["as a watercolour"], what="recent prompts after a restart")
        mgr2 = w2.presets.open_manager()
        mgr2.delete_selected()
        await until(lambda: said[-1].startswith("Deleted"), what="the delete")
        assert json.loads((data / "presets.json").read_text()) == {"presets": []}
        w2.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 120))
    finally:
        aloop.run_until_complete(studio.close())


def test_recent_prompts_follow_a_switch_to_a_form_built_after_they_were_read(aloop, qtbot,
                                                                            tmp_path):
    """Read while another form is shown, the recent prompts reach a form first shown later
    (the stack's switch is seen before the window's `form` names the new model)."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    (data / "prompts.json").write_text(json.dumps({
        "wan_27_video_edit": ["as a watercolour"], "seedance_r2v": ["a red kite"]}))
    studio = open_studio(data, render_seconds=0.2)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.choose_task("create")
        await until(lambda: w.presets.loaded, what="recent prompts read")
        assert w.form.editor("prompt").edit.recent_model.stringList() == ["a red kite"]
        w.choose_task("restyle")  # built now, after the read
        assert w.form.model_id == "wan_27_video_edit"
        assert w.form.editor("prompt").edit.recent_model.stringList() == ["as a watercolour"]
        w.choose_task("create")
        assert w.form.editor("prompt").edit.recent_model.stringList() == ["a red kite"]
        w.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        aloop.run_until_complete(studio.close())
