"""The KIE limiter's rules in this process: a call counts until a period after its answer, and waiting calls take
their turn by place in line, then by arrival. Time is a fake clock; nothing depends on how fast this machine is."""
from __future__ import annotations

import asyncio

import pytest

from kiebot.kie.ratelimit import SlidingWindowLimiter, in_line
from tests.engine.kit import ManualTime


def limiter(time: ManualTime, calls: int, period: float) -> SlidingWindowLimiter:
    return SlidingWindowLimiter({"createTask": (calls, period)}, clock=time, sleep=time.sleep)


async def test_a_call_counts_until_a_period_after_its_answer() -> None:
    time = ManualTime()
    window = limiter(time, 2, 1.0)
    assert [window.take("createTask"), window.take("createTask")] == [0.0, 0.0]
    time.now = 5.0  # both still under way: they keep their places however long they take
    assert window.take("createTask") == 1.0  # and none frees a place sooner than a period after its answer
    window.end("createTask")  # an answer at 5.0
    time.now = 5.3
    assert window.take("createTask") == pytest.approx(0.7)
    time.now = 6.0
    assert window.take("createTask") == 0.0  # the place of the call answered at 5.0
    assert window.take("createTask") == 1.0  # the other two are under way


async def test_a_slot_is_held_until_the_call_inside_returns() -> None:
    time = ManualTime()
    window = limiter(time, 1, 1.0)
    async with window.slot("createTask"):
        time.now = 3.0  # a slow call: KIE may have counted it as late as now
    async with window.slot("createTask"):
        pass
    assert time.now == 4.0  # a period after the first call's answer, not after its admission


async def test_waiting_calls_go_by_place_in_line_then_arrival() -> None:
    time = ManualTime()
    window = limiter(time, 1, 10.0)
    window.try_acquire("createTask")  # the window is full until 10 s
    time.go.clear()  # the first in line waits for its turn until the test lets time pass
    admitted: list[str] = []

    async def call(name: str, place: tuple[int, ...]) -> None:
        with in_line(place):
            async with window.slot("createTask"):
                admitted.append(name)

    # A's first three jobs (slots 1, 2, 3) reach the line before B's first (slot 1), which came later.
    calls = [asyncio.create_task(call(name, place)) for name, place in
             [("a1", (1, 1)), ("a2", (2, 2)), ("a3", (3, 3)), ("b1", (1, 4))]]
    await asyncio.sleep(0)  # every call is in line now
    time.go.set()
    await asyncio.gather(*calls)
    assert admitted == ["a1", "b1", "a2", "a3"]
    assert time.now == 40.0  # one every 10 s: the line costs no place in the window


async def test_a_call_given_up_while_waiting_leaves_the_line() -> None:
    time = ManualTime()
    window = limiter(time, 1, 10.0)
    window.try_acquire("createTask")
    time.go.clear()
    first = asyncio.create_task(window.slot("createTask").__aenter__())
    second_done = asyncio.Event()

    async def second() -> None:
        async with window.slot("createTask"):
            second_done.set()

    waiting = asyncio.create_task(second())
    await asyncio.sleep(0)
    first.cancel()  # e.g. the worker stopping
    await asyncio.gather(first, return_exceptions=True)
    time.go.set()
    await waiting
    assert second_done.is_set() and time.now == 10.0
