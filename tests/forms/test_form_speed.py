"""What keeps a form fast to build (issue 11) without changing what it shows: labels coloured
through their palette rather than a style sheet each, Qt Multimedia imported only when a clip
plays. (The figures are bench/forms_build.py's; these tests check behaviour, not time.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from app.catalog import MODELS
from app.forms import build_form
from app.resources import palette as colours
from app.ui import palette

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["dark", "light"])
def theme(request):  # type: ignore[no-untyped-def]
    before = palette.theme()
    palette.set_theme(request.param)
    yield request.param
    palette.set_theme(before)


def text_colour(label: QLabel) -> str:
    return label.palette().color(QPalette.ColorGroup.Active, label.foregroundRole()).name()


@pytest.mark.parametrize("model_id", list(MODELS))
def test_a_form_styles_its_labels_without_style_sheets(qtbot, model_id) -> None:  # type: ignore[no-untyped-def]
    form = build_form(model_id)
    qtbot.addWidget(form)
    styled = [w.objectName() or type(w).__name__ for w in form.findChildren(QLabel)
              if w.styleSheet()]
    assert styled == []


def test_issue_labels_and_the_summary_take_the_themes_colours(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    form = build_form("kling_v3_std_i2v")
    qtbot.addWidget(form)
    form.resize(820, 1200)
    form.show()
    out = form.out_edit
    QTest.mouseDClick(out, Qt.MouseButton.LeftButton)
    out.selectAll()
    QTest.keyClick(out, Qt.Key.Key_Delete)  # the output name is required
    qtbot.waitUntil(lambda: form.issue_label("out").isVisible())
    label = form.issue_label("out")
    assert "required" in label.text()
    c = colours(theme)
    assert text_colour(label) == c["error"]
    assert label.font().pixelSize() == 11
    assert text_colour(form.summary_label) == c["error"]
    QTest.keyClicks(out, "takes/x.mp4")
    qtbot.waitUntil(lambda: form.issue_label("out").isHidden())
    # a field label keeps the window's palette
    assert not form.field_labels["out"].testAttribute(Qt.WidgetAttribute.WA_SetPalette)


def test_a_prompts_count_turns_red_past_the_limit_and_back(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    form = build_form("kling_v3_std_i2v")
    qtbot.addWidget(form)
    form.show()
    prompt = form.editor("prompt")
    c = colours(theme)
    assert text_colour(prompt.count) == c["muted"]
    prompt.edit.setPlainText("x" * 2500)
    QTest.keyClicks(prompt.edit, "yz")
    assert "2,502" in prompt.count.text() and text_colour(prompt.count) == c["error"]
    QTest.keyClick(prompt.edit, Qt.Key.Key_Backspace)
    QTest.keyClick(prompt.edit, Qt.Key.Key_Backspace)
    assert text_colour(prompt.count) == c["muted"]


def test_building_a_form_does_not_import_qt_multimedia() -> None:
    code = (
        "from PySide6.QtWidgets import QApplication\n"
        "import sys\n"
        "app = QApplication([])\n"
        "from app.catalog import MODELS\n"
        "from app.forms import build_form\n"
        "forms = [build_form(m) for m in MODELS]\n"
        "print('PySide6.QtMultimedia' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                              "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"


def test_a_reference_clip_still_plays_in_its_item(qtbot, media) -> None:  # type: ignore[no-untyped-def]
    form = build_form("topaz_upscale_video")
    qtbot.addWidget(form)
    form.resize(820, 900)
    form.show()
    editor = form.editor("video_url")
    assert editor.add_values([str(media.video)]) == [str(media.video)]
    qtbot.waitUntil(lambda: bool(editor.items) and editor.items[0].play is not None)
    item = editor.items[0]
    qtbot.waitUntil(item.play.isVisible)
    QTest.mouseClick(item.play, Qt.MouseButton.LeftButton)
    assert item.playing()
    player = item.clip_player
    qtbot.waitUntil(lambda: player.frames > 0, timeout=10_000)
    QTest.mouseClick(item.play, Qt.MouseButton.LeftButton)  # stop
    qtbot.waitUntil(lambda: not item.playing())
    QApplication.processEvents()


def test_the_mode_switch_shows_the_mode_clicked(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    form = build_form("kling_v3_pro_i2v")
    qtbot.addWidget(form)
    form.resize(820, 1000)
    form.show()
    qtbot.waitExposed(form)
    switch = form.switches["prompt"]
    single, shots = switch.buttons["prompt"], switch.buttons["multi_prompt"]

    def background(button) -> str:  # type: ignore[no-untyped-def]
        return button.grab().toImage().pixelColor(6, button.height() // 2).name()

    accent = colours(theme)["accent"]
    assert background(single) == accent and background(shots) != accent
    QTest.mouseClick(shots, Qt.MouseButton.LeftButton)
    assert form.mode("prompt") == "multi_prompt"
    assert background(shots) == accent and background(single) != accent
    QTest.mouseClick(single, Qt.MouseButton.LeftButton)
    assert form.mode("prompt") == "prompt"
    assert background(single) == accent and background(shots) != accent
