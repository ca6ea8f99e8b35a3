"""The confirm step before a render above the profile's threshold: the price, its breakdown,
the balance and today's spend, and two buttons — render for that price, or cancel (the
default: Enter or Escape on a dialog that appeared under a held key sends nothing).

`ask(parent, verdict, request)` opens the dialog window-modal (`open()`, never `exec()`: the
window's loop keeps running) and returns a future the controller awaits: True only for the
"Render for …" button.
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.client import present

if TYPE_CHECKING:
    from app.client.guard import Verdict
    from app.ui.controller import SendRequest


def _cr(n: int) -> str:
    return "1 credit" if n == 1 else f"{n:,} credits"


def price_words(verdict: Verdict) -> str:
    est = verdict.estimate
    if verdict.unknown:  # an imported model without a published price
        return "a price unknown until the provider charges"
    return _cr(est.max) if not est.is_range else f"{est.min:,}–{est.max:,} credits"


class ConfirmSpend(QDialog):
    """Render for this price? The breakdown says where the credits go."""

    def __init__(self, verdict: Verdict, request: SendRequest,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confirmSpend")
        self.setWindowTitle("Confirm this render")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.verdict = verdict
        est = verdict.estimate
        title = present.task_title(request.model_id)
        if request.what == "Promote to paid":
            self.setWindowTitle("Render this take for real")
            words = f"Rendered for real, this {title} take will cost {price_words(verdict)}"
        else:
            words = f"{title} will cost {price_words(verdict)}"
        head = QLabel(f"<b>{html.escape(words)}</b>", self)
        head.setObjectName("confirmPrice")
        head.setTextFormat(Qt.TextFormat.RichText)
        self.breakdown = QLabel(est.breakdown, self)
        self.breakdown.setObjectName("confirmBreakdown")
        self.breakdown.setWordWrap(True)
        self.breakdown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lines = []
        if verdict.threshold is not None and est.max > verdict.threshold:
            lines.append(f"Renders above {_cr(verdict.threshold)} are confirmed first on "
                         "this profile.")
        if verdict.balance is None:
            lines.append("The balance is not known now (the API does not answer): it is "
                         "checked again before anything is uploaded.")
        elif verdict.unknown:
            lines.append(f"Balance: {_cr(verdict.balance)}. Every render of this model is "
                         "confirmed first; the ledger records what the provider charges.")
        else:
            lines.append(f"Balance: {_cr(verdict.balance)}; after this render at least "
                         f"{_cr(max(0, verdict.balance - est.max))} would be left.")
        if verdict.cap is not None:
            unknown = " + unknown" if verdict.unknown else ""
            lines.append(f"Today: {_cr(verdict.spent_today)}{unknown} of the "
                         f"{_cr(verdict.cap)} daily cap spent or reserved.")
        if est.is_range:
            lines.append("The price is a range: what is charged depends on the length of the "
                         "result; at most the upper figure.")
        self.details = QLabel("\n".join(lines), self)
        self.details.setObjectName("confirmDetails")
        self.details.setWordWrap(True)
        buttons = QDialogButtonBox(self)
        self.render_button = QPushButton("Render at an unknown price" if verdict.unknown
                                         else f"Render for {price_words(verdict)}", self)
        self.render_button.setObjectName("confirmRender")
        self.render_button.setAutoDefault(False)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setDefault(True)
        buttons.addButton(self.render_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.breakdown)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()


def ask(parent: QWidget, verdict: Verdict, request: SendRequest
        ) -> tuple[ConfirmSpend, asyncio.Future[bool]]:
    """Open the dialog; the future is True only when the user chose to render."""
    dialog = ConfirmSpend(verdict, request, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not answer.done():
            answer.set_result(result == QDialog.DialogCode.Accepted)

    dialog.finished.connect(finished)
    dialog.open()
    return dialog, answer
