"""Small painting helpers shared by the delegates: badges, placeholders, status colours
(the colours are the theme's, `app.ui.palette`)."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

from app.ui.palette import qcolor, status_colour

__all__ = ["draw_badge", "draw_progress", "draw_thumb", "fitted", "forget_scaled",
           "status_colour"]

PROGRESS_TRACK_ALPHA = 60  # the track shows through: a grey that suits light and dark rows


def draw_badge(p: QPainter, right: int, top: int, text: str,
               colour: QColor | None = None) -> QRect:
    """A small rounded label ending at x = `right` (the mock colour unless `colour`);
    returns where it was drawn."""
    font = QFont(p.font())
    font.setPointSizeF(max(6.5, font.pointSizeF() * 0.75))
    font.setBold(True)
    p.save()
    p.setFont(font)
    fm = p.fontMetrics()
    w, h = fm.horizontalAdvance(text) + 10, fm.height() + 2
    rect = QRect(right - w, top, w, h)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour if colour is not None else qcolor("mock"))
    p.drawRoundedRect(QRectF(rect), 4, 4)
    p.setPen(qcolor("on_accent"))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    p.restore()
    return rect


_SCALED: OrderedDict[tuple[int, int, int], QPixmap] = OrderedDict()
_SCALED_MAX = 200  # two sizes (queue rows, history tiles) of what ThumbnailCache keeps


def fitted(pixmap: QPixmap, size: QSize) -> QPixmap:
    """`pixmap` scaled to fit `size`, smoothly, once (an LRU of recent sizes)."""
    key = (pixmap.cacheKey(), size.width(), size.height())
    hit = _SCALED.get(key)
    if hit is not None:
        _SCALED.move_to_end(key)
        return hit
    scaled = pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                           Qt.TransformationMode.SmoothTransformation)
    _SCALED[key] = scaled
    if len(_SCALED) > _SCALED_MAX:
        _SCALED.popitem(last=False)
    return scaled


def forget_scaled() -> None:
    """Drop the scaled pixmaps (the window closing: freed now, on the GUI thread)."""
    _SCALED.clear()


def draw_thumb(p: QPainter, rect: QRect, pixmap: QPixmap | None, placeholder: str) -> None:
    """The thumbnail fitted into `rect` on a dark tile, or a letter while it loads."""
    p.save()
    p.fillRect(rect, qcolor("tile"))
    if pixmap is not None and not pixmap.isNull():
        scaled = fitted(pixmap, rect.size())
        x = rect.x() + (rect.width() - scaled.width()) // 2
        y = rect.y() + (rect.height() - scaled.height()) // 2
        p.drawPixmap(x, y, scaled)
    else:
        p.setPen(qcolor("tile_text"))
        font = QFont(p.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        p.setFont(font)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, placeholder[:1].upper())
    p.restore()


def draw_progress(p: QPainter, rect: QRect, fraction: float, colour: QColor) -> None:
    p.save()
    p.fillRect(rect, qcolor("progress_track", PROGRESS_TRACK_ALPHA))
    done = QRect(rect.x(), rect.y(), int(rect.width() * max(0.0, min(1.0, fraction))),
                 rect.height())
    p.fillRect(done, colour)
    p.restore()
