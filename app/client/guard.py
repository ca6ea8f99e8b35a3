"""Spending guard-rails: one gate every paid job passes before anything is uploaded or sent.

The same `Gate` serves `takes submit`, the window, re-runs and retries (the job manager calls
it before a take is stored). For each job it checks, in this order:

1. the **per-day cap** of the profile (the local calendar day): every take made today counts
   its maximum estimate while its charge is unknown, then what was charged (a refund lowers
   it, a take that failed before it was charged counts nothing);
2. the **balance** (always on): `GET /v1/account` must cover the job's maximum estimate;
3. the **confirm threshold**: a job whose maximum estimate is above it needs the user's
   explicit confirmation (the window's dialog, `takes submit --yes`), shown with the
   estimate's breakdown.

When the API does not answer (offline, a 5xx, rate-limited) the balance cannot be checked: the
verdict is "offline". The job manager then stores the take to be sent later and checks the
balance again right before its first upload (`JobManager`), so it is still never sent unchecked.

A job whose price is not known before the provider charges (an imported model with no
published price: an estimate with ``known`` False, `app.catalog.importer.UnknownEstimate`)
always needs the confirmation, whatever the threshold and also on the sandbox; under a daily
cap it counts as "+ unknown" (it may be sent while the cap is not reached yet, and is refused
once it is); it needs a balance above zero. Its charge is recorded once the API says it.

Many takes sent at once (a sweep, "× N takes") are **one decision**: `Gate.check_batch` adds
their estimates up and checks the total like one job (one confirmation when the total passes
the threshold; the daily cap and the balance against the total's maximum; a take of unknown
price is counted, makes the batch need the confirmation, and needs room left under the cap and
in the balance). Each take is then sent `confirmed` through `enforce`, so the cap and the
balance are checked again as each one goes.

A mock render is free: it is never counted, never confirmed and needs no balance. On the
built-in sandbox the threshold and the cap are off unless the profile turns them on; the
balance check stays. A refused job is never sent: nothing is uploaded and nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from app.catalog.pricing import Estimate
from app.client.errors import ApiError, NetworkError, RateLimited, ServerError
from app.client.profiles import Profile

Reason = Literal["free", "ok", "confirm", "daily_cap", "balance", "no_balance", "offline"]
#: the `ApiError.code` of a refusal, by reason
REFUSAL_CODES = {"confirm": "confirm_needed", "daily_cap": "daily_cap_reached",
                 "balance": "insufficient_credits", "no_balance": "balance_unknown",
                 "offline": "balance_unknown"}


@dataclass(frozen=True)
class Verdict:
    """What the gate says about one job. `allowed`: it may be sent now."""

    allowed: bool
    reason: Reason
    message: str
    estimate: Estimate
    threshold: int | None = None
    cap: int | None = None
    spent_today: int = 0
    balance: int | None = None

    @property
    def offline(self) -> bool:
        """Refused only because the API did not answer: may be stored and checked later."""
        return self.reason == "offline"

    @property
    def needs_confirm(self) -> bool:
        """Refused only for want of the user's confirmation (ask, then check again)."""
        return self.reason == "confirm"

    @property
    def price(self) -> str:
        return self.estimate.text()

    @property
    def unknown(self) -> bool:
        """The price is not known until the provider charges (no published price)."""
        return price_unknown(self.estimate)

    def to_dict(self) -> dict[str, Any]:
        unknown = self.unknown
        return {"allowed": self.allowed, "reason": self.reason, "message": self.message,
                "estimate": {"min": None if unknown else self.estimate.min,
                             "max": None if unknown else self.estimate.max,
                             "known": not unknown, "breakdown": self.estimate.breakdown},
                "confirm_above": self.threshold, "daily_cap": self.cap,
                "spent_today": self.spent_today, "balance": self.balance}


@dataclass(frozen=True)
class BatchVerdict(Verdict):
    """What the gate says about many takes sent as one decision (`Gate.check_batch`):
    `estimate` is the total of the takes whose price is known."""

    takes: int = 0
    unknown_count: int = 0  # takes whose price is unknown until the provider charges
    free: int = 0  # mock takes

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "takes": self.takes, "unknown": self.unknown_count,
                "free": self.free}


