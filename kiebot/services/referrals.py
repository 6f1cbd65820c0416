"""Referrals: a personal /start link `ref_<user_id>`; REFERRAL_BONUS to both sides when the invited user first pays.

Only a brand-new user can be attached to a referrer (the update that created them, and nothing done yet), never to
themselves, and the reward is given once (a conditional UPDATE on `referrals.rewarded_at` plus the ledger keys).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import referrals as referral_repo
from kiebot.store import users as user_repo
from kiebot.store import wallet
from kiebot.store.models import LedgerKind

PREFIX = "ref_"


class ReferralRefusal(StrEnum):
    NOT_A_REFERRAL = "not-a-referral"  # the payload is no `ref_<id>`
    SELF = "self"
    UNKNOWN_REFERRER = "unknown-referrer"
    NOT_NEW = "not-new"  # the user had used the bot before
    ALREADY = "already"  # the user already has a referrer


class ReferralError(Exception):
    def __init__(self, code: ReferralRefusal) -> None:
        super().__init__(code.value)
        self.code = code


@dataclass(frozen=True)
class ReferralReward:
    referrer_id: int
    invitee_id: int
    bonus: int  # given to each of them


def link_payload(user_id: int) -> str:
    """The /start payload of a user's personal link: `https://t.me/<bot>?start=ref_<user_id>`."""
    return f"{PREFIX}{user_id}"


def parse_payload(payload: str | None) -> int | None:
    """The referrer id in a `ref_<user_id>` payload, else None."""
    text = (payload or "").strip()
    digits = text[len(PREFIX):] if text.startswith(PREFIX) else ""
    return int(digits) if digits.isdigit() and len(digits) <= 19 else None


async def attach_referrer(session: AsyncSession, *, user_id: int, payload: str | None, new_user: bool) -> int:
    """Attach a brand-new user (`new_user`: the update that created the row) to the referrer in `payload`.

    Returns the referrer id; raises ReferralError(code). Does not commit.
    """
    referrer_id = parse_payload(payload)
    if referrer_id is None:
        raise ReferralError(ReferralRefusal.NOT_A_REFERRAL)
    if referrer_id == user_id:
        raise ReferralError(ReferralRefusal.SELF)
    if await user_repo.get_user(session, referrer_id) is None:
        raise ReferralError(ReferralRefusal.UNKNOWN_REFERRER)
    if not new_user or not await referral_repo.is_untouched(session, user_id):
        raise ReferralError(ReferralRefusal.NOT_NEW)
    if not await referral_repo.attach(session, user_id, referrer_id):
        raise ReferralError(ReferralRefusal.ALREADY)
    return referrer_id


async def reward_first_payment(
    session: AsyncSession, user_id: int, bonus: int, now: datetime | None = None
) -> ReferralReward | None:
    """On a payment: the bonus to both sides if this user was referred and not rewarded yet. Does not commit."""
    if bonus <= 0:
        return None
    referrer_id = await referral_repo.claim_reward(session, user_id, now or datetime.now(UTC))
    if referrer_id is None:
        return None
    note = f"referral of {user_id} by {referrer_id}"
    await wallet.credit(session, user_id, bonus, LedgerKind.REFERRAL, f"referral:{user_id}:invitee", note=note)
    await wallet.credit(session, referrer_id, bonus, LedgerKind.REFERRAL, f"referral:{user_id}:referrer", note=note)
    return ReferralReward(referrer_id=referrer_id, invitee_id=user_id, bonus=bonus)
