"""The profile editor: name, base URL, API key and guard-rails of one API profile, tested with
`GET /v1/account` before it is saved (GUI thread; the checks and writes run elsewhere).

    editor = ProfileEditor(profiles, parent)                 # a new API profile
    editor = ProfileEditor(profiles, parent, profile=p)      # edit p (its key kept if left empty)
    editor.saved.connect(on_saved)                           # the Profile saved

Save tests first: a profile whose test fails is saved only when the user then presses "Save
anyway". The key goes to the OS keyring when `keyring_status()` (asked on a worker: it may talk
D-Bus) says one works; otherwise the dialog says so and offers the explicit choice: keep the
key for this session only, or a plaintext file readable only by the user, after its warning
is ticked. The key field echoes dots, is never logged, never shown in a tooltip or title, and
is cleared when the dialog closes. `check_profile` runs as a task on the window's asyncio loop
(httpx does its waiting there); keyring reads and writes and `profiles.json` on `Workers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.client.profiles import (
    DEFAULT_CONFIRM_ABOVE,
    DEFAULT_DAILY_CAP,
    PLAINTEXT_WARNING,
    SANDBOX_LABEL,
    KeyringUnavailable,
    KeyStorage,
    Profile,
    ProfileCheck,
    ProfileError,
    Profiles,
    check_fal_profile,
    check_key_text,
    check_name,
    check_profile,
    check_url,
    get_key,
    keyring_status,
)
from app.ui.icons import icon
from app.ui.palette import styled
from app.ui.workers import Workers

log = logging.getLogger(__name__)

SPIN_MAX = 2_000_000_000  # QSpinBox is 32-bit; far above any real limit
OFF = "off"


class Tasks(QObject):
    """The dialogs' asyncio tasks (on the running qasync loop) and worker calls awaited as
    futures; `close()` cancels what is left, so nothing runs after its dialog is gone."""

    def __init__(self, workers: Workers | None, parent: QObject) -> None:
        super().__init__(parent)
        self.own_workers = workers is None
        self.workers = workers if workers is not None else Workers(2, self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], on_error: Callable[[BaseException], None]
              ) -> asyncio.Task[Any] | None:
        if self.closed:
            coro.close()
            return None
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled() or self.closed:
                return
            exc = t.exception()
            if exc is not None:
                log.info("a profile task failed: %s", type(exc).__name__)
                on_error(exc)

        task.add_done_callback(done)
        return task

    def off(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """`fn(*args)` on a worker, awaited here (its exception re-raised here)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def ok(result: Any) -> None:
            if not fut.done():
                fut.set_result(result)

        def failed(exc: BaseException) -> None:
            if not fut.done():
                fut.set_exception(exc)

        if self.closed:
            fut.cancel()
        else:
            self.workers.submit(fn, *args, on_done=ok, on_error=failed)
        return fut

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def close(self) -> None:
        self.closed = True
        for t in list(self._tasks):
            t.cancel()
        self._tasks.clear()
        if self.own_workers:
            self.workers.close()


ROLE = "takesColourRole"  # a message label's palette role, kept to restyle it