def _takes(n: int) -> str:
    return "1 take" if n == 1 else f"{n} takes"


class Refused(ApiError):
    """The gate refused a job: nothing was uploaded, sent, stored or charged."""

    default_code = "refused"

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message, code=REFUSAL_CODES.get(verdict.reason, "refused"))
        self.verdict = verdict


def day_bounds(now: float) -> tuple[float, float]:
    """The local calendar day holding `now`, as epoch seconds [start, end)."""
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    nxt = (midnight + timedelta(days=1, hours=2)).replace(hour=0)  # a DST day is 23 or 25 h
    return midnight.timestamp(), nxt.timestamp()


def _cr(n: int) -> str:
    return f"{n:,} credits" if n != 1 else "1 credit"


def price_unknown(est: Estimate) -> bool:
    """Whether an estimate says the price is unknown until the provider charges."""
    return getattr(est, "known", True) is False and not est.mock


class Gate:
    """The guard-rails of one profile over one job store.

    `await gate.check(client, model_id, payload, est, confirmed=...)` → a `Verdict`;
    `gate.enforce(...)` raises `Refused` instead. `client` needs `account()` (an
    `ApiClient`); `store` needs `spent(profile, start, end)` (a `JobStore`)."""

    def __init__(self, store: Any, profile: Profile, *, clock: Any = time.time) -> None:
        self.store = store
        self.profile = profile
        self.clock = clock

    def __repr__(self) -> str:
        return f"Gate({self.profile.name!r}, confirm_above={self.profile.confirm_threshold}, " \
               f"daily_cap={self.profile.day_cap})"

    def spent_today(self) -> int:
        start, end = day_bounds(self.clock())
        return int(self.store.spent(self.profile.name, start, end))

    async def covers(self, client: Any, est_max: int) -> str | None:
        """Right before a stored take's first upload (it was stored while the API did not
        answer): why the balance cannot pay up to `est_max`, or None. A transient failure
        raises (the take keeps waiting)."""
        balance = await self.balance(client)
        if est_max > balance:
            return (f"Not sent: this render may cost up to {_cr(est_max)} and the balance is "
                    f"{_cr(balance)}; {_cr(est_max - balance)} short. Nothing was uploaded "
                    "or charged.")
        return None

    async def balance(self, client: Any) -> int:
        """The account's credits (`ApiError` when the API cannot say)."""
        account = await client.account()
        credits = account.get("credits") if isinstance(account, dict) else None
        if not isinstance(credits, int | float) or isinstance(credits, bool):
            raise ApiError("The API did not say the account's balance (GET /v1/account has "
                           "no credits)", code="balance_unknown")
        return int(credits)

    async def check(self, client: Any, model_id: str, payload: dict[str, Any],
                    est: Estimate | None = None, *, confirmed: bool = False) -> Verdict:
        if est is None:
            from app.catalog import estimate

            est = estimate(model_id, payload)
        p = self.profile
        threshold, cap = p.confirm_threshold, p.day_cap
        if est.mock or payload.get("mock") is True:
            return Verdict(True, "free", "A mock render is free", est, threshold, cap)
        if price_unknown(est):
            return await self._check_unknown(client, est, confirmed)
        spent = self.spent_today() if cap is not None else 0
        if cap is not None and spent + est.max > cap:
            left = max(0, cap - spent)
            return Verdict(False, "daily_cap", (
                f"Not sent: today's cap for {p.label} is {_cr(cap)}; {_cr(spent)} are spent or "
                f"reserved today, {_cr(left)} left, and this render may cost up to "
                f"{_cr(est.max)} ({est.breakdown}). Raise the cap (takes profile set "
                f"{p.name!r} --daily-cap N) or wait until tomorrow."),
                est, threshold, cap, spent)
        ask = (f"This render costs {est.text()} ({est.breakdown}), above the "
               f"{_cr(threshold)} that need a confirmation on {p.label}; the balance is "
               "not known now (the API does not answer). Confirm to send it once the "
               "API answers.") if threshold is not None and est.max > threshold else None
        balance = await self._balance_or_refusal(client, est, spent, confirmed, ask)
        if isinstance(balance, Verdict):
            return balance
        if est.max > balance:
            return Verdict(False, "balance", (
                f"Not sent: this render may cost up to {_cr(est.max)} ({est.breakdown}) and "
                f"the balance is {_cr(balance)}; {_cr(est.max - balance)} short. Nothing was "
                "uploaded or charged."), est, threshold, cap, spent, balance)
        if threshold is not None and est.max > threshold and not confirmed:
            return Verdict(False, "confirm", (
                f"This render costs {est.text()} ({est.breakdown}), above the "
                f"{_cr(threshold)} that need a confirmation on {p.label}; balance "
                f"{_cr(balance)}. Confirm to send it."), est, threshold, cap, spent, balance)
        return Verdict(True, "ok", f"May cost {est.text()}; balance {_cr(balance)}", est,
                       threshold, cap, spent, balance)

    async def _balance_or_refusal(self, client: Any, est: Estimate, spent: int,
                                  confirmed: bool, ask_offline: str | None) -> int | Verdict:
        """The balance, or the verdict when it cannot be read: the API does not answer
        ("offline", or first the confirmation `ask_offline` says when it is needed and not
        given), or it answers without one ("no_balance")."""
        p = self.profile
        threshold, cap = p.confirm_threshold, p.day_cap
        try:
            return await self.balance(client)
        except (NetworkError, ServerError, RateLimited) as e:
            if ask_offline is not None and not confirmed:
                return Verdict(False, "confirm", ask_offline, est, threshold, cap, spent)
            return Verdict(False, "offline", f"Not sent yet: the API does not answer, so the "
                           f"balance could not be checked ({e}). Nothing was uploaded or "
                           "charged.", est, threshold, cap, spent)
        except ApiError as e:
            return Verdict(False, "no_balance", f"Not sent: the balance could not be checked "
                           f"({e}). Nothing was uploaded or charged.", est, threshold, cap,
                           spent)

    async def _check_unknown(self, client: Any, est: Estimate, confirmed: bool) -> Verdict:
        """A price known only once the provider charges: the cap must not be reached yet,
        the balance must be above zero, and the user confirms every time."""
        p = self.profile
        threshold, cap = p.confirm_threshold, p.day_cap
        spent = self.spent_today() if cap is not None else 0
        today = f"{_cr(spent)} + unknown of today's {_cr(cap)} cap" if cap is not None else ""
        if cap is not None and spent >= cap:
            return Verdict(False, "daily_cap", (
                f"Not sent: today's cap for {p.label} is {_cr(cap)}; {_cr(spent)} are spent or "
                f"reserved today, none left, and this render's price is unknown until the "
                f"provider charges. Raise the cap (takes profile set {p.name!r} --daily-cap N) "
                "or wait until tomorrow."), est, threshold, cap, spent)
        ask = (f"The price of this render is unknown until the provider charges "
               f"({est.breakdown}); every such render needs a confirmation on {p.label}")
        balance = await self._balance_or_refusal(client, est, spent, confirmed, (
            f"{ask}{'; ' + today if today else ''}; the balance is not known now (the "
            "API does not answer). Confirm to send it once the API answers."))
        if isinstance(balance, Verdict):
            return balance
        if balance <= 0:
            return Verdict(False, "balance", (
                f"Not sent: the balance is {_cr(balance)} and this render's price is unknown "
                "until the provider charges. Nothing was uploaded or charged."),
                est, threshold, cap, spent, balance)
        if not confirmed:
            return Verdict(False, "confirm", (
                f"{ask}; balance {_cr(balance)}{'; ' + today if today else ''}. Confirm to "
                "send it."), est, threshold, cap, spent, balance)
        return Verdict(True, "ok", (
            f"Price unknown until the provider charges; balance {_cr(balance)}"
            f"{'; ' + today if today else ''}"), est, threshold, cap, spent, balance)

    async def check_batch(self, client: Any, estimates: Sequence[Estimate], *,
                          confirmed: bool = False) -> BatchVerdict:
        """Many takes as one decision: their total against the cap, the balance and the
        threshold (see the module's docstring). Nothing here sends anything."""
        p = self.profile
        threshold, cap = p.confirm_threshold, p.day_cap
        n = len(estimates)
        paid = [e for e in estimates if not e.mock]
        unknown = sum(1 for e in paid if price_unknown(e))
        known = [e for e in paid if not price_unknown(e)]
        lo, hi = sum(e.min for e in known), sum(e.max for e in known)
        plus = f" + {unknown} of unknown price" if unknown else ""
        free = n - len(paid)
        parts = [f"{_takes(len(known))} priced {lo:,}–{hi:,} credits" if lo != hi else
                 f"{_takes(len(known))} priced {_cr(lo)}"] if known else []
        if unknown:
            parts.append(f"{_takes(unknown)} of a price unknown until the provider charges")
        if free:
            parts.append(f"{free} mock (free)")
        total = Estimate(lo, hi, f"{_takes(n)}: " + "; ".join(parts))
        these = f"these {_takes(n)}"

        def verdict(allowed: bool, reason: Reason, message: str, spent: int = 0,
                    balance: int | None = None) -> BatchVerdict:
            return BatchVerdict(allowed, reason, message, total, threshold, cap, spent,
                                balance, n, unknown, free)

        if not paid:
            return verdict(True, "free", f"Mock renders are free ({_takes(n)})")
        spent = self.spent_today() if cap is not None else 0
        if cap is not None and (spent + hi > cap or (unknown and spent + hi >= cap)):
            left = max(0, cap - spent)
            return verdict(False, "daily_cap", (
                f"Not sent: today's cap for {p.label} is {_cr(cap)}; {_cr(spent)} are spent or "
                f"reserved today, {_cr(left)} left, and {these} may cost up to {_cr(hi)}{plus}"
                f" ({total.breakdown}). Send fewer takes, raise the cap (takes profile set "
                f"{p.name!r} --daily-cap N) or wait until tomorrow."), spent)
        needs = bool(unknown) or (threshold is not None and hi > threshold)
        why = (f"above the {_cr(threshold)} that need a confirmation on {p.label}"
               if threshold is not None and hi > threshold else
               f"a price unknown until the provider charges needs a confirmation on {p.label}")
        ask = (f"These {_takes(n)} cost {total.text()}{plus} in all ({total.breakdown}), {why}; "
               "the balance is not known now (the API does not answer). Confirm to send them "
               "once the API answers.") if needs else None
        balance = await self._balance_or_refusal(client, total, spent, confirmed, ask)
        if isinstance(balance, Verdict):
            return verdict(balance.allowed, balance.reason, balance.message, spent)
        if hi > balance or (unknown and balance - hi <= 0):
            short = f"; {_cr(hi - balance)} short" if hi > balance else \
                ", which leaves nothing for the takes of unknown price"
            return verdict(False, "balance", (
                f"Not sent: {these} may cost up to {_cr(hi)}{plus} ({total.breakdown}) and "
                f"the balance is {_cr(balance)}{short}. Nothing was uploaded or charged."),
                spent, balance)
        if needs and not confirmed:
            return verdict(False, "confirm", (
                f"These {_takes(n)} cost {total.text()}{plus} in all ({total.breakdown}), "
                f"{why}; balance {_cr(balance)}. Confirm to send them."), spent, balance)
        return verdict(True, "ok", f"{_takes(n).capitalize()} may cost {total.text()}{plus} "
                       f"in all; balance {_cr(balance)}", spent, balance)

    async def enforce(self, client: Any, model_id: str, payload: dict[str, Any],
                      est: Estimate | None = None, *, confirmed: bool = False) -> Verdict:
        verdict = await self.check(client, model_id, payload, est, confirmed=confirmed)
        if not verdict.allowed:
            raise Refused(verdict)
        return verdict


def promoted(payload: dict[str, Any]) -> dict[str, Any]:
    """A mock take's parameters for the same take rendered for real ("Promote to paid"): its
    `mock` flag dropped. Send it with `JobManager.submit(..., parent_id=mock_take.id)` after
    showing `Gate.check`'s price: it passes the guard-rails like any paid job."""
    return {k: v for k, v in payload.items() if k != "mock"}
