"""A small, fixed history for /stats tests (users, generations and payments at known times around `NOW`) and a
stand-in for KIE's credit endpoint."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.store import jobs, payments
from kiebot.store.models import Job, Payment, User
from kiebot.store.users import get_or_create_user

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
ADMIN = 900
# user id → when they started the bot
USERS = {ADMIN: NOW - timedelta(days=30), 1001: NOW - timedelta(hours=1), 1002: NOW - timedelta(days=3),
         1003: NOW - timedelta(days=9)}
NANO, EDIT = "google/nano-banana", "google/nano-banana-edit"


async def _job(session: AsyncSession, user: int, model: str, key: str, at: datetime, *, done: bool,
               credits: str = "4", price: int = 8, charged: int = 8) -> None:
    job = await jobs.create_job(session, user_id=user, chat_id=user, language="en", model_id=model,
                                values={"prompt": "a fox"}, files=[], confirm_key=key, price=price, credits=credits,
                                now=at)
    assert job is not None
    if done:
        await session.execute(update(Job).where(Job.id == job.id).values(kie_state="success"))
        assert await jobs.finish_job(session, job, charged=charged)
    else:
        assert await jobs.fail_job(session, job, error_code="generation")


async def fill(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """4 users (one new today, two in the last 7 days); 4 generations: 3 done (2 Nano Banana, 1 Edit), one failed
    at KIE; 2 payments of 50 ⭐, one of them refunded."""
    async with sessionmaker() as session:
        for user, joined in USERS.items():
            await get_or_create_user(session, user, username=None, first_name="U", welcome_bonus=100)
            await session.execute(update(User).where(User.id == user).values(created_at=joined))
        await _job(session, 1001, NANO, "a", NOW - timedelta(minutes=30), done=True)
        await _job(session, 1002, NANO, "b", NOW - timedelta(days=2), done=True, credits="2.5", price=5, charged=5)
        await _job(session, 1002, EDIT, "c", NOW - timedelta(days=2), done=True, credits="4.25", price=9, charged=7)
        await _job(session, 1003, EDIT, "d", NOW - timedelta(days=8), done=False)
        for charge, user, state in (("p1", 1002, "paid"), ("p2", 1003, "refunded")):
            await payments.insert_payment(session, charge_id=charge, user_id=user, stars=50, credits=100,
                                          payload=None, source="bot")
            await session.execute(update(Payment).where(Payment.charge_id == charge)
                                  .values(state=state, created_at=NOW - timedelta(days=2)))
        await session.commit()


class Balances:
    """KIE's credit endpoint answering what the test says, counting the calls."""

    def __init__(self, *answers: Decimal | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def credits(self) -> Decimal:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
