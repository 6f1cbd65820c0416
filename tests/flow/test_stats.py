"""/stats through the real dispatcher: the exact screen for an admin, a refusal for anyone else, and the low-credits
alert sent once to the admins."""
from __future__ import annotations

from decimal import Decimal

from kiebot.cache import Cache, MemoryStore
from kiebot.engine.credits import TTL_SECONDS, KieCredits
from kiebot.kie.errors import KieUnavailable
from tests.flow.conftest import Tier
from tests.stats_data import ADMIN, EDIT, NOW, Balances, fill


async def test_an_admin_sees_the_figures_and_is_alerted_once_about_low_credits(tier: Tier) -> None:
    await fill(tier.app.db.write)
    tier.app.services.stats.clock = lambda: NOW  # type: ignore[misc]
    kie = Balances(Decimal("60"))
    tier.app.credits = KieCredits(kie, Cache(MemoryStore(), TTL_SECONDS), tier.app.engine.alerts, Decimal("100"))
    tier.app.notifier.bot = tier.bot  # operator alerts go through the recording session too
    admin = tier.user(ADMIN)
    edit = tier.app.catalog.known(EDIT)
    assert edit is not None

    await tier.send("/stats", user=admin)
    alert, screen = tier.session.sent("SendMessage")
    # Alerts speak the admin's chosen language, else the bot's default (ru): not the Telegram client's.
    assert alert.chat_id == ADMIN and alert.text == (
        "⚠️ На счёте KIE осталось 60 кредитов — меньше порога 100. Пополните счёт, пока генерации не остановились.")
    assert screen.text == "\n".join([
        "📊 <b>Statistics</b>",
        "👥 Users: 4 · new: 1 today, 2 in 7 days · active: 1 today, 3 in 7 days",
        "",
        "🎨 Generations: 4",
        "· done: 3",
        "· failed: 1",
        "Most used models:",
        "1. Nano Banana — runs: 2",
        f"2. {edit.name('en')} — runs: 2",
        "",
        "💰 Received: 50 ⭐ · charged for generations: 20 💎",
        "🔋 KIE credits spent: 10.75 for 20 💎 charged",
        "🏦 KIE account: 60 credits",
    ])
    assert not tier.session.locked_during

    await tier.send("/stats", user=admin)  # the credits come from the cache; no second alert
    (again,) = tier.session.sent("SendMessage")
    assert again.text == screen.text and kie.calls == 1


async def test_stats_are_for_admins_only(tier: Tier) -> None:
    await tier.send("/stats")
    (refusal,) = tier.session.sent("SendMessage")
    assert refusal.text == "This command is for the bot's operators."


async def test_russian_stats_without_an_answer_from_kie(tier: Tier) -> None:
    await fill(tier.app.db.write)
    tier.app.services.stats.clock = lambda: NOW  # type: ignore[misc]
    kie = Balances(KieUnavailable(500, "down"))
    tier.app.credits = KieCredits(kie, Cache(MemoryStore(), TTL_SECONDS), tier.app.engine.alerts, Decimal("100"))
    await tier.send("/stats", user=tier.user(ADMIN, language="ru"))
    (screen,) = tier.session.sent("SendMessage")
    lines = screen.text.split("\n")
    assert lines[0] == "📊 <b>Статистика</b>"
    assert lines[1] == "👥 Пользователи: 4 · новых: 1 сегодня, 2 за 7 дней · активных: 1 сегодня, 3 за 7 дней"
    assert lines[-1] == "🏦 Счёт KIE: KIE не ответил, попробуйте через минуту."
