"""Projects and the lineage filter in the real window on the sandbox, driven by mouse and keys:
a project made from the toolbar's chooser gets the takes rendered while it is chosen (their
files in its sub-folder), History shows its takes only (or every project's), takes move
between projects from the context menus, a deleted project's takes go back to no project with
their files kept, hostile names are refused or made safe with a clear message, presets belong
to the project they were saved in, and "Show lineage" narrows History to a Use-as chain."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QMenu, QWidget

from app.client.settings import UiSettings
from app.ui.window import MainWindow

from .helpers import open_studio, until


async def real(fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
    """Call `fn` (a QTest input function) from the loop's own callback, not from inside the
    test's task: QTest processes events after an input, and a task another widget starts
    then (History's lineage read, on a click) could not be stepped from inside this one."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def run() -> None:
        try:
            fn(*args, **kw)
        except BaseException as e:  # handed to the awaiting test
            done.set_exception(e)
        else:
            done.set_result(None)

    loop.call_soon(run)
    await done


async def click(widget: QWidget, pos: QPoint | None = None, ctrl: bool = False) -> None:
    """A left click (with Ctrl held when `ctrl`)."""
    mods = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    await real(QTest.mouseClick, widget, Qt.MouseButton.LeftButton, mods,
               pos if pos is not None else widget.rect().center())


async def pick(combo: QComboBox, text: str) -> None:
    """Open the combo box's list with a click and click the item reading `text`."""
    index = combo.findText(text)
    assert index >= 0, f"{text!r} not in {[combo.itemText(i) for i in range(combo.count())]}"
    await click(combo)
    view = combo.view()
    await until(view.isVisible, what=f"{combo.objectName()}'s list")
    # the list ignores a release sooner than a double-click after it opened (as a person's is)
    await asyncio.sleep(QApplication.doubleClickInterval() / 1000 + 0.05)
    rect = view.visualRect(view.model().index(index, 0))
    await click(view.viewport(), rect.center())
    await until(lambda: not view.isVisible(), what="the list to close")


async def click_menu(menu: QMenu, *path: str) -> None:
    """Click `path` through `menu` and its submenus, as the pointer would."""
    for i, text in enumerate(path):
        await until(menu.isVisible, what=f"the menu holding {text!r}")
        act = next((a for a in menu.actions() if a.text() == text), None)
        assert act is not None, f"{text!r} not in {[a.text() for a in menu.actions()]}"
        assert act.isEnabled(), f"{text!r} is disabled"
        await real(QTest.mouseMove, menu, menu.actionGeometry(act).center())
        await click(menu, menu.actionGeometry(act).center())
        if i < len(path) - 1:
            menu = act.menu()
            assert menu is not None, f"{text!r} has no submenu"


async def type_name(w: MainWindow, text: str, paste: bool = False) -> None:
    box = await until(lambda: w.projects.name_box, what="the name dialog")
    await until(box.isVisible, what="the name dialog shown")
    edit = box.findChild(QLineEdit)
    edit.setFocus()
    edit.selectAll()
    if paste:  # what a paste puts in the field
        edit.insert(text)
    else:
        await real(QTest.keyClicks, edit, text)
    await real(QTest.keyClick, edit, Qt.Key.Key_Return)


def tile_pos(w: MainWindow, job_id: str):
    row = w.history_model.row_of(job_id)
    assert row is not None, f"{job_id} is not in History"
    return w.history.view.visualRect(w.history_model.index(row)).center()


def right_click(widget: QWidget, pos: QPoint) -> None:
    """A right press and release, then the context-menu event the platform sends with it
    (QTest's synthetic mouse events do not make one)."""
    QTest.mouseClick(widget, Qt.MouseButton.RightButton, pos=pos)
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                     widget.mapToGlobal(pos)))


def is_file(path: str) -> bool:
    return Path(path).is_file()


def shown_ids(w: MainWindow) -> set[str]:
    return {w.history_model.job_at(r).id for r in range(w.history_model.rowCount())}


