"""`takes install-desktop`: a valid freedesktop entry and icon for this user, and --remove."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app import desktop
from app.desktop import DesktopError, quote_arg, render_entry

VALIDATE = shutil.which("desktop-file-validate")


def read_entry(path: Path) -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str  # keys are case-sensitive
    cp.read_string(path.read_text("utf-8"))
    return cp["Desktop Entry"]


def validate(path: Path) -> None:
    if VALIDATE is None:
        pytest.skip("desktop-file-validate not installed (scripts/install-deps installs it)")
    out = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def run_takes(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_install_writes_a_valid_entry_and_the_icon(tmp_path):
    entry, icon = desktop.install(tmp_path, ["/opt/takes/bin/takes"])
    assert entry == tmp_path / "applications" / "takes.desktop"
    assert icon == tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "takes.svg"
    fields = read_entry(entry)
    assert fields["Exec"] == "/opt/takes/bin/takes"
    assert fields["TryExec"] == "/opt/takes/bin/takes"
    assert fields["Icon"] == "takes" and fields["Type"] == "Application"
    assert fields["Name"] == "Takes" and "Video" in fields["Categories"]
    assert icon.read_bytes().startswith(b"<svg")
    assert not list(tmp_path.rglob(".*.tmp"))
    validate(entry)


@pytest.mark.parametrize(("arg", "quoted"), [
    ("/usr/bin/takes", "/usr/bin/takes"),
    ("/home/a b/takes", '"/home/a b/takes"'),
    ('/x/"q"/takes', '"/x/\\"q\\"/takes"'),
    ("/x/$HOME/t", '"/x/\\$HOME/t"'),
    ("/x/`t`", '"/x/\\`t\\`"'),
    ("/x/100%/t", "/x/100%%/t"),
    ("/x\\y", '"/x\\\\y"'),
    ("", '""'),
])
def test_exec_arguments_are_quoted_as_the_spec_says(arg, quoted):
    assert quote_arg(arg) == quoted


def test_a_path_with_spaces_quotes_and_dollars_still_validates(tmp_path):
    entry, _ = desktop.install(tmp_path, ['/home/J "Dee" $x/venv/bin/python', "-m", "app"])
    assert read_entry(entry)["Exec"].endswith(" -m app")
    validate(entry)


@pytest.mark.parametrize("bad", ["/x\ny", "/x\x00y", "/x\ty", "/x\x7f"])
def test_control_characters_cannot_reach_the_entry(tmp_path, bad):
    with pytest.raises(DesktopError, match="control character"):
        render_entry([bad])
    with pytest.raises(DesktopError):
        desktop.install(tmp_path, [bad])
    assert not (tmp_path / "applications" / "takes.desktop").exists()


def test_exec_points_at_a_takes_that_runs():
    argv = desktop.exec_argv()
    assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
    out = subprocess.run([*argv, "models"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and '"seedance_r2v"' in out.stdout


def test_the_command_installs_then_removes(tmp_path):
    home = tmp_path / "share"
    out = run_takes("install-desktop", home=home)
    assert out.returncode == 0, out.stderr
    entry = home / "applications" / "takes.desktop"
    assert f"installed {entry}" in out.stdout
    validate(entry)
    first = entry.read_bytes()
    again = run_takes("install-desktop", home=home)  # idempotent: same files, no error
    assert again.returncode == 0 and entry.read_bytes() == first
    gone = run_takes("install-desktop", "--remove", home=home)
    assert gone.returncode == 0 and f"removed {entry}" in gone.stdout
    assert not entry.exists()
    assert run_takes("install-desktop", "--remove", home=home).returncode == 0  # nothing left


def test_a_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop.data_home() == tmp_path / ".local" / "share"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_an_unwritable_folder_is_one_line_exit_1(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    out = run_takes("install-desktop", home=home)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "cannot write the desktop entry" in out.stderr


def test_a_file_where_the_folder_should_be_is_one_line_exit_1(tmp_path):
    home = tmp_path / "share"
    home.mkdir()
    (home / "applications").write_text("not a folder")
    out = run_takes("install-desktop", home=home)
    assert out.returncode == 1, out.stdout
    assert out.stderr.count("\n") == 1 and "cannot write the desktop entry" in out.stderr
    assert "Traceback" not in out.stderr
