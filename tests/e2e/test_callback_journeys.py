"""KIE callbacks that are not signed, and callbacks that never get through, seen from a user through the whole bot
(the signed ones: test_engine_journeys.py)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack, balance_of, free_port, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser

PROMPT = "A kite over dunes"
NOWHERE = "http://127.0.0.1:9"  # nothing listens there: every callback is lost on the way
CHARGED = [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def generate(stack: Stack, user: FakeUser) -> Journey:
    """A Nano Banana picture at 8 💎, its result screen exactly as expected."""
    j = Journey(stack, user)
    await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
    done = await j.generate(8)
    assert done.text == "\n".join([j.texts("status-done", model=j.model, job=j.job, charged=8),
                                   j.texts("balance-after", balance=92)])
    [photo] = j.delivered("photo")
    assert photo.caption == j.texts("result-caption", model=j.model, job=j.job)
    return j


async def kie_calls(stack: Stack) -> dict[str, Any]:
    return (await stack.kie_control("calls"))["calls"]


async def callbacks_answered(stack: Stack) -> list[int]:
    """The HTTP statuses the one task's callbacks got (the emulator notes one once its answer came)."""
    for _ in range(200):  # a guard against hanging, not a measurement
        [task] = await stack.kie_tasks()
        if task["callbacks"]:
            return [c["status"] for c in task["callbacks"]]
        await asyncio.sleep(0.05)
    raise AssertionError("no callback was answered")


async def test_unsigned_callbacks_are_taken_when_no_key_is_set(tmp_path: Path, alice: FakeUser) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    # At normal speed the fallback poll comes a minute after createTask: only the callback can deliver in time.
    async with running_stack(tmp_path, flood=relaxed_flood(), public_url=public, web_port=port,
                             kie_poll_speedup=1) as stack:
        j = await generate(stack, alice)
        [task] = await stack.kie_tasks()
        assert task["callBackUrl"] == f"{public}/kie/callback?job={j.job}"
        assert await callbacks_answered(stack) == [200]  # unsigned, and taken
        calls = await kie_calls(stack)
        # The task is read once, when its callback came, before anything is delivered.
        assert calls.get("createTask") == 1 and calls.get("recordInfo") == 1 and sum(calls.values()) <= 3, calls
        assert await balance_of(stack, alice) == (92, 0)
        assert await ledger_of(stack, alice) == CHARGED


@pytest.mark.parametrize("how", ["lost", "refused"])
async def test_when_every_callback_is_dropped_polling_still_delivers(tmp_path: Path, alice: FakeUser,
                                                                     how: str) -> None:
    """`lost`: the callback URL leads nowhere; `refused`: the bot's web app answers 401 to a callback signed with
    another key. Either way the slow fallback poll (once a minute, here 60 times faster) finds the result."""
    if how == "lost":
        settings: dict[str, Any] = {"public_url": NOWHERE}
    else:
        port = free_port()
        settings = {"public_url": f"http://127.0.0.1:{port}", "web_port": port,
                    "kie_webhook_hmac_key": "the bot's key"}
    async with running_stack(tmp_path, flood=relaxed_flood(), kie_poll_speedup=60, **settings) as stack:
        stack.kie.state.webhook_hmac_key = "another key"  # ignored when nothing listens
        j = await generate(stack, alice)
        [task] = await stack.kie_tasks()
        assert task["callBackUrl"] == f"{settings['public_url']}/kie/callback?job={j.job}"
        if how == "refused":
            assert await callbacks_answered(stack) == [401]
        calls = await kie_calls(stack)
        # The emulator's task takes a minute at this speed: looked at once a minute, it is read once or twice.
        assert calls.get("createTask") == 1 and calls.get("recordInfo") in (1, 2), calls
        assert await balance_of(stack, alice) == (92, 0)
        assert await ledger_of(stack, alice) == CHARGED
