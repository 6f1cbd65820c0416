"""Shared pieces of the money tests: users, a priced draft, and a fake Telegram Stars gateway."""
from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.catalog import Catalog
from kiebot.services import generation
from kiebot.services.free import FreePolicy
from kiebot.services.stars import (
    ALREADY_REFUNDED,
    PaidInvoice,
    StarsPackage,
    StarsRefundRejected,
    StarTransaction,
    invoice_for,
    packages_from,
)
from kiebot.services.wizard import Draft
from kiebot.store import users, wallet
from kiebot.store.models import LedgerKind, User

CATALOG = Catalog.load()
NANO = CATALOG.get("google/nano-banana")  # 4 credits: 8 💎 at markup 2
MARKUP = Decimal("2")
NANO_PRICE = 8
PACKAGES: tuple[StarsPackage, ...] = packages_from(((50, 100), (100, 220), (250, 600), (500, 1300)))
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

_ids = itertools.count(500_000)
_charges = itertools.count(1)


def new_id() -> int:
    return next(_ids)


async def make_user(session: AsyncSession, balance: int = 0, *, bonus: int = 0) -> int:
    """A user with `bonus` as the welcome bonus and `balance` more granted (committed by the caller)."""
    uid = new_id()
    await users.get_or_create_user(session, uid, username=None, first_name=None, welcome_bonus=bonus)
    if balance:
        await wallet.credit(session, uid, balance, LedgerKind.GRANT, f"seed:{uid}")
    return uid


def nano_draft() -> Draft:
    draft = Draft.start(NANO)
    draft.answer(NANO, "a fox in the snow")
    draft.use_defaults_for_rest(NANO)
    return draft


async def start_nano(
    session: AsyncSession, uid: int, *, free: FreePolicy | None = None, now: datetime | None = None
) -> generation.StartResult:
    return await generation.start(session, model=NANO, draft=nano_draft(), user_id=uid, chat_id=uid, language="en",
                                  markup=MARKUP, free=free, now=now)


def paid(uid: int, package: StarsPackage = PACKAGES[0], charge_id: str | None = None) -> PaidInvoice:
    charge = charge_id or f"stxCHARGE{next(_charges)}"
    return PaidInvoice(user_id=uid, charge_id=charge, total_amount=package.stars,
                       payload=invoice_for(package).payload)


async def balance_of(sessionmaker: async_sessionmaker[AsyncSession], uid: int) -> tuple[int, int]:
    async with sessionmaker() as session:
        return await wallet.get_balance(session, uid)


class FakeStars:
    """getStarTransactions / refundStarPayment over a list, like Telegram: a refund appends an outgoing transaction
    with the payment's charge id, and a second refund fails with CHARGE_ALREADY_REFUNDED.

    With `sessionmaker` set, every call first checks that nobody holds a database transaction with writes open
    (a write from another session must go through at once), as the services promise."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession] | None = None) -> None:
        self.transactions: list[StarTransaction] = []
        self.refund_calls: list[tuple[int, str]] = []
        self.fail_next: Exception | None = None
        self.sessionmaker = sessionmaker

    def pay(self, uid: int, package: StarsPackage = PACKAGES[0], charge_id: str | None = None) -> PaidInvoice:
        """A payment Telegram knows of (the bot may or may not have seen its update)."""
        invoice = paid(uid, package, charge_id)
        self.transactions.append(StarTransaction(invoice.charge_id, invoice.total_amount, T0, uid, incoming=True,
                                                 payload=invoice.payload))
        return invoice

    def refund_outside(self, charge_id: str) -> None:
        original = next(t for t in self.transactions if t.id == charge_id and t.incoming)
        self.transactions.append(StarTransaction(charge_id, original.amount, T0, original.user_id, incoming=False))

    async def star_transactions(self, offset: int, limit: int) -> Sequence[StarTransaction]:
        await self._no_open_transaction(-1)
        return self.transactions[offset: offset + limit]

    async def refund(self, user_id: int, charge_id: str) -> None:
        await self._no_open_transaction(user_id)
        self.refund_calls.append((user_id, charge_id))
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        if any(t.id == charge_id and not t.incoming for t in self.transactions):
            raise StarsRefundRejected(ALREADY_REFUNDED)
        self.refund_outside(charge_id)

    async def _no_open_transaction(self, user_id: int) -> None:
        if self.sessionmaker is None:
            return
        async with self.sessionmaker() as session:  # SQLite: any open write transaction blocks; PostgreSQL: the row
            probe = update(User).where(User.id == user_id).values(held=User.held)
            await asyncio.wait_for(session.execute(probe), timeout=5)
            await session.commit()
