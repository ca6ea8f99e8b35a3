"""The app's log file: a rotating file under the user's state folder, secrets blanked. Qt-free.

`setup()` sends every log record at INFO and above (DEBUG with `TAKES_LOG_LEVEL=debug`) to
`takes.log` in `log_dir()`, written by a listener thread so the GUI thread never waits on the
disk; only ERROR and above also reach the terminal, one line each. Python warnings and
uncaught exceptions go to the file too (the terminal gets one line naming it). Qt's own
messages are routed here by `app.ui.qtlog`.

Secrets never reach the file or the terminal: `add_secret(value)` registers an API key the
moment it is read, and `redact()` blanks every registered secret plus whatever looks like one
(an Authorization header, a Bearer token, `api_key=…`, `"key": "…"`), in the message and in
tracebacks alike.

Where: `TAKES_LOG_DIR` if set; else `$TAKES_DATA_DIR/logs` when a data folder is forced (tests,
CI: nothing lands in the real home); else platformdirs' `user_log_dir("Takes")`
(~/.local/state/Takes/log on Linux).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from app.client.paths import APP_NAME

ENV_DIR = "TAKES_LOG_DIR"
ENV_LEVEL = "TAKES_LOG_LEVEL"
LOG_NAME = "takes.log"
MAX_BYTES = 1_000_000
BACKUPS = 3  # takes.log + takes.log.1 … .3: at most 4 MB on disk
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
MASK = "***"
MIN_SECRET = 4  # shorter values would blank ordinary words
# Loggers that say a line per request (every poll): their warnings only, unless DEBUG is asked.
CHATTY = ("httpx", "httpcore", "hpack", "uvicorn.access")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

# Things that look like credentials, whatever registered them: the value (group "v") goes.
_PATTERNS = [
    # Authorization: Bearer abc / 'authorization': 'Basic abc' / Proxy-Authorization=...
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|digest)?\s*)"
               r"(?P<v>[^\s\"',;}]+)"),
    re.compile(r"(?i)(\bbearer\s+)(?P<v>[A-Za-z0-9._~+/=-]+)"),
    # api_key=..., X-API-Key: ..., "api-key": "...", access_token=..., password: ...
    re.compile(r"(?i)((?<![\w-])(?:x-)?(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token"
               r"|client[_-]?secret|secret|password|passwd)[\"']?\s*[:=]\s*[\"']?)"
               r"(?P<v>[^\s\"',;&}]+)"),
    # a bare key field: "key": "sk-…", key=sk-… (not idempotency_key / Idempotency-Key)
    re.compile(r"(?i)((?<![\w-])key[\"']?\s*[:=]\s*[\"']?)(?P<v>[^\s\"',;&}]+)"),
    # a URL with credentials: https://user:secret@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<v>[^/\s@]+)(?=@)"),
]


def log_dir() -> Path:
    """The folder of the log file (see the module docstring for the order)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    data = os.environ.get("TAKES_DATA_DIR")
    if data:
        return Path(data) / "logs"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_path() -> Path:
    return log_dir() / LOG_NAME


def add_secret(value: str | None) -> None:
    """Blank `value` wherever it would be logged from now on (an API key, a token)."""
    if value and len(value) >= MIN_SECRET:
        with _secrets_lock:
            _secrets.add(value)


def forget_secret(value: str | None) -> None:
    with _secrets_lock:
        _secrets.discard(value or "")


def redact(text: str) -> str:
    """`text` with every registered secret and anything shaped like a credential blanked."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # a longer secret before its prefix
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A Formatter whose whole output (message, arguments, traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _Preformatted(logging.handlers.QueueHandler):
    """Formats (and so redacts) on the caller's thread: what crosses the queue is plain text."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        text = self.format(record)
        out = logging.makeLogRecord(record.__dict__)
        out.msg, out.args, out.exc_info, out.exc_text, out.stack_info = text, None, None, None, None
        return out


@dataclass
class LogSetup:
    """What `setup()` installed; `close()` takes it all away again (tests, the app's exit)."""

    path: Path | None
    handlers: list[logging.Handler] = field(default_factory=list)
    listener: logging.handlers.QueueListener | None = None
    file_handler: logging.Handler | None = None
    previous_level: int = logging.WARNING
    previous_chatty: dict[str, int] = field(default_factory=dict)
    previous_hooks: tuple[Any, Any] | None = None
    problem: str = ""  # why there is no log file ("" when there is)

    def flush(self) -> None:
        """Wait until everything logged so far is on disk."""
        if self.listener is not None:
            self.listener.stop()  # drains the queue, joins the thread
            _start(self.listener)
        if self.file_handler is not None:
            self.file_handler.flush()

    def close(self) -> None:
        root = logging.getLogger()
        for h in self.handlers:
            root.removeHandler(h)
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if self.file_handler is not None:
            self.file_handler.close()
            self.file_handler = None
        root.setLevel(self.previous_level)
        for name, level in self.previous_chatty.items():
            logging.getLogger(name).setLevel(level)
        self.previous_chatty.clear()
        logging.captureWarnings(False)
        if self.previous_hooks is not None:
            sys.excepthook, threading.excepthook = self.previous_hooks
            self.previous_hooks = None
        self.handlers.clear()


