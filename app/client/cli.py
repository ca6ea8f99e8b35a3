"""`takes submit`, `takes jobs` and `takes resume`: the client from a terminal.

Without `--api` a private sandbox runs in this process. The key comes from `--key` or the
`TAKES_API_KEY` environment variable (safer: it stays out of the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.cliargs import (
    UsageError,
    api_key,
    api_url,
    check_key,
    file_or_new,
    json_object_file,
    seconds,
    whole,
    writable_folder,
)
from app.client.store import JobRecord, JobStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser("submit", help="submit a job and optionally wait for its result")
    p.add_argument("model_id")
    p.add_argument("payload", help="JSON file: model parameters plus out/mock/format")
    _connection_args(p)
    p.add_argument("--mock", action="store_true", help="a free placeholder render")
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="one intent: a rerun with the same key gets the same job, no 2nd charge")
    p.set_defaults(func=_submit)

    p = sub.add_parser("jobs", help="list the local job store as JSON")
    p.add_argument("--store", type=Path, help="job store file (default: the user data folder)")
    p.add_argument("--status")
    p.add_argument("--search")
    p.add_argument("--limit", type=whole(1, 100_000), default=100)
    p.set_defaults(func=_jobs)

    p = sub.add_parser("resume", help="resume unfinished jobs of the store (poll, download)")
    _connection_args(p)
    p.set_defaults(func=_resume)


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api", metavar="URL", type=api_url,
                   help="the API's base URL (default: a private sandbox)")
    p.add_argument("--key", type=api_key, help="API key (or set TAKES_API_KEY)")
    p.add_argument("--wait", action="store_true", help="wait for the result and download it")
    p.add_argument("--workdir", type=Path, help="where results are saved (default: .)")
    p.add_argument("--store", type=Path, help="job store file (default: the user data folder)")
    p.add_argument("--poll", type=seconds(0.01, 60), help=argparse.SUPPRESS)  # tests: a fast poll


def _err(command: str, message: str) -> None:
    print(f"takes {command}: {message}", file=sys.stderr)


def _dump(rec: JobRecord) -> str:
    return json.dumps(rec.to_dict(), ensure_ascii=False)


def _usage(command: str, message: str) -> int:
    _err(command, message)
    return EXIT_USAGE


def _absolute_media(model_id: str, payload: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative media paths are relative to the payload file; the store keeps them absolute."""
    from app.catalog.check import resolve_local
    from app.catalog.fields import set_path
    from app.catalog.validate import media_values

    paths = resolve_local(payload, base, model_id)
    for slot in media_values(model_id, payload):
        if slot.value in paths:
            set_path(payload, slot.path, paths[slot.value])
    return payload


@contextlib.contextmanager
def _connection(args: argparse.Namespace) -> Iterator[Any]:
    from app.client.connection import Connection, start_sandbox
    from app.client.profiles import SANDBOX, Profile

    if args.api:
        key = args.key or os.environ.get("TAKES_API_KEY")
        if not key:
            raise UsageError("--api needs a key: --key or TAKES_API_KEY")
        check_key(key, "the --key or TAKES_API_KEY")
        conn = Connection(Profile("command line", "api", args.api), args.api, key)
    else:
        conn = start_sandbox()
        assert conn.profile is SANDBOX
    try:
        yield conn
    finally:
        conn.close()


def _manager(args: argparse.Namespace, conn: Any) -> Any:
    from app.client.manager import JobManager, PollPolicy

    poll = PollPolicy(initial=args.poll, maximum=args.poll, min_gap=0) if args.poll else None
    return JobManager(conn.client(), _store(args), args.workdir, poll)


def _check_places(args: argparse.Namespace) -> None:
    """The work folder and the store must be usable before anything is sent or charged."""
    args.workdir = writable_folder(args.workdir or Path.cwd(), "--workdir")
    if args.store:
        file_or_new(args.store, "--store")


def _store(args: argparse.Namespace) -> JobStore:
    import sqlite3

    try:
        return JobStore(args.store) if args.store else JobStore()
    except (OSError, sqlite3.Error) as e:
        where = args.store or "the default job store"
        raise UsageError(f"cannot open the job store {where}: {e}") from None


async def _close(manager: Any) -> None:
    await manager.close()
    await manager.client.close()
    manager.store.close()


def _submit(args: argparse.Namespace) -> int:
    from app.catalog import UnknownModel, get_model

    try:
        get_model(args.model_id)
    except UnknownModel as e:
        return _usage("submit", str(e))
    _check_places(args)
    payload = json_object_file(args.payload)
    if args.mock:
        payload["mock"] = True
    payload = _absolute_media(args.model_id, payload, Path(args.payload).resolve().parent)
    with _connection(args) as conn:
        return asyncio.run(_submit_async(args, conn, payload))


async def _submit_async(args: argparse.Namespace, conn: Any, payload: dict[str, Any]) -> int:
    from app.client.errors import ApiError, ValidationFailed

    manager = _manager(args, conn)
    try:
        try:
            rec = await manager.submit(args.model_id, payload,
                                       idempotency_key=args.idempotency_key)
        except ValidationFailed as e:
            _err("submit", str(e))
            print(json.dumps({"errors": e.fields}, ensure_ascii=False))
            return EXIT_FAILED
        except ApiError as e:
            _err("submit", str(e))
            return EXIT_FAILED
        if not args.wait:
            print(_dump(rec), flush=True)
            return EXIT_OK
        print(_dump(rec), file=sys.stderr, flush=True)  # progress for a human; stdout = final
        rec = await manager.wait(rec.id)
        return _report_final(rec)
    finally:
        await _close(manager)


def _report_final(rec: JobRecord) -> int:
    print(_dump(rec), flush=True)
    if rec.status == "succeeded" and rec.result_path:
        print(rec.result_path, flush=True)
        return EXIT_OK
    _err("submit", f"take {rec.id} ended {rec.status}: {rec.error_message or 'no result'}")
    return EXIT_FAILED


def _resume(args: argparse.Namespace) -> int:
    _check_places(args)
    with _connection(args) as conn:
        return asyncio.run(_resume_async(args, conn))


async def _resume_async(args: argparse.Namespace, conn: Any) -> int:
    manager = _manager(args, conn)
    try:
        resumed = await manager.start()
        if not args.wait:
            for rec in resumed:
                print(_dump(rec), flush=True)
            return EXIT_OK
        codes = [_report_final(await manager.wait(rec.id)) for rec in resumed]
        return max(codes, default=EXIT_OK)
    finally:
        await _close(manager)


def _jobs(args: argparse.Namespace) -> int:
    if args.store:
        file_or_new(args.store, "--store")
    store = _store(args)
    try:
        recs = store.query(search=args.search, status=args.status, limit=args.limit)
        print(json.dumps([r.to_dict() for r in recs], ensure_ascii=False, indent=2))
    finally:
        store.close()
    return EXIT_OK
