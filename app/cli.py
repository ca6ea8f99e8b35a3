"""The `takes` command: the app by default; check, models, sandbox, submit, jobs, shot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _check(args: argparse.Namespace) -> int:
    from app.catalog import UnknownModel, get_model
    from app.catalog.check import check_payload

    try:
        get_model(args.model_id)
    except UnknownModel as e:
        print(f"takes check: {e}", file=sys.stderr)
        return 2
    try:
        payload = json.loads(Path(args.payload).read_text(encoding="utf-8"))
    except OSError as e:
        print(f"takes check: cannot read {args.payload}: {e.strerror or e}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        print(f"takes check: {args.payload} is not valid JSON: {e}", file=sys.stderr)
        return 2
    if not isinstance(payload, dict):
        print(f"takes check: {args.payload} must hold a JSON object", file=sys.stderr)
        return 2
    base = Path(args.payload).resolve().parent
    result = check_payload(args.model_id, payload, base_dir=base)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["valid"] else 1


def _models(args: argparse.Namespace) -> int:
    from app.catalog import MODELS

    print(json.dumps([m.describe() for m in MODELS.values()], ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="takes", description="Takes: render AI video takes.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("check", help="validate and price a payload")
    p.add_argument("model_id")
    p.add_argument("payload")
    p.set_defaults(func=_check)
    p = sub.add_parser("models", help="list the model catalog as JSON")
    p.set_defaults(func=_models)
    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


def _register_optional(sub: Any) -> None:
    """Sub-commands whose modules may not exist yet in a partial build."""
    import importlib

    for name in ("app.sandbox.cli", "app.client.cli", "app.ui.cli"):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.register(sub)


_EXTRA_COMMANDS = [_register_optional]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        try:
            from app.ui.main import run_app
        except ModuleNotFoundError as e:
            print(f"takes: the window is not available in this build ({e.name})",
                  file=sys.stderr)
            return 2
        return run_app()
    return int(args.func(args) or 0)
