"""The theme: dark by default, light, and "follow the system" live (app.ui.theme).

Real widgets offscreen. "Follow the system" is driven by the colour-scheme change itself: Qt's
`QStyleHints.setColorScheme` where the platform honours it, else the `colorSchemeChanged`
signal the platform would emit (the offscreen platform keeps its scheme Unknown). The sample
widget is saved as a PNG for each theme (TAKES_SHOTS_DIR, default a temporary folder).
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QWidget,
)

from app.resources import palette as colours
from app.ui import icons, theme

R = QPalette.ColorRole


@pytest.fixture
def restore_theme(qapp: QApplication):
    """The theme changes app-wide state; put it back for the tests after this one."""
    style, pal = qapp.style().name(), QPalette(qapp.palette())
    hints = qapp.styleHints()
    try:
        from app.ui import palette as ui_palette
        before = ui_palette.theme()
    except ModuleNotFoundError:
        ui_palette, before = None, None
    yield
    t = theme.current(qapp)
    if t is not None:
        hints.colorSchemeChanged.disconnect(t._system_changed)
        t.setParent(None)
        t.deleteLater()
    getattr(hints, "unsetColorScheme", lambda: hints.setColorScheme(Qt.ColorScheme.Unknown))()
    qapp.setStyle(style)
    qapp.setPalette(pal)
    if ui_palette is not None:
        ui_palette.set_theme(before)
    else:
        icons.set_theme("light")


def send_scheme(qapp: QApplication, scheme: Qt.ColorScheme) -> None:
    """The system's colour scheme changes to `scheme`, as the platform would report it."""
    hints = qapp.styleHints()
    hints.setColorScheme(scheme)  # honoured by platforms that support it (then it signals)
    if hints.colorScheme() != scheme:  # offscreen: not honoured; the platform's signal then
        hints.colorSchemeChanged.emit(scheme)


def sample(qtbot) -> QWidget:
    w = QWidget()
    grid = QGridLayout(w)
    grid.addWidget(QLabel("Prompt"), 0, 0)
    grid.addWidget(QLineEdit("a kite over a windy beach"), 0, 1)
    render = QPushButton(icons.icon("render"), "Render")
    grid.addWidget(render, 1, 0)
    off = QPushButton(icons.icon("cancel"), "Cancel")
    off.setEnabled(False)
    grid.addWidget(off, 1, 1)
    combo = QComboBox()
    combo.addItems(["480p", "720p", "1080p"])
    grid.addWidget(combo, 2, 0)
    grid.addWidget(QCheckBox("Mock (free)"), 2, 1)
    bar = QProgressBar()
    bar.setValue(40)
    grid.addWidget(bar, 3, 0, 1, 2)
    lst = QListWidget()
    lst.addItems(["take 1 · Done", "take 2 · Rendering 40%", "take 3 · Failed"])
    lst.setCurrentRow(1)
    grid.addWidget(lst, 4, 0, 1, 2)
    w.resize(360, 260)

    def restyle(_theme: str) -> None:  # what a window does: icons it holds are drawn again
        render.setIcon(icons.icon("render"))
        off.setIcon(icons.icon("cancel"))
    t = theme.current()
    if t is not None:
        t.changed.connect(restyle)
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    return w


def shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("TAKES_SHOTS_DIR") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def main_colour(image: QImage) -> str:
    """The most common opaque colour of an image (an icon's stroke)."""
    counts: collections.Counter[str] = collections.Counter()
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() == 255:
                counts[c.name()] += 1
    return counts.most_common(1)[0][0]


def assert_theme(qapp: QApplication, name: str) -> None:
    want = colours(name)
    pal = qapp.palette()
    assert qapp.style().name().lower() == "fusion"
    assert pal.color(R.Window).name() == want["window"]
    assert pal.color(R.Base).name() == want["base"]
    assert pal.color(R.WindowText).name() == want["text"]
    assert pal.color(R.Highlight).name() == want["accent"]
    assert pal.color(QPalette.ColorGroup.Disabled, R.ButtonText).name() == want["icon_disabled"]
    # icons follow: drawn again in the new theme's icon colour
    img = icons.icon("play").pixmap(32, 32).toImage()
    assert main_colour(img) == want["icon"]


def test_dark_is_the_default_and_light_switches(qapp, qtbot, restore_theme, tmp_path):
    t = theme.apply_theme(qapp)
    assert (t.choice, t.theme) == ("dark", "dark")
    assert_theme(qapp, "dark")
    w = sample(qtbot)
    shots = shots_dir(tmp_path)
    dark = w.grab()
    assert dark.save(str(shots / "theme-dark.png"))
    corner = dark.toImage().pixelColor(2, 2).name()
    assert corner == colours("dark")["window"]

    with qtbot.waitSignal(t.changed, timeout=1000) as sig:
        assert theme.apply_theme(qapp, "light") is t
    assert sig.args == ["light"]
    assert_theme(qapp, "light")
    qtbot.waitUntil(lambda: w.palette().color(R.Window).name() == colours("light")["window"],
                    timeout=1000)  # the widgets hear of the new palette through events
    light = w.grab()
    assert light.save(str(shots / "theme-light.png"))
    assert light.toImage().pixelColor(2, 2).name() == colours("light")["window"]
    # a button that re-set its icon on `changed` shows it in the light icon colour
    button = next(b for b in w.findChildren(QPushButton) if b.text() == "Render")
    assert main_colour(button.icon().pixmap(32, 32).toImage()) == colours("light")["icon"]


def test_an_unknown_choice_is_refused_and_changes_nothing(qapp, restore_theme):
    theme.apply_theme(qapp, "light")
    with pytest.raises(ValueError, match="unknown theme 'sepia'"):
        theme.apply_theme(qapp, "sepia")
    assert theme.current(qapp).choice == "light"
    assert_theme(qapp, "light")


def test_follow_the_system_switches_live(qapp, qtbot, restore_theme):
    t = theme.apply_theme(qapp, "system")
    # the offscreen platform reports no scheme: the default, dark
    assert t.theme == ("light" if qapp.styleHints().colorScheme() == Qt.ColorScheme.Light
                       else "dark")
    send_scheme(qapp, Qt.ColorScheme.Dark)
    assert t.theme == "dark"
    with qtbot.waitSignal(t.changed, timeout=1000) as sig:
        send_scheme(qapp, Qt.ColorScheme.Light)
    assert sig.args == ["light"]
    assert_theme(qapp, "light")
    with qtbot.waitSignal(t.changed, timeout=1000) as sig:
        send_scheme(qapp, Qt.ColorScheme.Dark)
    assert sig.args == ["dark"]
    assert_theme(qapp, "dark")


def test_an_explicit_choice_ignores_the_system(qapp, qtbot, restore_theme):
    t = theme.apply_theme(qapp, "dark")
    with qtbot.assertNotEmitted(t.changed):
        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert_theme(qapp, "dark")
    # and back to following: the last scheme the system reported counts
    theme.apply_theme(qapp, "system")
    send_scheme(qapp, Qt.ColorScheme.Light)
    assert t.theme == "light"


def test_resolve():
    assert theme.resolve("system", Qt.ColorScheme.Unknown) == "dark"
    assert theme.resolve("system", Qt.ColorScheme.Light) == "light"
    assert theme.resolve("system", Qt.ColorScheme.Dark) == "dark"
    assert theme.resolve("light", Qt.ColorScheme.Dark) == "light"
    assert set(theme.CHOICES) == {"dark", "light", "system"}
