"""`takes submit`, `jobs`, `resume`, `profile` and `ledger`: the client from a terminal.

`submit` and `resume` use a profile (`--profile NAME`, else the active one): the built-in
sandbox runs privately in this process; an API profile's key comes from where it is kept (the
OS keyring). `--api URL` is an ad-hoc connection whose key comes from `--key` or the
`TAKES_API_KEY` environment variable (safer: it stays out of the process list). Every paid
job passes the profile's guard-rails (app.client.guard) before anything is uploaded or sent.
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
#: `takes submit` refused a job above the confirm threshold (run it again with --yes)
EXIT_CONFIRM = 3
AD_HOC = "command line"


def register(sub: Any) -> None:
    p = sub.add_parser("submit", help="submit a job and optionally wait for its result")
    p.add_argument("model_id")
    p.add_argument("payload", help="JSON file: model parameters plus out/mock/format")
    _connection_args(p)
    p.add_argument("--mock", action="store_true", help="a free placeholder render")
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="one intent: a rerun with the same key gets the same job, no 2nd charge")
    p.add_argument("--yes", action="store_true",
                   help="confirm a job above the profile's confirm threshold")
    p.set_defaults(func=_submit)

    p = sub.add_parser("jobs", help="list the local job store as JSON")
    p.add_argument("--store", type=Path, help="job store file (default: the user data folder)")
    p.add_argument("--profile", metavar="NAME", help="only this profile's takes")
    p.add_argument("--status")
    p.add_argument("--search")
    p.add_argument("--limit", type=whole(1, 100_000), default=100)
    p.set_defaults(func=_jobs)

    p = sub.add_parser("resume", help="resume unfinished jobs of the store (poll, download)")
    _connection_args(p)
    p.set_defaults(func=_resume)

    _register_profile(sub)

    p = sub.add_parser("ledger", help="estimated vs charged credits per take, with totals")
    p.add_argument("--store", type=Path, help="job store file (default: the user data folder)")
    p.add_argument("--profile", metavar="NAME", help="only this profile's takes")
    p.add_argument("--csv", metavar="FILE", help="write the rows as CSV to FILE (- : stdout)")
    p.set_defaults(func=_ledger)

    _register_schema(sub)


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", metavar="NAME",
                   help="the profile to use (default: the active one; see takes profile list)")
    p.add_argument("--api", metavar="URL", type=api_url,
                   help="an ad-hoc API base URL instead of a profile (its key: TAKES_API_KEY)")
    p.add_argument("--key", type=api_key, help="API key (or set TAKES_API_KEY)")
    p.add_argument("--wait", action="store_true", help="wait for the result and download it")
    p.add_argument("--workdir", type=Path,
                   help="where results are saved (default: the Takes folder in your Videos)")
    p.add_argument("--store", type=Path, help="job store file (default: the user data folder)")
    p.add_argument("--poll", type=seconds(0.01, 60), help=argparse.SUPPRESS)  # tests: a fast poll


def _err(command: str, message: str) -> None:
    print(f"takes {command}: {message}", file=sys.stderr)


def _dump(rec: JobRecord) -> str:
    return json.dumps(rec.to_dict(), ensure_ascii=False)


def _usage(command: str, message: str) -> int:
    _err(command, message)
    return EXIT_USAGE


def _absolute_fal_media(models: Any, model_id: str, payload: dict[str, Any],
                        base: Path) -> dict[str, Any]:
    """`_absolute_media` for a model known from its schema (a fal form)."""
    from app.catalog.fields import set_path
    from app.catalog.media import is_remote

    for slot in models.media_values(model_id, payload):
        value = slot.value
        if isinstance(value, str) and value and not is_remote(value) and \
                not value.startswith("file:") and not Path(value).is_absolute():
            set_path(payload, slot.path, str(base / value))
    return payload


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


def _profile(args: argparse.Namespace) -> Any:
    """The profile a command uses: `--api` ad hoc, `--profile NAME`, or the active one."""
    from app.client.profiles import Profile, ProfileError, Profiles

    if args.api:
        if args.profile:
            raise UsageError("--api and --profile cannot be used together")
        return Profile(AD_HOC, "api", args.api)
    try:
        profiles = Profiles()
        return profiles.get(args.profile) if args.profile else profiles.active
    except ProfileError as e:
        raise UsageError(str(e)) from None


@contextlib.contextmanager
def _connection(args: argparse.Namespace) -> Iterator[Any]:
    from app.client.connection import Connection, connect
    from app.client.profiles import ProfileError

    profile = _profile(args)
    env_key = os.environ.get("TAKES_API_KEY")
    if args.api:
        key = args.key or env_key
        if not key:
            raise UsageError("--api needs a key: --key or TAKES_API_KEY")
        check_key(key, "the --key or TAKES_API_KEY")
        conn = Connection(profile, args.api, key)
    else:
        key = args.key or env_key
        if key and not profile.is_sandbox:
            check_key(key, "the --key or TAKES_API_KEY")
        try:
            conn = connect(profile, key=None if profile.is_sandbox else key)
        except ProfileError as e:
            raise UsageError(str(e)) from None
    try:
        yield conn
    finally:
        conn.close()


def _manager(args: argparse.Namespace, conn: Any, store: Any = None) -> Any:
    from app.client.guard import Gate
    from app.client.manager import JobManager, PollPolicy

    poll = PollPolicy(initial=args.poll, maximum=args.poll, min_gap=0) if args.poll else None
    store = store or _store(args)
    return JobManager(conn.client(), store, args.workdir, poll, profile=conn.profile.name,
                      gate=Gate(store, conn.profile))


def _check_places(args: argparse.Namespace) -> None:
    """The work folder and the store must be usable before anything is sent or charged."""
    from app.client.workfolder import default_work_dir

    if args.store:
        file_or_new(args.store, "--store")
    args.workdir = writable_folder(args.workdir or default_work_dir(), "--workdir")


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
        from app.client.fal import FAL_MODEL_PREFIX

        if not args.model_id.startswith(FAL_MODEL_PREFIX):  # a fal form: known once connected
            return _usage("submit", str(e))
    _check_places(args)
    payload = json_object_file(args.payload)
    if args.mock:
        payload["mock"] = True
    base = Path(args.payload).resolve().parent
    args.media_base = base
    if not args.model_id.startswith("fal_"):  # a fal form's media: once its schema is read
        payload = _absolute_media(args.model_id, payload, base)
    with _connection(args) as conn:
        return asyncio.run(_submit_async(args, conn, payload))


async def _submit_async(args: argparse.Namespace, conn: Any, payload: dict[str, Any]) -> int:
    from app.client.errors import ApiError, ValidationFailed
    from app.client.guard import Refused
    from app.client.workfolder import expand_payload_out

    store = _store(args)
    manager = _manager(args, conn, store)
    if await _fal_models(manager, conn) and manager.models.knows(args.model_id):
        payload = _absolute_fal_media(manager.models, args.model_id, payload, args.media_base)
    try:
        try:
            if args.idempotency_key is None or store.by_idempotency_key(
                    args.idempotency_key) is None:  # a repeated intent keeps its first out
                payload = expand_payload_out(args.model_id, payload, args.workdir, store=store)
        except ValueError as e:
            _err("submit", f"The payload is not valid: out: {e}")
            print(json.dumps({"errors": [{"field": "out", "message": str(e)}]},
                             ensure_ascii=False))
            return EXIT_FAILED
        try:
            rec = await manager.submit(args.model_id, payload,
                                       idempotency_key=args.idempotency_key,
                                       confirmed=args.yes)
        except Refused as e:
            confirm = e.verdict.needs_confirm
            _err("submit", f"{e} Run again with --yes to send it." if confirm else str(e))
            print(json.dumps({"refused": e.verdict.to_dict()}, ensure_ascii=False))
            return EXIT_CONFIRM if confirm else EXIT_FAILED
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


async def _fal_models(manager: Any, conn: Any) -> bool:
    """On a fal profile, the manager renders the fal forms (fal_<model>) read from fal's
    schemas (else the shipped copies); True when it is one."""
    if not conn.profile.is_fal:
        return False
    from app.client.models import ModelSet

    manager.models = ModelSet.from_listing(await manager.client.models())
    return True


async def _resume_async(args: argparse.Namespace, conn: Any) -> int:
    manager = _manager(args, conn)
    await _fal_models(manager, conn)  # its stored takes may be of the fal forms
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
        recs = store.query(search=args.search, status=args.status, limit=args.limit,
                           profile=args.profile)
        print(json.dumps([r.to_dict() for r in recs], ensure_ascii=False, indent=2))
    finally:
        store.close()
    return EXIT_OK


# ---- takes profile add|list|use|test|remove|set ----------------------------------------


def _register_profile(sub: Any) -> None:
    p = sub.add_parser("profile", help="API profiles: add, list, use, test, remove, set")
    psub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = psub.add_parser("add", help="add an API profile (tested with GET /v1/account first)")
    a.add_argument("name")
    a.add_argument("--kind", choices=("api", "fal"), default="api",
                   help="api: the Takes API at --url (default); fal: fal's queue API with "
                        "your fal key (no --url needed; tested with fal's account billing)")
    a.add_argument("--url", help="the API's base URL, e.g. https://api.example (required for "
                                 "--kind api; for fal: one server for every fal host)")
    a.add_argument("--endpoint", action="append", default=[], metavar="MODEL=ENDPOINT",
                   help="fal: render MODEL through this fal endpoint id instead of the "
                        "shipped mapping (repeatable)")
    a.add_argument("--key-stdin", action="store_true",
                   help="read the key from standard input (else it is asked for, unechoed)")
    where = a.add_mutually_exclusive_group()
    where.add_argument("--session-key", action="store_true",
                       help="keep the key for this session only (no keyring needed; pass it "
                            "again with TAKES_API_KEY later)")
    where.add_argument("--plaintext-key-file", action="store_true",
                       help="no keyring: keep the key in a file readable only by you (0600)")
    a.add_argument("--replace", action="store_true", help="replace a profile of that name")
    a.add_argument("--use", action="store_true", help="make it the active profile")
    _limit_args(a)
    a.set_defaults(func=_profile_add)
    ls = psub.add_parser("list", help="the profiles (never their keys)")
    ls.add_argument("--json", action="store_true", help="as JSON")
    ls.set_defaults(func=_profile_list)
    for action, words, func in (
            ("use", "make a profile the active one", _profile_use),
            ("test", "check a profile's URL and key (GET /v1/account)", _profile_test),
            ("remove", "remove a profile and its saved key", _profile_remove)):
        named = psub.add_parser(action, help=words)
        named.add_argument("name")
        named.set_defaults(func=func)
    st = psub.add_parser("set", help="change a profile's guard-rails")
    st.add_argument("name")
    _limit_args(st)
    st.set_defaults(func=_profile_set)


def _endpoint_args(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`--endpoint MODEL=ENDPOINT` pairs, checked."""
    pairs: dict[str, str] = {}
    for v in values:
        model, sep, endpoint = v.partition("=")
        model, endpoint = model.strip(), endpoint.strip().strip("/")
        if not sep or not model or endpoint.count("/") < 1 or not endpoint.isascii() or \
                any(c.isspace() for c in endpoint):
            raise UsageError(f"--endpoint takes MODEL=OWNER/ALIAS[/PATH], not {v[:80]!r}")
        pairs[model] = endpoint
    return tuple(sorted(pairs.items()))


