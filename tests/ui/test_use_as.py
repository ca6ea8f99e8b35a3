"""Takes feed the next task, in the real window on the sandbox: an Animate take used as
Upscale's video renders and is recorded as made from it (lineage both ways in History), and
Extend puts the Animate take's last frame into Animate's start image."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import av
from PIL import Image

from app.client.settings import UiSettings
from app.ui.window import MainWindow

from .helpers import open_studio, until


def test_use_as_upscale_records_the_lineage_and_extend_takes_the_last_frame(
        aloop, qtbot, tmp_path, media):
    studio = open_studio(tmp_path / "data", render_seconds=0.2)
    said: list[str] = []

    async def finished(w: MainWindow, n: int) -> object:
        await until(lambda: w.queue_model.rowCount() == n and
                    w.queue_model.job_at(0).result_path, timeout=30, what=f"take {n}")
        return w.queue_model.job_at(0)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 900)
        w.show()
        await w.start()
        w.use_as.said.connect(said.append)
        w.set_mock(True)
        w.choose_task("animate", "pro")
        form = w.form
        form.set_payload({**form.payload(), "start_image_url": str(media.start),
                          "prompt": "a slow pan", "duration": "4"})
        await until(form.is_submittable, what="the Animate form")
        await w.render()
        animate = await finished(w, 1)

        # Use as… → Upscale: the menu a user opens on the take
        w.use_as._fill(w.use_as.menu, animate)
        names = [a.objectName() for a in w.use_as.menu.actions()]
        assert "use:topaz_upscale_video:video_url" in names
        assert "use:wan_27_video_edit:video_url" in names and "extend:kling_v3_std_i2v" in names
        next(a for a in w.use_as.menu.actions()
             if a.objectName() == "use:topaz_upscale_video:video_url").trigger()
        up = w.form
        assert up.model_id == "topaz_upscale_video"
        assert up.payload()["video_url"] == animate.result_path
        await until(up.is_submittable, what="the Upscale form with the take")
        await w.render()
        upscale = await finished(w, 2)
        rec = await studio.read(studio.store.get, upscale.id)
        assert rec.parent_id == animate.id and rec.status == "succeeded"

        # History shows the lineage both ways
        w.choose_task("history")
        details = w.history.details
        for job, words in ((animate, "Used by: "), (upscale, "Made from: ")):
            details.show_job(job)
            w.history.take_selected.emit(job)
            await until(lambda words=words: words in w.use_as.lineage.text(),
                        what=f"lineage {words}")
        assert w.use_as.parent_job.id == animate.id
        details.show_job(animate)
        w.history.take_selected.emit(animate)
        await until(lambda: w.use_as.children and w.use_as.children[0].id == upscale.id)
        shots = Path(os.environ.get("REVIEW_SHOTS_DIR") or tmp_path)  # docs/img: the guide's
        assert w.grab().save(str(shots / "lineage.png"))
        w.use_as._show_linked(f"take:{upscale.id}")  # a click on the link shows that take
        assert details.job.id == upscale.id
        await until(lambda: "Made from: " in w.use_as.lineage.text(), what="its lineage")
        # no take shown any more (the list reloaded, the take went): nothing about one stays
        details.show_job(None)
        assert details.title.text() == "Select a take"
        assert w.use_as.lineage.text() == ""
        assert not w.use_as.button.isEnabled()
        assert not w.labels.rename_btn.isEnabled() and not w.labels.tags_btn.isEnabled()

        # a history tile dragged onto Restyle's drop zone: its file, and its lineage
        from qtinput import drag_and_drop

        row = next(r for r in range(w.history_model.rowCount())
                   if w.history_model.job_at(r).id == animate.id)
        mime = w.history_model.mimeData([w.history_model.index(row)])
        assert [u.toLocalFile() for u in mime.urls()] == [animate.result_path]
        w.choose_task("restyle")
        restyle = w.form
        zone = restyle.editor("video_url").drop_zone
        assert drag_and_drop(zone, mime)[1]
        await until(lambda: restyle.payload().get("video_url") == animate.result_path,
                    what="the dropped take")
        assert w.controller.made_from(restyle.payload()) == animate.id
        w.choose_task("history")

        # Extend: the last frame, as Animate standard's start image
        w.use_as.extend(animate, "kling_v3_std_i2v")
        await until(lambda: said and said[-1] == f"extended {animate.id}", timeout=20,
                    what="the last frame")
        std = w.form
        assert std.model_id == "kling_v3_std_i2v"
        png = std.payload()["start_image_url"]
        with av.open(animate.result_path) as c:
            size = (c.streams.video[0].width, c.streams.video[0].height)
        with Image.open(png) as im:
            assert im.size == size and im.format == "PNG"
        assert w.controller.made_from({"start_image_url": png}) == animate.id

        # rename and tag the take from its details; both are searchable
        w.choose_task("history")
        labelled: list[str] = []
        w.labels.said.connect(labelled.append)
        details.show_job(animate)
        w.history.take_selected.emit(animate)
        box = w.labels.ask("name")
        box.setTextValue("  Hero   shot ")
        box.accept()
        await until(lambda: labelled and labelled[-1] == "Renamed: Hero shot", what="rename")
        assert details.title.text().startswith("Hero shot · Animate")
        box = w.labels.ask("tags")
        box.setTextValue("client, night,, Night")
        box.accept()
        await until(lambda: labelled[-1] == "Tags: client, night", what="tags")
        assert "Tags: client, night" in details.meta.text()
        found = await studio.read(studio.store.query, search="hero")
        assert [j.id for j in found] == [animate.id]
        assert [j.id for j in await studio.read(studio.store.query, search="night")] == \
            [animate.id]
        box = w.labels.ask("name")
        box.setTextValue("bad\x07name")
        box.accept()
        await until(lambda: labelled[-1].startswith("Not changed: "), what="refused")
        assert (await studio.read(studio.store.get, animate.id)).name == "Hero shot"
        w.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 120))
    finally:
        aloop.run_until_complete(studio.close())
