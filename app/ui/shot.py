"""The window as a picture, for `takes shot` (app/ui/cli.py): what a grab of the widgets misses,
the video frame on the native video surface, is painted in from the player's current frame."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap

if TYPE_CHECKING:
    from app.ui.window import MainWindow


def window_pixmap(window: MainWindow) -> QPixmap:
    """The window's pixels, with the video frame the native video surface shows."""
    pixmap = window.grab()
    preview = window.preview
    video = preview.video
    if preview.stack.currentWidget() is video and video.isVisible():
        image = preview.current_image()
        box = QRect(video.mapTo(window, QPoint(0, 0)), video.size())
        painter = QPainter(pixmap)
        painter.fillRect(box, QColor("black"))
        if not image.isNull():
            size = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = box.x() + (box.width() - size.width()) // 2
            y = box.y() + (box.height() - size.height()) // 2
            painter.drawImage(QRect(x, y, size.width(), size.height()), image)
        painter.end()
    return pixmap


def save_screenshot(window: MainWindow, path: str) -> bool:
    """`window_pixmap` written as a PNG; False if it could not be written."""
    return window_pixmap(window).save(path)