def _start(listener: logging.handlers.QueueListener) -> None:
    listener.start()
    listener._thread.name = "takes-log"  # type: ignore[attr-defined,union-attr]


def _level(name: str | None) -> int:
    if not name:
        return logging.INFO
    value = logging.getLevelName(name.strip().upper())
    return value if isinstance(value, int) else logging.INFO


def setup(*, directory: Path | None = None, level: int | str | None = None,
          stderr_level: int = logging.ERROR, hooks: bool = True,
          stderr: Any = None) -> LogSetup:
    """Log to the rotating file (and ERROR+ to the terminal); see the module docstring.

    `hooks`: route Python warnings and uncaught exceptions (sys and threads) to the log, the
    terminal getting one line. A folder that cannot be written leaves the terminal handler
    only, and says so once on it.
    """
    root = logging.getLogger()
    lvl = level if isinstance(level, int) else _level(level or os.environ.get(ENV_LEVEL))
    done = LogSetup(path=None, previous_level=root.level)
    formatter = RedactingFormatter(FORMAT)

    terminal = logging.StreamHandler(stderr if stderr is not None else sys.stderr)
    terminal.setLevel(stderr_level)
    terminal.setFormatter(RedactingFormatter("Takes: %(levelname)s %(name)s: %(message)s"))
    done.handlers.append(terminal)

    folder = directory if directory is not None else log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            folder / LOG_NAME, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
            errors="backslashreplace")
    except OSError as e:
        done.problem = f"cannot write the log file in {folder}: {e.strerror or e}"
    else:
        file_handler.setFormatter(logging.Formatter("%(message)s"))
        q: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        into_queue = _Preformatted(q)
        into_queue.setFormatter(formatter)
        into_queue.setLevel(lvl)
        listener = logging.handlers.QueueListener(q, file_handler, respect_handler_level=False)
        _start(listener)
        done.path, done.listener, done.file_handler = folder / LOG_NAME, listener, file_handler
        done.handlers.append(into_queue)

    for h in done.handlers:
        root.addHandler(h)
    root.setLevel(min(lvl, stderr_level))
    if lvl > logging.DEBUG:
        for name in CHATTY:
            chatty = logging.getLogger(name)
            done.previous_chatty[name] = chatty.level
            chatty.setLevel(max(logging.WARNING, chatty.level))
    if done.problem:
        logging.getLogger("app.logs").error("%s", done.problem)
    if hooks:
        logging.captureWarnings(True)
        done.previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = _excepthook(done, terminal.stream)
        threading.excepthook = _thread_excepthook(done, terminal.stream)
    return done


def _excepthook(done: LogSetup, stream: Any) -> Any:
    def hook(kind: type[BaseException], value: BaseException,
             tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        # The terminal handler also shows CRITICAL records: write the traceback to the file
        # only, and one line to the terminal.
        _file_only(done, "uncaught exception", (kind, value, tb))
        _terminal_line(done, stream, kind)
    return hook


def _thread_excepthook(done: LogSetup, stream: Any) -> Any:
    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        _file_only(done, f"uncaught exception in thread {name}",
                   (args.exc_type, args.exc_value, args.exc_traceback))
        _terminal_line(done, stream, args.exc_type)
    return hook


def _file_only(done: LogSetup, what: str,
               exc: tuple[type[BaseException], BaseException, TracebackType | None]) -> None:
    record = logging.getLogger("app.uncaught").makeRecord(
        "app.uncaught", logging.CRITICAL, __file__, 0, "%s", (what,), exc)
    for h in done.handlers:
        if isinstance(h, logging.handlers.QueueHandler):
            h.handle(record)
            return
    # no file: the terminal gets the redacted traceback, nothing else would keep it
    sys.stderr.write(redact("".join(traceback.format_exception(*exc))))


def _terminal_line(done: LogSetup, stream: Any, kind: type[BaseException]) -> None:
    if done.path is None:
        return
    try:
        stream.write(f"Takes: unexpected error ({kind.__name__}); details in {done.path}\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def tail(path: Path, lines: int = 200) -> list[str]:
    """The last `lines` lines of a log file ([] when there is none): for a fault report."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def existing_files(folder: Path | None = None) -> Iterable[Path]:
    """The log file and its rotated copies that exist, newest first."""
    base = (folder or log_dir()) / LOG_NAME
    candidates = [base, *(base.with_name(f"{LOG_NAME}.{i}") for i in range(1, BACKUPS + 1))]
    return [p for p in candidates if p.exists()]
