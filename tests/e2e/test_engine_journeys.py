"""The engine seen from a user, through the whole bot: KIE callbacks (signed, duplicated, forged) and a 5xx on
createTask."""
from __future__ import annotations

import socket
from pathlib import Path

import aiohttp

from kiebot.kie.emulator import sign_headers
from tests.e2e.conftest import balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser

HMAC = "webhook-secret-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def post_callback(url: str, job: int, task_id: str, headers: dict[str, str]) -> int:
    body = {"code": 200, "msg": "Playground task completed successfully.",
            "data": {"taskId": task_id, "state": "success", "resultJson": '{"resultUrls": []}'}}
    async with aiohttp.ClientSession() as http, http.post(f"{url}/kie/callback?job={job}", json=body,
                                                          headers=headers) as response:
        return response.status


async def test_signed_callbacks_deliver_with_three_kie_calls_and_a_duplicate_or_forgery_changes_nothing(
        tmp_path: Path, alice: FakeUser) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with running_stack(tmp_path, flood=relaxed_flood(), public_url=public, web_port=port,
                             kie_webhook_hmac_key=HMAC) as stack:
        stack.kie.state.webhook_hmac_key = HMAC  # KIE signs its callbacks with the key set in its dashboard
        j = Journey(stack, alice)
        await j.fill("google-nano-banana", "A kite over dunes", "⏩ Defaults for all the rest")
        await j.generate(8)
        calls = (await stack.kie_control("calls"))["calls"]
        assert calls.get("createTask") == 1 and sum(calls.values()) <= 3, calls
        [task] = await stack.kie_tasks()
        assert task["callBackUrl"] == f"{public}/kie/callback?job={j.job}"
        assert j.job is not None
        for _ in range(2):  # KIE may call twice: the job is settled, nothing happens
            assert await post_callback(public, j.job, task["taskId"], sign_headers(HMAC, task["taskId"])) == 200
        forged = [{}, sign_headers("another key", task["taskId"]), {**sign_headers(HMAC, "other-task")}]
        for headers in forged:
            assert await post_callback(public, j.job, task["taskId"], headers) == 401
        assert len(j.delivered("photo")) == 1
        assert len([m for m in stack.tg.messages(alice.id) if "ready!" in m.content]) == 1
        assert (await stack.kie_control("calls"))["calls"] == calls  # a duplicate is not even re-read
        assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_a_5xx_on_create_makes_no_second_task_and_releases_the_hold(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood()) as stack:
        j = Journey(stack, alice)
        await j.fill("google-nano-banana", "A kite over dunes", "⏩ Defaults for all the rest")
        await stack.kie_control("fail", {"code": 500, "endpoint": "createTask"})
        await j.confirm(8)
        failed = await j.failure()
        assert j.texts("fail-service") in failed.text
        assert (await stack.kie_control("calls"))["calls"].get("createTask") == 1  # not sent again: KIE may have it
        assert await stack.kie_tasks() == []
        assert await balance_of(stack, alice) == (100, 0)
        assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]


async def test_a_user_at_the_limit_does_not_block_another(tmp_path: Path, alice: FakeUser, boris: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=1) as stack:
        await stack.kie_control("task-outcome", {"outcome": "held"})  # Alice's first task runs until /finish
        first, second, other = Journey(stack, alice), Journey(stack, alice), Journey(stack, boris)
        await first.fill("google-nano-banana", "First picture", "⏩ Defaults for all the rest")
        await first.confirm(8)
        await first.status("queued")  # at KIE
        await second.fill("google-nano-banana", "Second picture", "⏩ Defaults for all the rest")
        waiting = await second.confirm(8)
        assert "Waiting in line" in waiting.text  # Alice is at her limit
        await other.fill("google-nano-banana", "Другая картинка", other.texts("btn-defaults-rest"))
        await other.generate(8)  # Boris, with a free slot, is not held up behind her
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == ["First picture", "Другая картинка"]
        await stack.kie_control("finish", {})
        await first.result(timeout=30)
        await second.result(timeout=30)
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == [
            "First picture", "Другая картинка", "Second picture"]
