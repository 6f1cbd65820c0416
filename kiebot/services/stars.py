"""Telegram Stars top-ups: packages, pre-checkout, crediting, refunds and reconciliation with Telegram's list.

Rules (shared/telegram/PLATFORM.md):
- pre-checkout is answered at once after checking only the package and the user (`pre_checkout`: one SELECT);
- the balance is credited only on `successful_payment`, once per `telegram_payment_charge_id` (`record_payment`);
- a payment the bot missed is credited by `reconcile`, which reads `getStarTransactions`; a refund made outside
  the bot (seen there, or as a `refunded_payment` message) takes back what the balance still covers;
- an admin refund (`refund_payment`) takes the amount back first, then asks Telegram, and gives it back if
  Telegram refuses. No database transaction is held across a call to Telegram.

Telegram is reached through the `StarsGateway` port; the bot implements it with aiogram (services never import it).
Ledger keys: `topup:<charge>`, `refund:<attempt>:<charge>` / `refund_undo:<attempt>:<charge>` (admin refunds),
`refund:out:<charge>` (refunds made outside the bot); a key longer than the column is replaced by a hash.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.services import referrals
from kiebot.services.referrals import ReferralReward
from kiebot.store import payments as payment_repo
from kiebot.store import users as user_repo
from kiebot.store import wallet
from kiebot.store.models import LedgerKind, Payment, PaymentState, User

CURRENCY = "XTR"
PAYLOAD_PREFIX = "topup"
SYNC_NAME = "stars"
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"  # Telegram's answer to a second refundStarPayment
MAX_KEY = 128  # ledger.key


# --- packages -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class StarsPackage:
    stars: int  # the price in Stars (XTR)
    credits: int  # 💎 credited


@dataclass(frozen=True)
class Invoice:
    """What `sendInvoice` needs besides the texts: currency XTR, one LabeledPrice of `stars`, the payload."""

    payload: str
    currency: str
    stars: int
    credits: int


def packages_from(pairs: Iterable[tuple[int, int]]) -> tuple[StarsPackage, ...]:
    """`Settings.stars_packages` as packages, cheapest first."""
    return tuple(sorted(StarsPackage(int(stars), int(credits)) for stars, credits in pairs))


def invoice_for(package: StarsPackage, nonce: str | None = None) -> Invoice:
    """The invoice of a package; its payload (`topup:<stars>:<credits>:<nonce>`) names the package agreed on."""
    nonce = nonce or uuid.uuid4().hex[:12]
    payload = f"{PAYLOAD_PREFIX}:{package.stars}:{package.credits}:{nonce}"
    return Invoice(payload=payload, currency=CURRENCY, stars=package.stars, credits=package.credits)


def parse_payload(payload: str | None) -> StarsPackage | None:
    """The package an invoice payload names, or None when it is not one of ours."""
    parts = (payload or "").split(":")
    if len(parts) != 4 or parts[0] != PAYLOAD_PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    stars, credits = int(parts[1]), int(parts[2])
    return StarsPackage(stars, credits) if stars > 0 and credits > 0 else None


def package_for(shortfall: int, packages: Sequence[StarsPackage]) -> StarsPackage | None:
    """The smallest package that covers `shortfall` 💎 (None when even the largest does not)."""
    covering = [p for p in packages if p.credits >= shortfall]
    return min(covering, key=lambda p: (p.credits, p.stars)) if covering else None


def credits_for(stars: int, payload: str | None, packages: Sequence[StarsPackage]) -> int:
    """💎 for a payment: the package its payload agreed on; else the current package of that price; else the rate of
    the cheapest package (rounded down). A package changed after the invoice still pays what was agreed."""
    agreed = parse_payload(payload)
    if agreed is not None and agreed.stars == stars:
        return agreed.credits
    same = next((p for p in packages if p.stars == stars), None)
    if same is not None:
        return same.credits
    base = min(packages)
    return stars * base.credits // base.stars


# --- pre-checkout ---------------------------------------------------------------------------------------------
class Decline(StrEnum):
    UNKNOWN_USER = "unknown-user"
    BANNED = "banned"
    UNKNOWN_PACKAGE = "unknown-package"  # not one of our invoices
    PACKAGE_CHANGED = "package-changed"  # the package is no longer sold at this price
    WRONG_CURRENCY = "wrong-currency"
    WRONG_AMOUNT = "wrong-amount"


@dataclass(frozen=True)
class PreCheckoutAnswer:
    ok: bool
    reason: Decline | None = None


def check_pre_checkout(
    user: User | None, *, payload: str, currency: str, total_amount: int, packages: Sequence[StarsPackage]
) -> PreCheckoutAnswer:
    """Pure: is this a valid user buying a package still on sale, for its price?"""
    if user is None:
        return PreCheckoutAnswer(False, Decline.UNKNOWN_USER)
    if user.banned:
        return PreCheckoutAnswer(False, Decline.BANNED)
    package = parse_payload(payload)
    if package is None:
        return PreCheckoutAnswer(False, Decline.UNKNOWN_PACKAGE)
    if currency != CURRENCY:
        return PreCheckoutAnswer(False, Decline.WRONG_CURRENCY)
    if package not in packages:
        return PreCheckoutAnswer(False, Decline.PACKAGE_CHANGED)
    if total_amount != package.stars:
        return PreCheckoutAnswer(False, Decline.WRONG_AMOUNT)
    return PreCheckoutAnswer(True)


async def pre_checkout(
    session: AsyncSession,
    *,
    user_id: int,
    payload: str,
    currency: str,
    total_amount: int,
    packages: Sequence[StarsPackage],
) -> PreCheckoutAnswer:
    """One read of the user row, then `check_pre_checkout`. Answer Telegram with the result right away."""
    user = await user_repo.get_user(session, user_id)
    return check_pre_checkout(user, payload=payload, currency=currency, total_amount=total_amount, packages=packages)


# --- crediting ------------------------------------------------------------------------------------------------
class PaymentSource(StrEnum):
    BOT = "bot"  # the successful_payment message
    RECONCILE = "reconcile"  # found in getStarTransactions


@dataclass(frozen=True)
class PaidInvoice:
    """A `successful_payment` (or a payment found by reconciliation), in plain terms."""

    user_id: int
    charge_id: str  # telegram_payment_charge_id
    total_amount: int  # Stars
    payload: str | None


@dataclass(frozen=True)
class PaymentReceipt:
    charge_id: str
    stars: int
    credited: int  # 💎 this payment brought (also on a duplicate: what it brought the first time)
    balance: int  # the balance now
    duplicate: bool  # this charge was credited before: nothing changed
    referral: ReferralReward | None = None  # a referral bonus this payment triggered (tell the referrer too)
    user_id: int | None = None  # who paid


def topup_key(charge_id: str) -> str:
    return _key("topup", charge_id)


async def record_payment(
    session: AsyncSession,
    paid: PaidInvoice,
    *,
    packages: Sequence[StarsPackage],
    referral_bonus: int,
    source: PaymentSource = PaymentSource.BOT,
    now: datetime | None = None,
) -> PaymentReceipt:
    """Credit a payment exactly once per charge id, and the referral bonus on a referred user's first payment.
    Does not commit: commit before sending the receipt."""
    await user_repo.ensure_user(session, paid.user_id)  # a payment is never lost for want of a user row
    credits = credits_for(paid.total_amount, paid.payload, packages)
    payment_id = await payment_repo.insert_payment(
        session, charge_id=paid.charge_id, user_id=paid.user_id, stars=paid.total_amount, credits=credits,
        payload=(paid.payload or "")[:128] or None, source=source.value,
    )
    if payment_id is None:
        return await _duplicate_receipt(session, paid.charge_id)
    if credits > 0:
        await wallet.credit(session, paid.user_id, credits, LedgerKind.TOPUP, topup_key(paid.charge_id),
                            note=f"{paid.total_amount} {CURRENCY} ({source.value})")
    reward = await referrals.reward_first_payment(session, paid.user_id, referral_bonus, now)
    balance, _ = await wallet.get_balance(session, paid.user_id)
    return PaymentReceipt(paid.charge_id, paid.total_amount, credits, balance, duplicate=False, referral=reward,
                          user_id=paid.user_id)


async def _duplicate_receipt(session: AsyncSession, charge_id: str) -> PaymentReceipt:
    payment = await payment_repo.get_payment(session, charge_id)
    assert payment is not None
    balance, _ = await wallet.get_balance(session, payment.user_id)
    return PaymentReceipt(charge_id, int(payment.stars), int(payment.credits), balance, duplicate=True,
                          user_id=payment.user_id)


# --- refunds --------------------------------------------------------------------------------------------------
class RefundRefusal(StrEnum):
    UNKNOWN_CHARGE = "unknown-charge"
    ALREADY_REFUNDED = "already-refunded"
    BALANCE_TOO_LOW = "balance-too-low"  # the user spent it: the balance no longer covers the refund
    REJECTED = "rejected"  # Telegram refused (detail: its error); the amount was given back
    UNCERTAIN = "uncertain"  # Telegram did not answer: amount kept back; retry, or reconciliation settles it


class RefundError(Exception):
    def __init__(self, code: RefundRefusal, detail: str | None = None) -> None:
        super().__init__(code.value if detail is None else f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


class StarsRefundRejected(Exception):
    """Raised by a gateway when Telegram refuses refundStarPayment; `code` is Telegram's (CHARGE_ALREADY_REFUNDED…)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RefundReceipt:
    charge_id: str
    user_id: int
    stars: int
    debited: int  # 💎 taken back
    balance: int


