"""📝 Lyrics under a song: a Suno song made through the bot, the button under its result and in /history sends each
track's title and its lyrics exactly as KIE gave them; nobody else gets them."""
from __future__ import annotations

from kiebot.bot.callbacks import JobAction, JobCB
from tests.e2e.conftest import Stack
from tests.e2e.journey import Journey
from tests.e2e.test_family_journeys import job_result, make_song
from tests.fakes import FakeUser


async def lyrics_messages(j: Journey, songs: list[dict]) -> list[str]:
    """The messages sent for the songs' lyrics after the latest tap, each waited for by its exact text."""
    texts = []
    for song in songs:
        expected = j.texts("lyrics-title", title=song["title"]) + "\n\n" + song["lyrics"]
        texts.append((await j.wait(f"the lyrics of {song['title']}", lambda m, e=expected: m.content == e)).content)
    return texts


async def test_the_lyrics_of_a_song_just_made(quick: Stack, alice: FakeUser, boris: FakeUser) -> None:
    stack = quick
    j = await make_song(stack, alice)
    done = j.screen
    assert done is not None and done.buttons() == ["➕ Extend", "🎤 Cover", "📝 Lyrics"]
    result, _ = await job_result(stack, j.job or 0)
    songs = result["items"]
    assert [s["title"] for s in songs] == ["Song 1", "Song 2"] and all(s["lyrics"] for s in songs)

    query = await j.tap("📝 Lyrics", on=done)
    await stack.tg.wait_for(lambda: query in stack.tg.callback_answers)
    assert not stack.tg.callback_answers[query].get("text")  # answered at once, without a notice
    assert await lyrics_messages(j, songs) == [f"📝 Lyrics: {s['title']}\n\n{s['lyrics']}" for s in songs]

    history = await j.history()
    assert f"#{j.job} → 📝 Lyrics" in history.buttons()
    await j.tap(f"#{j.job} → 📝 Lyrics", on=history)
    await lyrics_messages(j, songs)

    b = Journey(stack, boris)  # someone else's job: the answer of an older screen's button, no lyrics
    home = await b.home()
    query = await stack.tg.press(boris, home, JobCB(action=JobAction.LYRICS, job_id=j.job or 0).pack())
    await stack.tg.wait_for(lambda: query in stack.tg.callback_answers)
    assert stack.tg.callback_answers[query]["text"] == b.texts("stale-button")
    assert not [m for m in stack.tg.messages(boris.id) if songs[0]["lyrics"] in m.content]
