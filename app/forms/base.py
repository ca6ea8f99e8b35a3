"""What every editor shares: the value protocol, the form state it reads, issue routing."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.catalog.specs import FieldSpec
from app.catalog.validate import Issue
from app.ui.palette import tint

if TYPE_CHECKING:
    from app.forms.probing import ProbeService


class _Omit:
    """The value of a field that is not sent (an unset optional)."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = _Omit()


@dataclass
class FormState:
    """What the form knows after a validation pass, handed to every editor."""

    probes: Mapping[str, Any] = field(default_factory=dict)  # value → MediaInfo | ProbeError
    tags: Mapping[str, int] = field(default_factory=dict)  # mention prefix → count
    prefixes: tuple[str, ...] = ()  # the mention prefixes this model takes
    values: Mapping[str, Any] = field(default_factory=dict)  # top-level field values


#: Called with (the editor, what was removed, a function that puts it back: True if it could).
RemovalHook = Callable[["Editor", str, Callable[[], bool]], None]


class EditorContext:
    """Handed to editors so they can build nested editors, reach the probe service and say
    what they removed (the form keeps it for Undo)."""

    def __init__(self, service: ProbeService, tag_offsets: Mapping[str, int] | None = None,
                 field_specs: Mapping[str, FieldSpec] | None = None,
                 on_removed: RemovalHook | None = None) -> None:
        self.service = service
        self.tag_offsets = dict(tag_offsets or {})
        self.fields = dict(field_specs or {})
        # Held weakly: the form holds this context, and a strong reference back would make a
        # cycle only the collector frees (the GC tests find its Qt objects there).
        self._on_removed: Callable[[], RemovalHook | None] = (
            weakref.WeakMethod(on_removed) if inspect.ismethod(on_removed)
            else (lambda: on_removed))

    def note_removed(self, editor: Editor, what: str, restore: Callable[[], bool]) -> None:
        hook = self._on_removed()
        if hook is not None:
            hook(editor, what, restore)

    def build(self, spec: FieldSpec, path: str, parent: QWidget | None = None) -> Editor:
        from app.forms.registry import editor_for

        return editor_for(spec, self, path, parent)


class Editor(QWidget):
    """One field's editor. ``changed(immediate)``: False for typing (the form debounces)."""

    changed = Signal(bool)

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.ctx = ctx
        self.path = path
        self.main: QWidget = self
        self.setObjectName(path)
        self.setToolTip(tooltip_for(spec))

    # ---- value protocol ----------------------------------------------------------------
    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the schema's default (or empty)."""
        self.set_value(self.spec.default if self.spec.has_default else OMIT)

    def set_path(self, path: str) -> None:
        self.path = path
        self.setObjectName(path)

    # ---- form state --------------------------------------------------------------------
    def refresh(self, state: FormState) -> None:
        """Called after each validation pass (probes, tags, dependent limits)."""

    def show_issues(self, issues: list[Issue]) -> list[Issue]:
        """Show the issues about sub-paths this editor owns; return the rest for the row."""
        return issues

    def media_values(self) -> list[str]:
        return []

    def emit_changed(self, immediate: bool = True) -> None:
        if not self.signalsBlocked():
            self.changed.emit(immediate)


def tooltip_for(spec: FieldSpec) -> str:
    text = spec.description
    if spec.has_default and spec.default is not None:
        text += f"\nDefault: {format_value(spec.default, spec.unit)}"
    elif spec.unset_allowed:
        text += "\nDefault: unset"
    return text.strip()


def format_value(value: Any, unit: str = "") -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "×" else f"{text} {unit}"


class IssueLabel(QLabel):
    """Small red (or amber) text under an editor; hidden when there is nothing to say."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"error:{path}")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self._role = ""
        self.hide()

    def set_path(self, path: str) -> None:
        self.setObjectName(f"error:{path}")

    def set_issues(self, issues: list[Issue]) -> None:
        errors = [i.message for i in issues if i.severity == "error"]
        warnings = [i.message for i in issues if i.severity != "error"]
        lines = errors + [f"⚠ {w}" for w in warnings]
        self.setText("\n".join(dict.fromkeys(lines)))
        role = "error" if errors else "warning"
        if lines and role != self._role:  # nothing to colour while hidden
            tint(self, role, px=11)
            self._role = role
        self.setVisible(bool(lines))


def relative(issues: list[Issue], base: str) -> dict[str, list[Issue]]:
    """Issues under `base`, grouped by the first path part after it ('' for base itself)."""
    out: dict[str, list[Issue]] = {}
    for issue in issues:
        if issue.field == base:
            out.setdefault("", []).append(issue)
        elif issue.field.startswith(base + "."):
            rest = issue.field[len(base) + 1:]
            out.setdefault(rest.split(".")[0], []).append(issue)
    return out