@dataclass(frozen=True)
class OutsideRefund:
    """A refund made outside the bot, as booked."""

    charge_id: str
    user_id: int
    debited: int  # 💎 taken back now
    uncovered: int  # 💎 the balance no longer held (recorded on the payment and in the ledger note)
    known: bool = True  # False: the bot had never booked this payment (it is booked as refunded, nothing credited)
    duplicate: bool = False  # booked before: nothing changed
    stars: int = 0  # the Stars Telegram gave back


class _Short(Exception):
    pass


class _Changed(Exception):
    pass


async def refund_payment(
    session: AsyncSession, gateway: StarsGateway, charge_id: str, *, now: datetime | None = None
) -> RefundReceipt:
    """Admin refund: take the amount back, ask Telegram (refundStarPayment), then mark the payment refunded.

    Raises RefundError(code). Commits `session` before and after the call to Telegram, so it must carry nothing
    the caller still wants to roll back. After UNCERTAIN a second call asks Telegram again (no second debit).
    """
    payment, attempt = await _begin_refund(session, charge_id)
    user_id, stars, credits = payment.user_id, int(payment.stars), int(payment.credits)
    await session.commit()
    try:
        await gateway.refund(user_id, charge_id)
    except StarsRefundRejected as exc:
        if exc.code == ALREADY_REFUNDED:
            await _finish_refund(session, charge_id, credits, now)
            await session.commit()
            raise RefundError(RefundRefusal.ALREADY_REFUNDED, exc.code) from None
        await _undo_refund(session, charge_id, user_id, credits, attempt)
        await session.commit()
        raise RefundError(RefundRefusal.REJECTED, exc.code) from None
    except Exception as exc:  # no answer: Telegram may or may not have refunded
        raise RefundError(RefundRefusal.UNCERTAIN, type(exc).__name__) from exc
    await _finish_refund(session, charge_id, credits, now)
    balance, _ = await wallet.get_balance(session, user_id)
    await session.commit()
    return RefundReceipt(charge_id, user_id, stars, credits, balance)


