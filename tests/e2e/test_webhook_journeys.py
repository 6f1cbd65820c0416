"""Journeys in webhook mode: the fake Telegram POSTs every update to the bot's web server with the secret token."""
from __future__ import annotations

from typing import Any

from tests.e2e.conftest import WEBHOOK_SECRET, Stack, balance_of
from tests.e2e.journey import Journey
from tests.fakes import FakeUser


def delivered_update(stack: Stack, user: FakeUser, message: dict[str, Any]) -> dict[str, Any]:
    """The update that carried `message`, as Telegram delivered it (to deliver it again)."""
    ids = [d.update_id for d in stack.tg.webhook_deliveries if d.status == 200]
    return {"update_id": ids[-1], "message": message}


async def test_a_generation_in_webhook_mode(webhook_stack: Stack, alice: FakeUser) -> None:
    stack, j = webhook_stack, Journey(webhook_stack, alice)
    assert stack.tg.webhook_url == stack.settings.webhook_url
    assert stack.tg.calls("setWebhook")[0].params["secret_token"] == WEBHOOK_SECRET
    await j.fill("google-nano-banana", "A red fox in the snow", "⏩ Defaults for all the rest")
    await j.generate(8)
    assert len(j.delivered("photo")) == 1
    assert await balance_of(stack, alice) == (92, 0)
    assert stack.tg.calls("getUpdates") == []  # every update came by the webhook
    assert stack.tg.webhook_deliveries and {d.status for d in stack.tg.webhook_deliveries} == {200}


async def test_an_update_delivered_twice_is_handled_once(webhook_stack: Stack, alice: FakeUser) -> None:
    stack, j = webhook_stack, Journey(webhook_stack, alice)
    message = await stack.tg.send_command(alice, "balance")
    await j.shown("balance", balance=100)
    assert stack.app is not None and stack.app.webhook is not None
    sent = len(stack.tg.messages(alice.id))

    assert await stack.tg.post_to_webhook(delivered_update(stack, alice, message)) == 200
    # A repeat is dropped before anything is handled: no background handling was started for it.
    assert stack.app.webhook.in_flight == 0
    assert len(stack.tg.messages(alice.id)) == sent


async def test_a_forged_update_gets_401_and_is_not_handled(webhook_stack: Stack, alice: FakeUser) -> None:
    stack = webhook_stack
    user = {"id": alice.id, "is_bot": False, "first_name": alice.first_name}
    forged = {"update_id": 999_999, "message": {"message_id": 1, "date": 1, "text": "/balance", "from": user,
                                                "chat": alice.as_chat()}}
    assert await stack.tg.post_to_webhook(forged, secret="not-the-secret") == 401
    assert await stack.tg.post_to_webhook(forged, secret=None) == 401
    assert stack.app is not None and stack.app.webhook is not None and stack.app.webhook.in_flight == 0
    assert stack.tg.messages(alice.id) == []


async def test_a_restarted_bot_keeps_the_webhook_and_gets_what_came_meanwhile(webhook_stack: Stack,
                                                                              alice: FakeUser) -> None:
    stack, j = webhook_stack, Journey(webhook_stack, alice)
    await stack.stop_bot()
    await j.command("balance")  # Telegram cannot deliver it now, and tries again
    await stack.tg.wait_for(lambda: any(d.status == 0 for d in stack.tg.webhook_deliveries))

    await stack.start_bot()

    await j.shown("balance", balance=100)
    assert len(stack.tg.calls("setWebhook")) == 1  # Telegram already had the URL: not set again
    assert stack.tg.calls("deleteWebhook") == []
