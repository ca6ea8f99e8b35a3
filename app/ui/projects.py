"""Projects in the window, and History's lineage filter.

A project is chosen in the toolbar ("No project", the projects, New / Rename / Delete); the
choice is kept (`Projects.set_current`) and given to the job manager, so a take sent belongs to
that project and its result lands in the project's sub-folder of the work folder
(`app.client.projects`, `app.client.workfolder.project_dir`). History shows the chosen
project's takes (or every project's); the Presets menu offers the project's presets and the
global ones and saves into the project. A take (or several selected) moves to another project
from the history's and the queue's context menu; its file stays where it is. "Show lineage" on
a take narrows History to what it was made from and what was made from it
(`JobStore.lineage`), said by a chip ("Lineage of … ×") that clears it.

Every read and write (projects.json, the job store, the manager's project) runs on the core
thread (`studio.read`); the GUI works from the copy in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QInputDialog,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
)

from app.client import present
from app.client.projects import NO_PROJECT, Project, ProjectError, Projects
from app.ui.feature import WindowFeature
from app.ui.history import HistoryFilter
from app.ui.history_panel import narrow_combo
from app.ui.palette import styled
from app.ui.queue import is_waiting

if TYPE_CHECKING:
    from app.client.store import JobRecord
    from app.ui.window import MainWindow

NO_PROJECT_TEXT = "No project"
ALL_PROJECTS = "All projects"


@dataclass(frozen=True)
class ProjectFilter(HistoryFilter):
    """History's filter narrowed to a project ('' : the takes of no project; None : every
    project) and, for a lineage, to those takes only."""

    project: str | None = None
    ids: tuple[str, ...] | None = None

    def query_args(self, model_id: str | None) -> dict[str, Any]:
        return {**super().query_args(model_id), "project": self.project,
                "ids": list(self.ids) if self.ids is not None else None}

    def matches(self, job: Any) -> bool:
        if self.project is not None and getattr(job, "project", "") != self.project:
            return False
        if self.ids is not None and job.id not in self.ids:
            return False
        return super().matches(job)


def _base(flt: HistoryFilter) -> dict[str, Any]:
    return {f.name: getattr(flt, f.name) for f in fields(HistoryFilter)}


def take_label(job: Any) -> str:
    return f"{present.task_title(job.model_id)} · {present.excerpt(present.take_words(job), 28)}"


class ProjectsFeature(WindowFeature):
    NAME = "projectsFeature"
    said = Signal(str)
    changed = Signal()  # the projects or the chosen one changed (after they are stored)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.store = Projects(Path(window.studio.data_dir) / "projects.json")
        self.projects: list[Project] = []
        self.current = NO_PROJECT
        self.loaded = False
        #: the lineage History is narrowed to: (the take's label, its lineage's ids)
        self.lineage: tuple[str, tuple[str, ...]] | None = None
        self.name_box: QInputDialog | None = None
        self.delete_box: QMessageBox | None = None
        self.context_menu: QMenu | None = None

        # the toolbar's chooser, beside the Mock toggle
        bar = window.toolbar
        self.chooser = QComboBox(bar)
        self.chooser.setObjectName("projectChooser")
        self.chooser.setToolTip("The project new takes belong to (their files go to its "
                                "folder in the work folder); History shows its takes")
        self.chooser.setAccessibleName("Project")
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.chooser.setMinimumContentsLength(12)
        self.chooser.activated.connect(self._chosen)
        label = QLabel(" Project: ", bar)
        actions = bar.actions()
        at = actions.index(bar.mock_action) + 1 if bar.mock_action in actions else len(actions)
        before = bar.actions()[at] if at < len(actions) else None
        if before is not None:
            bar.insertWidget(before, label)
            bar.insertWidget(before, self.chooser)
        else:
            bar.addWidget(label)
            bar.addWidget(self.chooser)

        # History: which projects' takes, and the lineage chip
        history = window.history
        self.scope = QComboBox(history)
        self.scope.setObjectName("projectScope")
        self.scope.setToolTip("Show the takes of the project chosen in the toolbar, or of "
                              "every project")
        self.scope.activated.connect(lambda _i: history.apply_filter())
        narrow_combo(self.scope)
        self.chip = QPushButton("", history)
        self.chip.setObjectName("lineageChip")
        self.chip.setToolTip("History shows this take's lineage only: click to show every "
                             "take again")
        self.chip.setStyleSheet(styled("QPushButton{background:$accent_soft;color:$text;"
                                       "border:1px solid $accent;border-radius:10px;"
                                       "padding:2px 10px;}"))
        self.chip.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.chip.clicked.connect(self.clear_lineage)
        self.chip.hide()
        # the scope with the other filters (narrow drop-downs), the chip in a row of its own:
        # the filters' row sets the window's minimum width (1280 px screens)
        row = history.filters_row
        row.insertWidget(row.count() - 1, self.scope)
        history.chips_row.insertWidget(0, self.chip)
        history.filter_hooks.append(self._narrow)
        history.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        history.view.customContextMenuRequested.connect(self._history_menu)

        # the queue's context menu: Move to project ▸ (the queue adds its panel's actions)
        self.queue_menu = QMenu("Move to project", window.queue)
        self.queue_menu.setObjectName("queueMoveToProject")
        self.queue_menu.aboutToShow.connect(
            lambda: self._fill_move(self.queue_menu, self._queue_jobs()))
        self.queue_action: QAction = self.queue_menu.menuAction()
        window.queue.addAction(self.queue_action)
        self._fill_chooser()
        self._fill_scope()

    # ---- reading -----------------------------------------------------------------------------
    def start(self) -> None:
        w = self.window
        if w is None:
            return
        studio = w.studio

        def read() -> tuple[list[Project], str]:
            current = self.store.current()
            studio.manager.project = current
            return self.store.all(), current

        async def load() -> None:
            try:
                self.projects, self.current = await studio.read(read)
            except (OSError, ValueError) as e:
                self._say(f"The projects could not be read: {e}")
                return
            self.loaded = True
            self._show_current()

        w.controller.spawn(load(), "Projects")

    def name_of(self, project_id: str) -> str:
        found = next((p for p in self.projects if p.id == project_id), None)
        return found.name if found is not None else NO_PROJECT_TEXT

    def _show_current(self) -> None:
        self._fill_chooser()
        self._fill_scope()
        w = self.window
        if w is not None:
            presets = getattr(w, "presets", None)
            if presets is not None and hasattr(presets, "set_project"):
                presets.set_project(self.current)
            w.history.apply_filter()
        self.changed.emit()

    # ---- the chooser -------------------------------------------------------------------------
    def _fill_chooser(self) -> None:
        c = self.chooser
        c.blockSignals(True)
        try:
            c.clear()
            c.addItem(NO_PROJECT_TEXT, f"project:{NO_PROJECT}")
            for p in self.projects:
                c.addItem(p.name, f"project:{p.id}")
                c.setItemData(c.count() - 1, f"{p.name} — folder: {p.id}",
                              Qt.ItemDataRole.ToolTipRole)
            c.insertSeparator(c.count())
            c.addItem("New project…", "new:")
            c.addItem("Rename…", "rename:")
            c.addItem("Delete…", "delete:")
            for i in (c.count() - 2, c.count() - 1):  # they act on the chosen project
                item = c.model().item(i)  # type: ignore[attr-defined]
                item.setEnabled(bool(self.current))
            c.setCurrentIndex(max(0, c.findData(f"project:{self.current}")))
        finally:
            c.blockSignals(False)

    def _chosen(self, index: int) -> None:
        kind, _, value = str(self.chooser.itemData(index) or "project:").partition(":")
        if kind == "project":
            if value != self.current:
                self.choose(value)
            return
        self._fill_chooser()  # the chooser goes on showing the chosen project
        if kind == "new":
            self.ask_new()
        elif kind == "rename":
            self.ask_rename()
        elif kind == "delete":
            self.ask_delete()

    def choose(self, project_id: str) -> None:
        w = self.window
        if w is None:
            return
        studio = w.studio

        def write() -> str:
            chosen = self.store.set_current(project_id)
            studio.manager.project = chosen
            return chosen

        async def run() -> None:
            try:
                self.current = await studio.read(write)
            except (ProjectError, OSError) as e:
                self._say(f"The project was not chosen: {e}")
                self._fill_chooser()
                return
            self._show_current()
            self._say(f"Project: {self.name_of(self.current)} — new takes go to "
                      + (f"its folder {self.current}/" if self.current else "the work folder")
                      + ".")

        w.controller.spawn(run(), "Project")

    # ---- new, rename, delete -----------------------------------------------------------------
    def _ask_name(self, title: str, label: str, text: str, then: Any) -> QInputDialog | None:
        w = self.window
        if w is None:
            return None
        box = QInputDialog(w)
        box.setObjectName("projectName")
        box.setWindowTitle(title)
        box.setLabelText(label)
        box.setTextValue(text)
        box.textValueSelected.connect(then)
        box.finished.connect(lambda _r: setattr(self, "name_box", None)
                             if self.name_box is box else None)
        self.name_box = box
        box.open()
        return box

    def ask_new(self, error: str = "", text: str = "") -> QInputDialog | None:
        label = "A name for the new project:"
        return self._ask_name("New project", f"{error}\n\n{label}" if error else label, text,
                              self.create)

    def ask_rename(self, error: str = "", text: str | None = None) -> QInputDialog | None:
        if not self.current:
            self._say("Choose a project to rename it.")
            return None
        pid = self.current
        label = (f"A new name for {self.name_of(pid)!r} (its folder, {pid}/, and its takes "
                 "stay as they are):")
        return self._ask_name("Rename project", f"{error}\n\n{label}" if error else label,
                              self.name_of(pid) if text is None else text,
                              lambda new: self.rename(pid, new))

    def create(self, name: str) -> None:
        w = self.window
        if w is None:
            return
        studio = w.studio

        def write() -> tuple[Project, list[Project], str]:
            made = self.store.create(name)
            chosen = self.store.set_current(made.id)
            studio.manager.project = chosen
            return made, self.store.all(), chosen

        async def run() -> None:
            try:
                made, self.projects, self.current = await studio.read(write)
            except (ProjectError, OSError) as e:
                self._say(f"The project was not made: {e}")
                self.ask_new(f"Not made: {e}", name)  # what was typed is kept
                return
            self._show_current()
            folder = "" if made.id == made.name else f" (its folder is named {made.id!r})"
            self._say(f"Made project {made.name!r}{folder}: new takes go to it.")

        w.controller.spawn(run(), "New project")

    def rename(self, project_id: str, new: str) -> None:
        w = self.window
        if w is None:
            return

        def write() -> tuple[Project, list[Project]]:
            return self.store.rename(project_id, new), self.store.all()

        async def run() -> None:
            old = self.name_of(project_id)
            try:
                renamed, self.projects = await w.studio.read(write)
            except (ProjectError, OSError) as e:
                self._say(f"The project was not renamed: {e}")
                if project_id == self.current:
                    self.ask_rename(f"Not renamed: {e}", new)
                return
            self._show_current()
            self._say(f"Renamed project {old!r} to {renamed.name!r}.")

        w.controller.spawn(run(), "Rename project")

    def ask_delete(self) -> QMessageBox | None:
        w = self.window
        if w is None or not self.current:
            self._say("Choose a project to delete it.")
            return None
        pid, name = self.current, self.name_of(self.current)
        box = QMessageBox(QMessageBox.Icon.Question, "Delete project",
                          f"Delete the project {name!r}?\n\nIts takes go back to no project; "
                          f"no take and no file is deleted (its folder, {pid}/, stays).",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          w)
        box.setObjectName("deleteProject")
        box.finished.connect(lambda _r: self._delete_answer(
            pid, box.clickedButton() == box.button(QMessageBox.StandardButton.Yes)))
        self.delete_box = box
        box.open()
        return box

    def _delete_answer(self, project_id: str, yes: bool) -> None:
        self.delete_box = None
        if yes:
            self.delete(project_id)

    def delete(self, project_id: str) -> None:
        w = self.window
        if w is None:
            return
        studio = w.studio

        def write() -> tuple[int, list[Project], str]:
            n = studio.store.drop_project(project_id)
            self.store.delete(project_id)
            current = self.store.current()
            studio.manager.project = current
            return n, self.store.all(), current

        async def run() -> None:
            name = self.name_of(project_id)
            try:
                n, self.projects, self.current = await studio.read(write)
            except (ProjectError, OSError, ValueError) as e:
                self._say(f"The project was not deleted: {e}")
                return
            self._show_current()
            w.history_model.reload()
            self._say(f"Deleted project {name!r}: its {n} take{'s' if n != 1 else ''} "
                      f"{'are' if n != 1 else 'is'} back in no project; no file was deleted.")

        w.controller.spawn(run(), "Delete project")

    # ---- moving takes ------------------------------------------------------------------------
    def _queue_jobs(self) -> list[Any]:
        w = self.window
        job = w.queue.current_job() if w is not None else None
        return [job] if job is not None else []

    def _fill_move(self, menu: QMenu, jobs: list[Any]) -> None:
        menu.clear()
        stored = [j for j in jobs if not is_waiting(j)]
        if not stored:
            act = menu.addAction("Select a take that was sent" if jobs else "Select a take")
            act.setEnabled(False)
            return
        here = {getattr(j, "project", "") for j in stored}
        for pid, name in [(NO_PROJECT, NO_PROJECT_TEXT), *((p.id, p.name)
                                                          for p in self.projects)]:
            act = menu.addAction(name)
            act.setObjectName(f"moveTo:{pid}")
            act.setEnabled(here != {pid})
            act.triggered.connect(lambda _=False, pid=pid: self.move(stored, pid))
        if not self.projects:
            menu.addSeparator()
            hint = menu.addAction("(make a project in the toolbar first)")
            hint.setEnabled(False)

    def move(self, jobs: list[Any], project_id: str) -> None:
        w = self.window
        if w is None:
            return
        ids = [j.id for j in jobs if not is_waiting(j)]
        store = w.studio.store

        async def run() -> None:
            try:
                moved = await w.studio.read(store.move_to_project, ids, project_id)
            except (ValueError, OSError) as e:
                self._say(f"Not moved: {e}")
                return
            for rec in moved:
                for model in (w.queue_model, w.history_model):
                    model.upsert(rec)
            n = len(moved)
            self._say(f"Moved {n} take{'s' if n != 1 else ''} to "
                      f"{self.name_of(project_id) if project_id else 'no project'} (files "
                      "stay where they are).")

        w.controller.spawn(run(), "Move takes")

    # ---- History: the project filter and the lineage -----------------------------------------
    def _fill_scope(self) -> None:
        s = self.scope
        was_all = s.currentIndex() == 1
        s.blockSignals(True)
        try:
            s.clear()
            s.addItem(f"Project: {self.name_of(self.current)}" if self.current
                      else "Takes of no project")
            s.addItem(ALL_PROJECTS)
            s.setCurrentIndex(1 if was_all else 0)
        finally:
            s.blockSignals(False)

    def _narrow(self, flt: HistoryFilter) -> HistoryFilter:
        if self.lineage is not None:  # a lineage crosses projects
            return ProjectFilter(**_base(flt), project=None, ids=self.lineage[1])
        everyone = self.scope.currentIndex() == 1 or not self.loaded
        return ProjectFilter(**_base(flt), project=None if everyone else self.current)

    def _history_menu(self, pos: QPoint) -> None:
        w = self.window
        if w is None:
            return
        history = w.history
        view: QListView = history.view
        idx = view.indexAt(pos)
        job = history.model.job_at(idx.row()) if idx.isValid() else None
        if job is None:
            return
        selected = history.selected_jobs()
        jobs = selected if any(j.id == job.id for j in selected) else [job]
        menu = QMenu(view)
        menu.setObjectName("historyTakeMenu")
        lineage = menu.addAction("Show lineage")
        lineage.setObjectName("showLineage")
        lineage.setToolTip("Show only what this take was made from and what was made from it")
        lineage.triggered.connect(lambda _=False: self.show_lineage(job))
        move = menu.addMenu("Move to project" if len(jobs) == 1
                            else f"Move {len(jobs)} takes to project")
        move.setObjectName("historyMoveToProject")
        self._fill_move(move, jobs)
        self.context_menu = menu
        menu.popup(view.viewport().mapToGlobal(pos))

    def show_lineage(self, job: JobRecord) -> None:
        w = self.window
        if w is None:
            return
        store = w.studio.store

        async def run() -> None:
            try:
                ids = await w.studio.read(store.lineage, job.id)
            except (ValueError, OSError) as e:
                self._say(f"The lineage could not be read: {e}")
                return
            label = take_label(job)
            self.lineage = (label, tuple(ids))
            self.chip.setText(f"Lineage of {label}  ×")
            self.chip.show()
            w.history.apply_filter()
            n = len(ids) - 1
            self._say(f"History shows the lineage of {label}: {n} other take"
                      f"{'s' if n != 1 else ''} made from it or that it was made from.")

        w.controller.spawn(run(), "Lineage")

    def clear_lineage(self) -> None:
        self.lineage = None
        self.chip.hide()
        w = self.window
        if w is not None:
            w.history.apply_filter()
            self._say("History shows every take again.")


def install(window: MainWindow) -> ProjectsFeature:
    return ProjectsFeature.install_on(window)


def start(window: MainWindow) -> None:
    feature = window.findChild(ProjectsFeature, ProjectsFeature.NAME)
    if feature is not None:
        feature.start()