def test_projects_and_the_lineage_filter(aloop, qtbot, tmp_path, media):
    data = tmp_path / "data"
    studio = open_studio(data, render_seconds=0.2)
    said: list[str] = []
    windows: list[MainWindow] = []
    work = Path(studio.manager.download_dir)  # where the manager puts results

    async def render_restyle(w: MainWindow, prompt: str, video: str | None = None) -> object:
        n = w.queue_model.rowCount()
        if video is None:
            w.choose_task("restyle")
        form = w.form
        form.set_payload({**form.payload(), "video_url": video or str(media.clip),
                          "prompt": prompt, "resolution": "720p"})
        await until(form.is_submittable, what="a filled form")
        await w.render()
        await until(lambda: w.queue_model.rowCount() == n + 1 and
                    w.queue_model.job_at(0).result_path, timeout=30, what=f"take {prompt}")
        return w.queue_model.job_at(0)

    async def stored(job_id: str) -> object:
        return await studio.read(studio.store.get, job_id)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        windows.append(w)
        w.resize(1400, 900)
        w.show()
        await w.start()
        w.projects.said.connect(said.append)
        await until(lambda: w.projects.loaded, what="projects read")
        chooser = w.projects.chooser
        assert chooser.currentText() == "No project"
        w.set_mock(True)
        loose = await render_restyle(w, "a take of no project")
        assert loose.project == "" and Path(loose.result_path).parent == work / "takes"

        # a project made from the chooser: typed, Enter
        await pick(chooser, "New project…")
        await type_name(w, "Client A")
        await until(lambda: said and said[-1].startswith("Made project"), what="made")
        assert said[-1] == "Made project 'Client A': new takes go to it."
        assert chooser.currentText() == "Client A"
        assert await studio.read(getattr, studio.manager, "project") == "Client A"
        saved = json.loads((data / "projects.json").read_text())
        assert saved["current"] == "Client A"
        assert [p["name"] for p in saved["projects"]] == ["Client A"]
        a1 = await render_restyle(w, "the client's first take")
        assert a1.project == "Client A"
        # the project's sub-folder, then the form's own out pattern
        assert Path(a1.result_path).parent == work / "Client A" / "takes"
        assert is_file(a1.result_path)

        # History: the project's takes only, or every project's
        w.choose_task("history")
        scope = w.projects.scope
        await until(lambda: shown_ids(w) == {a1.id}, what="the project's takes")
        assert scope.currentText() == "Project: Client A"
        await pick(scope, "All projects")
        await until(lambda: shown_ids(w) == {a1.id, loose.id}, what="every project's takes")

        # presets belong to the project they are saved in; global ones are offered in every one
        w.choose_task("restyle")
        form = w.form
        w.presets.save("Client look", form.model_id, form.payload())
        await until(lambda: any(p.name == "Client look" for p in w.presets.presets))
        assert [p.project for p in w.presets.presets if p.name == "Client look"] == ["Client A"]
        w.presets._fill_menu()
        assert "Client look" in [a.text() for a in w.presets.menu.actions()]

        # a second project: chosen at once, History (this project) shows none of A's
        w.choose_task("history")
        await pick(scope, "Project: Client A")
        await pick(chooser, "New project…")
        await type_name(w, "B")
        await until(lambda: chooser.currentText() == "B", what="B chosen")
        await until(lambda: shown_ids(w) == set(), what="B has no takes yet")
        assert scope.currentText() == "Project: B"
        await until(lambda: w.presets.project == "B")
        w.choose_task("restyle")
        w.presets._fill_menu()
        assert "Client look" not in [a.text() for a in w.presets.menu.actions()]
        w.choose_task("history")

        # move A's take to B: right-click its tile (every project's shown), Move to project ▸ B
        await pick(scope, "All projects")
        await until(lambda: shown_ids(w) == {a1.id, loose.id}, what="every take")
        view = w.history.view
        await real(right_click, view.viewport(), tile_pos(w, a1.id))
        menu = await until(lambda: w.projects.context_menu, what="the take's menu")
        await click_menu(menu, "Move to project", "B")
        await until(lambda: said[-1].startswith("Moved"), what="moved")
        assert said[-1] == "Moved 1 take to B (files stay where they are)."
        rec = await stored(a1.id)
        assert rec.project == "B" and rec.result_path == a1.result_path
        assert is_file(a1.result_path)
        await pick(scope, "Project: B")
        await until(lambda: shown_ids(w) == {a1.id}, what="B holds the moved take")

        # two takes selected (Ctrl+click), moved at once to Client A
        await pick(scope, "All projects")
        await until(lambda: shown_ids(w) == {a1.id, loose.id}, what="every take")
        w.projects.context_menu = None
        await click(view.viewport(), tile_pos(w, a1.id))
        await click(view.viewport(), tile_pos(w, loose.id), ctrl=True)
        assert len(w.history.selected_jobs()) == 2
        await real(right_click, view.viewport(), tile_pos(w, loose.id))
        menu = await until(lambda: w.projects.context_menu, what="the takes' menu")
        await click_menu(menu, "Move 2 takes to project", "Client A")
        await until(lambda: said[-1] == "Moved 2 takes to Client A (files stay where they "
                    "are).", what="two moved")
        assert {(await stored(i)).project for i in (a1.id, loose.id)} == {"Client A"}

        # from the queue's context menu: the loose take back to no project
        queue = w.queue
        row = w.queue_model.row_of(loose.id)
        qpos = queue.view.visualRect(w.queue_model.index(row)).center()
        await click(queue.view.viewport(), qpos)
        await real(right_click, queue.view.viewport(), qpos)
        qmenu = await until(lambda: next((m for m in queue.findChildren(QMenu)
                                          if m.isVisible()), None), what="the queue's menu")
        await click_menu(qmenu, "Move to project", "No project")
        await until(lambda: said[-1] == "Moved 1 take to no project (files stay where they "
                    "are).", what="moved from the queue")
        assert (await stored(loose.id)).project == ""

        # hostile names: refused with the reason (what was typed kept), or made safe
        await pick(chooser, "New project…")
        await type_name(w, "bad\x00name", paste=True)
        await until(lambda: said[-1].startswith("The project was not made"), what="NUL")
        assert "NUL" in said[-1]
        box = await until(lambda: w.projects.name_box, what="the dialog again")
        assert "NUL" in box.labelText() and box.textValue() == "bad\x00name"
        await type_name(w, "x" * 10_000, paste=True)
        await until(lambda: "10,000" in said[-1], what="too long")
        assert said[-1] == ("The project was not made: A project name has at most 80 "
                            "characters (this one has 10,000).")
        box = await until(lambda: w.projects.name_box, what="the dialog again")
        box.reject()
        before = set(os.listdir(work.parent))
        for name, folder in (("..", "Project"), ("/etc", "_etc"), ("CON", "_CON")):
            await pick(chooser, "New project…")
            await type_name(w, name)
            await until(lambda name=name: said[-1].startswith(f"Made project {name!r}"),
                        what=f"made {name}")
            assert said[-1] == (f"Made project {name!r} (its folder is named {folder!r}): "
                                "new takes go to it.")
            assert w.projects.current == folder and chooser.currentText() == name
        refused = len(said)
        await pick(chooser, "New project…")
        await type_name(w, "con")  # the same name, whatever its case
        await until(lambda: len(said) > refused, what="a second 'con'")
        assert said[-1] == "The project was not made: There is a project named 'con' already."
        w.projects.name_box.reject()
        con = await render_restyle(w, "a take of CON")
        assert Path(con.result_path).parent == work / "_CON" / "takes"
        assert set(os.listdir(work.parent)) == before  # nothing outside the work folder
        assert not (work.parent / "etc").exists()

        # rename: the name changes, the folder and the takes stay
        await pick(chooser, "Rename…")
        await type_name(w, "Console")
        await until(lambda: said[-1] == "Renamed project 'CON' to 'Console'.", what="renamed")
        assert chooser.currentText() == "Console" and w.projects.current == "_CON"
        assert (await stored(con.id)).project == "_CON"

        # delete Client A: confirmed; its takes go back to no project, their files stay
        await pick(chooser, "Client A")
        await until(lambda: w.projects.current == "Client A", what="Client A chosen")
        await pick(chooser, "Delete…")
        box = await until(lambda: w.projects.delete_box, what="the confirmation")
        assert "no take and no file is deleted" in box.text()
        await click(box.button(box.StandardButton.Yes))
        await until(lambda: said[-1].startswith("Deleted project"), what="deleted")
        assert said[-1] == ("Deleted project 'Client A': its 1 take is back in no project; "
                            "no file was deleted.")
        assert (await stored(a1.id)).project == "" and is_file(a1.result_path)
        assert chooser.currentText() == "No project" and chooser.findText("Client A") < 0
        assert await studio.read(getattr, studio.manager, "project") == ""
        saved = json.loads((data / "projects.json").read_text())
        assert {p["id"] for p in saved["projects"]} == {"B", "Project", "_etc", "_CON"}

        # the lineage of a Use-as chain: restyle → upscale → restyle, beside another take
        first = await render_restyle(w, "the chain's first take")
        w.use_as.use(first, "topaz_upscale_video", "video_url")
        up_form = w.form
        await until(up_form.is_submittable, what="the Upscale form")
        await w.render()
        await until(lambda: w.queue_model.job_at(0).id != first.id and
                    w.queue_model.job_at(0).result_path, timeout=30, what="the upscale")
        middle = w.queue_model.job_at(0)
        w.use_as.use(middle, "wan_27_video_edit", "video_url")
        last = await render_restyle(w, "the chain's last take", video=middle.result_path)
        assert (await stored(middle.id)).parent_id == first.id
        assert (await stored(last.id)).parent_id == middle.id
        w.choose_task("history")
        await pick(scope, "All projects")
        await until(lambda: {first.id, middle.id, last.id, a1.id} <= shown_ids(w),
                    what="every take")
        w.projects.context_menu = None
        await real(right_click, view.viewport(), tile_pos(w, middle.id))
        menu = await until(lambda: w.projects.context_menu, what="the take's menu")
        await click_menu(menu, "Show lineage")
        chip = w.projects.chip
        await until(chip.isVisible, what="the lineage chip")
        assert chip.text().startswith("Lineage of Upscale")
        await until(lambda: shown_ids(w) == {first.id, middle.id, last.id},
                    what="the lineage only")
        assert said[-1].endswith("2 other takes made from it or that it was made from.")
        assert w.width() <= 1400  # the chip has a row of its own: the window did not widen
        assert w.grab().save(str(Path(os.environ.get("REVIEW_SHOTS_DIR") or tmp_path)
                                 / "lineage-filter.png"))
        await click(chip)
        await until(lambda: not chip.isVisible() and {a1.id, loose.id} <= shown_ids(w),
                    what="every take again")

        # the picture: the chooser in the toolbar, History of one project
        await pick(chooser, "B")
        await until(lambda: w.projects.current == "B", what="B chosen")
        await pick(scope, "Project: B")
        await until(lambda: shown_ids(w) == set(), what="B's takes (A's one moved away)")
        # move the chain into B (three selected at once), so the picture shows a project's takes
        await pick(scope, "All projects")
        await until(lambda: {first.id, middle.id, last.id} <= shown_ids(w), what="the chain")
        await click(view.viewport(), tile_pos(w, first.id))
        for job in (middle, last):
            await click(view.viewport(), tile_pos(w, job.id), ctrl=True)
        w.projects.context_menu = None
        await real(right_click, view.viewport(), tile_pos(w, last.id))
        menu = await until(lambda: w.projects.context_menu, what="the chain's menu")
        await click_menu(menu, "Move 3 takes to project", "B")
        await until(lambda: said[-1] == "Moved 3 takes to B (files stay where they are).")
        await pick(scope, "Project: B")
        await until(lambda: shown_ids(w) == {first.id, middle.id, last.id}, what="B's takes")
        shots = Path(os.environ.get("REVIEW_SHOTS_DIR") or tmp_path)
        await asyncio.sleep(0.2)  # the last paints (a nested qWait would stall the loop)
        assert w.grab().save(str(shots / "projects.png"))
        w.close()

        # after a restart the chosen project is chosen again and History shows its takes
        w2 = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        windows.append(w2)
        w2.resize(1400, 900)
        w2.show()
        await w2.start()
        await until(lambda: w2.projects.loaded, what="projects read again")
        assert w2.projects.chooser.currentText() == "B"
        assert await studio.read(getattr, studio.manager, "project") == "B"
        w2.choose_task("history")
        await until(lambda: shown_ids(w2) == {first.id, middle.id, last.id}, what="B again")
        w2.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 240))
    finally:
        for win in windows:  # a failure leaves no window open (a closed one is gone)
            with contextlib.suppress(RuntimeError):
                win.close()
        aloop.run_until_complete(studio.close())
