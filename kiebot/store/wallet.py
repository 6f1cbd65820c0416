"""The wallet ledger.

Every money movement is one immutable `ledger` row with a unique idempotency `key`, written in the same transaction
as the change of `users.balance` / `users.held`; so at any time `sum(delta_balance) == users.balance` and
`sum(delta_held) == users.held`. Each change of the user row is a single conditional UPDATE that never lets a
column go below zero (atomic on SQLite and PostgreSQL alike; the CHECK constraints are a second guard).

The functions never commit: the caller owns the unit of work. Re-using a key is a no-op that returns False.
Amounts are positive integers in the bot's own unit.

Movements:
- credit:  balance += amount                                 (BONUS / GRANT / TOPUP)
- hold:    balance -= amount, held += amount                 (HOLD; False when the balance is short)
- capture: held -= held_amount, balance += held_amount - actual (one CHARGE row; the user pays `actual`,
           the unused part of the hold goes back to the balance in the same row)
- release: held -= amount, balance += amount                 (RELEASE)
- debit:   balance -= amount                                 (REFUND; False when the balance is short)
- debit_up_to: balance -= min(amount, balance)               (REFUND made outside the bot: never below zero)
- record:  no money moves, the event is kept                 (FREE / FREE_BACK: a free try used or given back)
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from kiebot.store.db import dialect_insert
from kiebot.store.events import log_on_commit
from kiebot.store.models import LedgerEntry, LedgerKind, User

CREDIT_KINDS = frozenset(
    {LedgerKind.BONUS, LedgerKind.GRANT, LedgerKind.TOPUP, LedgerKind.PROMO, LedgerKind.REFERRAL, LedgerKind.REFUND_UNDO}
)
DEBIT_KINDS = frozenset({LedgerKind.REFUND})
RECORD_KINDS = frozenset({LedgerKind.FREE, LedgerKind.FREE_BACK})


class LedgerError(RuntimeError):
    """The user row does not allow a movement that the ledger says must be possible (a bug or a missing user)."""


class _Rollback(Exception):
    pass


def _check_amount(name: str, value: int, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")


async def _move(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    key: str,
    delta_balance: int,
    delta_held: int,
    job_id: int | None = None,
    note: str | None = None,
    need_balance: int = 0,
    need_held: int = 0,
    short_is_error: bool = True,
) -> bool:
    """Write the ledger row (unless the key exists) and apply the deltas with one conditional UPDATE.

    `need_balance` / `need_held`: the least the columns must hold for the UPDATE to apply. When they are short the
    ledger row is rolled back (SAVEPOINT) and either False is returned or LedgerError raised (`short_is_error`).
    """
    insert = dialect_insert(session)
    try:
        async with session.begin_nested():
            stmt = (
                insert(LedgerEntry)
                .values(
                    user_id=user_id,
                    kind=str(kind),
                    delta_balance=delta_balance,
                    delta_held=delta_held,
                    job_id=job_id,
                    key=key,
                    note=note,
                )
                .on_conflict_do_nothing(index_elements=[LedgerEntry.key])
                .returning(LedgerEntry.id)
            )
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                return False  # key already used: nothing happens
            conditions = [User.id == user_id]
            if need_balance:
                conditions.append(User.balance >= need_balance)
            if need_held:
                conditions.append(User.held >= need_held)
            result = await session.execute(
                update(User)
                .where(*conditions)
                .values(balance=User.balance + delta_balance, held=User.held + delta_held)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise _Rollback
    except IntegrityError as exc:  # a foreign key: unknown user or job (the savepoint was rolled back)
        raise LedgerError(f"{kind} {key}: unknown user {user_id} or job {job_id}") from exc
    except _Rollback:
        if short_is_error:
            raise LedgerError(
                f"{kind} {key}: user {user_id} is missing or short (needs balance>={need_balance}, held>={need_held})"
            ) from None
        return False
    log_on_commit(session, "ledger movement", account=user_id, kind=str(kind), balance=delta_balance,
                  held=delta_held, job=job_id, key=key)
    await _refresh_user(session, user_id)
    return True


async def _refresh_user(session: AsyncSession, user_id: int) -> None:
    """Keep an already loaded User object in step with the UPDATE that bypassed the ORM."""
    user = session.sync_session.identity_map.get(identity_key(User, user_id))
    if user is not None:
        await session.refresh(user, ["balance", "held"])


async def credit(
    session: AsyncSession, user_id: int, amount: int, kind: str, key: str, note: str | None = None
) -> bool:
    """balance += amount. `kind`: bonus, grant, topup, promo, referral or refund_undo. False when `key` was used
    before."""
    _check_amount("amount", amount)
    _check_kind(kind, CREDIT_KINDS)
    return await _move(
        session, user_id=user_id, kind=kind, key=key, delta_balance=amount, delta_held=0, note=note
    )


async def hold(session: AsyncSession, user_id: int, amount: int, key: str, job_id: int | None = None) -> bool:
    """balance -> held. False (and nothing written) when the balance is short or `key` was used before."""
    _check_amount("amount", amount)
    return await _move(
        session,
        user_id=user_id,
        kind=LedgerKind.HOLD,
        key=key,
        delta_balance=-amount,
        delta_held=amount,
        job_id=job_id,
        need_balance=amount,
        short_is_error=False,
    )


async def capture(
    session: AsyncSession, user_id: int, job_id: int | None, held_amount: int, actual_amount: int, key: str
) -> bool:
    """Settle a hold: the user pays `actual_amount`, the rest of `held_amount` goes back to the balance.

    One CHARGE row with delta_held = -held_amount and delta_balance = held_amount - actual_amount.
    `actual_amount` may be 0 (nothing charged) but never above `held_amount` (ValueError).
    Raises LedgerError when `held` is smaller than `held_amount`. False when `key` was used before.
    """
    _check_amount("held_amount", held_amount)
    _check_amount("actual_amount", actual_amount, allow_zero=True)
    if actual_amount > held_amount:
        raise ValueError(f"actual amount {actual_amount} exceeds the held amount {held_amount}")
    return await _move(
        session,
        user_id=user_id,
        kind=LedgerKind.CHARGE,
        key=key,
        delta_balance=held_amount - actual_amount,
        delta_held=-held_amount,
        job_id=job_id,
        need_held=held_amount,
    )


async def release(session: AsyncSession, user_id: int, job_id: int | None, amount: int, key: str) -> bool:
    """held -> balance. Raises LedgerError when `held` is smaller than `amount`. False when `key` was used before."""
    _check_amount("amount", amount)
    return await _move(
        session,
        user_id=user_id,
        kind=LedgerKind.RELEASE,
        key=key,
        delta_balance=amount,
        delta_held=-amount,
        job_id=job_id,
        need_held=amount,
    )


async def debit(
    session: AsyncSession, user_id: int, amount: int, kind: str, key: str, note: str | None = None
) -> bool:
    """balance -= amount. False (nothing written) when the balance is short or `key` was used before."""
    _check_amount("amount", amount)
    _check_kind(kind, DEBIT_KINDS)
    return await _move(
        session, user_id=user_id, kind=kind, key=key, delta_balance=-amount, delta_held=0, note=note,
        need_balance=amount, short_is_error=False,
    )


async def debit_up_to(
    session: AsyncSession, user_id: int, amount: int, kind: str, key: str, note: str | None = None
) -> int | None:
    """balance -= min(amount, balance): what the balance still covers, never below zero (a row is written even
    when nothing is left, so the event is on record). Returns the amount taken, None when `key` was used before.
    The user row is locked (PostgreSQL; SQLite transactions are serial) so the amount read is the amount taken."""
    _check_amount("amount", amount)
    _check_kind(kind, DEBIT_KINDS)
    locked = select(User.balance).where(User.id == user_id).with_for_update()
    balance = (await session.execute(locked)).scalar_one_or_none()
    if balance is None:
        raise LedgerError(f"{kind} {key}: unknown user {user_id}")
    taken = min(amount, int(balance))
    written = await _move(
        session, user_id=user_id, kind=kind, key=key, delta_balance=-taken, delta_held=0, note=note,
        need_balance=taken,
    )
    return taken if written else None


async def record(
    session: AsyncSession, user_id: int, kind: str, key: str, job_id: int | None = None, note: str | None = None
) -> bool:
    """A ledger row that moves no money (a free try used or given back). False when `key` was used before."""
    _check_kind(kind, RECORD_KINDS)
    return await _move(
        session, user_id=user_id, kind=kind, key=key, delta_balance=0, delta_held=0, job_id=job_id, note=note
    )


async def entry_exists(session: AsyncSession, key: str) -> bool:
    return (await session.execute(select(LedgerEntry.id).where(LedgerEntry.key == key))).first() is not None


def _check_kind(kind: str, allowed: frozenset[LedgerKind]) -> None:
    if kind not in allowed:
        raise ValueError(f"kind must be one of {sorted(allowed)}, got {kind!r}")


async def get_balance(session: AsyncSession, user_id: int) -> tuple[int, int]:
    """(balance, held) read from the database; (0, 0) for an unknown user."""
    row = (await session.execute(select(User.balance, User.held).where(User.id == user_id))).one_or_none()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def balance_moves_after(session: AsyncSession, user_id: int, after_id: int | None) -> list[tuple[int, int]]:
    """(ledger id, delta_balance) of the user's rows after `after_id` (all rows for None), oldest first."""
    stmt = select(LedgerEntry.id, LedgerEntry.delta_balance).where(LedgerEntry.user_id == user_id)
    if after_id is not None:
        stmt = stmt.where(LedgerEntry.id > after_id)
    return [(int(r[0]), int(r[1])) for r in (await session.execute(stmt.order_by(LedgerEntry.id))).all()]


async def entries(session: AsyncSession, user_id: int) -> list[LedgerEntry]:
    """The user's ledger, oldest first."""
    stmt = select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
    return list((await session.execute(stmt)).scalars())


async def latest_entries(session: AsyncSession, user_id: int, limit: int) -> list[LedgerEntry]:
    """The user's `limit` latest ledger rows, newest first."""
    stmt = select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())
