"""The editor table: shapes map to editors, x-widget overrides, unknown shapes get JSON."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from app.catalog.specs import field_specs
from app.forms.base import OMIT, Editor, EditorContext
from app.forms.editors import JsonEditor, SliderEditor, SpinEditor
from app.forms.probing import probe_service
from app.forms.registry import editor_for, editor_registered

SCHEMA = {
    "properties": {
        "blob": {"type": "object", "description": "Anything"},
        "count": {"type": "integer", "minimum": 1},
        "level": {"type": "number", "minimum": 0, "maximum": 1, "x-step": 0.1},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5, "x-widget": "stars"},
    }
}


class StarsEditor(Editor):
    def __init__(self, spec, ctx, path, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(spec, ctx, path, parent)
        self.label = QLabel("★★★", self)
        self.stars = 3

    def value(self):  # type: ignore[no-untyped-def]
        return self.stars

    def set_value(self, value):  # type: ignore[no-untyped-def]
        self.stars = 3 if value is OMIT else value


def test_table_and_overrides(qtbot) -> None:
    ctx = EditorContext(probe_service())
    specs = {s.name: s for s in field_specs(SCHEMA)}
    blob = editor_for(specs["blob"], ctx, "blob")
    qtbot.addWidget(blob)
    assert isinstance(blob, JsonEditor) and blob.objectName() == "blob"
    blob.edit.setPlainText('{"a": [1, 2]}')
    assert blob.value() == {"a": [1, 2]}
    blob.set_value({"b": True})
    assert blob.value() == {"b": True}
    blob.edit.setPlainText("{not json")
    assert blob.value() == "{not json"  # passed on as text: validation says what is wrong
    count = editor_for(specs["count"], ctx, "count")
    qtbot.addWidget(count)
    assert isinstance(count, SpinEditor) and count.value() == 1
    level = editor_for(specs["level"], ctx, "level")
    qtbot.addWidget(level)
    assert isinstance(level, SliderEditor)
    level.set_value(0.25)  # off the 0.1 grid: kept exactly
    assert level.value() == 0.25
    unknown = editor_for(specs["stars"], ctx, "stars")  # x-widget nobody registered
    qtbot.addWidget(unknown)
    assert isinstance(unknown, SliderEditor)
    with editor_registered("stars", StarsEditor):
        stars = editor_for(specs["stars"], ctx, "stars")
        qtbot.addWidget(stars)
        assert isinstance(stars, StarsEditor) and stars.value() == 3
    after = editor_for(specs["stars"], ctx, "stars2")
    qtbot.addWidget(after)
    assert isinstance(after, SliderEditor)


def _all_specs(specs):  # type: ignore[no-untyped-def]
    for s in specs:
        yield s
        yield from _all_specs(s.children)


def test_the_form_decides_each_editor_through_editor_kind(qtbot):
    """One decision: every field of every model gets the table's editor for `editor_kind`
    (the catalog's tested mapping), the JSON editor only where that kind is "json"."""
    from app.catalog import MODELS
    from app.catalog.specs import editor_kind
    from app.forms.registry import editor_table

    table = editor_table()
    ctx = EditorContext(probe_service())
    seen = set()
    for model in MODELS.values():
        specs = field_specs(model.json_schema())
        ctx.fields = {s.name: s for s in specs}
        for spec in _all_specs(specs):
            kind = editor_kind(spec, table)
            assert kind == editor_kind(spec), spec.path  # the app's table and the catalog agree
            seen.add(kind)
            with editor_registered(kind, lambda s, c, p, parent=None, k=kind: _Tagged(s, c, p, k)):
                editor = editor_for(spec, ctx, spec.path)
            qtbot.addWidget(editor)
            assert isinstance(editor, _Tagged) and editor.kind == kind, spec.path
    assert {"prompt", "media", "media-list", "shots", "elements", "enum"} <= seen


class _Tagged(Editor):
    def __init__(self, spec, ctx, path, kind):  # type: ignore[no-untyped-def]
        super().__init__(spec, ctx, path)
        self.kind = kind

    def value(self):  # type: ignore[no-untyped-def]
        return OMIT
