"""The work folder: where results land, and the `out` naming pattern expanded for a take.

The default is a Takes folder in the user's Videos folder (platformdirs); a test or the user
passes its own. `{task}`, `{model}`, `{date}`, `{time}` and `{n}` in `out` are expanded before
the `out` check (app.catalog.wrapper), `{n}` counting up past files that exist and takes that
will be saved under that name, so nothing is overwritten silently.
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from app.catalog.wrapper import expand_out, has_tokens, out_pattern_problem

FOLDER_NAME = "Takes"


def project_dir(work_dir: Path, project: str) -> Path:
    """Where a project's results land: `<work folder>/<project id>` (app.client.projects: the
    id is a safe folder name); the work folder itself for no project, or for an id that is
    not a safe folder name (damaged data never leads outside the work folder)."""
    from app.client.projects import is_safe_folder

    root = Path(work_dir)
    return root / project if project and is_safe_folder(project) else root


def default_work_dir() -> Path:
    """`~/Videos/Takes` (or the platform's Videos folder); `TAKES_WORK_DIR` overrides it."""
    import os

    override = os.environ.get("TAKES_WORK_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_videos_dir()) / FOLDER_NAME


def expand_payload_out(model_id: str, payload: dict[str, Any], work_dir: Path, *,
                       store: Any = None, when: datetime | None = None) -> dict[str, Any]:
    """A copy of `payload` whose `out` pattern is expanded (unchanged when it has no token).
    `ValueError` for an unknown token. `store` (a `JobStore`): outs of stored takes count as
    taken."""
    out = payload.get("out")
    problem = out_pattern_problem(out)
    if problem:
        raise ValueError(problem)
    if not has_tokens(out):
        return payload
    from app.catalog import MODELS

    spec = MODELS.get(model_id)
    root = Path(work_dir)

    def taken(candidate: str) -> bool:
        try:
            if (root / candidate).exists():
                return True
        except (OSError, ValueError):
            return False  # the out check says what is wrong with it
        return bool(store is not None and store.uses_out(candidate))

    expanded = copy.deepcopy(payload)
    expanded["out"] = expand_out(out, task=spec.task if spec else "take", model=model_id,
                                 when=when or datetime.now(), taken=taken)
    return expanded
