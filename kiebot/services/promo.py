"""Promo codes: admins create (`CODE AMOUNT [USES] [DAYS]`), list and disable them; a user redeems a code once.

Redemption is one savepoint: the conditional use count (`uses < max_uses`, enabled, not expired) and the credit
with the ledger key `promo:<CODE>:<user_id>`; a second redemption by the same user finds the key taken and the
count is rolled back. So the use limit holds under concurrent redemptions on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import promos as promo_repo
from kiebot.store import wallet
from kiebot.store.models import LedgerKind, PromoCode

CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,32}$")
MAX_AMOUNT = 10_000_000
MAX_USES = 1_000_000
MAX_DAYS = 3650


class PromoRefusal(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    DISABLED = "disabled"
    USED_UP = "used-up"
    ALREADY_USED = "already-used"  # this user redeemed it before
    INVALID = "invalid"  # admin: not `CODE AMOUNT [USES] [DAYS]` within the limits
    EXISTS = "exists"  # admin: a code with this name exists


class PromoError(Exception):
    def __init__(self, code: PromoRefusal) -> None:
        super().__init__(code.value)
        self.code = code


@dataclass(frozen=True)
class PromoSpec:
    code: str
    amount: int
    max_uses: int = 1
    days: int | None = None  # valid for this many days from creation; None: no end


@dataclass(frozen=True)
class PromoInfo:
    code: str
    amount: int
    uses: int
    max_uses: int
    expires_at: datetime | None
    disabled: bool

    @classmethod
    def of(cls, row: PromoCode) -> PromoInfo:
        return cls(row.code, int(row.amount), int(row.uses), int(row.max_uses), row.expires_at, bool(row.disabled))


@dataclass(frozen=True)
class Redemption:
    code: str
    amount: int  # 💎 credited
    balance: int  # the balance now


def normalize(code: str) -> str:
    return code.strip().upper()


def parse_spec(args: str) -> PromoSpec:
    """`CODE AMOUNT [USES] [DAYS]` (the admin command's arguments). Raises PromoError(INVALID)."""
    parts = args.split()
    if not 2 <= len(parts) <= 4 or not all(p.isdigit() for p in parts[1:]):
        raise PromoError(PromoRefusal.INVALID)
    numbers = [int(p) for p in parts[1:]]
    spec = PromoSpec(normalize(parts[0]), numbers[0], numbers[1] if len(numbers) > 1 else 1,
                     numbers[2] if len(numbers) > 2 else None)
    _check_spec(spec)
    return spec


def _check_spec(spec: PromoSpec) -> None:
    valid = (
        CODE_PATTERN.match(spec.code) is not None
        and 0 < spec.amount <= MAX_AMOUNT
        and 0 < spec.max_uses <= MAX_USES
        and (spec.days is None or 0 < spec.days <= MAX_DAYS)
    )
    if not valid:
        raise PromoError(PromoRefusal.INVALID)


async def create(
    session: AsyncSession, spec: PromoSpec, *, created_by: int | None, now: datetime | None = None
) -> PromoInfo:
    """Create a code. Raises PromoError(INVALID | EXISTS). Does not commit."""
    spec = PromoSpec(normalize(spec.code), spec.amount, spec.max_uses, spec.days)
    _check_spec(spec)
    now = now or datetime.now(UTC)
    expires_at = now + timedelta(days=spec.days) if spec.days else None
    if not await promo_repo.insert_promo(session, code=spec.code, amount=spec.amount, max_uses=spec.max_uses,
                                         expires_at=expires_at, created_by=created_by):
        raise PromoError(PromoRefusal.EXISTS)
    row = await promo_repo.get_promo(session, spec.code)
    assert row is not None
    return PromoInfo.of(row)


async def list_codes(session: AsyncSession) -> list[PromoInfo]:
    return [PromoInfo.of(row) for row in await promo_repo.all_promos(session)]


async def disable(session: AsyncSession, code: str) -> None:
    """Raises PromoError(UNKNOWN). Does not commit."""
    if not await promo_repo.disable_promo(session, normalize(code)):
        raise PromoError(PromoRefusal.UNKNOWN)


def redemption_key(code: str, user_id: int) -> str:
    return f"promo:{normalize(code)}:{user_id}"


class _AlreadyUsed(Exception):
    pass


async def redeem(session: AsyncSession, user_id: int, code: str, *, now: datetime | None = None) -> Redemption:
    """Credit a code's amount to the user, once per user and within its use limit.

    Raises PromoError(UNKNOWN | ALREADY_USED | DISABLED | EXPIRED | USED_UP). Does not commit.
    """
    code, now = normalize(code), now or datetime.now(UTC)
    row = await promo_repo.get_promo(session, code) if code else None
    if row is None:
        raise PromoError(PromoRefusal.UNKNOWN)
    key = redemption_key(code, user_id)
    if await wallet.entry_exists(session, key):
        raise PromoError(PromoRefusal.ALREADY_USED)
    try:
        async with session.begin_nested():
            amount = await promo_repo.take_use(session, code, now)
            if amount is None:
                raise PromoError(await _why_refused(session, code, now))
            if not await wallet.credit(session, user_id, amount, LedgerKind.PROMO, key, note=f"promo {code}"):
                raise _AlreadyUsed  # a concurrent redemption by the same user won: the count is rolled back
    except _AlreadyUsed:
        raise PromoError(PromoRefusal.ALREADY_USED) from None
    balance, _ = await wallet.get_balance(session, user_id)
    return Redemption(code, amount, balance)


async def _why_refused(session: AsyncSession, code: str, now: datetime) -> PromoRefusal:
    row = await promo_repo.get_promo(session, code)
    if row is None:
        return PromoRefusal.UNKNOWN
    if row.disabled:
        return PromoRefusal.DISABLED
    if row.expires_at is not None and row.expires_at <= now:
        return PromoRefusal.EXPIRED
    return PromoRefusal.USED_UP
