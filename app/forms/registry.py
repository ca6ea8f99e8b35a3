"""The table from a field's kind (`app.catalog.specs.editor_kind`) to the editor that edits it."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator

from PySide6.QtWidgets import QWidget

from app.catalog.specs import FieldSpec, editor_kind
from app.forms.base import Editor, EditorContext

Factory = Callable[[FieldSpec, EditorContext, str, "QWidget | None"], Editor]


def _slider_or_spin(spec: FieldSpec, ctx: EditorContext, path: str,
                    parent: QWidget | None) -> Editor:
    from app.forms.editors import DependentIntEditor, RateEditor, SliderEditor, SpinEditor

    if not spec.bounded:
        return SpinEditor(spec, ctx, path, parent)
    if spec.unit == "fps" and spec.unset_allowed:  # an output rate; unset = the source's
        return RateEditor(spec, ctx, path, parent)
    if spec.depends_on:
        return DependentIntEditor(spec, ctx, path, parent)
    return SliderEditor(spec, ctx, path, parent)


def _lazy(module: str, name: str) -> Factory:
    """The editor class `name` of `module`, imported when a field first needs it: a form
    imports only its own editors' modules (the first form of a process comes sooner)."""

    def make(spec: FieldSpec, ctx: EditorContext, path: str,
             parent: QWidget | None = None) -> Editor:
        editor: Factory = getattr(importlib.import_module(module), name)
        return editor(spec, ctx, path, parent)

    return make


def _default_table() -> dict[str, Factory]:
    editors = "app.forms.editors"
    media = _lazy("app.forms.media", "MediaEditor")
    return {
        "enum": _lazy(editors, "EnumEditor"),
        "integer": _slider_or_spin,
        "number": _slider_or_spin,
        "bool": _lazy(editors, "BoolEditor"),
        "string": _lazy(editors, "StringEditor"),
        "prompt": _lazy("app.forms.prompt", "PromptEditor"),
        "seed": _lazy(editors, "SeedEditor"),
        "auto-int": _lazy(editors, "AutoIntEditor"),
        "keyframe": _lazy(editors, "KeyframeEditor"),
        "media": media,
        "media-list": media,
        "shots": _lazy("app.forms.shots", "ShotsEditor"),
        "elements": _lazy("app.forms.elements", "ElementsEditor"),
        "cards": _lazy("app.forms.imported", "CardsEditor"),  # any list of objects, imported
        "json": _lazy(editors, "JsonEditor"),
    }


_table: dict[str, Factory] | None = None


def editor_table() -> dict[str, Factory]:
    global _table
    if _table is None:
        _table = _default_table()
    return _table


def register_editor(kind: str, factory: Factory) -> None:
    """Use `factory` for every field of this kind (an ``x-widget`` value or a shape)."""
    editor_table()[kind] = factory


@contextlib.contextmanager
def editor_registered(kind: str, factory: Factory) -> Iterator[None]:
    """Temporarily register an editor (tests)."""
    table = editor_table()
    previous = table.get(kind)
    table[kind] = factory
    try:
        yield
    finally:
        if previous is None:
            table.pop(kind, None)
        else:
            table[kind] = previous


def editor_for(spec: FieldSpec, ctx: EditorContext, path: str,
               parent: QWidget | None = None) -> Editor:
    table = editor_table()
    factory = table.get(editor_kind(spec, table)) or table["json"]
    return factory(spec, ctx, path, parent)
