"""What a desktop notification says about a take that ended. Plain Python, no Qt.

`notification_for(job)` is (title, body) for a take worth telling about, None otherwise:
a take is "ready" once its file is saved (a succeeded take still downloading says nothing
yet), "failed" or "timed out" with the reason in plain words; a take the user canceled, or
one still on its way, says nothing. Works on any object with the `JobRecord` attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.catalog.status import FAILED, SUCCEEDED, TIMED_OUT
from app.client.present import credits_text, error_words, excerpt, take_words

TITLE_LIMIT = 60
WORDS_LIMIT = 90
TITLES = {SUCCEEDED: "ready", FAILED: "failed", TIMED_OUT: "timed out"}


def notification_for(job: Any) -> tuple[str, str] | None:
    """(title, body) of the notification a take's state calls for, or None."""
    verb = TITLES.get(job.status)
    if verb is None:
        return None
    if job.status == SUCCEEDED and not job.result_path:
        return None  # the file is still coming: ready once it is saved
    kind = "Mock take" if job.mock else "Take"
    words = excerpt(take_words(job), WORDS_LIMIT)
    title = excerpt(f"{kind} {verb}: {words}", TITLE_LIMIT)
    if job.status == SUCCEEDED:
        details = [Path(str(job.result_path)).name, credits_text(job)]
        return title, f"{words}\n{' · '.join(d for d in details if d)}"
    return title, f"{words}\n{error_words(job)}"
