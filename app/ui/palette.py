"""The current theme's colours by role: every style sheet, painter and icon of the window asks
here (GUI thread), never writes a colour itself.

The colours are data, `resources/themes/palette.json` (read by `app.resources.palette`), one
set a theme ("light", "dark") plus the status colours both share. `colour(role)` answers for
the current theme; `set_theme` switches it and tells those who cache drawn colours
(`on_theme_changed`: the icons). Style sheets are written with `$role` placeholders and filled
by `styled(css)` when a widget is built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from string import Template

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QWidget

from app.resources import palette

_theme = "light"
_listeners: list[Callable[[], None]] = []


@functools.cache
def _colours(theme: str) -> dict[str, str]:
    return palette(theme)


def theme() -> str:
    return _theme


def set_theme(name: str) -> None:
    """Colours asked for after this are `name`'s (an unknown theme is refused, nothing
    changed); each `on_theme_changed` callback runs once."""
    global _theme
    _colours(name)  # raises ResourceError for an unknown theme
    _theme = name
    for listener in list(_listeners):
        listener()


def on_theme_changed(listener: Callable[[], None]) -> None:
    _listeners.append(listener)


def colour(role: str) -> str:
    """"#rrggbb" of `role` in the current theme (KeyError for a role the palette lacks)."""
    return _colours(_theme)[role]


def qcolor(role: str, alpha: int = 255) -> QColor:
    """`role` as a QColor (shared by every caller asking the same: do not change it)."""
    return _qcolor(_theme, role, alpha)


@functools.cache
def _qcolor(theme: str, role: str, alpha: int) -> QColor:  # painters ask on every row
    c = QColor(_colours(theme)[role])
    c.setAlpha(alpha)
    return c


def status_colour(status: str) -> QColor:
    """A job status's colour (an unknown status reads as pending)."""
    known = f"status.{status}" in _colours(_theme)
    return qcolor(f"status.{status}" if known else "status.pending")


#: The colour roles a ``color:`` style sheet sets on a widget, in every state.
_TEXT_ROLES = (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
               QPalette.ColorRole.ButtonText)
_GROUPS = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive,
           QPalette.ColorGroup.Disabled)


def tint(widget: QWidget, role: str, px: int | None = None, weight: int | None = None) -> None:
    """Colour `widget`'s text with `role` (and set its font's pixel size and weight): what a
    ``color: $role; font-size: 11px`` style sheet does, through the widget's QPalette and
    QFont. A style sheet routes the widget, and everything it paints, through
    QStyleSheetStyle: a form with one on each label builds and paints ~20% slower."""
    widget.setPalette(_text_palette(_theme, role))
    if px is not None or weight is not None:
        widget.setFont(_font(px, weight))


def text_font(px: int | None = None, weight: int | None = None) -> QFont:
    """A font that only says its pixel size and weight (the rest inherited from the parent)."""
    return QFont(_font(px, weight))


@functools.cache
def _text_palette(theme: str, role: str) -> QPalette:
    pal = QPalette()
    pal.setResolveMask(0)  # only the text roles set below: the rest follows the parent
    brush = QColor(_colours(theme)[role])
    for group in _GROUPS:
        for text_role in _TEXT_ROLES:
            pal.setColor(group, text_role, brush)
    return pal


@functools.cache
def _font(px: int | None, weight: int | None) -> QFont:
    font = QFont()
    font.setResolveMask(0)
    if px is not None:
        font.setPixelSize(px)
    if weight is not None:
        font.setWeight(QFont.Weight(weight))
    return font


def styled(css: str) -> str:
    """A style sheet with each `$role` replaced by its colour (KeyError for an unknown role)."""
    return Template(css).substitute(_colours(_theme))
