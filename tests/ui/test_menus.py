"""The menu bar and the window's keys, on a real window against the sandbox, driven by real key
events (QTest goes through Qt's shortcut map as a keyboard does)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QFontMetrics, QGuiApplication, QKeySequence
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from app.client.settings import UiSettings
from app.ui.menus import StudioMenus, install_menus, is_text_field
from app.ui.window import MainWindow

from .helpers import open_studio, until

SEEDANCE = {"prompt": "a slow pan across a foggy harbour", "duration": 4, "resolution": "480p"}
SHOTS = Path(os.environ.get("TAKES_SHOT_DIR", "/tmp/takes-shots"))


def _key(widget, key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key, mods)


async def _active(w: MainWindow) -> None:
    """The window active again (a closed dialog leaves no active window offscreen)."""
    w.activateWindow()
    await until(lambda: QApplication.activeWindow() is w, what="the window active")


async def _window(studio, cfg) -> MainWindow:
    w = MainWindow(studio, UiSettings(cfg))
    install_menus(w)
    w.resize(1400, 860)
    w.show()
    w.activateWindow()
    await w.start()
    return w


async def _take(w: MainWindow, mock: bool = True, **extra) -> object:
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), **SEEDANCE, "mock": mock, **extra})
    await until(w.form.is_submittable, what="a submittable form")
    await w.render()
    return w.queue_model.job_at(0)


def test_menus_once_per_window_with_the_standard_keys(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        menus = w.menus
        assert isinstance(menus, StudioMenus)
        assert install_menus(w) is menus  # idempotent
        bar = w.menuBar()
        titles = [a.text().replace("&", "") for a in bar.actions()]
        assert titles == ["File", "Edit", "View", "Render", "Presets", "Help"]
        a = menus.actions
        assert a["quit"].shortcut() == QKeySequence("Ctrl+Q")
        assert a["find"].shortcut() == QKeySequence("Ctrl+F")
        assert a["delete"].shortcut() == QKeySequence(QKeySequence.StandardKey.Delete)
        assert a["undo_reference"].shortcut() == QKeySequence("Ctrl+Z")
        pref = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
        assert a["preferences"].shortcut() == (pref[0] if pref else QKeySequence("Ctrl+,"))
        assert w.mock_action in menus.menus["view"].actions()
        assert w.mock_action in menus.menus["render"].actions()

        # Preferences… and Ledger… are signals the window connects
        asked: list[str] = []
        menus.preferences_requested.connect(lambda: asked.append("prefs"))
        menus.ledger_requested.connect(lambda: asked.append("ledger"))
        _key(w.nav, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
        a["ledger"].trigger()
        assert asked == ["prefs", "ledger"]

        # Ctrl+F: the history page, its search field focused with its text selected
        w.history.search.setText("harbour")
        w.choose_task("create")
        _key(w.nav, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert w.center.currentWidget() is w.history
        assert QApplication.focusWidget() is w.history.search
        assert w.history.search.selectedText() == "harbour"

        # Ctrl+Return in the prompt renders through the Render action: one take
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), **SEEDANCE, "mock": True})
        await until(w.form.is_submittable)
        prompt = w.form.editor("prompt").edit
        prompt.setFocus()
        _key(prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: w.queue_model.rowCount() == 1, what="the take sent by the key")
        await until(lambda: w.queue_model.job_at(0).status == "succeeded", what="done")
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_theme_menu_applies_and_remembers(aloop, qtbot, tmp_path, qapp):
    from app.ui import palette, theme

    studio = open_studio(tmp_path / "data")
    style, pal, before = qapp.style().name(), qapp.palette(), palette.theme()
    had = theme.current(qapp)
    choice_before = had.choice if had is not None else None

    async def scenario() -> None:
        settings = UiSettings(tmp_path / "cfg")
        settings.set("theme", "light")
        w = MainWindow(studio, settings)
        menus = install_menus(w)
        w.show()
        await w.start()
        acts = {c: menus.actions[f"theme_{c}"] for c in ("dark", "light", "system")}
        assert acts["light"].isChecked() and not acts["dark"].isChecked()
        acts["dark"].trigger()
        assert theme.current(qapp).choice == "dark"
        assert palette.theme() == "dark"
        assert qapp.style().name().lower() == "fusion"
        assert w.settings.get("theme") == "dark"
        assert [c for c, act in acts.items() if act.isChecked()] == ["dark"]
        acts["light"].trigger()
        assert palette.theme() == "light" and w.settings.get("theme") == "light"
        w.close()
        await studio.close()
        saved = UiSettings(tmp_path / "cfg")
        assert saved.get("theme") == "light"  # written by the window's own save path

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 40))
    finally:
        t = theme.current(qapp)
        if t is not None and choice_before is not None:
            t.apply(choice_before)
        qapp.setStyle(style)
        qapp.setPalette(pal)
        palette.set_theme(before)


@pytest.mark.parametrize("where", ["prompt", "history search"])
def test_preview_keys_type_in_text_fields_and_act_on_the_preview_elsewhere(
        aloop, qtbot, tmp_path, where):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        job = await _take(w)
        await until(lambda: w.queue_model.job(job.id).result_path, what="the mock take")
        await until(lambda: w.preview.result_path, what="the preview")
        player = w.preview.player
        await until(lambda: player.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                     QMediaPlayer.MediaStatus.BufferedMedia)
                    and player.duration() > 0, what="the media to load")
        start = player.position()

        # typed into a text field: the characters land there, the preview does not move
        if where == "prompt":
            w.choose_task("create")
            field = w.form.editor("prompt").edit
            field.setFocus()
            field.moveCursor(field.textCursor().MoveOperation.End)
            before = field.toPlainText()
            QTest.keyClicks(field, ", . x")
            text = field.toPlainText
        else:
            w.nav.choose("history")
            field = w.history.search
            field.setFocus()
            field.clear()
            before = ""
            QTest.keyClicks(field, ", . x")
            text = field.text
        assert is_text_field(QApplication.focusWidget())
        assert text() == before + ", . x"
        await asyncio.sleep(0.3)
        assert player.position() == start
        assert player.playbackState() != QMediaPlayer.PlaybackState.PlayingState
        # Delete in the field deletes text, not a take
        _key(field, Qt.Key.Key_Left)
        _key(field, Qt.Key.Key_Delete)
        assert text() == before + ", . "
        assert w.menus.delete_target() in ("queue", "history")
        assert w.history.delete_box is None and w.queue.cancel_box is None
        assert w.queue_model.job(job.id) is not None

        # focus on the queue list: "." and "," step a frame, Space plays and pauses
        w.queue.select(job.id)
        w.queue.view.setFocus()
        frame = w.preview.frame_ms()
        _key(w.queue.view, Qt.Key.Key_Period)
        await until(lambda: abs(player.position() - (start + frame)) <= 1,
                    what=f"a frame forward (at {player.position()} from {start})")
        _key(w.queue.view, Qt.Key.Key_Period)
        await until(lambda: abs(player.position() - (start + 2 * frame)) <= 1,
                    what="two frames forward")
        _key(w.queue.view, Qt.Key.Key_Comma)
        await until(lambda: abs(player.position() - (start + frame)) <= 1, what="one back")
        _key(w.queue.view, Qt.Key.Key_Space)
        await until(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    what="playing")
        _key(w.queue.view, Qt.Key.Key_Space)
        await until(lambda: player.playbackState() != QMediaPlayer.PlaybackState.PlayingState,
                    what="paused")
        # Space with focus inside the preview itself: one toggle, not an ambiguous key
        w.preview.slider.setFocus()
        _key(w.preview.slider, Qt.Key.Key_Space)
        await until(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    what="playing from the preview's own focus")
        w.preview.pause()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_delete_key_in_the_queue_and_the_history(aloop, qtbot, tmp_path, monkeypatch,
                                                 quick_double_click):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        done = await _take(w, mock=True)
        await until(lambda: w.queue_model.job(done.id).result_path, what="the mock take")
        await studio.read(studio.server.set_render_seconds, 60)  # the next one stays running
        slow = await _take(w, mock=False, prompt="a long real render")
        await until(lambda: w.queue_model.job(slow.id).status == "running", what="running")

        # a finished take: Delete takes it off the queue, it stays in the store and history
        w.queue.select(done.id)
        w.queue.view.setFocus()
        _key(w.queue.view, Qt.Key.Key_Delete)
        assert w.queue_model.row_of(done.id) is None
        assert studio.store.get(done.id) is not None
        assert "still in History" in w.status.text()

        # an unfinished one: Delete asks to cancel; "Keep it" keeps it, yes cancels it
        w.queue.select(slow.id)
        w.queue.view.setFocus()
        _key(w.queue.view, Qt.Key.Key_Delete)
        box = w.queue.cancel_box
        assert box is not None and box.isVisible()
        assert box.windowModality() == Qt.WindowModality.WindowModal
        box.button(QMessageBox.StandardButton.No).click()
        await asyncio.sleep(0.2)
        assert w.queue_model.job(slow.id).status == "running"
        await _active(w)
        w.queue.view.setFocus()
        _key(w.queue.view, Qt.Key.Key_Delete)
        w.queue.cancel_box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: w.queue_model.job(slow.id).status == "canceled", what="canceled")
        assert (await studio.read(studio.store.get, slow.id)).status == "canceled"

        # history: Delete asks history's own question; Yes moves the file to the trash
        w.nav.choose("history")
        await _active(w)
        await until(lambda: w.history.select(done.id), what="the take in history")
        w.history.view.setFocus()
        _key(w.history.view, Qt.Key.Key_Delete)
        hbox = w.history.delete_box
        assert hbox is not None and hbox.isVisible()
        path = Path(w.history_model.job_at(w.history_model.row_of(done.id)).result_path)
        hbox.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: not path.exists(), what="the file in the trash")
        await until(lambda: studio.store.get(done.id) is None, what="the take deleted")
        # the menu's Delete with the history page on screen and nothing selected says so
        w.history.view.clearSelection()
        w.history.view.setCurrentIndex(w.history_model.index(-1))
        w.menus.actions["delete"].trigger()
        assert "Select a take" in w.status.text()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_escape_leaves_compare_pick_mode(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        manager = studio.manager
        a = await studio.run(manager.submit("seedance_r2v", {**SEEDANCE, "out": "a.mp4"}))
        b = await studio.run(manager.submit("seedance_r2v", {**SEEDANCE, "out": "b.mp4"}))
        await studio.run(manager.wait(a.id))
        await studio.run(manager.wait(b.id))
        w = await _window(studio, tmp_path / "cfg")
        w.nav.choose("history")
        await until(lambda: w.history_model.rowCount() == 2 and not w.history_model.loading)
        hist = w.history
        assert hist.select(a.id)
        QTest.mouseClick(hist.details.compare_btn, Qt.MouseButton.LeftButton)
        assert hist.details.compare_btn.isChecked() and hist.hint.isVisible()
        hist.view.setFocus()
        _key(hist.view, Qt.Key.Key_Escape)
        assert not hist.details.compare_btn.isChecked()
        assert not hist.hint.isVisible()
        assert hist.select(b.id)
        assert hist.compare_dialog is None  # picking another take compares nothing now
        # Escape outside compare mode is not taken from anyone
        assert not hist.leave_compare.isEnabled()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_reveal_and_folders_without_a_file_launcher_say_where(aloop, qtbot, tmp_path,
                                                              monkeypatch):
    # The offscreen platform has no file launcher at all (QDesktopServices.openUrl fails)
    monkeypatch.setenv("TAKES_LOG_DIR", str(tmp_path / "logs"))
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        job = await _take(w)
        await until(lambda: w.queue_model.job(job.id).result_path, what="the mock take")
        path = w.queue_model.job(job.id).result_path
        w.queue.select(job.id)
        assert w.queue.act_reveal.isEnabled()
        w.status.setText("")
        w.queue.act_reveal.trigger()
        assert "No file manager" in w.status.text() and str(path) in w.status.text()

        w.menus.actions["results_folder"].trigger()
        await until(lambda: str(studio.download_dir) in w.status.text(), what="the folder")
        assert "No file manager" in w.status.text()
        w.menus.actions["log_folder"].trigger()
        await until(lambda: str(tmp_path / "logs") in w.status.text(), what="the log folder")
        assert (tmp_path / "logs").is_dir()  # made (off the GUI thread) before opening
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_undo_removal_of_a_reference_follows_the_form(aloop, qtbot, tmp_path, media):
    from .helpers import drop_files

    studio = open_studio(tmp_path / "data")

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        w.choose_task("create")
        form = w.form
        undo = w.menus.actions["undo_reference"]
        assert not undo.isEnabled()  # nothing removed yet
        images = form.editor("image_urls")
        assert drop_files(images.drop_zone, media.start)
        await until(lambda: images.items and images.items[0].remove.isVisible(),
                    what="the reference")
        QTest.mouseClick(images.items[0].remove, Qt.MouseButton.LeftButton)
        assert "image_urls" not in form.payload()
        assert undo.isEnabled() and "start.png" in undo.text()

        # Ctrl+Z in the prompt undoes typing there, not the removal
        prompt = form.editor("prompt").edit
        prompt.setFocus()
        prompt.moveCursor(prompt.textCursor().MoveOperation.End)
        before = prompt.toPlainText()
        QTest.keyClicks(prompt, " zz")
        _key(prompt, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert prompt.toPlainText() == before
        assert "image_urls" not in form.payload() and undo.isEnabled()

        # elsewhere Ctrl+Z puts the reference back, and Undo turns off
        w.nav.setFocus()
        _key(w.nav, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert form.payload().get("image_urls") == [str(media.start)]
        assert not undo.isEnabled()
        # another task's form: Undo follows the form on screen
        w.choose_task("animate")
        assert not undo.isEnabled()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))


def test_about_and_shortcut_list_are_read_from_the_window(aloop, qtbot, tmp_path):
    import httpx
    import pydantic
    import PySide6
    from PySide6.QtCore import qVersion

    studio = open_studio(tmp_path / "data")
    SHOTS.mkdir(parents=True, exist_ok=True)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        menus = w.menus
        menus.actions["about"].trigger()
        box = await until(lambda: menus.about_box, what="the About box")
        assert box.isVisible()
        text = box.text.toPlainText()
        for needle in (qVersion(), PySide6.__version__, httpx.__version__, pydantic.VERSION,
                       str(studio.data_dir), str(studio.download_dir), "takes.log",
                       "Takes:", "Python:", "qasync:"):
            assert needle in text, needle
        assert box.text.isReadOnly()
        box.copy_btn.click()
        assert QGuiApplication.clipboard().text() == text
        assert box.grab().save(str(SHOTS / "about.png"))
        box.close()

        # an action added later is listed too: the list is read from the window
        extra = QAction("Test action", w)
        extra.setShortcut(QKeySequence("Ctrl+Alt+T"))
        w.addAction(extra)
        await _active(w)
        _key(w.nav, Qt.Key.Key_F1)
        dlg = await until(lambda: menus.shortcuts_box, what="the shortcut list")
        assert dlg.isVisible()
        rows = dlg.rows()
        by_what = {r[1]: r for r in rows}
        assert by_what["Quit"][0] == QKeySequence("Ctrl+Q").toString(
            QKeySequence.SequenceFormat.NativeText)
        assert by_what["Quit"][2] == "File"
        assert by_what["Play / pause"][0] == "Space"
        assert by_what["Previous frame"][0] == ","
        assert by_what["Next frame"][0] == "."
        assert "Ctrl+Return" in by_what["Render"][0].replace("Ctrl+Enter", "")
        assert by_what["Test action"][0] == "Ctrl+Alt+T"
        assert any("compare" in r[1].lower() and r[0] == "Esc" for r in rows)
        assert by_what["Play / pause"][2] == "View"
        keys = [r[0] for r in rows]
        assert len(keys) == len(set(keys)), "one key, one action"
        fm = QFontMetrics(dlg.table.font())
        for r in rows:
            for ch in "".join(r):
                assert fm.inFontUcs4(ord(ch)), f"no glyph for {ch!r}"
        dlg.resize(640, 620)
        assert dlg.grab().save(str(SHOTS / "shortcuts.png"))
        dlg.close()
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))


class _PlainField(QLineEdit):
    """A text field that does not claim plain keys first (as some custom editors do not)."""

    def event(self, e):
        if e.type() == QEvent.Type.ShortcutOverride:
            e.ignore()
            return False
        return super().event(e)


def test_a_key_the_field_did_not_claim_is_still_typed_into_it(aloop, qtbot, tmp_path, media):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        w.preview.load(str(media.clip), title="a clip")
        player = w.preview.player
        await until(lambda: player.duration() > 500, what="the clip to load")
        start = player.position()
        field = _PlainField(w.create_page)
        field.show()
        field.setFocus()
        QTest.keyClicks(field, "a,b. c")
        assert field.text() == "a,b. c"  # handed to the field by the actions themselves
        await asyncio.sleep(0.3)
        assert player.position() == start
        assert player.playbackState() != QMediaPlayer.PlaybackState.PlayingState
        # the same key with focus on the task list steps the preview
        w.nav.setFocus()
        _key(w.nav, Qt.Key.Key_Period)
        frame = w.preview.frame_ms()
        await until(lambda: abs(player.position() - (start + frame)) <= 1, what="a frame on")
        assert field.text() == "a,b. c"
        # a focused button keeps its Space: the keyboard presses it, the preview stays paused
        loop = w.preview.loop_btn
        loop.setFocus(Qt.FocusReason.TabFocusReason)
        assert QApplication.focusWidget() is loop and not loop.isChecked()
        _key(loop, Qt.Key.Key_Space)
        assert loop.isChecked()
        await asyncio.sleep(0.3)
        assert player.playbackState() != QMediaPlayer.PlaybackState.PlayingState
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))


def test_the_menus_leave_no_cycle_through_the_window(aloop, qtbot, tmp_path):
    """The window holds `window.menus`; nothing holds the window back in Python, so a closed
    window's wrapper goes by reference counting, never by the cycle collector on some thread."""
    import gc
    import weakref

    studio = open_studio(tmp_path / "data")
    ref: list[weakref.ref] = []

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        w.menus.quitting.in_flight()
        ref.append(weakref.ref(w))
        w.close()
        del w
        await studio.close()

    gc.collect()
    gc.disable()
    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 40))
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        assert ref[0]() is None, gc.get_referrers(ref[0]())
    finally:
        gc.enable()
