"""A validation finding: which field, what to change, how serious."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    field: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}
