"""Users: race-safe get-or-create with a once-only welcome bonus, language choice."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import wallet
from kiebot.store.db import dialect_insert
from kiebot.store.models import LedgerKind, User


async def get_or_create_user(
    session: AsyncSession,
    user_id: int,
    *,
    username: str | None,
    first_name: str | None,
    welcome_bonus: int,
) -> tuple[User, bool]:
    """The user row, created when missing; `created` is True only for the update that inserted it.

    INSERT … ON CONFLICT DO NOTHING, so two updates racing for a new user never fail. The welcome bonus is credited
    with the ledger key `bonus:<user_id>`, so it is given once whatever happens. Username and first name are
    refreshed when they changed. Does not commit.
    """
    insert = dialect_insert(session)
    stmt = (
        insert(User)
        .values(id=user_id, username=username, first_name=first_name, balance=0, held=0, blocked_bot=False)
        .on_conflict_do_nothing(index_elements=[User.id])
        .returning(User.id)
    )
    created = (await session.execute(stmt)).scalar_one_or_none() is not None
    if created and welcome_bonus > 0:
        await wallet.credit(session, user_id, welcome_bonus, LedgerKind.BONUS, f"bonus:{user_id}")
    user = (
        await session.execute(select(User).where(User.id == user_id).execution_options(populate_existing=True))
    ).scalar_one()
    if not created and (user.username != username or user.first_name != first_name):
        user.username = username
        user.first_name = first_name
        await session.flush()
    return user, created


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def set_language(session: AsyncSession, user_id: int, lang: str | None) -> None:
    """Remember the language chosen with /language (None: follow Telegram). Does not commit."""
    await session.execute(update(User).where(User.id == user_id).values(language=lang))


async def set_blocked(session: AsyncSession, user_id: int, blocked: bool) -> None:
    """Mark that the user blocked (or unblocked) the bot. Does not commit."""
    await session.execute(update(User).where(User.id == user_id).values(blocked_bot=blocked))


async def get_language(session: AsyncSession, user_id: int) -> str | None:
    """The language the user chose with /language (None: not chosen, or not a user yet)."""
    return await session.scalar(select(User.language).where(User.id == user_id))


async def set_banned(session: AsyncSession, user_id: int, banned: bool) -> bool:
    """Ban (or unban) a user. False for an unknown user. Does not commit."""
    stmt = update(User).where(User.id == user_id).values(banned=banned)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount == 1


async def ensure_user(session: AsyncSession, user_id: int) -> None:
    """A bare user row for someone known only from a payment (no welcome bonus, names left alone)."""
    insert = dialect_insert(session)
    stmt = (
        insert(User)
        .values(id=user_id, balance=0, held=0, blocked_bot=False)
        .on_conflict_do_nothing(index_elements=[User.id])
    )
    await session.execute(stmt)


async def low_balance_mark(session: AsyncSession, user_id: int) -> tuple[int, int | None] | None:
    """(balance, ledger id of the last low-balance notice or None); None for an unknown user."""
    stmt = select(User.balance, User.low_balance_ledger_id).where(User.id == user_id)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (int(row[0]), row[1])


async def set_low_balance_mark(session: AsyncSession, user_id: int, *, was: int | None, now: int) -> bool:
    """Record a low-balance notice at ledger row `now`, only if the mark is still `was` (one replica wins)."""
    same = User.low_balance_ledger_id.is_(None) if was is None else User.low_balance_ledger_id == was
    stmt = update(User).where(User.id == user_id, same).values(low_balance_ledger_id=now)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount == 1
