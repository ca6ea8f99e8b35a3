"""`takes install-desktop`: the freedesktop menu entry and icon, for this user. Qt-free.

Writes `<XDG_DATA_HOME>/applications/takes.desktop` (Exec pointing at the `takes` that runs
this command, quoted as the Desktop Entry spec requires) and the app icon as
`<XDG_DATA_HOME>/icons/hicolor/scalable/apps/takes.svg`; `--remove` takes both away.
Each file is written to a temporary name and renamed, so a menu never reads half a file.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from app.resources import desktop_entry_template, icon_svg

ENTRY = Path("applications") / "takes.desktop"
ICON = Path("icons") / "hicolor" / "scalable" / "apps" / "takes.svg"
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


class DesktopError(OSError):
    """The entry could not be written (an unusable data folder)."""


def data_home() -> Path:
    """$XDG_DATA_HOME when it is an absolute path (the spec ignores a relative one)."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if os.path.isabs(env) else Path.home() / ".local" / "share"


def exec_argv() -> list[str]:
    """How a menu starts this installation: the `takes` script, else this Python with -m app."""
    script = shutil.which("takes")
    if script:
        return [str(Path(script).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "app"]


def quote_arg(arg: str) -> str:
    """One Exec argument per the Desktop Entry spec ("Exec key"): quoted when it must be,
    with `"`, `` ` ``, `$` and `\\` escaped inside quotes, and `%` doubled (field codes)."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in arg):
        raise DesktopError(f"cannot put a control character in a desktop entry: {arg!r}")
    arg = arg.replace("%", "%%")
    if not arg or any(c in _RESERVED for c in arg):
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'
    return arg


def _escape_value(value: str) -> str:
    # Exec is a "string" value too: a backslash must be written as \\ on top of the quoting.
    return value.replace("\\", "\\\\")


def render_entry(argv: list[str]) -> str:
    exec_line = _escape_value(" ".join(quote_arg(a) for a in argv))
    text = desktop_entry_template().replace("@EXEC@", exec_line)
    return text.replace("@TRYEXEC@", _escape_value(argv[0]))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def install(home: Path | None = None, argv: list[str] | None = None) -> list[Path]:
    home = home or data_home()
    entry, icon = home / ENTRY, home / ICON
    try:
        _write(icon, icon_svg("takes"))
        _write(entry, render_entry(argv or exec_argv()).encode("utf-8"))
    except OSError as e:
        raise DesktopError(f"cannot write the desktop entry under {home}: "
                           f"{e.strerror or e}") from None
    return [entry, icon]


def remove(home: Path | None = None) -> list[Path]:
    home = home or data_home()
    gone = []
    for path in (home / ENTRY, home / ICON):
        try:
            path.unlink()
            gone.append(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise DesktopError(f"cannot remove {path}: {e.strerror or e}") from None
    return gone
