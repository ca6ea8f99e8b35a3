"""Row updates gathered into one repaint per batch of job updates.

The controller hands the window its job updates a frame's worth at a time (at most one batch
per 16 ms), inside `batch()`. A model that changes a row in place calls `row_changed(model,
key)` instead of emitting `dataChanged` itself: outside a batch it is emitted at once, as
before; inside one the rows are kept and, when the batch ends, each model emits one
`dataChanged` over the range its changed rows span (a view repaints a range in one update).
Rows are kept by key (the job id) and looked up with the model's `row_of` when the batch ends,
so rows inserted or removed meanwhile cannot shift them onto the wrong take.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QAbstractItemModel

_pending: dict[QAbstractItemModel, dict[Any, None]] | None = None  # None: no batch open


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Gather the row changes made inside into one `dataChanged` per model (re-entrant)."""
    global _pending
    if _pending is not None:  # an outer batch flushes
        yield
        return
    _pending = {}
    try:
        yield
    finally:
        pending, _pending = _pending, None
        for model, keys in pending.items():
            _flush(model, keys)


def row_changed(model: QAbstractItemModel, key: Any) -> None:
    """The row holding `key` (model.row_of(key)) changed in place."""
    if _pending is None:
        _flush(model, {key: None})
    else:
        _pending.setdefault(model, {})[key] = None


def _flush(model: QAbstractItemModel, keys: dict[Any, None]) -> None:
    rows = [r for r in map(model.row_of, keys) if r is not None]  # type: ignore[attr-defined]
    if not rows:
        return
    with contextlib.suppress(RuntimeError):  # the model was deleted meanwhile
        model.dataChanged.emit(model.index(min(rows), 0), model.index(max(rows), 0))
