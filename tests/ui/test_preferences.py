"""Preferences against a real sandbox: the profiles page (the built-in sandbox first and not
removable; add, test, use, remove after a question), the theme (stored, emitted), the work
folder and the naming pattern (the core's checks beside the field, stored only when right),
every write on a worker; the key in no widget, log record, profiles.json or settings file;
open_preferences on a real window is made once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.client import profiles as prof
from app.client.profiles import KeyStorage, Profile, Profiles
from app.client.settings import UiSettings
from app.sandbox.server import SandboxServer
from app.ui.preferences import (
    DEFAULT_OUT_PATTERN,
    OUT_PATTERN_KEY,
    THEME_KEY,
    WORK_FOLDER_KEY,
    PreferencesDialog,
    open_preferences,
)
from app.ui.window import MainWindow

from .helpers import open_studio, until
from .test_profile_editor import (  # noqa: F401 (dark_theme: a fixture)
    click,
    dark_theme,
    files_hold,
    shot,
    type_in,
    widget_texts,
)

KEY = "sk-live-PREFS-test-91c2aa0e55"
CREDITS = 12_345


@pytest.fixture
def sandbox(tmp_path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sb", key=KEY, credits=CREDITS) as sb:
        yield sb
    prof._session_keys.clear()


def names(dlg: PreferencesDialog) -> list[str]:
    return [dlg.profile_list.item(i).text() for i in range(dlg.profile_list.count())]


async def shown(dlg: PreferencesDialog) -> PreferencesDialog:
    dlg.show()
    await until(lambda: dlg.loaded is not None and dlg.loaded.done() and
                dlg.folder_edit.text(), what="the profiles and the work folder")
    return dlg


@pytest.mark.usefixtures("dark_theme")
def test_profiles_page_add_test_use_remove(aloop, qtbot, tmp_path, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    data, cfg = tmp_path / "data", tmp_path / "cfg"
    profiles = Profiles(data / "profiles.json")
    settings = UiSettings(cfg)
    chosen: list[str] = []
    removed: list[str] = []

    async def scenario() -> None:
        dlg = await shown(PreferencesDialog(profiles, settings, None, "Sandbox"))
        qtbot.addWidget(dlg)
        dlg.profile_chosen.connect(chosen.append)
        dlg.profile_removed.connect(removed.append)
        assert names(dlg) == ["Built-in sandbox  \u2014 in use"]
        assert not dlg.remove_btn.isEnabled()  # the sandbox cannot be removed
        assert "cannot be removed" in dlg.remove_btn.toolTip()
        assert not dlg.use_btn.isEnabled()  # already in use
        click(dlg.test_btn)
        assert "nothing to test" in dlg.profile_msg.text()

        click(dlg.add_btn)
        ed = dlg.editor
        assert ed is not None and ed.isVisible() and ed.original is None
        await until(lambda: ed.keyring_ok is not None, what="the keyring status")
        type_in(ed.name_edit, "Work")
        type_in(ed.url_edit, sandbox.url)
        type_in(ed.key_edit, KEY)
        click(ed.session_radio)
        click(ed.save_btn)
        await until(lambda: ed.result is not None, what="the save")
        await until(lambda: len(names(dlg)) == 2, what="the new profile listed")
        assert names(dlg)[0].startswith("Built-in sandbox")  # the sandbox stays first
        assert names(dlg)[1] == "Work"
        assert dlg.selected().name == "Work"
        assert sandbox.url in dlg.profile_list.item(1).toolTip()
        assert "for this session only" in dlg.profile_list.item(1).toolTip()

        task = dlg.test_selected()
        await task
        assert dlg.profile_msg.text() == f"Work: Connected: {CREDITS:,} credits"
        shot(dlg, "preferences.png", tmp_path)

        click(dlg.use_btn)
        assert chosen == ["Work"] and dlg.active == "Work"
        assert names(dlg) == ["Built-in sandbox", "Work  \u2014 in use"]
        assert not dlg.use_btn.isEnabled()

        # Remove asks; Cancel keeps it
        click(dlg.remove_btn)
        box = dlg.confirm_box
        assert isinstance(box, QMessageBox) and "Work" in box.text()
        click(box.button(QMessageBox.StandardButton.Cancel))
        await until(lambda: dlg.confirm_box is None, what="the question answered")
        assert profiles.find("Work") is not None and len(names(dlg)) == 2
        click(dlg.remove_btn)
        box = dlg.confirm_box
        remove = next(b for b in box.buttons() if b.text() == "Remove")
        click(remove)
        await until(lambda: removed == ["Work"] and len(names(dlg)) == 1,
                    what="the profile removed")
        assert profiles.find("Work") is None
        assert prof._session_keys.get("Work") is None  # its key went with it
        assert dlg.active == "Sandbox" and names(dlg) == ["Built-in sandbox  \u2014 in use"]
        assert not [t for t in widget_texts(dlg) if KEY in t]
        assert not [t for t in widget_texts(ed) if KEY in t]
        dlg.close()
        dlg.shutdown()

    aloop.run_until_complete(scenario())
    assert not files_hold(tmp_path / "data", KEY) and not files_hold(cfg, KEY)
    assert not [r for r in caplog.records if KEY in r.getMessage()]


def test_test_says_why_a_saved_profile_fails(aloop, qtbot, tmp_path, sandbox):
    profiles = Profiles(tmp_path / "data" / "profiles.json")
    profiles.add(Profile("Wrong", "api", sandbox.url), "sk-not-the-key-1234",
                 KeyStorage.SESSION)
    profiles.add(Profile("Gone", "api", sandbox.url), KEY, KeyStorage.SESSION)
    prof._session_keys.pop("Gone")  # as after a restart

    async def scenario() -> None:
        dlg = await shown(PreferencesDialog(profiles, UiSettings(tmp_path / "cfg"), None))
        qtbot.addWidget(dlg)
        dlg.select("Wrong")
        await dlg.test_selected()
        assert "refused the API key (HTTP 401)" in dlg.profile_msg.text()
        dlg.select("Gone")
        await dlg.test_selected()
        assert "No key is saved for 'Gone'" in dlg.profile_msg.text()
        assert "session only" in dlg.profile_msg.text()
        dlg.shutdown()

    aloop.run_until_complete(scenario())


def test_theme_folder_and_pattern_are_checked_and_stored(aloop, qtbot, tmp_path):
    cfg = tmp_path / "cfg"
    settings = UiSettings(cfg)
    themes: list[str] = []
    folder = tmp_path / "renders"
    folder.mkdir()
    a_file = tmp_path / "not-a-folder.txt"
    a_file.write_text("x")

    async def scenario() -> None:
        dlg = await shown(PreferencesDialog(Profiles(tmp_path / "data" / "profiles.json"),
                                            settings, None))
        qtbot.addWidget(dlg)
        dlg.theme_chosen.connect(themes.append)
        assert dlg.theme_buttons["dark"].isChecked()  # the default
        dlg.pages_list.setCurrentRow(1)
        click(dlg.theme_buttons["light"])
        click(dlg.theme_buttons["system"])
        assert themes == ["light", "system"] and settings.get(THEME_KEY) == "system"

        dlg.pages_list.setCurrentRow(2)
        assert dlg.folder_edit.text().endswith("Takes")  # the platformdirs default
        assert dlg.out_edit.text() == DEFAULT_OUT_PATTERN
        for bad, words in (("{foo}.mp4", "'{foo}' is not a token; the tokens are {task}"),
                           ("../{n}.mp4", "must stay inside the work folder"),
                           ("/abs/{n}.mp4", "must be relative to the work folder"),
                           ("{date}", "must be a file name ending in"),
                           ("a\x00{n}.mp4", "control character")):
            dlg.out_edit.setFocus()
            dlg.out_edit.setText(bad)
            QTest.keyClick(dlg.out_edit, Qt.Key.Key_Return)
            assert words in dlg.out_msg.text(), (bad, dlg.out_msg.text())
            assert dlg.out_edit.text() == bad  # kept as typed
            assert settings.get(OUT_PATTERN_KEY) is None  # not stored
        type_in(dlg.out_edit, "{task}/{date}-{n}.mp4")
        QTest.keyClick(dlg.out_edit, Qt.Key.Key_Return)
        assert not dlg.out_msg.isVisible()
        assert dlg.out_example.text().startswith("For example: animate/")
        assert settings.get(OUT_PATTERN_KEY) == "{task}/{date}-{n}.mp4"

        for bad, words in ((a_file, "is a file, not a folder"),
                           (tmp_path / "missing", "does not exist")):
            await dlg.set_work_folder(str(bad))
            assert words in dlg.folder_msg.text()
            assert settings.get(WORK_FOLDER_KEY) is None
        fd = dlg.choose_work_folder()
        assert fd.isVisible()
        fd.setDirectory(str(tmp_path))
        fd.selectFile(str(folder))
        fd.accept()
        await until(lambda: settings.get(WORK_FOLDER_KEY) == str(folder.resolve()),
                    what="the folder chosen in the file dialog")
        assert dlg.folder_edit.text() == str(folder.resolve())
        assert not dlg.folder_msg.isVisible()
        dlg.tasks.workers.wait()
        await until(lambda: not dlg.tasks.workers.busy(), what="the settings written")
        dlg.shutdown()

    aloop.run_until_complete(scenario())
    written = json.loads((cfg / "window.json").read_text())
    assert written[THEME_KEY] == "system"
    assert written[OUT_PATTERN_KEY] == "{task}/{date}-{n}.mp4"
    assert written[WORK_FOLDER_KEY] == str(folder.resolve())


def test_open_preferences_on_a_window_is_made_once(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        dlg = open_preferences(w)
        assert dlg.isVisible() and dlg.parent() is w and dlg.active == "Sandbox"
        assert dlg.settings is w.settings
        assert dlg.profiles.path == studio.data_dir / "profiles.json"
        dlg.close()
        assert open_preferences(w) is dlg and dlg.isVisible()
        await until(lambda: dlg.loaded.done(), what="the list read again")
        assert names(dlg)[0].startswith("Built-in sandbox")
        dlg.shutdown()
        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())


def test_no_file_or_keyring_work_on_the_gui_thread(aloop, qtbot, tmp_path, sandbox,
                                                   monkeypatch):
    """Everything the dialogs read or write (profiles.json, the key's storage, the settings
    file, the work folder, the store, the CSV) runs off the GUI thread."""
    import threading

    from app.client import ledger
    from app.ui import ledger_view, preferences, profile_editor

    seen: dict[str, set[str]] = {}

    def watch(owner, name: str) -> None:
        fn = getattr(owner, name)

        def wrapped(*a, **kw):
            seen.setdefault(name, set()).add(threading.current_thread().name)
            if threading.current_thread() is threading.main_thread():
                seen.setdefault("ON THE GUI THREAD", set()).add(name)
            return fn(*a, **kw)

        monkeypatch.setattr(owner, name, wrapped)

    for owner, name in ((Profiles, "_load"), (prof, "_write_atomic"), (prof, "_file_keys"),
                        (prof, "keyring_status"), (profile_editor, "keyring_status"),
                        (profile_editor, "get_key"), (preferences, "get_key"),
                        (UiSettings, "write"), (preferences, "check_folder"),
                        (preferences, "default_folder"), (ledger, "rows"),
                        (ledger_view, "write_csv_file")):
        watch(owner, name)
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    folder = tmp_path / "renders"
    folder.mkdir()

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        dlg = await shown(open_preferences(w))
        ed = dlg.add_profile()
        await until(lambda: ed.keyring_ok is not None, what="the keyring status")
        type_in(ed.name_edit, "Work")
        type_in(ed.url_edit, sandbox.url)
        type_in(ed.key_edit, KEY)
        click(ed.file_radio)
        click(ed.file_ack)
        click(ed.save_btn)
        await until(lambda: ed.result is not None, what="the save")
        await until(lambda: len(names(dlg)) == 2, what="the list")
        dlg.select("Work")
        await dlg.test_selected()
        assert "Connected" in dlg.profile_msg.text()
        ed2 = dlg.edit_selected()
        await until(lambda: ed2.keyring_ok is not None, what="the keyring status")
        click(ed2.save_btn)  # tested with the key read back from its file, then saved
        await until(lambda: ed2.result is not None, what="the edit saved")
        click(dlg.theme_buttons["light"])
        await dlg.set_work_folder(str(folder))
        type_in(dlg.out_edit, "{n}.mp4")
        QTest.keyClick(dlg.out_edit, Qt.Key.Key_Return)
        click(dlg.remove_btn)
        click(next(b for b in dlg.confirm_box.buttons() if b.text() == "Remove"))
        await until(lambda: len(names(dlg)) == 1, what="the profile removed")
        from app.ui.ledger_view import open_ledger

        view = open_ledger(w)
        await until(lambda: view.loading.done(), what="the ledger")
        await view.export_to(str(tmp_path / "l.csv"))
        assert "rows written" in view.message.text()
        await until(lambda: not dlg.tasks.workers.busy(), what="the settings written")
        dlg.shutdown()
        view.shutdown()
        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())
    assert "ON THE GUI THREAD" not in seen, seen
    for name in ("_load", "_write_atomic", "_file_keys", "keyring_status", "get_key",
                 "write", "check_folder", "default_folder", "rows", "write_csv_file"):
        assert seen.get(name), f"{name} never ran"


@pytest.mark.parametrize("name", ["preferences", "profile_editor", "ledger_view"])
def test_no_colour_literals_or_emoji_in_these_dialogs(name):
    """Colours come from the palette (app/ui/palette.py), icons from resources/icons."""
    from pathlib import Path

    from .test_palette import LITERAL

    path = Path(__file__).resolve().parents[2] / "app" / "ui" / f"{name}.py"
    text = path.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if LITERAL.search(line)] == []
    assert [c for c in text if ord(c) >= 0x2600 and c not in "\u2014\u2013\u2026\u201c\u201d"
            and not 0x2000 <= ord(c) < 0x2070] == []