async def _begin_refund(session: AsyncSession, charge_id: str) -> tuple[Payment, int]:
    """paid → refunding with the amount taken back (one savepoint); a payment left refunding is retried as is."""
    payment = await payment_repo.get_payment(session, charge_id)
    if payment is None:
        raise RefundError(RefundRefusal.UNKNOWN_CHARGE)
    if payment.state == PaymentState.REFUNDED:
        raise RefundError(RefundRefusal.ALREADY_REFUNDED)
    if payment.state == PaymentState.REFUNDING:
        return payment, int(payment.refund_attempt)
    try:
        async with session.begin_nested():
            attempt = await payment_repo.start_refund(session, charge_id)
            if attempt is None:
                raise _Changed
            key = _key(f"refund:{attempt}", charge_id)
            if not await wallet.debit(session, payment.user_id, int(payment.credits), LedgerKind.REFUND, key,
                                      note=f"admin refund of {payment.stars} {CURRENCY}"):
                raise _Short
    except _Changed:
        return await _begin_refund(session, charge_id)  # another replica moved it: decide on its new state
    except _Short:
        raise RefundError(RefundRefusal.BALANCE_TOO_LOW) from None
    return payment, attempt


async def _finish_refund(session: AsyncSession, charge_id: str, credits: int, now: datetime | None) -> None:
    await payment_repo.set_state(session, charge_id, was=PaymentState.REFUNDING, now=PaymentState.REFUNDED,
                                 at=now or datetime.now(UTC), debited=credits, uncovered=0)


