"""Balance notices and the ledger as an admin sees it.

Low balance: a notice once per downward crossing of the threshold. The user row keeps the ledger id of the last
notice; a new notice is due when the balance is below the threshold now and, since that notice (or ever, for a user
never told), the balance has been at or above the threshold — read back from the ledger, so a top-up between two
checks re-arms the notice even if nobody asked then. The mark is set with a conditional UPDATE, so across replicas
exactly one caller is told to notify.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.catalog import ModelSpec, pricing
from kiebot.store import users as user_repo
from kiebot.store import wallet
from kiebot.store.models import LedgerEntry

CSV_COLUMNS = ("date", "kind", "amount", "balance_delta", "held_delta", "note", "key")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cheapest_price(models: Iterable[ModelSpec], markup: object) -> int | None:
    """The lowest price any offered model can cost (💎), the default low-balance threshold; None without prices."""
    lows = [pricing.price_range(model, markup)[0] for model in models]  # type: ignore[arg-type]
    lows = [low for low in lows if low > 0]
    return min(lows) if lows else None


def low_balance_threshold(setting: int | None, cheapest: int | None) -> int | None:
    """LOW_BALANCE_THRESHOLD, or the cheapest model's price when it is not set."""
    return setting if setting is not None else cheapest


async def should_notify_low_balance(session: AsyncSession, user_id: int, threshold: int | None) -> bool:
    """Call after any movement of the user's balance: True exactly once per crossing below `threshold`.
    Does not commit (the mark is written in the caller's transaction)."""
    if not threshold:
        return False
    state = await user_repo.low_balance_mark(session, user_id)
    if state is None:
        return False
    balance, mark = state
    if balance >= threshold:
        return False
    moves = await wallet.balance_moves_after(session, user_id, mark)
    if not moves or not _was_above(balance, moves, threshold):
        return False
    return await user_repo.set_low_balance_mark(session, user_id, was=mark, now=moves[-1][0])


def _was_above(balance_now: int, moves: list[tuple[int, int]], threshold: int) -> bool:
    """Whether the balance stood at or above `threshold` after any of `moves` (the last moves, oldest first)."""
    running = balance_now - sum(delta for _, delta in moves)  # the balance before the first of them
    for _, delta in moves:
        running += delta
        if running >= threshold:
            return True
    return False


# --- the ledger as CSV ------------------------------------------------------------------------------------------
def entry_amount(entry: LedgerEntry) -> int:
    """The size of a movement: what was credited, debited, held, released or finally paid (a charge)."""
    return abs(entry.delta_balance + entry.delta_held) or abs(entry.delta_held)


async def ledger_csv(session: AsyncSession, user_id: int) -> str:
    """A user's ledger, oldest first: date (UTC, ISO 8601), kind, amount, balance delta, held delta, note, key."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in await wallet.entries(session, user_id):
        writer.writerow((
            entry.created_at.isoformat(timespec="seconds"),
            entry.kind,
            entry_amount(entry),
            entry.delta_balance,
            entry.delta_held,
            _cell(entry.note or ""),
            _cell(entry.key),
        ))
    return buffer.getvalue()


def _cell(text: str) -> str:
    """No spreadsheet formula out of a note or key."""
    return "'" + text if text.startswith(_FORMULA_START) else text
