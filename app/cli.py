"""The `takes` command: the app by default; check, models, sandbox, submit, jobs, shot,
install-desktop."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from app.cliargs import UsageError, check_argv, json_object_file

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (its default prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _check(args: argparse.Namespace) -> int:
    from app.catalog import UnknownModel, get_model
    from app.catalog.check import check_payload

    if args.schema is not None:  # takes check --schema FILE PAYLOAD: a model known by its schema
        from app.client.cli import check_with_schema

        return check_with_schema(args)
    if args.model is not None:
        raise UsageError("--model needs --schema FILE (it names a model of that file)")
    if args.payload is None:  # as argparse says it when both are required
        missing = "payload" if args.model_id else "model_id, payload"
        raise UsageError(f"the following arguments are required: {missing} (see takes check "
                         "--help); or: takes check --schema FILE PAYLOAD")
    try:
        get_model(args.model_id)
    except UnknownModel as e:
        raise UsageError(str(e)) from None
    payload = json_object_file(args.payload)
    base = Path(args.payload).resolve().parent
    result = check_payload(args.model_id, payload, base_dir=base)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["valid"] else 1


def _install_desktop(args: argparse.Namespace) -> int:
    from app import desktop

    try:
        paths = desktop.remove() if args.remove else desktop.install()
    except desktop.DesktopError as e:
        return _say("takes install-desktop", str(e), EXIT_FAILED)
    verb = "removed" if args.remove else "installed"
    for path in paths:
        print(f"{verb} {path}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from app.catalog import MODELS

    print(json.dumps([m.describe() for m in MODELS.values()], ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="takes", description="Takes: render AI video takes.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("check", help="validate and price a payload")
    p.add_argument("model_id", nargs="?")
    p.add_argument("payload", nargs="?")
    p.add_argument("--schema", metavar="FILE",
                   help="check against a model's input schema file instead of a catalog model: "
                        "takes check --schema FILE PAYLOAD")
    p.add_argument("--model", metavar="ID",
                   help="with --schema: the model to read from a file listing several")
    p.set_defaults(func=_check)
    p = sub.add_parser("models", help="list the model catalog as JSON")
    p.set_defaults(func=_models)
    p = sub.add_parser("install-desktop",
                       help="add Takes to this user's application menu (freedesktop entry)")
    p.add_argument("--remove", action="store_true", help="take the entry and icon away")
    p.set_defaults(func=_install_desktop)
    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


def _register_optional(sub: Any) -> None:
    """Sub-commands whose modules may not exist yet in a partial build."""
    import importlib

    for name in ("app.sandbox.cli", "app.client.cli", "app.ui.cli", "app.client.sweep_cli"):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.register(sub)


_EXTRA_COMMANDS = [_register_optional]


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input is exit 2 (usage) or 1 (invalid) with one line on stderr."""
    argv = sys.argv[1:] if argv is None else argv
    # Output never fails on a character the terminal cannot show (JSON stays as it was).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        check_argv(argv)
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _say("takes", str(e), EXIT_USAGE)
    if getattr(args, "func", None) is None:
        return _window()
    return _guarded(args)


def _window() -> int:
    try:
        from app.ui.main import run_app
    except ModuleNotFoundError as e:
        return _say("takes", f"the window is not available in this build ({e.name})", EXIT_USAGE)
    return run_app()


def _guarded(args: argparse.Namespace) -> int:
    """The last line of defence: whatever a command did not foresee is one line, not a trace."""
    name = f"takes {args.command}"
    if isinstance(getattr(args, "action", None), str):  # takes profile add, …
        name += f" {args.action}"
    log = _LogFile(args)
    if args.command != "sandbox":  # the standalone server's log is its terminal
        logging.getLogger().addHandler(log)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the guard: a reader that went away is seen here
        return code
    except UsageError as e:
        return _say(name, str(e), EXIT_USAGE)
    except BrokenPipeError:  # `takes jobs | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        return _say(name, "interrupted", EXIT_INTERRUPTED)
    except Exception as e:  # deliberate: see the docstring
        written = log.write(f"{name}: unexpected error\n{''.join(traceback.format_exception(e))}")
        where = f"; details in {log.path}" if written else ""
        return _say(name, f"unexpected error ({type(e).__name__}){where}", EXIT_FAILED)
    finally:
        logging.getLogger().removeHandler(log)


def _say(name: str, message: str, code: int) -> int:
    print(f"{name}: {message}", file=sys.stderr, flush=True)
    return code


class _LogFile(logging.Handler):
    """The data folder's logs/cli.log, created only when something is written, keys blanked.

    Log records (the in-process sandbox's among them) land here instead of the terminal, whose
    stderr carries the one line a command says.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from app.client.paths import data_dir

        super().__init__(logging.WARNING)
        self.path = data_dir() / "logs" / "cli.log"
        self.args = args
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "qt" or record.name.startswith("qt."):
            return  # Qt's own chatter (`takes shot`): its log file has it, not the data folder
        self.write(self.format(record))

    @property
    def secrets(self) -> list[str]:
        """Every key this command knows (given, read from stdin or a keyring, or kept for
        the session), longest first so that none is left half-blanked."""
        from app.client.profiles import session_keys

        found = [getattr(self.args, "key", None), getattr(self.args, "secret", None),
                 os.environ.get("TAKES_API_KEY"), *session_keys()]
        return sorted({s for s in found if isinstance(s, str) and s}, key=len, reverse=True)

    def write(self, text: str) -> bool:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(f"{datetime.now(UTC).isoformat()} {text}\n")
        except OSError:
            return False
        return True
