"""The theme's colours by role (app/ui/palette.py): one lookup, theme-aware, no literals left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.resources import ResourceError, palette
from app.ui import palette as pal

APP = Path(__file__).resolve().parents[2] / "app"
# Every module whose colours come from the palette (app/ui/demo.py paints demo media: content).
THEMED = [*sorted((APP / "forms").glob("*.py")),
          *(APP / "ui" / f"{n}.py" for n in ("thumbs", "preview", "queue", "history_panel",
                                             "paint", "nav", "icons", "files", "workers"))]
LITERAL = re.compile(r"#[0-9a-fA-F]{6}\b"  # "#rrggbb"
                     r"|QColor\(\s*\d|QColor\(\s*\"[a-z]+\"|GlobalColor\.(?!transparent)")


@pytest.fixture(autouse=True)
def light():
    pal.set_theme("light")
    yield
    pal.set_theme("light")


def test_colours_follow_the_theme():
    assert pal.colour("text") == palette("light")["text"]
    pal.set_theme("dark")
    assert pal.theme() == "dark"
    assert pal.colour("text") == palette("dark")["text"] != palette("light")["text"]
    shaded = pal.qcolor("accent", 70)
    assert shaded.alpha() == 70 and shaded.name() == palette("dark")["accent"]
    assert pal.qcolor("accent").alpha() == 255
    assert pal.styled("QFrame { background: $surface; }") == \
        f"QFrame {{ background: {palette('dark')['surface']}; }}"


def test_unknown_roles_and_themes_are_refused_and_change_nothing():
    with pytest.raises(KeyError):
        pal.colour("no-such-role")
    with pytest.raises(KeyError):
        pal.styled("color: $no_such_role;")
    with pytest.raises(ResourceError):
        pal.set_theme("sepia")
    assert pal.theme() == "light"


def test_status_colours_and_an_unknown_status():
    assert pal.status_colour("running").name() == palette("light")["status.running"]
    assert pal.status_colour("what") == pal.status_colour("pending")


def test_listeners_hear_a_theme_switch():
    heard: list[str] = []
    pal.on_theme_changed(lambda: heard.append(pal.theme()))
    try:
        pal.set_theme("dark")
        assert heard == ["dark"]
    finally:
        pal._listeners.pop()


@pytest.mark.parametrize("path", THEMED, ids=lambda p: p.name)
def test_no_colour_literals_outside_the_palette(path):
    found = [f"{path.name}:{n}: {line.strip()}" for n, line in
             enumerate(path.read_text().splitlines(), 1) if LITERAL.search(line)]
    assert found == []