async def _undo_refund(session: AsyncSession, charge_id: str, user_id: int, credits: int, attempt: int) -> None:
    """Telegram refused: refunding → paid, and the amount goes back (unless the payment was settled meanwhile)."""
    if await payment_repo.set_state(session, charge_id, was=PaymentState.REFUNDING, now=PaymentState.PAID):
        await wallet.credit(session, user_id, credits, LedgerKind.REFUND_UNDO, _key(f"refund_undo:{attempt}", charge_id),
                            note="Telegram refused the refund")


async def record_outside_refund(
    session: AsyncSession, *, charge_id: str, user_id: int, stars: int, now: datetime | None = None
) -> OutsideRefund:
    """A refund made outside the bot (a `refunded_payment` message, or found by `reconcile`): take back what the
    balance still covers, never below zero, and record the rest. Idempotent. Does not commit."""
    now = now or datetime.now(UTC)
    payment = await payment_repo.get_payment(session, charge_id)
    if payment is None:  # never booked: book it as refunded, so a later reconciliation credits nothing
        await user_repo.ensure_user(session, user_id)
        await payment_repo.insert_payment(session, charge_id=charge_id, user_id=user_id, stars=stars, credits=0,
                                          payload=None, source=PaymentSource.RECONCILE.value,
                                          state=PaymentState.REFUNDED)
        return OutsideRefund(charge_id, user_id, 0, 0, known=False)
    if payment.state == PaymentState.REFUNDED:
        return OutsideRefund(charge_id, payment.user_id, 0, int(payment.refund_uncovered or 0), duplicate=True)
    if payment.state == PaymentState.REFUNDING:  # an admin refund took the amount back already
        await _finish_refund(session, charge_id, int(payment.credits), now)
        return OutsideRefund(charge_id, payment.user_id, 0, 0)
    try:
        return await _take_back(session, payment, now)
    except _Changed:
        return await record_outside_refund(session, charge_id=charge_id, user_id=user_id, stars=stars, now=now)


