"""pyproject.toml lists every package, so a wheel carries all of app/ and resources/."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_app_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "app").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= set(config["packages"]), found - set(config["packages"])
    assert config["package-dir"]["takes_resources"] == "resources"
    data = config["package-data"]["takes_resources"]
    shipped = {p.relative_to(ROOT / "resources") for p in (ROOT / "resources").rglob("*")
               if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts}
    covered = {f for f in shipped if any(f.match(pattern) for pattern in data)}
    assert covered == shipped, shipped - covered