def _limit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confirm-above", metavar="N",
                   help="ask before a job above N credits (0 or off: never)")
    p.add_argument("--daily-cap", metavar="N",
                   help="at most N credits per local calendar day (0 or off: no cap)")


def _profiles() -> Any:
    from app.client.profiles import Profiles

    return Profiles()


def _read_key(args: argparse.Namespace, name: str) -> str:
    """The key from standard input (--key-stdin) or an unechoed prompt; never from argv."""
    if args.key_stdin:
        line = sys.stdin.readline(8192)
        key = line.rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        key = getpass.getpass(f"API key for {name}: ")
    else:
        raise UsageError("give the key with --key-stdin (from a pipe or file) or run in a "
                         "terminal to be asked for it; never as an argument")
    key = key.strip()
    if not key:
        raise UsageError("no API key was given")
    args.secret = key  # the log file blanks it (app.cli)
    return key


def _limits(args: argparse.Namespace) -> dict[str, int]:
    from app.client.profiles import check_limit

    out = {}
    for flag, attr in (("--confirm-above", "confirm_above"), ("--daily-cap", "daily_cap")):
        value = getattr(args, attr)
        if value is not None:
            try:
                out[attr] = check_limit(value, flag)
            except Exception as e:
                raise UsageError(str(e)) from None
    return out


