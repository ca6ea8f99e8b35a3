"""The ledger: per take, what was estimated and what was charged or refunded; totals per day
and per profile; CSV export. Plain Python over the job store, no Qt.

Each take's charge is what the API reported (`credits_charged`, net of refunds) plus what it
gave back (`credits_refunded`, recorded by the store when a charge went down). A take that
failed before it was charged reads "not charged", never "refunded". A paid take whose charge
falls outside its estimate (or a mock take that was charged) is flagged as a mismatch.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import IO, Any

from app.catalog.status import TERMINAL

COLUMNS = ("day", "created", "profile", "take", "model", "mock", "status", "estimated_min",
           "estimated_max", "charged", "refunded", "net", "mismatch", "note")


@dataclass(frozen=True)
class LedgerRow:
    day: str
    created: str
    profile: str
    take: str
    model: str
    mock: bool
    status: str
    estimated_min: int
    estimated_max: int
    charged: int | None  # gross: what was taken before any refund; None while unknown
    refunded: int
    net: int | None  # what it cost in the end; None while unknown
    mismatch: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Totals:
    takes: int = 0
    paid: int = 0
    mock: int = 0
    estimated_max: int = 0
    charged: int = 0
    refunded: int = 0
    net: int = 0
    unknown: int = 0  # takes whose charge is not known yet
    mismatches: int = 0

    def add(self, row: LedgerRow) -> None:
        self.takes += 1
        self.mock += row.mock
        self.paid += not row.mock
        self.estimated_max += row.estimated_max
        self.charged += row.charged or 0
        self.refunded += row.refunded
        self.net += row.net or 0
        self.unknown += row.net is None
        self.mismatches += row.mismatch

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def row_of(rec: Any) -> LedgerRow:
    """The ledger line of one take (a `JobRecord`)."""
    est_max = int(rec.credits_estimated or 0)
    est_min_raw = getattr(rec, "credits_estimated_min", None)
    est_min = int(est_max if est_min_raw is None else est_min_raw)
    refunded = int(getattr(rec, "credits_refunded", 0) or 0)
    net = rec.credits_charged
    note = ""
    if rec.mock:
        net = int(net or 0)
        note = "mock: free"
    elif net is None and rec.status == "unknown":  # sent, its answer lost (fal: no keys)
        note = "may have been charged: check the provider's dashboard"
    elif net is None and rec.status == "succeeded" and _price_unknown(rec.model_id):
        note = "charged by the provider; the amount was not reported"
    elif net is None and rec.status in TERMINAL:
        net, note = 0, "not charged (it ended before the API took it)"
    elif net is None:
        note = "charge not known yet"
    elif rec.status == "pending":
        note = "not confirmed by the API yet"
    charged = None if net is None else int(net) + refunded
    if refunded:
        note = f"{refunded:,} refunded ({rec.status})"
    mismatch = False
    unknown = not rec.mock and est_max == 0 and _price_unknown(rec.model_id)
    if unknown and charged is not None:
        note = f"price unknown until charged: {charged:,}" + (f"; {note}" if note else "")
    if charged is not None and not note.startswith("not charged") and not unknown:
        if rec.mock and charged > 0:
            mismatch, note = True, f"a mock take was charged {charged:,}"
        elif not rec.mock and not est_min <= charged <= est_max and rec.status != "pending":
            mismatch = True
            note = (f"charged {charged:,}, estimated " +
                    (f"{est_min:,}–{est_max:,}" if est_min != est_max else f"{est_max:,}") +
                    (f"; {note}" if note else ""))
    created = datetime.fromtimestamp(rec.created_at)
    return LedgerRow(created.strftime("%Y-%m-%d"), created.isoformat(timespec="seconds"),
                     getattr(rec, "profile", "") or "", rec.id, rec.model_id, bool(rec.mock),
                     rec.status, est_min, est_max, charged, refunded,
                     None if net is None else int(net), mismatch, note)


def _price_unknown(model_id: str) -> bool:
    """A model outside the curated catalog (known only by its schema): its price may be
    unpublished, so an estimate of 0 is "unknown", not a promise of nothing."""
    from app.catalog import MODELS

    return model_id not in MODELS


def rows(store: Any, profile: str | None = None, since: float | None = None
         ) -> list[LedgerRow]:
    """Every take of the store (deleted ones included: their credits were spent), oldest
    first."""
    return [row_of(r) for r in store.all_takes(profile=profile, since=since)]


def totals(lines: Iterable[LedgerRow]) -> dict[str, Any]:
    """Totals per day, per profile and per (day, profile), and overall."""
    by_day: dict[str, Totals] = {}
    by_profile: dict[str, Totals] = {}
    by_both: dict[tuple[str, str], Totals] = {}
    overall = Totals()
    for line in lines:
        for bucket in (by_day.setdefault(line.day, Totals()),
                       by_profile.setdefault(line.profile, Totals()),
                       by_both.setdefault((line.day, line.profile), Totals()), overall):
            bucket.add(line)
    return {"overall": overall.to_dict(),
            "by_day": {k: v.to_dict() for k, v in sorted(by_day.items())},
            "by_profile": {k: v.to_dict() for k, v in sorted(by_profile.items())},
            "by_day_and_profile": [{"day": d, "profile": p, **v.to_dict()}
                                   for (d, p), v in sorted(by_both.items())]}


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @ prefixed with ')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(lines: Iterable[LedgerRow], fh: IO[str]) -> int:
    """The ledger as CSV (a header, one row per take); returns the number of rows."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for line in lines:
        w.writerow([_cell(getattr(line, c)) for c in COLUMNS])
        n += 1
    return n
