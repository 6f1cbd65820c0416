"""📝 Lyrics: which done jobs carry lyrics (services.next_steps), the service's lookup by job AND user, the button on
the status message and in /history, and the messages (title, escaped lyrics, Telegram's size)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kiebot.bot.callbacks import JobAction, JobCB
from kiebot.bot.i18n import Translator
from kiebot.bot.screens.history import history
from kiebot.bot.screens.next_steps import LYRICS_PART, lyrics_screens
from kiebot.bot.screens.status import JobStatus, status_screen
from kiebot.catalog import Catalog
from kiebot.services.history import HistoryItem, HistoryPage
from kiebot.services.next_steps import Lyrics, NextSteps, Step, lyrics_of
from kiebot.services.offering import Offering
from kiebot.store import jobs
from kiebot.store.db import Database
from kiebot.store.models import Job, JobState
from kiebot.store.users import get_or_create_user
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

CATALOG = Catalog.load()
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
tr = Translator().bind("en")
ru = Translator().bind("ru")
SONG = {"urls": ["https://kie.example/r/1.mp3", "https://kie.example/r/2.mp3"], "media": "audio",
        "items": [{"url": "https://kie.example/r/1.mp3", "id": "a1", "title": "Sea <Dawn>", "lyrics": "[Verse]\nA & B"},
                  {"url": "https://kie.example/r/2.mp3", "id": "a2", "title": None, "lyrics": " Line \n"}]}


def job(**fields: Any) -> Job:
    values: dict[str, Any] = dict(id=3, user_id=1, model_id="suno/generate", state=JobState.DONE.value,
                                  kie_task_id="task_1", values={"prompt": "sea"}, result=SONG)
    values.update(fields)
    return Job(**values)


def test_a_done_jobs_tracks_with_lyrics() -> None:
    assert lyrics_of(job()) == (Lyrics("Sea <Dawn>", "[Verse]\nA & B"), Lyrics(None, "Line"))
    assert lyrics_of(job(state=JobState.FAILED.value)) == ()
    instrumental = {**SONG, "items": [{**i, "lyrics": None} for i in SONG["items"]]}
    assert lyrics_of(job(result=instrumental)) == ()
    assert lyrics_of(job(result={"urls": ["https://kie.example/r/1.png"], "media": "image"})) == ()
    assert lyrics_of(job(result={"urls": [], "items": ["junk", {"lyrics": 5}]})) == ()


def test_each_track_under_its_title_escaped() -> None:
    texts = [s.text for s in lyrics_screens(tr, lyrics_of(job()))]
    assert texts == ["📝 Lyrics: <b>Sea &lt;Dawn&gt;</b>\n\n[Verse]\nA &amp; B", "📝 <b>Track 2</b>\n\nLine"]
    assert [s.text.split("\n")[0] for s in lyrics_screens(ru, lyrics_of(job()))][1] == "📝 <b>Трек 2</b>"


def test_long_lyrics_are_cut_to_telegrams_size() -> None:
    long = "la " * 3000  # 9000 characters
    screens = lyrics_screens(tr, (Lyrics("Long", long.strip()),))
    assert len(screens) == 3 and all(len(s.text) <= 4096 for s in screens)
    assert screens[0].text == "📝 Lyrics: <b>Long</b>\n\n" + long.strip()[:LYRICS_PART]
    assert "".join([screens[0].text.split("\n\n", 1)[1]] + [s.text for s in screens[1:]]) == long.strip()
    assert all(s.markup is None for s in screens)


def test_the_button_only_under_a_result_with_lyrics() -> None:
    lyrics_data = JobCB(action=JobAction.LYRICS, job_id=2**31 - 1).pack()
    assert len(lyrics_data.encode()) <= 64
    song = JobStatus(3, "suno/generate", "done", 24, 24, next_steps=(Step.EXTEND,), lyrics=True)
    screen = status_screen(tr, "en", song, CATALOG.get("suno/generate"))
    assert [b.text for row in screen.markup.inline_keyboard for b in row] == ["➕ Extend", "📝 Lyrics"]  # type: ignore[union-attr]
    assert screen.markup.inline_keyboard[-1][0].callback_data == JobCB(action=JobAction.LYRICS, job_id=3).pack()  # type: ignore[union-attr]
    only = status_screen(ru, "ru", JobStatus(3, "suno/generate", "done", 24, 24, lyrics=True), None)
    assert [b.text for row in only.markup.inline_keyboard for b in row] == ["📝 Текст песни"]  # type: ignore[union-attr]
    without = status_screen(tr, "en", JobStatus(3, "suno/generate", "done", 24, 24, next_steps=(Step.EXTEND,)), None)
    assert "📝 Lyrics" not in [b.text for row in without.markup.inline_keyboard for b in row]  # type: ignore[union-attr]


def test_the_button_in_history() -> None:
    page = HistoryPage((HistoryItem(3, "suno/generate", "done", 24, NOW, (), lyrics=True),
                        HistoryItem(2, "suno/generate", "done", 24, NOW)), 0, 2)
    labels = [b.text for row in history(tr, "en", CATALOG, page).markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert "#3 → 📝 Lyrics" in labels and "#2 → 📝 Lyrics" not in labels


async def test_the_service_gives_only_the_users_own_lyrics(store_db: StoreDB) -> None:  # noqa: F811
    async with store_db.sessionmaker() as session:
        for user in (1, 2):
            await get_or_create_user(session, user, username=None, first_name="U", welcome_bonus=100)
        await session.commit()
        made = await jobs.create_job(session, user_id=1, chat_id=1, language="en", model_id="suno/generate",
                                     values={"prompt": "sea"}, files=[], confirm_key="k1", price=24, credits="12",
                                     now=NOW - timedelta(minutes=2))
        assert made is not None
        made.result = SONG
        assert await jobs.finish_job(session, made, charged=24)
        await session.commit()
        job_id = made.id
    db = Database.of(store_db.engine)
    service = NextSteps(db, Offering(db, CATALOG), ttl_hours=20)
    assert await service.lyrics(1, job_id) == lyrics_of(job())
    assert await service.lyrics(2, job_id) == ()  # someone else's job
    assert await service.lyrics(1, job_id + 1000) == ()  # no such job