def _profile_add(args: argparse.Namespace) -> int:
    from app.client.profiles import (
        PLAINTEXT_WARNING,
        KeyringUnavailable,
        KeyStorage,
        Profile,
        ProfileError,
        check_fal_profile,
        check_key_text,
        check_name,
        check_profile,
        check_url,
        keyring_status,
        no_keyring_message,
    )

    profiles = _profiles()
    fal = args.kind == "fal"
    try:
        name = check_name(args.name)
        url = check_url(args.url) if args.url or not fal else None
    except ProfileError as e:
        raise UsageError(str(e)) from None
    endpoints = _endpoint_args(args.endpoint) if fal else ()
    if args.endpoint and not fal:
        raise UsageError("--endpoint is for --kind fal")
    limits = _limits(args)
    if profiles.find(name) is not None and not args.replace:
        raise UsageError(f"a profile named {name!r} exists: add --replace to replace it, or "
                         "use `takes profile set` to change its limits")
    storage = KeyStorage.SESSION if args.session_key else \
        KeyStorage.FILE if args.plaintext_key_file else KeyStorage.KEYRING
    if storage is KeyStorage.KEYRING:
        ok, why = keyring_status()
        if not ok:  # said before the key is even asked for; nothing is saved
            _err("profile add", no_keyring_message(why))
            return EXIT_FAILED
    key = _read_key(args, name)
    try:
        check_key_text(key)
    except ProfileError as e:
        raise UsageError(str(e)) from None
    check = asyncio.run(check_fal_profile(key, url) if fal else check_profile(url or "", key))
    if not check.ok:
        _err("profile add", f"not saved: {check.message}")
        return EXIT_FAILED
    if storage is KeyStorage.FILE:
        _err("profile add", "warning: " + PLAINTEXT_WARNING.format(path=profiles.key_file))
    try:
        profile = profiles.add(Profile(name, "fal" if fal else "api", url, **limits,
                                       endpoints=endpoints), key, storage)
        if args.use:
            profiles.set_active(profile.name)
    except KeyringUnavailable as e:
        _err("profile add", f"not saved: {e}")
        return EXIT_FAILED
    except ProfileError as e:
        raise UsageError(str(e)) from None
    print(json.dumps({**profile.describe(), "credits": check.credits,
                      "message": check.message,
                      "active": profiles.active.name == profile.name}, ensure_ascii=False))
    if storage is KeyStorage.SESSION:
        _err("profile add", "the key is kept for this session only: pass it with "
             "TAKES_API_KEY when you use this profile")
    return EXIT_OK


