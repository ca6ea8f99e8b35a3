"""The studio toolbar: the Mock toggle on the left; offline notice, profile and credits right."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QWidget

from app.ui.icons import icon
from app.ui.palette import styled

OFFLINE_TEXT = "Offline — retrying…"


class StudioToolbar(QToolBar):
    def __init__(self, profile_name: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Studio", parent)
        self.setObjectName("studioToolbar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.mock_action = QAction(icon("mock"), "Mock renders", self)
        self.mock_action.setObjectName("mockToggle")
        self.mock_action.setCheckable(True)
        self.mock_action.setToolTip("Mock: free placeholder renders, badged MOCK everywhere")
        self.addAction(self.mock_action)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.offline_label = QLabel(OFFLINE_TEXT, self)
        self.offline_label.setObjectName("offline")
        self.offline_label.setToolTip("The API does not answer. Takes keep their place and "
                                      "carry on by themselves once it is back.")
        self.offline_label.setStyleSheet(styled(
            "background:$error;color:$on_accent;font-weight:bold;border-radius:4px;"
            "padding:2px 8px;margin-right:12px;"))
        # a toolbar shows and hides its widgets through their actions
        self._offline_action = self.addWidget(self.offline_label)
        self._offline_action.setVisible(False)
        self.profile_label = QLabel(f"Profile: {profile_name}" if profile_name else "", self)
        self.profile_label.setStyleSheet("color: palette(mid); padding-right: 12px;")
        self.addWidget(self.profile_label)
        self.balance_label = QLabel("Credits: …", self)
        self.balance_label.setObjectName("balance")
        self.balance_label.setStyleSheet("padding-right: 8px; font-weight: bold;")
        self.addWidget(self.balance_label)

    def set_online(self, online: bool) -> None:
        """Offline is said plainly while it lasts."""
        self._offline_action.setVisible(not online)
