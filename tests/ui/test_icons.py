"""Icons from resources/ are drawn in the theme's colours, sharp at each size, cached."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtGui import QColor, QIcon

from app.resources import ICON_NAMES, ResourceError, palette
from app.ui import icons


def ink(qicon: QIcon, side: int = 24, mode: QIcon.Mode = QIcon.Mode.Normal) -> Counter[str]:
    """The opaque colours of an icon's pixmap, most common first."""
    img = qicon.pixmap(side, side, mode).toImage()
    seen: Counter[str] = Counter()
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if c.alpha() == 255:
                seen[c.name()] += 1
    return seen


@pytest.fixture(autouse=True)
def light_theme(qapp):
    icons.set_theme("light")
    yield
    icons.set_theme("light")


@pytest.mark.parametrize("name", [n for n in ICON_NAMES if n != "takes"])
def test_line_icons_draw_in_the_theme_icon_colour_and_grey_when_disabled(name):
    qicon = icons.icon(name)
    normal, disabled = ink(qicon), ink(qicon, mode=QIcon.Mode.Disabled)
    assert normal.most_common(1)[0][0] == palette("light")["icon"]
    assert disabled.most_common(1)[0][0] == palette("light")["icon_disabled"]
    assert sum(normal.values()) >= 8  # something was drawn, not a blank square


def test_sizes_are_rendered_not_scaled_up():
    sizes = {(s.width(), s.height()) for s in icons.icon("render").availableSizes()}
    assert {(16, 16), (24, 24), (32, 32)} <= sizes


def test_icons_are_cached_per_name_and_role():
    assert icons.icon("play") is icons.icon("play")
    accent = icons.icon("play", "accent")
    assert accent is not icons.icon("play")
    assert ink(accent).most_common(1)[0][0] == palette("light")["accent"]


def test_dark_theme_redraws_in_its_colours():
    icons.set_theme("dark")
    assert ink(icons.icon("retry")).most_common(1)[0][0] == palette("dark")["icon"]


def test_unknown_names_themes_and_roles_are_refused():
    with pytest.raises(ResourceError):
        icons.icon("nope")
    with pytest.raises(ResourceError):
        icons.set_theme("sepia")
    with pytest.raises(KeyError):
        icons.icon("play", "no-such-role")


def test_the_app_icon_keeps_its_colours_up_to_256_px():
    app = icons.app_icon()
    assert max(s.width() for s in app.availableSizes()) == 256
    colours = ink(app, 64)
    assert len(colours) > 20  # a gradient, not one flat colour
    assert QColor(palette("light")["icon"]).name() not in colours.most_common(3)


def test_the_app_sets_its_icon_and_desktop_name(qapp):
    from app.ui.main import make_app

    app = make_app([])
    assert app is qapp
    assert not app.windowIcon().isNull() and app.desktopFileName() == "takes"


def test_actions_carry_icons(qapp):
    from app.ui.history_panel import DetailsPanel
    from app.ui.toolbar import StudioToolbar

    bar = StudioToolbar("Sandbox")
    assert not bar.mock_action.icon().isNull()
    details = DetailsPanel()
    for b in (details.play_btn, details.rerun_btn, details.compare_btn, details.fav_btn,
              details.delete_btn):
        assert not b.icon().isNull(), b.text()
    bar.deleteLater()
    details.deleteLater()
