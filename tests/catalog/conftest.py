"""Session fixtures of the catalog tests (see helpers.py)."""

from __future__ import annotations

import pytest

from .helpers import Media


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return Media(tmp_path_factory.mktemp("media"))
