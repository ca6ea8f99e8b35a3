"""Dark (the default), light, or "follow the system": Qt's Fusion style and a QPalette built
from `resources/themes/palette.json`, no theme package (GUI thread only).

    theme = apply_theme(app, "system")    # "dark" | "light" | "system"
    theme.changed.connect(restyle)         # the resolved theme, "dark" or "light"

`apply_theme` sets Fusion and the application palette, tells `app.ui.palette` (so icons are
drawn again in the new colours and `colour()`/`styled()` answer for it) and asks Qt's colour
scheme to match (`QStyleHints.setColorScheme`, Qt ≥ 6.8: native title bars and dialogs follow
where the platform allows). With "system" it follows `QStyleHints.colorScheme()` and, live,
its `colorSchemeChanged` signal; a platform that does not say (Unknown) gets the dark theme.
`changed(theme)` is emitted whenever the resolved theme changes: widgets whose style sheets
were filled from the palette (`app.ui.palette.styled`) restyle on it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.resources import palette as palette_colours

log = logging.getLogger(__name__)

DEFAULT = "dark"
CHOICES = {"dark": "Dark", "light": "Light", "system": "Follow the system"}
THEMES = ("dark", "light")
OBJECT_NAME = "takes-theme"

_SCHEMES = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}


def resolve(choice: str, scheme: Qt.ColorScheme) -> str:
    """The theme a choice means under the system's colour scheme."""
    if choice in THEMES:
        return choice
    if choice != "system":
        raise ValueError(f"unknown theme {choice!r}; known: {', '.join(CHOICES)}")
    return "light" if scheme == Qt.ColorScheme.Light else DEFAULT


def qpalette(theme: str) -> QPalette:
    """The QPalette of a theme: every role from the palette file's colours."""
    c = {role: QColor(value) for role, value in palette_colours(theme).items()}
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    pal = QPalette()
    roles = {
        R.Window: c["window"], R.WindowText: c["text"], R.Base: c["base"],
        R.AlternateBase: c["surface"], R.Text: c["text"], R.Button: c["surface"],
        R.ButtonText: c["text"], R.BrightText: c["error"], R.Highlight: c["accent"],
        R.HighlightedText: c["base"], R.ToolTipBase: c["surface"], R.ToolTipText: c["text"],
        R.PlaceholderText: c["muted"], R.Link: c["accent"], R.LinkVisited: c["accent"],
        # Fusion draws frames and bevels from these; `palette(mid)` in a style sheet is the
        # secondary text colour in this app, so Mid is `muted`, the frame colours `border`.
        R.Light: c["border"].lighter(130), R.Midlight: c["border"].lighter(115),
        R.Mid: c["muted"], R.Dark: c["border"], R.Shadow: c["border"].darker(160),
        R.Accent: c["accent"],
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    for role in (R.WindowText, R.Text, R.ButtonText, R.PlaceholderText):
        pal.setColor(G.Disabled, role, c["icon_disabled"])
    pal.setColor(G.Disabled, R.Highlight, c["border"])
    pal.setColor(G.Disabled, R.HighlightedText, c["muted"])
    pal.setColor(G.Disabled, R.Base, c["window"])
    pal.setColor(G.Disabled, R.Button, c["window"])
    return pal


def _tell_palette_module(theme: str) -> None:
    """`app.ui.palette` (colours by role for style sheets, painters and the icon cache)."""
    try:
        from app.ui import palette as ui_palette
    except ModuleNotFoundError as e:  # a build before the theme-aware palette module
        if e.name != "app.ui.palette":
            raise
        from app.ui import icons

        icons.set_theme(theme)
        return
    ui_palette.set_theme(theme)


class Theme(QObject):
    """The application's theme: one per QApplication, its child (see `apply_theme`)."""

    changed = Signal(str)  # the resolved theme, "dark" or "light"

    def __init__(self, app: QGuiApplication) -> None:
        super().__init__(app)
        self.setObjectName(OBJECT_NAME)
        self._app = app
        self._choice = DEFAULT
        self._theme = ""
        self._system = app.styleHints().colorScheme()
        app.styleHints().colorSchemeChanged.connect(self._system_changed)

    @property
    def choice(self) -> str:
        return self._choice

    @property
    def theme(self) -> str:
        """The theme in force, "dark" or "light"."""
        return self._theme

    def apply(self, choice: str) -> str:
        """Switch to `choice` ("dark", "light", "system"); returns the theme now in force. An
        unknown choice raises ValueError and changes nothing."""
        resolve(choice, self._system)  # refuses an unknown choice first
        self._choice = choice
        hints = self._app.styleHints()
        if choice == "system":
            unset = getattr(hints, "unsetColorScheme", None)  # Qt ≥ 6.9
            if unset is not None:
                unset()
            else:
                hints.setColorScheme(Qt.ColorScheme.Unknown)  # back to the platform's own
            self._system = hints.colorScheme()
        else:
            hints.setColorScheme(_SCHEMES[choice])
        return self._show(resolve(choice, self._system), force=True)

    def _system_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system = scheme
        if self._choice == "system":
            self._show(resolve("system", scheme))

    def _show(self, theme: str, force: bool = False) -> str:
        if theme == self._theme and not force:
            return theme
        changed = theme != self._theme
        self._app.setStyle("Fusion")
        self._app.setPalette(qpalette(theme))
        self._theme = theme
        _tell_palette_module(theme)
        log.info("theme %s (%s)", theme, self._choice)
        if changed:
            self.changed.emit(theme)
        return theme


def current(app: QGuiApplication | None = None) -> Theme | None:
    """The application's Theme, if `apply_theme` ran."""
    app = app or QGuiApplication.instance()
    return app.findChild(Theme, OBJECT_NAME) if app is not None else None


def apply_theme(app: QGuiApplication, choice: str = DEFAULT) -> Theme:
    """Set `choice` on `app` (made once, then reused); the Theme's `changed` signal follows."""
    theme = current(app) or Theme(app)
    theme.apply(choice)
    return theme
