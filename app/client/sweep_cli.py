"""`takes sweep MODEL PAYLOAD.json --vary FIELD=V1,V2,... [--vary ...] [--takes N] [--dry-run]`:
a payload rendered over one or two varied fields × N takes, priced before anything is sent.

It prints `{"takes": [{"vary", "payload", "valid", "errors", "credits": {"min", "max"}}, ...],
"credits": {"min", "max"}}` (the total is the sum of the valid cells; each cell is checked like
`takes check`); what it says about seeds, unknown prices and invalid cells goes to stderr.
Without `--dry-run` the valid cells are sent through the profile's guard-rails as one decision
(`Gate.check_batch`: above the threshold it needs `--yes`, exit 3); the cap and the balance are
checked again as each cell is sent, and a cell they refuse is held, unsent, and said why. Each
cell carries its own idempotency key derived from one intent key (`--idempotency-key`), so a
rerun of the same intent sends nothing more. The sweep is recorded next to the job store
(app/client/sweeps.py) for the window's contact sheet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from app.cliargs import UsageError, json_object_file, whole
from app.client.sweep import MAX_TAKES, Sweep, SweepError, cell_estimate, cell_key

EXIT_OK, EXIT_FAILED, EXIT_CONFIRM = 0, 1, 3


def register(sub: Any) -> None:
    from app.client.cli import _connection_args

    p = sub.add_parser("sweep", help="render a payload over varied fields × N takes, priced "
                                     "first (--dry-run: price only)")
    p.add_argument("model_id")
    p.add_argument("payload", help="JSON file: the base payload (model parameters plus out)")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2,...",
                   help="a field and its values (once or twice; a text field's value may "
                        "hold no comma)")
    p.add_argument("--takes", type=whole(1, MAX_TAKES), default=1, metavar="N",
                   help=f"takes of each combination (1–{MAX_TAKES}; distinct seeds where the "
                        "model has a seed)")
    p.add_argument("--dry-run", action="store_true",
                   help="check and price every cell; send nothing")
    p.add_argument("--mock", action="store_true", help="free placeholder renders")
    p.add_argument("--yes", action="store_true",
                   help="confirm a total above the profile's confirm threshold")
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="one intent: a rerun with the same key sends no cell twice")
    _connection_args(p)
    p.set_defaults(func=_sweep)


def build(args: argparse.Namespace) -> Sweep:
    """The sweep the arguments ask for, every cell checked (UsageError when it cannot be)."""
    from app.catalog import UnknownModel, get_model
    from app.client.sweep import catalog_checker, expand, field_kinds, parse_vary

    try:
        spec = get_model(args.model_id)
    except UnknownModel as e:
        raise UsageError(str(e)) from None
    payload = json_object_file(args.payload)
    if args.mock:
        payload["mock"] = True
    kinds = field_kinds(spec.json_schema())
    try:
        varies = [parse_vary(kinds, text, spec.id) for text in args.vary]
        if not varies and args.takes == 1:
            raise SweepError("give --vary FIELD=V1,V2,... or --takes N (N above 1)")
        base = Path(args.payload).resolve().parent
        return expand(spec.id, payload, varies, args.takes, kinds,
                      catalog_checker(spec.id, base))
    except SweepError as e:
        raise UsageError(str(e)) from None


def _say(lines: list[str]) -> None:
    for line in lines:
        print(f"takes sweep: {line}", file=sys.stderr)


def _sweep(args: argparse.Namespace) -> int:
    if args.idempotency_key is not None:
        from app.client.errors import ValidationFailed
        from app.client.manager import _check_key

        try:
            _check_key(args.idempotency_key)
        except ValidationFailed as e:
            raise UsageError(str(e)) from None
    sweep = build(args)
    _say(sweep.summary())
    if args.dry_run:
        print(json.dumps(sweep.to_dict(), ensure_ascii=False), flush=True)
        return EXIT_OK if not sweep.invalid else EXIT_FAILED
    if not sweep.valid_cells:
        _say(["no valid cell to send; nothing was sent"])
        print(json.dumps(sweep.to_dict(), ensure_ascii=False), flush=True)
        return EXIT_FAILED
    from app.client.cli import _absolute_media, _check_places, _connection

    _check_places(args)
    base = Path(args.payload).resolve().parent
    for cell in sweep.valid_cells:
        cell.payload = _absolute_media(sweep.model_id, cell.payload, base)
    with _connection(args) as conn:
        return asyncio.run(_send(args, conn, sweep))


async def _send(args: argparse.Namespace, conn: Any, sweep: Sweep) -> int:
    from app.client.cli import _close, _manager, _store
    from app.client.sweeps import SweepBook, SweepCell, SweepRecord

    store = _store(args)
    manager = _manager(args, conn, store)
    try:
        verdict = await manager.gate.check_batch(
            manager.client, [cell_estimate(c) for c in sweep.valid_cells], confirmed=args.yes)
        if not verdict.allowed and not verdict.offline:
            confirm = verdict.needs_confirm
            _say([f"{verdict.message} Run again with --yes to send them." if confirm
                  else verdict.message])
            print(json.dumps({**sweep.to_dict(), "refused": verdict.to_dict()},
                             ensure_ascii=False), flush=True)
            return EXIT_CONFIRM if confirm else EXIT_FAILED
        intent = args.idempotency_key or uuid.uuid4().hex
        sent = await send_cells(manager, store, sweep, intent, args.workdir)
        rec = SweepRecord.new(sweep.model_id, [v.field for v in sweep.varies], sweep.takes, [
            SweepCell(c.index, c.vary, c.take, c.valid, c.errors,
                      c.to_dict()["credits"], sent.get(c.index, {}).get("key"),
                      sent.get(c.index, {}).get("job_id"), sent.get(c.index, {}).get("held"))
            for c in sweep.cells], intent=intent, profile=conn.profile.name)
        try:
            await asyncio.to_thread(SweepBook(Path(store.path).parent).save, rec)
        except OSError as e:
            _say([f"the sweep could not be recorded for the contact sheet: {e}"])
        if args.wait:
            for info in sent.values():
                if info.get("job_id"):
                    done = await manager.wait(info["job_id"])
                    info["status"] = done.status
                    info["result_path"] = str(done.result_path) if done.result_path else None
        out = sweep.to_dict()
        for c, row in zip(sweep.cells, out["takes"], strict=True):
            row.update(sent.get(c.index, {}))
        out["sweep_id"] = rec.id
        print(json.dumps(out, ensure_ascii=False), flush=True)
        held = [i for i in sent.values() if i.get("held") or i.get("error")]
        if held:
            _say([f"{len(held)} of {len(sent)} cells not sent (see held/error)"])
        failed = any(i.get("status") not in (None, "succeeded") for i in sent.values())
        return EXIT_FAILED if held or failed else EXIT_OK
    finally:
        await _close(manager)


async def send_cells(manager: Any, store: Any, sweep: Sweep, intent: str,
                     workdir: Path | None) -> dict[int, dict[str, Any]]:
    """Send each valid cell once (its key from `intent`), `confirmed` (the total was the one
    decision) so that the gate checks only the cap and the balance again; a cell they refuse
    is held: `{index: {"key", "job_id" | "held" | "error"}}`."""
    from app.client.errors import ApiError
    from app.client.guard import Refused
    from app.client.manager import TRANSIENT
    from app.client.workfolder import expand_payload_out

    out: dict[int, dict[str, Any]] = {}
    for cell in sweep.valid_cells:
        key = cell_key(intent, cell.index)
        info: dict[str, Any] = {"key": key}
        out[cell.index] = info
        payload = cell.payload
        try:
            if workdir is not None and await asyncio.to_thread(
                    store.by_idempotency_key, key) is None:
                payload = expand_payload_out(sweep.model_id, payload, workdir, store=store)
            rec = await manager.submit(sweep.model_id, payload, idempotency_key=key,
                                       confirmed=True)
            info["job_id"] = rec.id
        except Refused as e:
            info["held"] = str(e)
        except TRANSIENT as e:  # stored: it is sent by itself, same key, once the API answers
            rec = await asyncio.to_thread(store.by_idempotency_key, key)
            if rec is not None:
                info["job_id"] = rec.id
                info["waiting"] = f"not confirmed yet ({e}); sent again with the same key"
            else:
                info["error"] = str(e)
        except (ApiError, ValueError) as e:
            info["error"] = str(e)
    return out
