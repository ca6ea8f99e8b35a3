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
