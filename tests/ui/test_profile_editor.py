"""The profile editor against a real sandbox on loopback: a wrong key or URL is refused with
its reason beside the field and nothing is saved (unless "Save anyway"), a right one is saved
where the user chose (no keyring here: session only, or the 0600 file after its warning), an
edit keeps the key, hostile names and URLs get the core's message and lose nothing typed, and
the key is in no widget text, tooltip, log record or file but where it was meant to go."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLineEdit,
    QListWidget,
    QRadioButton,
    QTableWidget,
    QWidget,
)

from app.client import profiles as prof
from app.client.profiles import KeyStorage, Profile, Profiles
from app.sandbox.server import SandboxServer
from app.ui.profile_editor import ProfileEditor

from .helpers import until

KEY = "sk-live-EDITOR-test-4b1d9e77c0"
CREDITS = 12_345


def widget_texts(root: QWidget) -> list[str]:
    """Every text a user or a screenshot could see on `root` and its children: texts,
    tooltips, titles, placeholders, accessible names, list/table/combo items (a password
    field by what it shows: its dots)."""
    out: list[str] = []
    for w in [root, *root.findChildren(QWidget)]:
        for attr in ("toolTip", "windowTitle", "statusTip", "whatsThis", "accessibleName",
                     "accessibleDescription", "placeholderText", "displayText"):
            fn = getattr(w, attr, None)
            if callable(fn):
                out.append(str(fn()))
        if hasattr(w, "text") and not (isinstance(w, QLineEdit) and
                                       w.echoMode() != QLineEdit.EchoMode.Normal):
            out.append(str(w.text()))
        if isinstance(w, QComboBox):
            out += [f"{w.itemText(i)} {w.itemData(i, Qt.ItemDataRole.ToolTipRole)}"
                    for i in range(w.count())]
        if isinstance(w, QListWidget):
            out += [f"{w.item(i).text()} {w.item(i).toolTip()}" for i in range(w.count())]
        if isinstance(w, QTableWidget):
            out += [f"{it.text()} {it.toolTip()}" for r in range(w.rowCount())
                    for c in range(w.columnCount()) if (it := w.item(r, c)) is not None]
    return out


def files_hold(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and
            secret.encode() in p.read_bytes()]


@pytest.fixture
def sandbox(tmp_path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sb", key=KEY, credits=CREDITS) as sb:
        yield sb


@pytest.fixture
def no_session_keys():
    yield
    prof._session_keys.clear()


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=serve, name="hung-server")
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


@pytest.fixture
def dark_theme(qapp):
    """The dark theme applied (as the app starts), app-wide state put back afterwards."""
    from PySide6.QtGui import QPalette

    from app.ui import palette as ui_palette
    from app.ui import theme

    style, pal, before = qapp.style().name(), QPalette(qapp.palette()), ui_palette.theme()
    hints = qapp.styleHints()
    theme.apply_theme(qapp, "dark")
    yield
    t = theme.current(qapp)
    if t is not None:
        hints.colorSchemeChanged.disconnect(t._system_changed)
        t.setParent(None)
        t.deleteLater()
    getattr(hints, "unsetColorScheme", lambda: hints.setColorScheme(Qt.ColorScheme.Unknown))()
    qapp.setStyle(style)
    qapp.setPalette(pal)
    ui_palette.set_theme(before)


def shot(widget: QWidget, name: str, tmp_path: Path) -> Path:
    """`widget` saved as a PNG (TAKES_SHOTS_DIR, default the test's folder)."""
    folder = Path(os.environ.get("TAKES_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert widget.grab().save(str(path)), path
    return path


def click(w: QWidget) -> None:
    """A real click: a check box or radio button on its indicator (its centre may lie
    past its text, where a click does nothing)."""
    if isinstance(w, QCheckBox | QRadioButton):
        QTest.mouseClick(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(8, w.height() // 2))
    else:
        QTest.mouseClick(w, Qt.MouseButton.LeftButton)


def type_in(edit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    QTest.keyClicks(edit, text)


async def settled(ed: ProfileEditor) -> None:
    await until(lambda: ed._job is None or ed._job.done(), timeout=20, what="the editor")


async def opened(profiles: Profiles, **kw) -> ProfileEditor:
    ed = ProfileEditor(profiles, **kw)
    ed.show()
    if not (kw.get("profile") and kw["profile"].is_sandbox):
        await until(lambda: ed.keyring_ok is not None, what="the keyring status")
    return ed


def test_wrong_key_refused_then_saved_for_the_session(aloop, qtbot, tmp_path, sandbox,
                                                      caplog, no_session_keys, dark_theme):
    caplog.set_level(logging.DEBUG)
    profiles = Profiles(tmp_path / "data" / "profiles.json")

    async def scenario() -> None:
        ed = await opened(profiles)
        qtbot.addWidget(ed)
        assert ed.keyring_ok is False  # the tests run with keyring's null backend
        assert "no keyring" in ed.keyring_label.text()
        assert ed.session_radio.isVisible() and ed.file_radio.isVisible()
        assert not ed.session_radio.isChecked() and not ed.file_radio.isChecked()
        assert ed.key_edit.echoMode() == ed.key_edit.EchoMode.Password
        assert (ed.confirm_spin.value(), ed.cap_spin.value()) == (500, 5_000)

        type_in(ed.name_edit, "Work")
        type_in(ed.url_edit, sandbox.url)
        type_in(ed.key_edit, "sk-wrong-key-000000")
        click(ed.save_btn)
        await settled(ed)
        # no storage chosen: said beside the choice, nothing tested or saved
        assert "Choose where to keep the key" in ed.storage_msg.text()
        click(ed.session_radio)
        click(ed.save_btn)
        await settled(ed)
        assert "refused the API key" in ed.key_msg.text() and ed.key_msg.isVisible()
        assert not ed.url_msg.isVisible() and not ed.top_msg.isVisible()
        assert ed.save_anyway_btn.isVisible()
        assert ed.result is None and ed.isVisible()
        assert profiles.find("Work") is None  # a failed test saves nothing
        assert ed.name_edit.text() == "Work" and ed.url_edit.text() == sandbox.url
        ed.resize(620, ed.sizeHint().height())
        png = shot(ed, "profile-editor.png", tmp_path)
        assert not files_hold(png.parent, "sk-wrong-key-000000")
        from PySide6.QtWidgets import QApplication

        from app.resources import palette as colours
        from app.ui import theme

        assert colours("dark")["error"] in ed.key_msg.styleSheet()
        theme.apply_theme(QApplication.instance(), "light")  # the theme changes meanwhile
        assert colours("light")["error"] in ed.key_msg.styleSheet()
        theme.apply_theme(QApplication.instance(), "dark")

        # a new key: "Save anyway" is for the values that failed, gone once they change
        type_in(ed.key_edit, KEY)
        assert not ed.save_anyway_btn.isVisible()
        click(ed.test_btn)
        await settled(ed)
        assert ed.result_label.text() == f"Connected: {CREDITS:,} credits"
        texts = widget_texts(ed)
        assert not [t for t in texts if KEY in t]
        click(ed.save_btn)
        await until(lambda: ed.result is not None, what="the save")
        assert not ed.isVisible()
        assert ed.key_edit.text() == ""
        p = profiles.get("Work")
        assert (p.kind, p.base_url, p.key_storage) == ("api", sandbox.url, KeyStorage.SESSION)
        assert prof.get_key(p) == KEY
        assert not [t for t in widget_texts(ed) if KEY in t]

    aloop.run_until_complete(scenario())
    assert not files_hold(tmp_path / "data", KEY)
    assert not [r for r in caplog.records if KEY in r.getMessage()]


def test_plaintext_file_only_after_its_warning(aloop, qtbot, tmp_path, sandbox):
    profiles = Profiles(tmp_path / "data" / "profiles.json")

    async def scenario() -> None:
        ed = await opened(profiles)
        qtbot.addWidget(ed)
        type_in(ed.name_edit, "Studio")
        type_in(ed.url_edit, sandbox.url + "/")
        type_in(ed.key_edit, KEY)
        click(ed.file_radio)
        assert ed.file_warning.isVisible()
        assert str(profiles.key_file) in ed.file_warning.text()
        assert "plain text" in ed.file_warning.text() and ed.file_ack.isVisible()
        click(ed.save_btn)
        await settled(ed)
        assert "I understand" in ed.storage_msg.text()
        assert not profiles.key_file.exists() and profiles.find("Studio") is None
        click(ed.file_ack)
        click(ed.save_btn)
        await until(lambda: ed.result is not None, what="the save")
        assert ed.result.key_storage is KeyStorage.FILE

    aloop.run_until_complete(scenario())
    assert stat.S_IMODE(os.stat(profiles.key_file).st_mode) == 0o600
    assert files_hold(tmp_path / "data", KEY) == [profiles.key_file]
    p = profiles.get("Studio")
    assert p.base_url == sandbox.url and prof.get_key(p) == KEY


def test_hostile_names_and_urls_are_refused_beside_the_field(aloop, qtbot, tmp_path,
                                                             sandbox, hung_server):
    profiles = Profiles(tmp_path / "data" / "profiles.json")
    profiles.add(Profile("Taken", "api", sandbox.url), KEY, KeyStorage.SESSION)

    async def scenario() -> None:
        ed = await opened(profiles, check_wait_s=0.5)
        qtbot.addWidget(ed)
        ed.session_radio.setChecked(True)
        type_in(ed.key_edit, KEY)
        cases = [
            ("a\x00b", sandbox.url, "name", "control character U+0000"),
            ("x" * 300, sandbox.url, "name", "at most 64 characters (this one has 300)"),
            ("../etc", sandbox.url, "name", "cannot hold / or \\"),
            ("Sandbox", sandbox.url, "name", "built-in sandbox's name"),
            ("Taken", sandbox.url, "name", "A profile named 'Taken' exists"),
            ("Ok", "javascript:alert(1)", "url", "starting with https://"),
            ("Ok", "api.example.com", "url", "starting with https://"),
            ("Ok", "https://" + "a" * 5000 + ".com", "url", "starting with https://"),
            ("Ok", sandbox.url + "?x=1", "url", "query or fragment"),
        ]
        for name, url, where, words in cases:
            ed.name_edit.setText(name)
            ed.url_edit.setText(url)
            click(ed.save_btn)
            await settled(ed)
            label = ed.name_msg if where == "name" else ed.url_msg
            assert words in label.text(), (name[:20], url[:40], label.text())
            assert label.isVisible()
            assert (ed.name_edit.text(), ed.url_edit.text()) == (name, url)  # nothing lost
            assert ed.result is None and ed.isVisible()

        ed.name_edit.setText("Ok")
        ed.url_edit.setText(sandbox.url)
        for bad_key in ("sk with spaces", "sk-caf\u00e9-0000", "sk-\x00-nul", "k" * 5000):
            ed.key_edit.setText(bad_key)
            click(ed.save_btn)
            await settled(ed)
            assert "printable ASCII characters without spaces" in ed.key_msg.text()
            assert bad_key[:8] not in ed.key_msg.text()  # the message never repeats it
            assert ed.key_edit.text() == bad_key and ed.result is None
        ed.key_edit.setText(KEY)

        # reachable problems, each beside its field: a refused port and a wrong path → URL,
        # no answer → the top
        for url, label, words in (
                ("http://127.0.0.1:1", ed.url_msg, "connection refused"),
                (sandbox.url + "/nothing-here", ed.url_msg, "not as the Takes API"),
                (hung_server, ed.top_msg, "No answer from")):
            type_in(ed.name_edit, "Ok")
            type_in(ed.url_edit, url)
            click(ed.save_btn)
            await settled(ed)
            assert words in label.text(), label.text()
            assert ed.save_anyway_btn.isVisible()
        assert profiles.find("Ok") is None

        # the user chooses to keep it anyway
        click(ed.save_anyway_btn)
        await until(lambda: ed.result is not None, what="save anyway")
        assert profiles.get("Ok").base_url == hung_server

    aloop.run_until_complete(scenario())
    data = json.loads(profiles.path.read_text())
    assert KEY not in json.dumps(data)


def test_edit_keeps_the_key_renames_it_and_sandbox_limits(aloop, qtbot, tmp_path, sandbox,
                                                          no_session_keys):
    profiles = Profiles(tmp_path / "data" / "profiles.json")
    profiles.add(Profile("Work", "api", sandbox.url), KEY, KeyStorage.SESSION)

    async def scenario() -> None:
        ed = await opened(profiles, profile=profiles.get("Work"))
        qtbot.addWidget(ed)
        assert ed.name_edit.text() == "Work" and ed.key_edit.text() == ""
        assert ed.session_radio.isChecked()  # where its key is now
        ed.confirm_spin.setValue(0)
        assert ed.confirm_spin.text() == "off"
        ed.cap_spin.setValue(800)
        click(ed.save_btn)  # tested with the saved key, then saved
        await until(lambda: ed.result is not None, what="the save")
        p = profiles.get("Work")
        assert (p.confirm_threshold, p.day_cap) == (None, 800)
        assert prof.get_key(p) == KEY

        profiles.set_active("Work")
        ed2 = await opened(profiles, profile=p)
        qtbot.addWidget(ed2)
        type_in(ed2.key_edit, "sk-typed-then-canceled")
        click(ed2.cancel_btn)
        assert not ed2.isVisible() and ed2.key_edit.text() == ""  # gone with the dialog
        ed2 = await opened(profiles, profile=p)
        qtbot.addWidget(ed2)
        type_in(ed2.name_edit, "Client A")
        click(ed2.save_btn)
        await until(lambda: ed2.result is not None, what="the rename")
        assert profiles.find("Work") is None
        assert prof.get_key(profiles.get("Client A")) == KEY
        assert profiles.active.name == "Client A"  # renamed in use: still the active one

        sb = await opened(profiles, profile=profiles.get("Sandbox"))
        qtbot.addWidget(sb)
        assert not sb.key_edit.isVisible() and not sb.url_edit.isVisible()
        assert not sb.test_btn.isVisible()
        assert sb.confirm_spin.text() == "off" and sb.cap_spin.text() == "off"
        sb.confirm_spin.setValue(50)
        click(sb.save_btn)
        await until(lambda: sb.result is not None, what="the sandbox's limits")
        assert profiles.get("Sandbox").confirm_threshold == 50

    aloop.run_until_complete(scenario())


# ---- a real Secret Service: gnome-keyring on a private D-Bus session -------------------

ROOT = Path(__file__).resolve().parents[2]
MISSING = [b for b in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(b)]

#: the editor and the preferences in a process of their own, inside the D-Bus session
KEYRING_SCRIPT = r"""
import asyncio, json, os, sys, time
from pathlib import Path
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from app.ui.compat import ensure_app
app = ensure_app([])
app.setQuitOnLastWindowClosed(False)
import keyring, qasync
from PySide6.QtTest import QTest
from app.client.profiles import Profiles
from app.client.settings import UiSettings
from app.ui.preferences import PreferencesDialog
from app.ui.profile_editor import ProfileEditor

KEY, URL = os.environ["TEST_API_KEY"], os.environ["SANDBOX_URL"]
profiles = Profiles(Path(os.environ["TAKES_DATA_DIR"]) / "profiles.json")
out = {}

async def until(cond, within=30.0):
    end = time.monotonic() + within
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)

def texts(root):
    from PySide6.QtWidgets import QLineEdit, QWidget
    got = []
    for w in [root, *root.findChildren(QWidget)]:
        got += [w.toolTip(), w.windowTitle(), w.accessibleName()]
        if hasattr(w, "text") and not (isinstance(w, QLineEdit) and
                                       w.echoMode() != QLineEdit.EchoMode.Normal):
            got.append(w.text())
    return got

async def main():
    ed = ProfileEditor(profiles)
    ed.show()
    await until(lambda: ed.keyring_ok is not None)
    out["keyring_ok"], out["label"] = ed.keyring_ok, ed.keyring_label.text()
    out["choices_shown"] = ed.session_radio.isVisible() or ed.file_radio.isVisible()
    QTest.keyClicks(ed.name_edit, "Real")
    QTest.keyClicks(ed.url_edit, URL)
    QTest.keyClicks(ed.key_edit, KEY)
    ed.save()
    await until(lambda: ed.result is not None or (ed._job and ed._job.done()))
    out["storage"] = str(ed.result.key_storage) if ed.result else ed.top_msg.text()
    out["stored"] = keyring.get_password("takes", "Real") == KEY
    out["leaks"] = [t for t in texts(ed) if KEY in t]
    ed2 = ProfileEditor(profiles, profile=profiles.get("Real"))
    ed2.show()
    await until(lambda: ed2.keyring_ok is not None)
    ed2.cap_spin.setValue(700)
    ed2.save()  # the key left empty: tested with the one in the keyring, kept there
    await until(lambda: ed2.result is not None or (ed2._job and ed2._job.done()))
    out["edit_tested"] = bool(ed2.last_check and ed2.last_check.ok)
    out["cap"] = profiles.get("Real").day_cap
    out["kept"] = keyring.get_password("takes", "Real") == KEY
    dlg = PreferencesDialog(profiles, UiSettings(Path(os.environ["XDG_CONFIG_HOME"])))
    dlg.show()
    await until(lambda: dlg.loaded.done())
    dlg.select("Real")
    await dlg.test_selected()
    out["test"] = dlg.profile_msg.text()
    box = dlg.remove_selected()
    next(b for b in box.buttons() if b.text() == "Remove").click()
    await until(lambda: len(dlg.known) == 1)
    out["after"] = keyring.get_password("takes", "Real")
    out["leaks"] += [t for t in texts(dlg) if KEY in t]
    dlg.shutdown()

loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
loop.run_until_complete(main())
print(json.dumps(out))
"""

SESSION = r"""
set -eu
printf '%s' "$TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets \
    >/dev/null
exec "$PYTHON" -c "$SCRIPT"
"""


@pytest.mark.timeout(180)
@pytest.mark.skipif(bool(MISSING), reason=f"no {' or '.join(MISSING)} on this machine "
                    "(scripts/install-deps installs gnome-keyring and dbus)")
def test_the_editor_keeps_the_key_in_a_real_secret_service(sandbox, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHON_KEYRING_BACKEND", "TAKES_API_KEY", "DBUS_SESSION_BUS_ADDRESS")}
    home, run = tmp_path / "home", tmp_path / "run"
    run.mkdir(mode=0o700)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_RUNTIME_DIR=str(run),
               TAKES_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT),
               PYTHON=sys.executable, SCRIPT=KEYRING_SCRIPT, SANDBOX_URL=sandbox.url,
               TEST_API_KEY=KEY, TEST_KEYRING_PASSWORD="test-password")
    proc = subprocess.run(["dbus-run-session", "--", "bash", "-c", SESSION], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["keyring_ok"] is True and "SecretService" in out["label"]
    assert out["choices_shown"] is False  # a working keyring: no plaintext choice offered
    assert out["storage"] == "keyring" and out["stored"] is True
    assert out["edit_tested"] is True and out["cap"] == 700 and out["kept"] is True
    assert out["test"] == f"Real: Connected: {CREDITS:,} credits"
    assert out["after"] is None  # removed with the profile
    assert out["leaks"] == []
    assert KEY not in proc.stdout + proc.stderr
    for p in tmp_path.rglob("*"):  # the keyring's own file holds it encrypted
        if p.is_file():
            assert KEY.encode() not in p.read_bytes(), p
