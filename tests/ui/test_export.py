"""A take exported with its parameters, and the file dropped on the window to get them back.

Real window, real sandbox (a mock render), real files: the exported MP4's container tags and
its sidecar are read back with PyAV/json, and each file is dropped through Qt's drag-and-drop
events on the window; hostile drops (a FIFO named .mp4, a truncated video, a video without
tags, a deeply nested sidecar) are each said in one sentence and change nothing."""

from __future__ import annotations

import asyncio
import json
import os

import av
from qtinput import drag_and_drop, file_mime

from app.client.settings import UiSettings
from app.ui.window import MainWindow

from .helpers import open_studio, until


def test_export_embeds_the_parameters_and_a_drop_restores_them(aloop, qtbot, tmp_path, media):
    studio = open_studio(tmp_path / "data", render_seconds=0.2)
    said: list[str] = []

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.done = said  # keep the list alive with the window
        w.export.done.connect(said.append)
        w.choose_task("upscale")
        form = w.form
        form.set_payload({**form.payload(), "video_url": str(media.clip), "upscale_factor": 4})
        w.set_mock(True)
        await until(form.is_submittable, what="a filled form")
        asked = form.payload()
        await w.render()
        await until(lambda: w.queue_model.rowCount() == 1 and
                    w.queue_model.job_at(0).result_path, timeout=30, what="the take's file")
        job = w.queue_model.job_at(0)
        w.queue.job_selected.emit(None)  # nothing shown: said, no dialog
        assert w.export.ask_export() is None
        assert said[-1] == "Select a finished take to export it."
        w.queue.job_selected.emit(job)
        dlg = w.export.ask_export()
        assert dlg is not None and dlg.isVisible()
        dest = tmp_path / "out" / "my take.mp4"
        dlg.fileSelected.emit(str(dest))
        dlg.reject()
        await until(lambda: said[-1].startswith("Exported"), timeout=20, what="the export")
        assert said[-1] == "Exported my take.mp4 with its parameters (and my take.takes.json)."

        with av.open(str(dest)) as c:  # the tags, as any tool reads them
            tagged = json.loads(c.metadata["takes"])
            assert c.metadata["comment"].startswith("Made with Takes — topaz_upscale_video")
            assert c.streams.video[0].frames or c.duration
        side = json.loads((tmp_path / "out" / "my take.takes.json").read_text())
        assert tagged == side
        assert tagged["model_id"] == "topaz_upscale_video"
        assert tagged["payload"]["upscale_factor"] == 4
        assert tagged["take"]["id"] == job.id and "mock" not in tagged["payload"]

        # elsewhere in the app, then the exported file dropped on the window: the form again
        w.choose_task("animate")
        form.set_payload({**form.payload(), "upscale_factor": 2})
        assert drag_and_drop(w.preview, file_mime(dest)) == (True, True)
        await until(lambda: said[-1] == "restored my take.mp4", timeout=20, what="a restore")
        assert w.form is form and form.payload()["upscale_factor"] == 4
        assert form.payload()["video_url"] == asked["video_url"]

        # the sidecar alone does the same
        form.set_payload({**form.payload(), "upscale_factor": 2})
        assert drag_and_drop(w.preview, file_mime(tmp_path / "out" / "my take.takes.json"))[1]
        await until(lambda: said[-1] == "restored my take.takes.json", timeout=20)
        assert form.payload()["upscale_factor"] == 4

        # hostile and careless drops: one sentence each, the form unchanged
        form.set_payload({**form.payload(), "upscale_factor": 2})
        fifo = tmp_path / "pipe.mp4"
        os.mkfifo(fifo)
        cut = tmp_path / "cut.mp4"
        cut.write_bytes(dest.read_bytes()[:2000])
        deep = tmp_path / "deep.takes.json"
        deep.write_text("[" * 100_000 + "]" * 100_000)
        cases = {fifo: "pipe.mp4 is a FIFO (named pipe), not a file.",
                 cut: "cut.mp4 is not a video Takes can read (truncated, or another kind of "
                      "file).",
                 media.clip: f"{media.clip.name} holds no Takes parameters (export a take "
                             "with File › Export take… to keep them).",
                 deep: "deep.takes.json: "}
        for path, message in cases.items():
            n = len(said)
            assert drag_and_drop(w.preview, file_mime(path))[1]
            await until(lambda n=n: len(said) > n, timeout=20, what=f"the answer to {path}")
            assert said[-1].startswith(message), said[-1]
            assert form.payload()["upscale_factor"] == 2
        # not a file Takes exports: not taken, so the drop zones' own rules stand
        note = tmp_path / "notes.txt"
        note.write_text("hello")
        assert drag_and_drop(w, file_mime(note)) == (False, False)
        w.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 120))
    finally:
        aloop.run_until_complete(studio.close())
