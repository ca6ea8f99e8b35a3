"""UI test helpers: awaiting conditions on the loop, a private sandbox studio, real drops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget
from qtinput import drag_and_drop, file_mime


async def until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:  # noqa: ASYNC109
    """Await a condition while the Qt/asyncio loop keeps running."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or cond}")
        await asyncio.sleep(0.02)


def fast_poll() -> Any:
    from app.client.manager import PollPolicy

    return PollPolicy(initial=0.1, factor=1.0, maximum=0.1, min_gap=0.01, resubmit_every=0.5)


def open_studio(data_dir: Path, **server: Any) -> Any:
    from app.client.studio import Studio

    server.setdefault("render_seconds", 1.5)
    return Studio.open_sandbox(data_dir, poll=fast_poll(), **server)


def drop_files(target: QWidget, *paths: Path) -> bool:
    """A real drag enter → move → drop of file URLs on `target`; True if the drop was taken."""
    return drag_and_drop(target, file_mime(*paths))[1]
