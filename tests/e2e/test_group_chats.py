"""The bot in a group chat: it says once that it works in private chats, then stays silent there."""
from __future__ import annotations

from tests.e2e.conftest import Stack, ledger_of
from tests.e2e.journey import Journey, all_handled
from tests.fakes import FakeGroup, FakeUser


async def test_in_a_group_the_bot_says_once_that_it_works_in_private_chats(stack: Stack, alice: FakeUser,
                                                                           boris: FakeUser) -> None:
    group = FakeGroup(-100500)
    notice = Journey(stack, alice).texts("private-only")  # in the language of whoever wrote first
    await stack.tg.send_command(alice, "/start", group=group)
    told = await stack.tg.wait_for_screen(group.id, lambda m: True, what="the bot's notice")
    assert told.text == notice and told.buttons() == []
    await stack.tg.send_command(alice, "/models", group=group)
    await stack.tg.send_text(boris, "привет?", group=group)
    await stack.tg.send_command(boris, "/start", group=group)
    await all_handled(stack)
    assert [m.text for m in stack.tg.messages(group.id)] == [notice]
    assert [c.params["chat_id"] for c in stack.tg.calls("sendMessage")] == [str(group.id)]
    # Nothing in the group made Alice a user: her first private /start welcomes her with the bonus.
    j = Journey(stack, alice)
    await j.command("/start")
    welcome = j.texts("welcome-bonus", bonus=100)
    await j.wait("the welcome", lambda m: m.content == welcome)
    await j.shown("home")
    assert await ledger_of(stack, alice) == [("bonus", 100, 0)]
