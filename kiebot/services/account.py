"""Accounts: the user behind an update (cached: it is read on every update), their balance and operator grants."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiebot.cache import Cache
from kiebot.store import users, wallet
from kiebot.store.db import Database
from kiebot.store.models import LedgerKind, User

MAX_GRANT = 10_000_000


@dataclass(frozen=True)
class Profile:
    """Who sent an update: what every update needs, served from the cache."""

    id: int
    language: str | None
    created: bool = False  # this update created the user (and credited the welcome bonus)


@dataclass(frozen=True)
class Account:
    """What the bot layer knows of a user: never the database row itself."""

    id: int
    balance: int
    held: int

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.balance, user.held)


@dataclass(frozen=True)
class GrantResult:
    granted: bool
    balance: int = 0


class AccountService:
    def __init__(self, db: Database, welcome_bonus: int, cache: Cache) -> None:
        self.db = db
        self.welcome_bonus = welcome_bonus
        self.cache = cache  # user id → what `enter` compares with the update

    async def enter(self, user_id: int, username: str | None, first_name: str | None) -> Profile:
        """The profile of the user behind an update, created (with the welcome bonus) on their first one.

        A known user whose names did not change costs no database work at all (the cache); only a new user, a
        renamed one or one who unblocked the bot costs a short write.
        """
        key = f"user:{user_id}"
        seen = await self.cache.get(key, lambda: self._seen(user_id))
        if seen is not None and seen[1:] == [username, first_name, False]:
            return Profile(user_id, seen[0])
        async with self.db.write.begin() as session:
            user, created = await users.get_or_create_user(
                session, user_id, username=username, first_name=first_name, welcome_bonus=self.welcome_bonus)
            user.blocked_bot = False  # they are back: deliveries may go to them again
            language = user.language
        await self.cache.put(key, [language, username, first_name, False])
        return Profile(user_id, language, created)

    async def _seen(self, user_id: int) -> list[Any] | None:
        async with self.db.read() as session:
            user = await users.get_user(session, user_id)
            return None if user is None else [user.language, user.username, user.first_name, user.blocked_bot]

    async def get(self, user_id: int) -> Account:
        """The balance as it is now (never cached: money is always shown fresh)."""
        async with self.db.read() as session:
            user = await users.get_user(session, user_id)
            return Account.of(user) if user is not None else Account(user_id, 0, 0)

    async def language_of(self, user_id: int) -> str | None:
        """The language the user chose with /language (None: not chosen, or not a user)."""
        async with self.db.read() as session:
            return await users.get_language(session, user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.db.write.begin() as session:
            await users.set_language(session, user_id, language)
        await self.cache.invalidate(f"user:{user_id}")

    async def mark_blocked(self, user_id: int) -> None:
        """The user blocked the bot (Telegram 403): nothing is sent to them until they come back."""
        async with self.db.write.begin() as session:
            await users.set_blocked(session, user_id, True)
        await self.cache.invalidate(f"user:{user_id}")

    async def grant(self, user_id: int, amount: int, *, key: str, by: int) -> GrantResult:
        """Credit `amount` to a user who has started the bot; `key` makes a re-delivered command grant once."""
        if not 0 < amount <= MAX_GRANT:
            raise ValueError(f"a grant is from 1 to {MAX_GRANT}")
        async with self.db.write.begin() as session:
            if await users.get_user(session, user_id) is None:
                return GrantResult(granted=False)
            await wallet.credit(session, user_id, amount, LedgerKind.GRANT, key, note=f"by {by}")
            balance, _ = await wallet.get_balance(session, user_id)
        return GrantResult(granted=True, balance=balance)
