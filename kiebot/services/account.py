"""Accounts: the user behind an update, their language, balance and operator grants."""
from __future__ import annotations

from dataclasses import dataclass

from kiebot.store import users, wallet
from kiebot.store.db import Database
from kiebot.store.models import LedgerKind, User

MAX_GRANT = 10_000_000


@dataclass(frozen=True)
class Account:
    """What the bot layer knows of a user: never the database row itself."""

    id: int
    language: str | None
    balance: int
    held: int
    created: bool = False  # this update created the user (and credited the welcome bonus)

    @classmethod
    def of(cls, user: User, created: bool = False) -> Account:
        return cls(user.id, user.language, user.balance, user.held, created)


@dataclass(frozen=True)
class GrantResult:
    granted: bool
    balance: int = 0


class AccountService:
    def __init__(self, db: Database, welcome_bonus: int) -> None:
        self.db = db
        self.welcome_bonus = welcome_bonus

    async def enter(self, user_id: int, username: str | None, first_name: str | None) -> Account:
        """The account of the user behind an update, created (with the welcome bonus) on their first one.

        A read that takes no write lock serves every update of a known user whose names did not change; only a
        new user, a renamed one or one who unblocked the bot costs a (short) write.
        """
        async with self.db.read() as session:
            user = await users.get_user(session, user_id)
            if user is not None and (user.username, user.first_name, user.blocked_bot) == (username, first_name, False):
                return Account.of(user)
        async with self.db.write.begin() as session:
            user, created = await users.get_or_create_user(
                session, user_id, username=username, first_name=first_name, welcome_bonus=self.welcome_bonus)
            if user.blocked_bot:  # they are back: deliveries may go to them again
                user.blocked_bot = False
            return Account.of(user, created)

    async def get(self, user_id: int) -> Account | None:
        async with self.db.read() as session:
            user = await users.get_user(session, user_id)
            return Account.of(user) if user is not None else None

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.db.write.begin() as session:
            await users.set_language(session, user_id, language)

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