def _profile_list(args: argparse.Namespace) -> int:
    profiles = _profiles()
    active = profiles.active.name
    rows = [{**p.describe(), "active": p.name == active} for p in profiles.all()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    def limit(v: int | None) -> str:
        return "off" if v is None else f"{v:,}"

    def where(r: dict[str, Any]) -> str:
        if r["kind"] == "fal":  # fal's queue API (its own hosts, or one server for them)
            return f"fal:{r['base_url']}" if r["base_url"] else "fal"
        return r["base_url"] or "(built in)"

    table = [("", "NAME", "URL", "CONFIRM ABOVE", "DAILY CAP", "KEY")] + [
        ("*" if r["active"] else "", r["label"], where(r),
         limit(r["confirm_above"]), limit(r["daily_cap"]), r["key_storage"] or "-")
        for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _get_profile(name: str) -> Any:
    from app.client.profiles import ProfileError

    try:
        return _profiles().get(name)
    except ProfileError as e:
        raise UsageError(str(e)) from None


def _profile_use(args: argparse.Namespace) -> int:
    profile = _profiles().set_active(_get_profile(args.name).name)
    print(f"active profile: {profile.label}")
    return EXIT_OK


def _profile_test(args: argparse.Namespace) -> int:
    from app.client.connection import start_sandbox
    from app.client.profiles import (
        KeyStorage,
        ProfileError,
        check_fal_profile,
        check_profile,
        get_key,
    )

    profile = _get_profile(args.name)
    if profile.is_sandbox:
        with start_sandbox() as conn:
            check = asyncio.run(check_profile(conn.base_url, conn._key.reveal()))
    else:
        try:
            key = os.environ.get("TAKES_API_KEY") if profile.key_storage is \
                KeyStorage.SESSION else get_key(profile)
        except ProfileError as e:
            _err("profile test", str(e))
            return EXIT_FAILED
        if not key:
            _err("profile test", f"no key is saved for {profile.name!r}" + (
                 ": pass it with TAKES_API_KEY" if profile.key_storage is KeyStorage.SESSION
                 else ": add the profile again"))
            return EXIT_FAILED
        args.secret = key
        check = asyncio.run(check_fal_profile(key, profile.base_url) if profile.is_fal
                            else check_profile(profile.base_url or "", key))
    if not check.ok:
        _err("profile test", check.message)
        return EXIT_FAILED
    print(json.dumps({"name": profile.name, "kind": profile.kind, "ok": True,
                      "credits": check.credits, "message": check.message},
                     ensure_ascii=False))
    return EXIT_OK


def _profile_remove(args: argparse.Namespace) -> int:
    from app.client.profiles import ProfileError

    profile = _get_profile(args.name)
    try:
        _profiles().remove(profile.name)
    except ProfileError as e:
        raise UsageError(str(e)) from None
    print(f"removed profile {profile.name} (its takes stay in the history)")
    return EXIT_OK


def _profile_set(args: argparse.Namespace) -> int:
    limits = _limits(args)
    if not limits:
        raise UsageError("nothing to set: give --confirm-above N and/or --daily-cap N")
    profile = _profiles().set_limits(_get_profile(args.name).name, **limits)
    print(json.dumps(profile.describe(), ensure_ascii=False))
    return EXIT_OK


# ---- takes ledger -------------------------------------------------------------------------


def _ledger(args: argparse.Namespace) -> int:
    from app.client import ledger

    if args.store:
        file_or_new(args.store, "--store")
    if args.profile:
        args.profile = _get_profile(args.profile).name
    if args.csv and args.csv != "-":
        file_or_new(Path(args.csv), "--csv")
    store = _store(args)
    try:
        lines = ledger.rows(store, profile=args.profile)
    finally:
        store.close()
    if args.csv == "-":
        ledger.write_csv(lines, sys.stdout)
    elif args.csv:
        try:
            with open(args.csv, "w", encoding="utf-8", newline="") as fh:
                n = ledger.write_csv(lines, fh)
        except OSError as e:
            _err("ledger", f"cannot write {args.csv}: {e.strerror or e}")
            return EXIT_FAILED
        print(f"{n} rows written to {args.csv}", file=sys.stderr)
    else:
        print(json.dumps({"rows": [r.to_dict() for r in lines],
                          "totals": ledger.totals(lines)}, ensure_ascii=False, indent=2))
    return EXIT_OK


# ---- takes schema FILE, takes check --schema FILE PAYLOAD --------------------------------


def _register_schema(sub: Any) -> None:
    p = sub.add_parser("schema", help="read a model's input schema (JSON Schema, OpenAPI, Cog, "
                                      "fal, GET /v1/models) and print its fields as JSON")
    p.add_argument("file", help="the schema file")
    p.add_argument("--model", metavar="ID", help="the model to read from a file listing several")
    p.set_defaults(func=_schema)


def _imported(path: str, model_id: str | None) -> Any:
    """The model a schema file describes; UsageError (exit 2) for a file that is not one."""
    import dataclasses

    from app.catalog.importer import SchemaError, import_schema, load_schema_file
    from app.cliargs import _shown

    try:
        model = import_schema(load_schema_file(path), model_id=model_id)
    except SchemaError as e:
        raise UsageError(f"{_shown(path)[1:-1]}: {e}") from None
    if model.source == "json-schema" and model_id is None and not model.schema.get("title"):
        model = dataclasses.replace(model, id=Path(path).stem, name=Path(path).stem)
    return model


def _schema(args: argparse.Namespace) -> int:
    model = _imported(args.file, args.model)
    print(json.dumps(model.describe(), ensure_ascii=False, indent=2))
    return EXIT_OK


def check_with_schema(args: argparse.Namespace) -> int:
    """`takes check --schema FILE PAYLOAD`: validate and price a payload against a schema file
    (the payload is the one positional argument). Local media files are probed; a relative
    path is relative to the payload file. Exit 0 valid, 1 invalid, 2 unusable arguments."""
    from app.catalog.media import is_remote, local_path
    from app.catalog.validate import probe_values
    from app.media.probe import probe

    if args.payload is not None or args.model_id is None:
        raise UsageError("with --schema FILE give one PAYLOAD file (and no model id)")
    model = _imported(args.schema, args.model)
    payload_file = args.model_id
    payload = json_object_file(payload_file)
    base = Path(payload_file).resolve().parent
    paths: dict[str, str] = {}
    for value in model.local_media(payload):
        p = Path(local_path(value))
        paths[value] = str(p if p.is_absolute() else base / p)
    found = probe_values(list(paths.values()), probe)
    probes = {value: found[path] for value, path in paths.items() if not is_remote(value)}
    report = model.validate(payload, probes)
    price = model.estimate(payload, probes)
    credits = {"min": price["min"], "max": price["max"]} if price["known"] else None
    print(json.dumps({
        "model": model.id, "valid": report.valid,
        "errors": [i.to_dict() for i in report.errors],
        "warnings": [i.to_dict() for i in report.warnings],
        "credits": credits, "price_known": price["known"], "needs_confirm": price["needs_confirm"],
        "breakdown": price["breakdown"], "notes": price["notes"],
    }, ensure_ascii=False))
    return EXIT_OK if report.valid else EXIT_FAILED
