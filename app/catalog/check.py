"""`takes check`: validate and price a payload, probing local media files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.catalog.media import is_remote, local_path
from app.catalog.pricing import estimate
from app.catalog.validate import local_media, probe_values, validate_payload


def resolve_local(payload: dict[str, Any], base_dir: Path, model_id: str) -> dict[str, str]:
    """Map each local media value to an absolute path (relative paths: from base_dir)."""
    out: dict[str, str] = {}
    for value in local_media(model_id, payload):
        p = Path(local_path(value))
        out[value] = str(p if p.is_absolute() else base_dir / p)
    return out


def check_payload(model_id: str, payload: dict[str, Any],
                  base_dir: Path | None = None) -> dict[str, Any]:
    """The JSON result of `takes check`."""
    from app.media.probe import probe

    paths = resolve_local(payload, base_dir or Path.cwd(), model_id)
    found = probe_values(list(paths.values()), probe)
    probes = {value: found[path] for value, path in paths.items() if not is_remote(value)}
    report = validate_payload(model_id, payload, probes)
    est = estimate(model_id, payload, probes)
    return {
        "valid": report.valid,
        "errors": [i.to_dict() for i in report.errors],
        "warnings": [i.to_dict() for i in report.warnings],
        "credits": est.to_dict(),
        "breakdown": est.breakdown,
        "notes": est.notes,
    }
