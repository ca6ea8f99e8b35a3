"""Icons from `resources/icons`, drawn in the theme's colours (GUI thread only).

Line icons are SVGs drawn in `currentColor`; each is rendered once per colour into a QIcon
with a normal and a disabled pixmap at the sizes toolbars, buttons and menus use, and cached.
The app icon keeps its own colours.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.resources import icon_svg
from app.ui import palette

SIZES = (16, 24, 32)  # Qt scales the nearest larger one for other sizes


def set_theme(theme: str) -> None:
    """Icons (and every colour asked for) after this are `theme`'s (`app.ui.palette`)."""
    palette.set_theme(theme)


def _pixmap(renderer: QSvgRenderer, side: int, dpr: float) -> QPixmap:
    pm = QPixmap(round(side * dpr), round(side * dpr))
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, pm.width(), pm.height()))
    painter.end()
    pm.setDevicePixelRatio(dpr)
    return pm


def _dpr() -> float:
    screen = QGuiApplication.primaryScreen()
    return max(1.0, screen.devicePixelRatio()) if screen else 1.0


@functools.cache
def icon(name: str, role: str = "icon") -> QIcon:
    """The icon `name` drawn in the palette colour `role` (disabled: `icon_disabled`)."""
    svg = icon_svg(name)
    out, dpr = QIcon(), _dpr()
    for mode, colour in ((QIcon.Mode.Normal, palette.colour(role)),
                         (QIcon.Mode.Disabled, palette.colour("icon_disabled"))):
        renderer = QSvgRenderer(QByteArray(svg.replace(b"currentColor", colour.encode())))
        for side in SIZES:
            out.addPixmap(_pixmap(renderer, side, dpr), mode)
    return out


@functools.cache
def app_icon() -> QIcon:
    renderer, out, dpr = QSvgRenderer(QByteArray(icon_svg("takes"))), QIcon(), _dpr()
    for side in (*SIZES, 48, 64, 128, 256):
        out.addPixmap(_pixmap(renderer, side, dpr))
    return out


palette.on_theme_changed(icon.cache_clear)  # drawn in the old colours: draw again


def icon_size(side: int = 16) -> QSize:
    return QSize(side, side)
