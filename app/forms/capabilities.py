"""What some editors can do beyond the value protocol of `app.forms.base.Editor`, as typed
protocols: the form asks with `isinstance`, never with `hasattr` or a field name."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Hinted(Protocol):
    """An editor with a line of guidance beside it (a dropdown: the chosen value's guidance).
    The form writes there what another field decides (the length set by the shots)."""

    def set_hint(self, text: str) -> None:
        """Show `text` ("" hides the line)."""

    def update_hint(self) -> None:
        """Back to the editor's own guidance."""


@runtime_checkable
class Totalled(Protocol):
    """A list whose items' parts add up to another field (`app.catalog.roles.totals`)."""

    def total(self) -> int: ...


@runtime_checkable
class Growing(Protocol):
    """A list of cards that can start empty and take one more."""

    def item_count(self) -> int: ...

    def add(self, data: dict[str, Any] | None = None) -> Any: ...