def message_label(parent: QWidget, role: str = "error") -> QLabel:
    """A message shown beside a field (hidden while empty), in the palette's `role`."""
    label = QLabel("", parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setProperty(ROLE, role)
    label.setStyleSheet(styled(f"color: ${role};"))
    label.setVisible(False)
    return label


def say(label: QLabel, text: str, role: str | None = None) -> None:
    if role is not None:
        label.setProperty(ROLE, role)
        label.setStyleSheet(styled(f"color: ${role};"))
    label.setText(text)
    label.setVisible(bool(text))


def restyle(root: QWidget) -> None:
    """The message labels under `root` drawn again in the current theme's colours."""
    for label in root.findChildren(QLabel):
        role = label.property(ROLE)
        if isinstance(role, str) and role:
            label.setStyleSheet(styled(f"color: ${role};"))


def follow_theme(slot: Callable[[str], None]) -> None:
    """Call `slot` (a bound method of a widget: disconnected when it dies) on each theme
    change (app.ui.theme's `changed`), once a theme is applied."""
    from PySide6.QtWidgets import QApplication

    from app.ui import theme

    current = theme.current(QApplication.instance())
    if current is not None:
        current.changed.connect(slot)


def limit_spin(parent: QWidget, value: int | None, what: str) -> QSpinBox:
    """Credits with "off" as its special value (0)."""
    spin = QSpinBox(parent)
    spin.setRange(0, SPIN_MAX)
    spin.setSpecialValueText(OFF)
    spin.setSuffix(" credits")
    spin.setGroupSeparatorShown(True)
    spin.setSingleStep(100)
    spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
    spin.setValue(min(SPIN_MAX, value or 0))
    spin.setAccessibleName(what)
    return spin


def connected_text(check: ProfileCheck) -> str:
    if check.message.startswith("Connected to fal"):
        return check.message  # the balance in dollars, and what a credit is there
    return f"Connected: {check.credits:,} credits" if check.credits is not None else \
        check.message


#: the kinds a profile may be, as the editor offers them (kind, words)
KINDS = (("api", "Takes API (a base URL and its key)"),
         ("fal", "fal (your fal key; renders through fal's queue)"))


@dataclass(frozen=True)
class Values:
    """What the fields say, checked (the key apart: it is read from the field when used)."""

    name: str
    base_url: str | None
    confirm_above: int
    daily_cap: int
    kind: str = "api"


def write_profile(profiles: Profiles, original: Profile | None, values: Values,
                  key: str | None, storage: KeyStorage | None) -> Profile:
    """Save a profile (on a worker: the keyring and profiles.json). `key` None keeps the
    original's key where it is (moved to the new name when renamed)."""
    if original is not None and original.is_sandbox:
        return profiles.set_limits(original.name, confirm_above=values.confirm_above,
                                   daily_cap=values.daily_cap)
    if original is None or original.name != values.name:
        clash = profiles.find(values.name)
        if clash is not None:
            raise ProfileError(f"A profile named {clash.name!r} exists: choose another name, "
                               "or edit that one")
    fresh = Profile(values.name, "fal" if values.kind == "fal" else "api", values.base_url,
                    confirm_above=values.confirm_above, daily_cap=values.daily_cap,
                    endpoints=original.endpoints if original is not None else ())
    if key is not None:
        saved = profiles.add(fresh, key, storage or KeyStorage.KEYRING)
        if original is not None and original.name != saved.name:
            _drop_renamed(profiles, original, saved)
        return saved
    if original is None:
        raise ProfileError("A new profile needs its API key")
    if original.name == values.name:
        return profiles.save(replace(original, base_url=values.base_url,
                                     confirm_above=values.confirm_above,
                                     daily_cap=values.daily_cap))
    kept = get_key(original)
    if not kept:
        raise ProfileError(f"No key is saved for {original.name!r} any more: type it again")
    saved = profiles.add(fresh, kept, original.key_storage)
    del kept
    _drop_renamed(profiles, original, saved)
    return saved


def _drop_renamed(profiles: Profiles, old: Profile, new: Profile) -> None:
    """The old name removed (with its copy of the key); the active profile stays active."""
    was_active = profiles.active.name == old.name
    profiles.remove(old.name)
    if was_active:
        profiles.set_active(new.name)


def _storage_and_names(profiles: Profiles) -> tuple[tuple[bool, str], list[str]]:
    return keyring_status(), [p.name for p in profiles.all()]


class ProfileEditor(QDialog):
    """Add or edit one profile (the built-in sandbox: its guard-rails only)."""

    saved = Signal(object)  # the Profile written

    def __init__(self, profiles: Profiles, parent: QWidget | None = None, *,
                 profile: Profile | None = None, workers: Workers | None = None,
                 check_wait_s: float = 10.0) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.original = profile
        self.check_wait_s = check_wait_s
        self.tasks = Tasks(workers, self)
        self.keyring_ok: bool | None = None  # None: not known yet
        self.keyring_why = ""
        self.last_check: ProfileCheck | None = None
        self.result: Profile | None = None
        self._failed_values: tuple[Any, ...] | None = None
        self._names: list[str] = []  # the saved profiles' names (read on a worker)
        self._job: asyncio.Task[Any] | None = None
        sandbox = profile is not None and profile.is_sandbox
        self.setWindowTitle("Built-in sandbox" if sandbox else
                            "Edit profile" if profile else "Add an API profile")
        self.setObjectName("profileEditor")
        self.setMinimumWidth(520)

        self.top_msg = message_label(self)
        self.top_msg.setObjectName("topMessage")
        self.result_label = message_label(self, "success")
        self.result_label.setObjectName("testResult")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("Work")
        self.name_msg = message_label(self)
        self.kind_box = QComboBox(self)
        self.kind_box.setObjectName("profileKind")
        for kind, words in KINDS:
            self.kind_box.addItem(words, kind)
        self.kind_box.setToolTip("What the profile talks to: the Takes API at a base URL, "
                                 "or fal with your own fal key")
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("https://api.example.com")
        self.url_msg = message_label(self)
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setInputMethodHints(Qt.InputMethodHint.ImhSensitiveData |
                                          Qt.InputMethodHint.ImhNoPredictiveText |
                                          Qt.InputMethodHint.ImhHiddenText)
        self.key_edit.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.key_edit.setPlaceholderText(
            "leave empty to keep the saved key" if profile and not sandbox else
            "from your account page")
        self.key_msg = message_label(self)
        if sandbox:
            sandbox_name = QLabel(SANDBOX_LABEL, self)
            form.addRow("Profile", sandbox_name)
            form.addRow("", QLabel("Free play credits, runs inside Takes: no URL or key.",
                                   self))
            for w in (self.name_edit, self.url_edit, self.key_edit):
                w.setVisible(False)  # not in the layout: only the guard-rails are edited
        else:
            form.addRow("Name", self.name_edit)
            form.addRow("", self.name_msg)
            form.addRow("Kind", self.kind_box)
            form.addRow("Base URL", self.url_edit)
            form.addRow("", self.url_msg)
            form.addRow("API key", self.key_edit)
            form.addRow("", self.key_msg)
        confirm, cap = ((profile.confirm_threshold, profile.day_cap) if profile else
                        (DEFAULT_CONFIRM_ABOVE, DEFAULT_DAILY_CAP))
        self.confirm_spin = limit_spin(self, confirm, "Ask before spending more than")
        self.confirm_spin.setToolTip("A render whose estimate is above this asks first "
                                     "(off: never asks)")
        self.cap_spin = limit_spin(self, cap, "Daily cap")
        self.cap_spin.setToolTip("What this profile may spend in one calendar day "
                                 "(off: no cap)")
        form.addRow("Ask before spending more than", self.confirm_spin)
        form.addRow("Daily cap", self.cap_spin)

        # where the key is kept
        self.storage_box = QWidget(self)
        sl = QVBoxLayout(self.storage_box)
        sl.setContentsMargins(0, 0, 0, 0)
        self.keyring_label = QLabel("Looking for a system keyring…", self.storage_box)
        self.keyring_label.setWordWrap(True)
        self.storage_msg = message_label(self.storage_box, "warning")
        self.session_radio = QRadioButton("Keep the key for this session only (type it "
                                          "again after Takes restarts)", self.storage_box)
        self.file_radio = QRadioButton("Write the key to a plain-text file readable only by "
                                       "you", self.storage_box)
        self.storage_group = QButtonGroup(self)
        self.storage_group.addButton(self.session_radio)
        self.storage_group.addButton(self.file_radio)
        self.file_warning = message_label(self.storage_box, "warning")
        self.file_ack = QCheckBox("I understand: write the key to this file", self.storage_box)
        for w in (self.keyring_label, self.storage_msg, self.session_radio, self.file_radio,
                  self.file_warning, self.file_ack):
            sl.addWidget(w)
        for w in (self.session_radio, self.file_radio, self.file_ack):
            w.setVisible(False)
        self.storage_box.setVisible(not sandbox)

        self.test_btn = QPushButton(icon("retry"), "Test", self)
        self.test_btn.setToolTip("Ask the API for the account's balance (GET /v1/account)")
        self.test_btn.setVisible(not sandbox)
        self.save_btn = QPushButton("Save", self)
        self.save_btn.setDefault(True)
        self.save_btn.setToolTip("Tests the profile, then saves it" if not sandbox else
                                 "Save the sandbox's guard-rails")
        self.save_anyway_btn = QPushButton("Save anyway", self)
        self.save_anyway_btn.setToolTip("Save although the test failed")
        self.save_anyway_btn.setVisible(False)
        self.cancel_btn = QPushButton("Cancel", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.save_anyway_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.save_btn)

        lay = QVBoxLayout(self)
        lay.addWidget(self.top_msg)
        lay.addWidget(self.result_label)
        lay.addLayout(form)
        lay.addWidget(self.storage_box)
        lay.addStretch(1)
        lay.addLayout(buttons)

        if profile is not None and not sandbox:
            self.name_edit.setText(profile.name)
            self.url_edit.setText(profile.base_url or "")
            self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(profile.kind)))
            self.kind_box.setEnabled(False)  # a profile's takes belong to its kind
        self.kind_box.setVisible(not sandbox)
        self._kind_changed()
        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        self.test_btn.clicked.connect(self.test)
        self.save_btn.clicked.connect(self.save)
        self.save_anyway_btn.clicked.connect(self.save_anyway)
        self.cancel_btn.clicked.connect(self.reject)
        self.file_radio.toggled.connect(self._storage_toggled)
        self.session_radio.toggled.connect(self._storage_toggled)
        for edit in (self.name_edit, self.url_edit, self.key_edit):
            edit.textEdited.connect(self._edited)
        self.keyring_task = None if sandbox else self.tasks.spawn(self._ask_keyring(),
                                                                  self._failed)
        follow_theme(self._theme_changed)

    def _theme_changed(self, _theme: str) -> None:
        restyle(self)
        self.test_btn.setIcon(icon("retry"))

    # ---- the key's storage ------------------------------------------------------------
    async def _ask_keyring(self) -> None:
        (ok, why), names = await self.tasks.off(_storage_and_names, self.profiles)
        self._names = names
        self._keyring_known(ok, why)

    def _keyring_known(self, ok: bool, why: str) -> None:
        self.keyring_ok, self.keyring_why = ok, why
        old = self.original
        if ok:
            self.keyring_label.setText(f"The key is kept in the system keyring ({why}).")
            if old is not None and old.key_storage is not KeyStorage.KEYRING:
                self.keyring_label.setText(
                    self.keyring_label.text() + " It stays where it is now ("
                    + ("this session only" if old.key_storage is KeyStorage.SESSION else
                       "a plain-text file") + ") unless you type it again.")
            for w in (self.session_radio, self.file_radio, self.file_ack, self.file_warning):
                w.setVisible(False)
            return
        self.keyring_label.setText(
            "This system has no keyring to keep the key safely (Secret Service, Keychain or "
            f"Credential Manager; {why}). Start or unlock one (GNOME Keyring, KWallet) and "
            "open this dialog again, or choose:")
        self.session_radio.setVisible(True)
        self.file_radio.setVisible(True)
        if old is not None and old.key_storage is KeyStorage.SESSION:
            self.session_radio.setChecked(True)
        elif old is not None and old.key_storage is KeyStorage.FILE:
            self.file_radio.setChecked(True)
        self._storage_toggled()

    def _storage_toggled(self, *_: Any) -> None:
        chosen = self.file_radio.isChecked()
        say(self.file_warning, PLAINTEXT_WARNING.format(path=self.profiles.key_file)
            if chosen else "")
        self.file_ack.setVisible(chosen)
        if not chosen:
            self.file_ack.setChecked(False)
        say(self.storage_msg, "")

    def storage(self) -> KeyStorage | None:
        """Where a typed key goes (None: not chosen yet, said beside the choice)."""
        if self.keyring_ok:
            return KeyStorage.KEYRING
        if self.keyring_ok is None:
            say(self.storage_msg, "Still looking for a system keyring: try again in a moment")
            return None
        if self.session_radio.isChecked():
            return KeyStorage.SESSION
        if self.file_radio.isChecked():
            if not self.file_ack.isChecked():
                say(self.storage_msg, "Tick \u201cI understand\u201d to write the key to the "
                    "file, or keep it for this session only")
                return None
            return KeyStorage.FILE
        say(self.storage_msg, "Choose where to keep the key: for this session only, or in a "
            "plain-text file readable only by you")
        return None

    # ---- fields ------------------------------------------------------------------------
    @property
    def is_sandbox(self) -> bool:
        return self.original is not None and self.original.is_sandbox

    def _edited(self, *_: Any) -> None:
        if self._failed_values is not None and self._failed_values != self._snapshot():
            self.save_anyway_btn.setVisible(False)
            self._failed_values = None

    def _snapshot(self) -> tuple[Any, ...]:
        return (self.name_edit.text(), self.url_edit.text(), hash(self.key_edit.text()),
                self.confirm_spin.value(), self.cap_spin.value())

    def _clear_messages(self) -> None:
        for label in (self.top_msg, self.result_label, self.name_msg, self.url_msg,
                      self.key_msg, self.storage_msg):
            say(label, "")

    @property
    def kind(self) -> str:
        return str(self.kind_box.currentData() or "api")

    def _kind_changed(self, *_: Any) -> None:
        """fal needs no base URL (fal's own hosts; one may be given for a proxy)."""
        fal = self.kind == "fal"
        self.url_edit.setPlaceholderText("empty: fal's own hosts" if fal else
                                         "https://api.example.com")
        self.key_edit.setPlaceholderText(
            "leave empty to keep the saved key" if self.original is not None else
            "your fal key (fal.ai/dashboard/keys)" if fal else "from your account page")
        self.test_btn.setToolTip("Ask fal for the account's balance (GET "
                                 "/v1/account/billing)" if fal else
                                 "Ask the API for the account's balance (GET /v1/account)")
        say(self.url_msg, "")

    def values(self) -> Values | None:
        """The fields checked by the core's rules, each problem beside its field (nothing
        typed is changed)."""
        ok = True
        confirm, cap = self.confirm_spin.value(), self.cap_spin.value()
        if self.is_sandbox:
            assert self.original is not None
            return Values(self.original.name, "", confirm, cap)
        name = url = ""
        try:
            name = check_name(self.name_edit.text())
            clash = next((n for n in self._names if n == name), None)
            if clash is not None and (self.original is None or clash != self.original.name):
                raise ProfileError(f"A profile named {clash!r} exists: choose another name, "
                                   "or edit that one")
        except ProfileError as e:
            say(self.name_msg, str(e))
            ok = False
        fal = self.kind == "fal"
        try:
            url = check_url(self.url_edit.text()) if self.url_edit.text().strip() or \
                not fal else None
        except ProfileError as e:
            say(self.url_msg, str(e))
            ok = False
        key = self.key_edit.text()
        if key:
            try:
                check_key_text(key)
            except ProfileError as e:
                say(self.key_msg, str(e))
                ok = False
        elif self.original is None:
            say(self.key_msg, "Type the API key (copy it from your account page)")
            ok = False
        return Values(name, url, confirm, cap, self.kind) if ok else None

    # ---- test and save ------------------------------------------------------------------
    def _busy(self, on: bool) -> None:
        for b in (self.test_btn, self.save_btn, self.save_anyway_btn):
            b.setEnabled(not on)

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        say(self.top_msg, str(exc) if isinstance(exc, ProfileError) else
            f"Something went wrong ({type(exc).__name__}): nothing was saved")

    def test(self) -> asyncio.Task[Any] | None:
        """Test the fields as they are (`GET /v1/account`); the result shown beside them."""
        return self._start(self._test_then(save=False))

    def save(self) -> asyncio.Task[Any] | None:
        """Test, then save when the test passes ("Save anyway" offered when it fails)."""
        return self._start(self._test_then(save=True))

    def save_anyway(self) -> asyncio.Task[Any] | None:
        """Save without a passing test (offered only after a failed one)."""
        return self._start(self._save(force=True))

    def _start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        if self._job is not None and not self._job.done():
            coro.close()  # one test or save at a time
            return None
        self._busy(True)
        self._job = self.tasks.spawn(coro, self._failed)
        return self._job

    async def _test_then(self, save: bool) -> None:
        if self.keyring_task is not None:
            with contextlib.suppress(Exception):
                await self.keyring_task  # the storage is known before anything is saved
            self.keyring_task = None
        if self.is_sandbox:
            if save:
                await self._save(force=True)
            return
        self._clear_messages()
        values = self.values()
        if values is None:
            self._busy(False)
            return
        if save and self.key_edit.text() and self.storage() is None:
            self._busy(False)
            return
        check = await self._check(values)
        if check is None:
            self._busy(False)
            return
        if not check.ok:
            self._failed_values = self._snapshot()
            self.save_anyway_btn.setVisible(True)
            self._busy(False)
            return
        if save:
            await self._save(force=True, checked=values)
        else:
            self._busy(False)

    async def _check(self, values: Values) -> ProfileCheck | None:
        key = self.key_edit.text() or None
        if key is None and self.original is not None:
            try:
                key = await self.tasks.off(get_key, self.original)
            except ProfileError as e:
                say(self.key_msg, str(e))
                return None
            if not key:
                say(self.key_msg, f"No key is saved for {self.original.name!r} any more: "
                    "type it again")
                return None
        assert key is not None
        say(self.result_label, "Testing…", "muted")
        check = await (check_fal_profile(key, values.base_url, wait_s=self.check_wait_s)
                       if values.kind == "fal" else
                       check_profile(values.base_url or "", key, wait_s=self.check_wait_s))
        del key
        self.last_check = check
        self.show_check(check)
        return check

    def show_check(self, check: ProfileCheck) -> None:
        """A test's result next to the field it is about (the top for network/server)."""
        for label in (self.result_label, self.top_msg, self.url_msg, self.key_msg):
            say(label, "")
        if check.ok:
            say(self.result_label, connected_text(check), "success")
            return
        target = {"url": self.url_msg, "key": self.key_msg}.get(check.problem or "",
                                                                 self.top_msg)
        say(target, check.message + " \u2014 not saved; fix it, or press \u201cSave "
            "anyway\u201d to keep it as it is.")

    async def _save(self, force: bool, checked: Values | None = None) -> None:
        values = checked or self.values()
        if values is None:
            self._busy(False)
            return
        key = None if self.is_sandbox else (self.key_edit.text() or None)
        storage = None
        if key is not None:
            storage = self.storage()
            if storage is None:
                self._busy(False)
                return
        try:
            profile = await self.tasks.off(write_profile, self.profiles, self.original, values,
                                           key, storage)
        except KeyringUnavailable as e:
            del key
            self._keyring_known(False, "the keyring refused to keep it")
            say(self.storage_msg, str(e))
            self._busy(False)
            return
        except ProfileError as e:
            del key
            say(self.top_msg, f"Not saved: {e}")
            self._busy(False)
            return
        del key
        log.info("profile %r saved (key kept: %s)", profile.name,
                 "unchanged" if storage is None else storage)
        self.result = profile
        self.key_edit.clear()
        self._busy(False)
        self.saved.emit(profile)
        self.accept()

    # ---- closing ------------------------------------------------------------------------
    def done(self, r: int) -> None:
        self.key_edit.clear()  # the key leaves the widget with the dialog
        self.tasks.close()
        super().done(r)
