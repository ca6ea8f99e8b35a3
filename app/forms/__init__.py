"""Forms generated from the catalog's JSON Schemas (Qt at the edge; see `app.catalog.specs` for the
Qt-free field records)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.forms.form import ModelForm

__all__ = ["ModelForm", "build_form"]


def build_form(model_id: str, parent=None) -> ModelForm:  # type: ignore[no-untyped-def]
    """The form of a catalog model: a QWidget (a QApplication must exist)."""
    from app.forms.form import ModelForm

    return ModelForm(model_id, parent)


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "ModelForm":
        from app.forms.form import ModelForm

        return ModelForm
    raise AttributeError(name)
