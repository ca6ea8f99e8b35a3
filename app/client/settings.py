"""What the window remembers between starts: layout, toggles and each form's last values.

A small JSON file in the platform config directory (a test passes its own directory), written
atomically so that a crash never leaves half a file behind.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

APP_NAME = "Takes"
FILE_NAME = "window.json"


def default_config_dir() -> Path:
    return Path(user_config_dir(APP_NAME, appauthor=False))


class UiSettings:
    """A JSON-backed key/value store for UI state. Bad or missing files read as empty."""

    def __init__(self, config_dir: Path | str | None = None) -> None:
        self.dir = Path(config_dir) if config_dir is not None else default_config_dir()
        self.path = self.dir / FILE_NAME
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value

    def get_bytes(self, key: str) -> bytes | None:
        value = self._data.get(key)
        if not isinstance(value, str):
            return None
        try:
            return base64.b64decode(value)
        except ValueError:
            return None

    def set_bytes(self, key: str, value: bytes) -> None:
        self._data[key] = base64.b64encode(bytes(value)).decode("ascii")

    def form_values(self, model_id: str) -> dict[str, Any] | None:
        forms = self._data.get("forms", {})
        value = forms.get(model_id) if isinstance(forms, dict) else None
        return value if isinstance(value, dict) else None

    def set_form_values(self, model_id: str, payload: dict[str, Any]) -> None:
        forms = self._data.setdefault("forms", {})
        forms[model_id] = payload

    def snapshot(self) -> dict[str, Any]:
        """A copy of what is held now, to write on another thread (`write`)."""
        return json.loads(json.dumps(self._data, ensure_ascii=False, default=str))

    def save(self) -> None:
        self.write(self._data)

    def write(self, data: dict[str, Any]) -> None:
        """Write `data` (a `snapshot()`) atomically to the file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".window-", suffix=".json", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1, default=str)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
