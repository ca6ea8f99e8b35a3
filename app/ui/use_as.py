"""Takes feed the next task: "Use as…", "Extend", and the lineage in History.

"Use as…" (History's details, and Render › Use take as… for the take the preview shows) puts a
take's result file into a media field of another task's form (animate → upscale, create →
restyle, edit, swap); "Extend" puts its last frame, extracted on a worker with PyAV, into
Animate's start image. The controller remembers which take each such file came from
(`StudioController.note_source`), so a take sent with it is stored as made from that take
(`parent_id`). History's details show the lineage: what a take was made from and what was made
from it (read on the core thread), with a click to show either.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal
from PySide6.QtWidgets import QLabel, QMenu, QToolButton

from app.catalog import MODELS
from app.catalog.roles import specs_of
from app.client import present
from app.ui.feature import WindowFeature
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.client.store import JobRecord
    from app.ui.window import MainWindow

ANIMATE = ("kling_v3_std_i2v", "kling_v3_pro_i2v")
TAKE_MIME = "application/x-takes-take"  # the take's id, beside its file's URL


def take_mime(jobs: list[Any]) -> QMimeData | None:
    """What dragging finished takes from the queue or history carries: their files as local
    URLs (so any drop zone takes them) and their ids (for the lineage). None: no file."""
    done = [j for j in jobs if j is not None and getattr(j, "result_path", None)]
    if not done:
        return None
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(j.result_path)) for j in done])
    mime.setData(TAKE_MIME, ",".join(j.id for j in done).encode("ascii", "replace"))
    return mime


def video_targets(source_model: str) -> list[tuple[str, str, str]]:
    """(label, model id, field) of every form field that takes a video, but the source's own
    model (a take is rendered again with Re-run)."""
    out = []
    for model_id, spec in MODELS.items():
        for f in specs_of(model_id):
            if f.media is not None and f.media.kind == "video" and "." not in f.path:
                label = f"{present.TASK_NAMES.get(spec.task, spec.task_label)} · {spec.name} " \
                        f"— {f.title}"
                out.append((label, model_id, f.name))
    return [t for t in out if t[1] != source_model] + [t for t in out if t[1] == source_model]


def last_frame(video: str, dest: Path) -> Path:
    """The last frame of `video` as a PNG at `dest` (blocking: on a worker)."""
    import av

    last = None
    with av.open(video) as c:
        stream = c.streams.video[0]
        if c.duration and c.duration > 2_000_000:  # seek near the end of a long video
            c.seek(c.duration - 1_500_000, any_frame=False)
        for frame in c.decode(stream):
            last = frame
    if last is None:
        raise ValueError(f"{Path(video).name} has no video frame")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part.png")
    last.to_image().save(part, format="PNG")
    part.replace(dest)
    return dest


class UseAs(WindowFeature):
    NAME = "useAs"
    said = Signal(str)
    lineage_shown = Signal(object)  # (parent or None, children) once read

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._workers = Workers(1, self)
        self.frames_dir = Path(window.studio.data_dir) / "frames"
        self.parent_job: JobRecord | None = None
        self.children: list[JobRecord] = []
        details = window.history.details
        self.button = QToolButton(details)
        self.button.setObjectName("useAsButton")
        self.button.setText("Use as…")
        self.button.setToolTip("Put this take's result into another task's form")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.button.setMenu(self.menu)
        self.menu.aboutToShow.connect(lambda: self._fill(self.menu, details.job))
        self.lineage = QLabel("", details)
        self.lineage.setObjectName("lineage")
        self.lineage.setWordWrap(True)
        self.lineage.setTextFormat(Qt.TextFormat.RichText)
        self.lineage.linkActivated.connect(self._show_linked)
        layout = details.layout()
        layout.insertWidget(layout.indexOf(details.params), self.lineage)
        layout.addWidget(self.button)
        window.history.take_selected.connect(self._selected)
        details.cleared.connect(lambda: self._selected(None))
        for model in (window.queue_model, window.history_model):  # a tile dragged onto a zone
            model.take_dragged.connect(self._dragged)
        self._selected(details.job)
        self.render_menu = QMenu("&Use take as…", window)
        self.render_menu.setObjectName("menu_use_as")
        self.render_menu.aboutToShow.connect(
            lambda: self._fill(self.render_menu, window.shown_job))
        menus = getattr(window, "menus", None)
        render = menus.menus.get("render") if menus is not None else None
        if render is not None:
            render.addSeparator()
            render.addMenu(self.render_menu)

    # ---- the menu ----------------------------------------------------------------------------
    def _fill(self, menu: QMenu, job: JobRecord | None) -> None:
        menu.clear()
        if job is None or not job.result_path:
            act = menu.addAction("Select a finished take")
            act.setEnabled(False)
            return
        for label, model_id, field in video_targets(job.model_id):
            act = menu.addAction(label)
            act.setObjectName(f"use:{model_id}:{field}")
            act.triggered.connect(lambda _=False, m=model_id, f=field: self.use(job, m, f))
        menu.addSeparator()
        for model_id in ANIMATE:
            act = menu.addAction(f"Extend: its last frame as {MODELS[model_id].name}'s start "
                                 "image")
            act.setObjectName(f"extend:{model_id}")
            act.triggered.connect(lambda _=False, m=model_id: self.extend(job, m))

    # ---- use and extend ----------------------------------------------------------------------
    def use(self, job: JobRecord, model_id: str, field: str, path: str | None = None) -> bool:
        """Put `path` (default: the take's result) into `field` of `model_id`'s form."""
        w = self.window
        path = path or job.result_path
        if w is None or not path:
            return False
        spec = next((f for f in specs_of(model_id) if f.name == field), None)
        value: Any = path
        if spec is not None and spec.is_list:
            form = w.form_for(model_id)
            current = form.payload().get(field) if form is not None else None
            value = [*(current if isinstance(current, list) else []), path]
            if spec.max_items is not None and len(value) > spec.max_items:
                value = value[-spec.max_items:]
        w.controller.note_source(path, job.id)
        words = present.task_title(job.model_id)
        return w.open_parameters(model_id, {field: value},
                                 f"The {words} take is in the form: render to continue it.")

    def extend(self, job: JobRecord, model_id: str = ANIMATE[0]) -> None:
        """Its last frame (extracted on a worker) as `model_id`'s start image."""
        if not job.result_path:
            self._say("Select a finished take to extend it.")
            return
        dest = self.frames_dir / f"{job.id}-last.png"

        def done(result: Any) -> None:
            if isinstance(result, Exception):
                self._say(f"Its last frame could not be read: {result}")
            elif self.use(job, model_id, "start_image_url", str(result)):
                self.said.emit(f"extended {job.id}")

        self._workers.submit(last_frame, job.result_path, dest, on_done=done)

    def _dragged(self, jobs: list[Any]) -> None:
        w = self.window
        if w is not None:
            for j in jobs:
                if getattr(j, "result_path", None):
                    w.controller.note_source(str(j.result_path), j.id)

    # ---- lineage -----------------------------------------------------------------------------
    def _selected(self, job: JobRecord | None) -> None:
        self.button.setEnabled(bool(job is not None and job.result_path))
        self.lineage.setText("")
        w = self.window
        if job is None or w is None:
            return
        store = w.studio.store

        def read() -> tuple[Any, list[Any]]:
            parent = store.get(job.parent_id) if job.parent_id else None
            return parent, store.children(job.id)

        async def fetch() -> None:
            try:
                parent, children = await w.studio.read(read)
            except Exception as e:  # a store that closed meanwhile: nothing to show
                self.lineage.setText(f"Lineage not available ({type(e).__name__}).")
                return
            details = w.history.details
            if details.job is None or details.job.id != job.id:
                return  # another take was selected meanwhile
            self.parent_job, self.children = parent, children
            self.lineage.setText(_lineage_text(parent, children))
            self.lineage_shown.emit((parent, children))

        w.controller.spawn(fetch(), "Lineage")

    def _show_linked(self, link: str) -> None:
        w = self.window
        job_id = link.removeprefix("take:")
        job = next((j for j in [self.parent_job, *self.children]
                    if j is not None and j.id == job_id), None)
        if w is not None and job is not None:
            w.history.details.show_job(job)
            w.history.take_selected.emit(job)


def _lineage_text(parent: Any, children: list[Any]) -> str:
    parts = []
    if parent is not None:
        words = html.escape(present.excerpt(present.take_words(parent), 30))
        parts.append(f'Made from: <a href="take:{parent.id}">'
                     f"{html.escape(present.task_title(parent.model_id))} · {words}</a>")
    if children:
        links = ", ".join(f'<a href="take:{c.id}">{html.escape(present.task_title(c.model_id))}'
                          "</a>" for c in children[:6])
        more = f" and {len(children) - 6} more" if len(children) > 6 else ""
        parts.append(f"Used by: {links}{more}")
    return "<br>".join(parts)


def install(window: MainWindow) -> UseAs:
    return UseAs.install_on(window)
