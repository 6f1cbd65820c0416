"""Claimed jobs enter KIE's createTask line in the claim's order: none before a lower place is in it or gone."""
from __future__ import annotations

import asyncio

from kiebot.engine.submit_order import SubmitOrder


async def test_a_job_waits_until_every_lower_place_entered_the_line_or_left() -> None:
    order = SubmitOrder(patience=60.0)
    for job_id, slot in [(5, 1), (9, 1), (6, 2)]:  # as claimed: slot, then age
        order.expect(job_id, slot)
    entered: list[int] = []

    async def submit(job_id: int) -> None:
        await order.turn(job_id)
        entered.append(job_id)
        order.leave(job_id)

    later, second = asyncio.create_task(submit(6)), asyncio.create_task(submit(9))
    await asyncio.sleep(0.01)
    assert entered == []  # job 5 is still on its way
    await submit(5)
    await asyncio.gather(later, second)
    assert entered == [5, 9, 6]
    assert order.place(9) == (0, 9)  # left: a job not claimed from the line goes first


async def test_a_job_that_gives_up_frees_the_ones_behind_it() -> None:
    order = SubmitOrder(patience=60.0)
    order.expect(1, 1)
    order.expect(2, 2)
    behind = asyncio.create_task(order.turn(2))
    await asyncio.sleep(0.01)
    assert not behind.done()
    order.leave(1)  # cancelled by its user before createTask
    await behind


async def test_a_slow_job_holds_the_others_up_only_for_a_while() -> None:
    order = SubmitOrder(patience=0.05)
    order.expect(1, 1)  # never arrives (an upload that takes long, say)
    order.expect(2, 1)
    await order.turn(2)  # returns after the patience, not never
    assert order.place(1) == (1, 1) and order.place(3) == (0, 3)
