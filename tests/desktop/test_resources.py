"""resources/: every icon, palette and the desktop entry is shipped and well-formed (no Qt)."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app import resources
from app.resources import ICON_NAMES, THEMES, ResourceError, icon_svg, palette

COLOUR = re.compile(r"^#[0-9a-f]{6}$")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ICON_NAMES)
def test_every_icon_is_an_svg_drawn_in_current_colour(name):
    svg = icon_svg(name)
    tree = ET.fromstring(svg)
    assert tree.tag == "{http://www.w3.org/2000/svg}svg"
    assert tree.get("viewBox")
    if name != "takes":  # line icons take the theme's colour; the app icon keeps its own
        assert b"currentColor" in svg
        assert not re.search(rb"#[0-9a-fA-F]{3,6}\b", svg)


def test_every_shipped_icon_is_listed_and_every_listed_icon_shipped():
    shipped = {p.stem for p in (ROOT / "resources" / "icons").glob("*.svg")}
    assert shipped == set(ICON_NAMES)


@pytest.mark.parametrize("bad", ["", "nope", "../pyproject", "render.svg", "a\x00b"])
def test_unknown_icons_are_refused_by_name(bad):
    with pytest.raises(ResourceError, match="unknown icon"):
        icon_svg(bad)


def test_both_themes_name_the_same_roles_in_hex():
    light, dark = palette("light"), palette("dark")
    assert set(light) == set(dark)
    for colours in (light, dark):
        assert all(COLOUR.match(v) for v in colours.values()), colours
    statuses = {k for k in light if k.startswith("status.")}
    assert statuses == {f"status.{s}" for s in
                        ("pending", "queued", "running", "succeeded", "failed", "timed_out",
                         "canceled")}
    assert light["text"] != dark["text"] and light["window"] != dark["window"]


def test_unknown_theme_is_refused():
    with pytest.raises(ResourceError, match="unknown theme 'sepia'"):
        palette("sepia")
    assert set(THEMES) == {"light", "dark"}


def test_the_palette_returned_is_a_copy():
    palette("light")["text"] = "#000000"
    assert palette("light")["text"] != "#000000"


def test_resources_are_installed_package_data():
    """An installed Takes reads resources/ as the package takes_resources (not by path)."""
    out = subprocess.run(
        [sys.executable, "-c", "import importlib.resources as r;"
         "print(r.files('takes_resources').joinpath('icons', 'render.svg').is_file())"],
        capture_output=True, text=True, cwd="/")
    if "No module named 'takes_resources'" in out.stderr:
        pytest.skip("this checkout's install predates resources/ (pip install -e . again)")
    assert out.stdout.strip() == "True", out.stderr


def test_a_checkout_without_install_finds_the_folder_beside_app(monkeypatch):
    import importlib.resources as ir

    def missing(name):
        raise ModuleNotFoundError(name)

    resources.root.cache_clear()
    monkeypatch.setattr(ir, "files", missing)
    try:
        assert resources.root() == ROOT / "resources"
        assert icon_svg("play").startswith(b"<svg")
    finally:
        resources.root.cache_clear()
