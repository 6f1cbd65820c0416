"""Self-test of the fake Bot API with a real aiogram Bot and polling Dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    TransactionPartnerUser,
    Update,
)
from aiohttp import ClientSession, web

from . import FakeTelegram, FakeUser, FloodLimits, make_png
from .local_site import serve

TOKEN = "123456:TEST-TOKEN"
ALICE = FakeUser(id=1001, first_name="Alice", language_code="ru", username="alice")


def make_bot(tg: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))


def keyboard(callback_data: str, text: str = "🎨 Generate") -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=text, callback_data=callback_data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def build_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(f"Hello, {command.args}", reply_markup=keyboard("gen:1"))

    @router.callback_query(F.data == "gen:1")
    async def generate(query: CallbackQuery) -> None:
        await query.answer("ok")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Generating…")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return router


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(tg)
    yield bot
    await bot.session.close()


@pytest.fixture
async def polling(tg: FakeTelegram, bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = Dispatcher()
    dp.include_router(build_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                polling_timeout=5))
    await tg.wait_for(lambda: tg.calls("getUpdates"))
    yield dp
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


async def test_echo_round_trip(tg: FakeTelegram, polling: Dispatcher) -> None:
    await tg.send_text(ALICE, "hi there")
    reply = await tg.wait_for_message(ALICE.id, "hi there")
    assert reply.text == "hi there" and reply.media_type is None

    await tg.send_command(ALICE, "/start", args="m_slug")
    welcome = await tg.wait_for_message(ALICE.id, "Hello, m_slug")
    assert welcome.buttons() == ["🎨 Generate"]


async def test_callback_press_is_answered_and_message_edited(tg: FakeTelegram, polling: Dispatcher) -> None:
    await tg.send_command(ALICE, "/start")
    await tg.wait_for_message(ALICE.id, "Hello")
    query_id = await tg.click(ALICE, "Generate")  # a unique substring of the label is enough
    edited = await tg.wait_for_message(ALICE.id, "Generating")
    await tg.wait_for(lambda: query_id in tg.callback_answers)
    assert tg.callback_answers[query_id]["text"] == "ok"
    assert [v.text for v in edited.history] == ["Hello, None"]
    assert edited.reply_markup is None  # edit without markup drops the keyboard


async def test_click_lists_buttons_when_absent(tg: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ALICE.id, "menu", reply_markup=keyboard("a"))
    with pytest.raises(AssertionError, match="Generate"):
        await tg.click(ALICE, "Missing")


async def test_answering_twice_is_too_old(tg: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(ALICE.id, "menu", reply_markup=keyboard("a"))
    query_id = await tg.press(ALICE, message.message_id, "a")
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_edit_errors(bot: Bot) -> None:
    message = await bot.send_message(ALICE.id, "<b>same</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("<b>same</b>", chat_id=ALICE.id, message_id=message.message_id,
                                    parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE.id, message_id=999)


async def test_callback_data_limit(tg: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ALICE.id, "ok", reply_markup=keyboard("x" * 64))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE.id, "too long", reply_markup=keyboard("я" * 33))
    assert tg.messages(ALICE.id)[-1].text == "ok"


@pytest.mark.parametrize(("text", "parse_mode", "error"), [
    ("", None, "message text is empty"),
    ("x" * 4097, None, "message is too long"),
    ("<b>unclosed", "HTML", "can't parse entities"),
    ("<blink>x</blink>", "HTML", "Unsupported start tag"),
])
async def test_text_limits(bot: Bot, text: str, parse_mode: str | None, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_message(ALICE.id, text, parse_mode=parse_mode)


async def test_html_is_stored_as_plain_text_with_entities(tg: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(ALICE.id, "x" * 4090 + "<b>&lt;ok</b>", parse_mode="HTML")
    assert message.text and message.text.endswith("<ok")
    assert message.entities and message.entities[0].type == "bold"
    assert tg.last_message(ALICE.id).content.endswith("<ok")


async def test_flood_control_raises_retry_after() -> None:
    async with FakeTelegram(token=TOKEN, clock=lambda: 100.0) as tg:  # frozen clock: no refill
        bot = make_bot(tg)
        for n in range(3):  # the burst allowance
            await bot.send_message(ALICE.id, f"m{n}")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(ALICE.id, "one too many")
        assert caught.value.retry_after == 1 and tg.count_429 == 1
        await bot.send_message(ALICE.id + 1, "another chat is fine")
        tg.reset_flood()
        await bot.send_message(ALICE.id, "after reset")
        await bot.session.close()


async def test_flood_control_can_be_switched_off() -> None:
    async with FakeTelegram(token=TOKEN, flood=FloodLimits(enabled=False)) as tg:
        bot = make_bot(tg)
        for n in range(40):
            await bot.send_message(ALICE.id, f"m{n}")
        assert tg.count_429 == 0 and len(tg.messages(ALICE.id)) == 40
        await bot.session.close()


async def test_user_photo_downloads_through_get_file(tg: FakeTelegram, bot: Bot) -> None:
    png = make_png(1000, 500)
    sent = await tg.send_photo(ALICE, png)
    sizes = sent["photo"]
    assert [s["width"] for s in sizes] == [90, 320, 800, 1000]
    downloaded = await bot.download(sizes[-1]["file_id"])
    assert downloaded is not None and downloaded.read() == png


async def test_bot_upload_gets_reusable_file_id(tg: FakeTelegram, bot: Bot) -> None:
    png = make_png(64, 64)
    first = await bot.send_photo(ALICE.id, BufferedInputFile(png, "a.png"), caption="first")
    assert first.photo
    again = await bot.send_photo(ALICE.id, first.photo[-1].file_id)
    assert again.photo and again.photo[-1].file_unique_id == first.photo[-1].file_unique_id
    document = await bot.send_document(ALICE.id, BufferedInputFile(b"%PDF-1.4", "r.pdf"))
    assert document.document and document.document.file_name == "r.pdf"
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_video(ALICE.id, document.document.file_id)
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(ALICE.id, first.photo[-1].file_id, caption="c" * 1025)
    assert tg.last_message(ALICE.id).caption is None


async def test_get_file_over_20_mb_is_too_big(tg: FakeTelegram, bot: Bot) -> None:
    file_id = await tg.register_file(b"small", size=25 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(file_id)


@pytest.fixture
async def media_site() -> AsyncIterator[str]:
    png = make_png(32, 32)

    async def image(_: web.Request) -> web.Response:
        return web.Response(body=png, content_type="image/png")

    app = web.Application()
    app.router.add_get("/img/{name}.png", image)
    runner, url = await serve(app)
    yield url
    await runner.cleanup()


async def test_media_group_by_url(tg: FakeTelegram, bot: Bot, media_site: str) -> None:
    media = [InputMediaPhoto(media=f"{media_site}/img/{n}.png") for n in ("a", "b")]
    sent = await bot.send_media_group(ALICE.id, media)
    assert len(sent) == 2 and sent[0].media_group_id == sent[1].media_group_id
    assert [size for _, size in tg.url_fetches] == [len(make_png(32, 32))] * 2
    with pytest.raises(TelegramBadRequest, match="failed to get HTTP URL content"):
        await bot.send_photo(ALICE.id, f"{media_site}/missing.jpg")
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(ALICE.id, media[:1])


async def test_blocked_chat_is_forbidden(tg: FakeTelegram, bot: Bot) -> None:
    tg.block(ALICE.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "hello?")


async def test_get_updates_offset_and_long_poll(tg: FakeTelegram, bot: Bot) -> None:
    await tg.send_text(ALICE, "one")
    await tg.send_text(ALICE, "two")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["one", "two"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []
    assert tg.pending_updates == []

    poll = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=30))
    await tg.wait_for(lambda: tg.calls("getUpdates")[-1].status == 0)
    await tg.send_text(ALICE, "three")
    fresh = await asyncio.wait_for(poll, 5)  # returns at once, not after 30 s
    assert [u.message.text for u in fresh if u.message] == ["three"]


async def test_allowed_updates_drop_other_types(tg: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(ALICE.id, "menu", reply_markup=keyboard("a"))
    await tg.press(ALICE, message, "a")
    await tg.send_text(ALICE, "text")
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [u.event_type for u in updates] == ["message"]


async def test_commands_per_language(tg: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    assert tg.commands["ru"][0]["description"] == "Начать"
    assert (await bot.get_my_commands())[0].description == "Start"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])


async def test_unknown_method_and_wrong_token(tg: FakeTelegram) -> None:
    async with ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404,
                                         "description": "Not Found: method not found"}
    wrong = make_bot(tg, token="654321:WRONG")
    with pytest.raises(TelegramUnauthorizedError):
        await wrong.get_me()
    await wrong.session.close()


async def test_stars_payment_flow(tg: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()
    paid: list[str] = []

    @dp.pre_checkout_query()
    async def approve(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    @dp.message(F.successful_payment)
    async def credit(message: Message) -> None:
        assert message.successful_payment
        paid.append(message.successful_payment.telegram_payment_charge_id)

    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                polling_timeout=5))
    with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
        await bot.send_invoice(ALICE.id, "Stars", "Top up", "p1", currency="XTR",
                               prices=[LabeledPrice(label="a", amount=1)] * 2)
    await bot.send_invoice(ALICE.id, "Stars", "Top up", "p1", currency="XTR",
                           prices=[LabeledPrice(label="100 stars", amount=100)])
    charge_id = await tg.pay(ALICE, deliver_twice=True)
    assert charge_id and await tg.wait_for(lambda: len(paid) == 2)
    assert paid == [charge_id, charge_id]  # the bot must de-duplicate
    assert await bot.refund_star_payment(ALICE.id, charge_id)
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(ALICE.id, charge_id)
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


# --------------------------------------------------------------------------- Star transactions and refunds

BOB = FakeUser(id=1002, first_name="Bob")


async def take_updates(bot: Bot, timeout: int = 0) -> list[Update]:
    """The pending updates, confirmed at once (as a bot that handled them)."""
    updates = await bot.get_updates(timeout=timeout)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


async def buy(tg: FakeTelegram, bot: Bot, user: FakeUser, stars: int, payload: str, *, lost: bool = False) -> str:
    """Send a Stars invoice, let ``user`` pay it, approve the pre-checkout; returns the charge id.

    The updates up to the pre-checkout query are confirmed: what the payment delivers stays pending.
    """
    await bot.send_invoice(user.id, "Stars", "Top up", payload, currency="XTR",
                           prices=[LabeledPrice(label=f"{stars} stars", amount=stars)])
    payment = asyncio.create_task(tg.pay(user, lost=lost))
    queries: list[PreCheckoutQuery] = []
    while not queries:
        queries = [u.pre_checkout_query for u in await take_updates(bot, timeout=5) if u.pre_checkout_query]
    assert await bot.answer_pre_checkout_query(queries[0].id, ok=True)
    charge_id = await asyncio.wait_for(payment, 5)
    assert charge_id is not None
    return charge_id


async def test_star_transactions_oldest_first_with_offset_and_limit(tg: FakeTelegram, bot: Bot) -> None:
    first = await buy(tg, bot, ALICE, 100, "topup:1")
    second = await buy(tg, bot, BOB, 250, "topup:2")
    third = await buy(tg, bot, ALICE, 500, "topup:3")
    assert await bot.refund_star_payment(BOB.id, second)

    listed = (await bot.get_star_transactions()).transactions
    assert [(t.id, t.amount) for t in listed] == [(first, 100), (second, 250), (third, 500), (second, 250)]
    incoming, refund = listed[1], listed[3]
    assert isinstance(incoming.source, TransactionPartnerUser) and incoming.receiver is None
    assert incoming.source.user.id == BOB.id and incoming.source.invoice_payload == "topup:2"
    assert incoming.source.transaction_type == "invoice_payment"
    assert isinstance(refund.receiver, TransactionPartnerUser) and refund.source is None
    assert refund.receiver.user.id == BOB.id and refund.date >= incoming.date

    page = (await bot.get_star_transactions(offset=1, limit=2)).transactions
    assert [t.id for t in page] == [second, third]
    assert (await bot.get_star_transactions(offset=4)).transactions == []
    # the Bot API server clamps: limit to 1..100, offset to >= 0
    assert [t.id for t in (await bot.get_star_transactions(limit=0)).transactions] == [first]
    assert len((await bot.get_star_transactions(offset=-3, limit=500)).transactions) == 4


async def test_lost_payment_is_charged_but_never_delivered(tg: FakeTelegram, bot: Bot) -> None:
    charge_id = await buy(tg, bot, ALICE, 100, "topup:lost", lost=True)
    assert tg.charges[charge_id]["user_id"] == ALICE.id and not tg.charges[charge_id]["refunded"]
    assert await take_updates(bot) == []  # no successful_payment, ever
    listed = (await bot.get_star_transactions()).transactions
    assert [(t.id, t.amount) for t in listed] == [(charge_id, 100)]
    assert isinstance(listed[0].source, TransactionPartnerUser)
    assert listed[0].source.invoice_payload == "topup:lost"
    # a refund of the lost payment works as for any other
    assert await bot.refund_star_payment(ALICE.id, charge_id)
    with pytest.raises(ValueError, match="lost"):
        await tg.pay(ALICE, lost=True, deliver_twice=True)


async def test_delivered_payment_arrives_once_as_successful_payment(tg: FakeTelegram, bot: Bot) -> None:
    charge_id = await buy(tg, bot, ALICE, 100, "topup:ok")
    updates = await take_updates(bot)
    assert len(updates) == 1 and updates[0].message and updates[0].message.successful_payment
    assert updates[0].message.successful_payment.telegram_payment_charge_id == charge_id


async def test_refund_outside_the_bot(tg: FakeTelegram, bot: Bot) -> None:
    charge_id = await buy(tg, bot, ALICE, 300, "topup:support")
    await take_updates(bot)  # the successful_payment
    sent = await tg.refund_outside(ALICE, charge_id)

    updates = await take_updates(bot)
    assert [u.message.message_id for u in updates if u.message] == [sent["message_id"]]
    message = updates[0].message
    assert message is not None and message.chat.id == ALICE.id and message.refunded_payment
    refunded = message.refunded_payment
    assert (refunded.currency, refunded.total_amount, refunded.invoice_payload,
            refunded.telegram_payment_charge_id) == ("XTR", 300, "topup:support", charge_id)
    assert tg.charges[charge_id]["refunded"]
    listed = (await bot.get_star_transactions()).transactions
    assert [t.id for t in listed] == [charge_id, charge_id]
    assert isinstance(listed[1].receiver, TransactionPartnerUser) and listed[1].receiver.user.id == ALICE.id

    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(ALICE.id, charge_id)
    with pytest.raises(AssertionError, match="already refunded"):
        await tg.refund_outside(ALICE, charge_id)
    with pytest.raises(AssertionError, match="no Stars charge"):
        await tg.refund_outside(BOB, charge_id)


async def test_refund_star_payment_errors_and_notice(tg: FakeTelegram, bot: Bot) -> None:
    charge_id = await buy(tg, bot, ALICE, 100, "topup:r")
    await take_updates(bot)
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(ALICE.id, "stxNoSuchCharge")
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(BOB.id, charge_id)  # another user's charge
    assert not tg.charges[charge_id]["refunded"] and len(tg.star_transactions) == 1

    assert await bot.refund_star_payment(ALICE.id, charge_id)
    assert [t.get("receiver", {}).get("user", {}).get("id") for t in tg.star_transactions] == [None, ALICE.id]
    # Telegram tells the bot about its own refunds too, with the same refunded_payment message
    notices = [u.message.refunded_payment for u in await take_updates(bot) if u.message]
    assert [n.telegram_payment_charge_id for n in notices if n] == [charge_id]
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(ALICE.id, charge_id)
    assert len(tg.star_transactions) == 2 and await take_updates(bot) == []
