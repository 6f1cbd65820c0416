"""Screens and branches of the handlers, in process (see conftest.py)."""
from __future__ import annotations

from aiogram.types import Chat

from kiebot.bot.callbacks import CategoryCB, MenuAction, MenuCB, ModelAction, ModelCB, StepAction, StepCB
from kiebot.store import jobs, users
from tests.flow.conftest import Tier, buttons


async def test_start_shows_the_home_screen_with_the_welcome_bonus(tier: Tier) -> None:
    await tier.send("/start")
    bonus, home = tier.session.sent("SendMessage")
    assert bonus.text == "🎁 Welcome! You got 100 💎 to try the models."
    assert "Balance: <b>100 💎</b>" in home.text
    assert buttons(home) == {
        "🎨 Create": "m:cats", "💎 Balance": "m:balance", "📜 History": "m:history",
        "🌐 Language": "m:language", "❓ Help": "m:help",
    }
    assert not tier.session.locked_during


async def test_an_unknown_action_is_answered_as_an_old_button(tier: Tier) -> None:
    await tier.send("/start")
    await tier.press("w:0:explode:0")
    assert tier.callback_answer().text == "This button is from an older screen. Use the latest message."
    assert tier.session.sent("EditMessageText") == []


async def test_a_press_on_an_older_step_screen_changes_nothing(tier: Tier) -> None:
    await tier.send("/start m_google-nano-banana")
    await tier.press(ModelCB(slug="google-nano-banana", action=ModelAction.START).pack())
    step = tier.last_screen()
    assert "step 1 of" in step.text
    back = buttons(step)["◀ Back"]
    await tier.press(StepCB(token=99, action=StepAction.BACK).pack())  # a token no screen carries
    assert tier.callback_answer().text == "This button is from an older screen. Use the latest message."
    await tier.press(back)
    assert "Nano Banana" in tier.last_screen().text and "▶ Start" in buttons(tier.last_screen())


async def test_back_from_a_model_card_returns_to_the_same_page_of_the_list(tier: Tier) -> None:
    await tier.send("/start")
    listed = CategoryCB(category="image", task="text-to-image", page=1)
    await tier.press(listed.pack())
    page_two = tier.last_screen()
    assert "2/" in "".join(buttons(page_two))
    model_button = next(data for text, data in buttons(page_two).items() if data.startswith("md:"))
    assert ModelCB.unpack(model_button).page == 1
    await tier.press(model_button)
    assert buttons(tier.last_screen())["◀ Back"] == listed.pack()
    # From the form's first step, Back shows the card again, still pointing at page 2.
    await tier.press(buttons(tier.last_screen())["▶ Start"])
    await tier.press(buttons(tier.last_screen())["◀ Back"])
    assert buttons(tier.last_screen())["◀ Back"] == listed.pack()


async def test_every_menu_action_has_its_screen(tier: Tier) -> None:
    await tier.send("/start")
    expected = {
        MenuAction.BALANCE: "Your balance: <b>100 💎</b>",
        MenuAction.HELP: "<b>How it works</b>",
        MenuAction.LANGUAGE: "Choose your language:",
        MenuAction.HISTORY: "You have no generations yet.",
        MenuAction.CATEGORIES: "Choose a category:",
        MenuAction.HOME: "👋 I create images",
    }
    for action, start in expected.items():
        await tier.press(MenuCB(action=action).pack())
        assert tier.last_screen().text.startswith(start), action
        assert tier.callback_answer().text is None
    assert not tier.session.locked_during


async def test_a_typed_answer_moves_to_the_next_step_without_holding_the_database(tier: Tier) -> None:
    await tier.send("/start m_google-nano-banana")
    await tier.press(ModelCB(slug="google-nano-banana", action=ModelAction.START).pack())
    await tier.send("A lighthouse at dawn")
    assert "step 2 of" in tier.last_screen().text
    await tier.press(buttons(tier.last_screen())["⏩ Defaults for all the rest"])
    confirm = tier.last_screen()
    assert confirm.text.startswith("<b>Nano Banana</b> — check the parameters:")
    assert "✅ Confirm — 8 💎" in buttons(confirm)
    assert not tier.session.locked_during


async def test_in_a_group_the_bot_says_once_that_it_works_in_private_chats(tier: Tier) -> None:
    group = Chat(id=-100500, type="supergroup", title="Friends")
    await tier.send("/start", chat=group)
    (notice,) = tier.session.sent("SendMessage")
    assert notice.chat_id == -100500
    assert notice.text == "I work in private chats only. Open a chat with me to create images, video and audio."
    await tier.send("/models", chat=group)
    await tier.send("hello?", chat=group)
    assert tier.session.calls == []


async def test_a_task_lists_pinned_models_first_then_the_most_used(tier: Tier) -> None:
    catalog = tier.app.catalog
    listed = catalog.models_in("image", "text-to-image")
    favourite = listed[-1]  # the last of the list in catalogue order
    async with tier.app.db.write.begin() as session:
        await users.get_or_create_user(session, 1001, username=None, first_name="A", welcome_bonus=0)
        for n in range(3):
            await jobs.create_job(session, user_id=1001, chat_id=1001, language="en", model_id=favourite.id,
                                  values={}, files=[], confirm_key=f"k{n}", price=0, credits="0")
    await tier.send("/start")
    await tier.press(CategoryCB(category="image", task="text-to-image").pack())
    first = next(data for data in buttons(tier.last_screen()).values() if data.startswith("md:"))
    assert ModelCB.unpack(first).slug == favourite.slug
