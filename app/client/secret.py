"""A secret value (an API key) that never shows itself. No Qt, no network: cheap to import
(the window's start makes its connection before httpx is loaded)."""

from __future__ import annotations


class Secret:
    """A value that never shows itself in a repr, str, vars() dump or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)