async def _take_back(session: AsyncSession, payment: Payment, now: datetime) -> OutsideRefund:
    credits = int(payment.credits)
    async with session.begin_nested():
        note = f"refunded outside the bot: {payment.stars} {CURRENCY}"
        taken = await wallet.debit_up_to(session, payment.user_id, credits, LedgerKind.REFUND,
                                         _key("refund:out", payment.charge_id), note=f"{note}; up to {credits}")
        taken = taken or 0
        if not await payment_repo.set_state(session, payment.charge_id, was=PaymentState.PAID,
                                            now=PaymentState.REFUNDED, at=now, debited=taken,
                                            uncovered=credits - taken):
            raise _Changed
    return OutsideRefund(payment.charge_id, payment.user_id, taken, credits - taken, stars=int(payment.stars))


# --- reconciliation ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StarTransaction:
    """One entry of getStarTransactions that concerns a user (others are skipped by the gateway or ignored here).

    `incoming`: the user paid the bot (`id` = telegram_payment_charge_id); else the bot refunded the user (`id` =
    the refunded payment's charge id).
    """

    id: str
    amount: int  # Stars
    date: datetime
    user_id: int | None
    incoming: bool
    payload: str | None = None  # the invoice payload, when Telegram gives it


class StarsGateway(Protocol):
    async def star_transactions(self, offset: int, limit: int) -> Sequence[StarTransaction]:
        """getStarTransactions(offset, limit ≤ 100): the bot's transactions, oldest first."""
        ...

    async def refund(self, user_id: int, charge_id: str) -> None:
        """refundStarPayment. Raises StarsRefundRejected(code) when Telegram refuses; other errors: no answer."""
        ...


@dataclass
class ReconcileReport:
    scanned: int = 0
    credited: list[PaymentReceipt] = field(default_factory=list)  # payments the bot had missed, now credited
    refunds: list[OutsideRefund] = field(default_factory=list)  # refunds made outside the bot, now booked
    ignored: int = 0  # transactions that are neither a user's payment for our invoice nor its refund


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: StarsGateway,
    *,
    packages: Sequence[StarsPackage],
    referral_bonus: int,
    page_size: int = 100,
    from_start: bool = False,
) -> ReconcileReport:
    """Compare getStarTransactions with the ledger, from where the last run stopped (`from_start`: everything).

    Each transaction is booked in a short transaction of its own together with the checkpoint; no database
    transaction is open while Telegram is asked. Run at start-up and hourly.
    """
    report = ReconcileReport()
    offset = 0 if from_start else await _checkpoint(sessionmaker)
    while True:
        page = list(await gateway.star_transactions(offset, page_size))
        for index, tx in enumerate(page):
            async with sessionmaker() as session:
                await _book(session, tx, packages, referral_bonus, report)
                await payment_repo.advance_sync(session, SYNC_NAME, offset + index + 1)
                await session.commit()
        report.scanned += len(page)
        offset += len(page)
        if len(page) < page_size:
            return report


async def _checkpoint(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        position = await payment_repo.sync_position(session, SYNC_NAME)
        await session.commit()
    return position


async def _book(
    session: AsyncSession, tx: StarTransaction, packages: Sequence[StarsPackage], referral_bonus: int,
    report: ReconcileReport,
) -> None:
    ours = tx.payload is None or parse_payload(tx.payload) is not None
    if tx.user_id is None or tx.amount <= 0 or not ours:
        report.ignored += 1
    elif tx.incoming:
        paid = PaidInvoice(tx.user_id, tx.id, tx.amount, tx.payload)
        receipt = await record_payment(session, paid, packages=packages, referral_bonus=referral_bonus,
                                       source=PaymentSource.RECONCILE)
        if not receipt.duplicate:
            report.credited.append(receipt)
    else:
        booked = await record_outside_refund(session, charge_id=tx.id, user_id=tx.user_id, stars=tx.amount)
        if not booked.duplicate:
            report.refunds.append(booked)


def _key(prefix: str, charge_id: str) -> str:
    key = f"{prefix}:{charge_id}"
    if len(key) <= MAX_KEY:
        return key
    return f"{prefix}:sha256:{hashlib.sha256(charge_id.encode()).hexdigest()}"
