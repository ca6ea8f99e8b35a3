"""End to end: the built-in sandbox serves an extra model from a real published schema file;
the window lists it under "More models", its form is filled with real input, the unknown
price is confirmed first, the render completes and the take lands in history."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.catalog.importer import import_schema, load_schema_file
from app.client.models import CURATED, ModelSet, cache_path
from app.client.settings import UiSettings
from app.sandbox.extra import CREDITS_PER_SECOND
from app.ui.more_models import MoreModels, install
from app.ui.nav import KeyRole, more_key
from app.ui.window import MainWindow

from .helpers import drop_files, open_studio, until

SCHEMAS = Path(__file__).resolve().parents[1] / "catalog" / "schemas"
KLING_FILE = "fal-kling-video-v3-pro-image-to-video.json"
KLING = "fal-ai/kling-video/v3/pro/image-to-video"
PROMPT = "a slow pan over the harbour"


def _models_dir(tmp_path: Path) -> Path:
    d = tmp_path / "schemas"
    d.mkdir()
    shutil.copy(SCHEMAS / KLING_FILE, d / KLING_FILE)
    return d


def _click_row(w: MainWindow, key: str) -> None:
    item = w.nav.item_for(key)
    assert item is not None, key
    w.nav.scrollToItem(item)
    rect = w.nav.visualItemRect(item)
    QTest.mouseClick(w.nav.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0),
                     rect.center())


def test_an_extra_model_is_listed_rendered_and_lands_in_history(aloop, qtbot, tmp_path,
                                                                media, quick_double_click):
    data = tmp_path / "data"
    studio = open_studio(data, render_seconds=1.0, models_dir=_models_dir(tmp_path))

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 900)
        w.show()
        await w.start()
        more = install(w)
        assert install(w) is more  # idempotent
        assert await more.refresh() == [KLING]
        assert w.findChildren(MoreModels) == [more]
        # the section sits between the tasks and History, its header not choosable
        keys = [w.nav.item(i).data(KeyRole) for i in range(w.nav.count())]
        assert keys.index(more_key(KLING)) < keys.index("history")
        head = next(w.nav.item(i) for i in range(w.nav.count())
                    if w.nav.item(i).text() == "More models")
        assert not head.flags() & Qt.ItemFlag.ItemIsSelectable
        # the listing was cached for this profile (read at the next connect)
        cached = json.loads(cache_path(data, studio.profile_name).read_text())
        assert KLING in [m["id"] for m in cached["models"]]

        # choose it with a real click: its form, from its schema
        _click_row(w, more_key(KLING))
        await until(lambda: w.form is not None and w.form.model_id == KLING,
                    what="the imported model's form")
        form = w.form
        assert not w.tier.isVisible()
        assert w.model_label.text() == KLING
        assert w.task_title.text() == "Kling Video v3 Image to Video [Pro]"
        assert list(form.fields)[:3] == ["prompt", "multi_prompt", "start_image_url"]
        assert not w.render_btn.isEnabled()  # the start image is required

        # real input: a dropped start image, a typed prompt
        assert drop_files(form.editor("start_image_url").drop_zone, media.start)
        prompt = form.editor("prompt").edit
        prompt.setFocus()
        QTest.keyClicks(prompt, PROMPT)
        await until(form.is_submittable, what="a submittable form")
        assert form.estimate_label.text() == "price unknown"
        await until(w.render_btn.isEnabled, what="Render on")
        assert w.render_btn.text() == "Render · price unknown"
        before = await studio.balance()

        # the sandbox asks no confirmation for known prices, but an unknown one is asked
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the confirm dialog")
        dialog = w.confirm_dialog
        assert dialog.render_button.text() == "Render at an unknown price"
        assert "unknown until the provider charges" in dialog.breakdown.text()
        assert dialog.cancel_button.isDefault()
        QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # nothing sent
        await until(lambda: w.confirm_dialog is None and w.render_btn.isEnabled(),
                    what="the dialog closed")
        assert await studio.read(studio.store.count) == 0
        assert await studio.balance() == before

        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the confirm dialog again")
        QTest.mouseClick(w.confirm_dialog.render_button, Qt.MouseButton.LeftButton)
        await until(lambda: w.queue_model.rowCount() == 1 and
                    w.queue_model.job_at(0).status == "succeeded" and
                    w.queue_model.job_at(0).result_path, timeout=30,
                    what="the take to finish")
        job = w.queue_model.job_at(0)
        assert job.model_id == KLING and not job.mock
        assert job.credits_charged == 5 * CREDITS_PER_SECOND  # the default "5" s, charged
        assert Path(job.result_path).stat().st_size > 1000  # noqa: ASYNC240
        assert await studio.balance() == before - 5 * CREDITS_PER_SECOND
        assert await studio.read(studio.store.count) == 1  # one confirmed press, one take

        # History lists it; its details are the form's values
        _click_row(w, "history")
        await until(lambda: w.center.currentWidget() is w.history, what="the history page")
        await until(lambda: w.history_model.rowCount() == 1 and not w.history_model.loading,
                    what="the take in history")
        assert w.history.select(job.id)
        params = w.history.details.param_dict()
        assert params["prompt"] == PROMPT
        assert params["start_image_url"] == str(media.start)
        await until(lambda: w.preview.result_path == job.result_path, what="the preview")

        # Re-run from history: the same unknown price is asked again (declined: nothing sent)
        QTest.mouseClick(w.history.details.rerun_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the re-run's confirm dialog")
        assert w.confirm_dialog.render_button.text() == "Render at an unknown price"
        QTest.mouseClick(w.confirm_dialog.cancel_button, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is None, what="the dialog closed")
        assert await studio.read(studio.store.count) == 1

        # Open in form: back under "More models", the take's values in its form
        form.editor("prompt").edit.clear()
        box = w.ask_open_in_form(job)
        QTest.mouseClick(box.button(box.StandardButton.Yes), Qt.MouseButton.LeftButton)
        await until(lambda: w.form is form, what="the form again")
        assert w.nav.current_key() == more_key(KLING)
        assert form.payload()["prompt"] == PROMPT
        assert form.payload()["start_image_url"] == str(media.start)
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_without_extra_models_there_is_no_section_and_a_list_replaces_the_last(
        aloop, qtbot, tmp_path):
    data = tmp_path / "data"
    studio = open_studio(data, render_seconds=1.0)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        more = install(w)
        assert await more.refresh() == []
        count = w.nav.count()
        assert all(w.nav.item(i).text() != "More models" for i in range(count))
        # a list with one model: the section appears; shown twice, it is not doubled
        kling = import_schema(load_schema_file(str(SCHEMAS / KLING_FILE)))
        await studio.read(setattr, studio.manager, "models", ModelSet.of([kling]))
        for _ in range(2):
            more.show(studio.models)
            assert w.nav.more_models() == [KLING] and w.nav.count() == count + 3
        _click_row(w, more_key(KLING))
        await until(lambda: w.form is not None and w.form.model_id == KLING, what="its form")
        assert w.nav.current_key() == more_key(KLING)
        # the server no longer lists it: the section goes, the window shows History
        await studio.read(setattr, studio.manager, "models", CURATED)
        more.show(studio.models)
        assert w.nav.count() == count and w.nav.more_models() == []
        assert w.nav.current_key() == "history" and w.center.currentWidget() is w.history
        # a listed entry that cannot be used is said in the status bar
        more.show(ModelSet.of([], ["broken: the input schema has no properties"]))
        assert w.status.text() == ("More models: 1 listed model left out (broken: the input "
                                   "schema has no properties).")
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_installed_when_the_window_is_made_the_list_is_read_once_the_loop_runs(
        aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=1.0,
                         models_dir=_models_dir(tmp_path))
    reads: list[int] = []

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        more = install(w)  # as MainWindow.__init__ would: nothing read yet
        more.changed.connect(lambda ids: reads.append(len(ids)))
        assert w.nav.more_models() == []
        w.show()
        await w.start()
        await until(lambda: w.nav.more_models() == [KLING], what="the list read")
        assert install(w) is more and reads == [1]
        assert w.studio.models.knows(KLING)
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_with_todays_cap_reached_render_is_off_for_an_unknown_price(aloop, qtbot, tmp_path,
                                                                     media):
    from dataclasses import replace

    from app.client.profiles import SANDBOX
    from app.client.studio import Studio

    from .helpers import fast_poll

    studio = Studio.open_sandbox(tmp_path / "data", poll=fast_poll(),
                                 profile=replace(SANDBOX, daily_cap=100), render_seconds=0.3,
                                 models_dir=_models_dir(tmp_path))

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        await install(w).refresh()
        _click_row(w, more_key(KLING))
        await until(lambda: w.form is not None and w.form.model_id == KLING, what="its form")
        form = w.form
        assert drop_files(form.editor("start_image_url").drop_zone, media.start)
        await until(form.is_submittable, what="a submittable form")
        await until(w.render_btn.isEnabled, what="Render on below the cap")
        w.controller.spent_today = 100  # today's takes reached the cap
        w.controller.update_state()
        assert not w.render_btn.isEnabled()
        assert "none are left" in w.render_btn.toolTip()
        assert "unknown until the provider charges" in w.render_note.text()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
