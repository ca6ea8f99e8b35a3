"""Optional fields' defaults, made without pydantic's per-call signature inspection, equal
pydantic's own and are fresh copies each time."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from app.catalog import MODELS
from app.catalog.fields import field_default, model_defaults


def test_every_models_defaults_equal_pydantics():
    for spec in MODELS.values():
        fields = spec.input_model.model_fields
        want = {n: f.get_default(call_default_factory=True) for n, f in fields.items()
                if not f.is_required()}
        assert model_defaults(spec.input_model) == want, spec.id
        assert spec.defaults() == want


class _M(BaseModel):
    tags: list[str] = Field(default_factory=list)
    pair: list[int] = [1, 2]
    derived: list[int] = Field(default_factory=lambda data: [len(data)])
    name: str = "x"


def test_mutable_defaults_are_fresh_and_data_taking_factories_still_work():
    a, b = field_default(_M, "tags"), field_default(_M, "tags")
    assert a == [] and a is not b
    p = field_default(_M, "pair")
    p.append(3)
    assert field_default(_M, "pair") == [1, 2]
    # a factory taking the validated data is left to pydantic, which asks for the data
    with pytest.raises(ValueError, match="validated_data"):
        _M.model_fields["derived"].get_default(call_default_factory=True)
    with pytest.raises(ValueError, match="validated_data"):
        field_default(_M, "derived")
    assert field_default(_M, "name") == "x"
