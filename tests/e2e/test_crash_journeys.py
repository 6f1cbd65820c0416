"""kill -9 at chosen moments of a generation, then a fresh `kiebot run`: the job is finished by the new process.

The bot runs as a real `kiebot run` process (settings from the environment, product defaults for the lease —
JOB_LEASE_SECONDS 25 s — and the worker interval) against the fake Telegram and the KIE emulator of this test.
Each moment is made exact, not left to timing: the fake Telegram or the emulator holds one request, the test kills
the bot while it is held, and the held request is then dropped (Telegram) or answered to nobody (KIE). Before
createTask, the job waits in the bot's own line for KIE's createTask limit (one per 10 s, taken by another user).

After the restart the user gets the result within 30 s (the waits' timeouts: the issue's target, not a
measurement), KIE saw exactly one createTask for the job, and the money is right: held once, charged once.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from kiebot.kie.emulator import EmulatorTimings, start_emulator
from kiebot.store import db
from kiebot.store.models import Job, JobState
from tests.e2e.conftest import ADMIN, KIE_KEY, TOKEN, Stack, make_settings, relaxed_flood
from tests.e2e.journey import Journey
from tests.e2e.test_process import clean_env
from tests.fakes import FakeTelegram, FakeUser
from tests.ledger_invariants import assert_ledger_invariants

# Two process starts per test; importing aiogram alone takes 5-30 s of a busy 2-core machine.
pytestmark = pytest.mark.timeout(300)
RESTART_TARGET = 30.0  # seconds from the new process polling to the result (the target)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """`kiebot run` as a child process: started, killed with SIGKILL, started again on the same database.
    (`command`: another bot polling `tg`, as the benches start one; bench/wizard_steps.py.)"""

    def __init__(self, tmp_path: Path, tg: FakeTelegram, env: dict[str, str],
                 command: tuple[str, ...] = ("-m", "kiebot", "run")) -> None:
        self.tmp_path, self.tg, self.env, self.command = tmp_path, tg, env, command
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        polled = len(self.tg.calls("getUpdates"))
        self.starts += 1
        with open(self.tmp_path / f"bot-{self.starts}.log", "wb") as log:  # a file, not a pipe nobody reads
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, *self.command, cwd=self.tmp_path, env=self.env, stdout=log, stderr=log)
        # Importing aiogram alone takes 5-30 s on a busy 2-core machine.
        await self.tg.wait_for(lambda: len(self.tg.calls("getUpdates")) > polled, timeout=90)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(self.process.wait(), timeout=10) == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log(self) -> str:
        return "\n".join((self.tmp_path / f"bot-{n}.log").read_text(errors="replace")
                         for n in range(1, self.starts + 1))


class Crash:
    """The stack of one test: fake Telegram, emulator, the bot process, and the database it writes."""

    def __init__(self, stack: Stack, bot: BotProcess, database_url: str) -> None:
        self.stack, self.tg, self.bot, self.database_url = stack, stack.tg, bot, database_url

    async def kie_calls(self) -> dict[str, int]:
        return (await self.stack.kie_control("calls"))["calls"]

    async def until_held(self) -> None:
        """Until the emulator holds an answer back (see /_emulator/hold)."""
        for _ in range(400):  # a guard against hanging, not a measurement
            if (await self.stack.kie_control("held"))["held"]:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no KIE answer was held")

    async def job(self, job_id: int) -> Job:
        engine = db.create_engine(self.database_url)
        try:
            async with db.session_factory(engine)() as session:
                job = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
                session.expunge(job)
                return job
        finally:
            await engine.dispose()

    async def ledger(self, user: FakeUser) -> list[tuple[str, int, int]]:
        """The user's ledger rows (kind, balance change, held change), once every ledger invariant is checked."""
        from kiebot.store.models import LedgerEntry

        engine = db.create_engine(self.database_url)
        try:
            async with db.session_factory(engine)() as session:
                await assert_ledger_invariants(session)
                rows = (await session.execute(select(LedgerEntry).where(LedgerEntry.user_id == user.id)
                                              .order_by(LedgerEntry.id))).scalars()
                return [(str(r.kind), int(r.delta_balance), int(r.delta_held)) for r in rows]
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def crash_stack(tmp_path: Path, **env: str) -> AsyncIterator[Crash]:
    """The bot process with the product's lease and worker interval; status edits unthrottled (every state is shown,
    so a test can hold the edit of one state) and KIE polling 3× faster (not 20× as in the in-process tests: KIE
    timeouts shrink with it, and a restart on a busy machine can take a minute)."""
    flood = relaxed_flood()
    async with FakeTelegram(token=TOKEN, flood=flood) as tg:
        kie = await start_emulator(api_key=KIE_KEY, timings=EmulatorTimings(null_record_s=0.2, queue_s=0.2,
                                                                            generate_s=0.6))
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        settings: dict[str, Any] = dict(
            BOT_TOKEN=TOKEN, KIE_API_KEY=KIE_KEY, TELEGRAM_API_BASE=tg.base_url, KIE_API_BASE=kie.url,
            KIE_UPLOAD_BASE=kie.url, DATABASE_URL=database_url, ADMIN_IDS=str(ADMIN.id), WELCOME_BONUS="100",
            DEFAULT_LANGUAGE="en", KIE_POLL_SPEEDUP="3", STATUS_EDIT_INTERVAL="0",
            TELEGRAM_CHAT_RATE=str(flood.per_chat_rate), TELEGRAM_CHAT_BURST=str(flood.per_chat_burst),
            WEB_PORT=str(free_port()), LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
        settings.update(env)
        bot = BotProcess(tmp_path, tg, clean_env(**settings))
        await db.migrate(database_url)
        try:
            await bot.start()
            yield Crash(Stack(tg, kie, make_settings(tmp_path, tg, kie)), bot, database_url)
        except BaseException:
            print(bot.log())  # shown by pytest when the test fails
            raise
        finally:
            await bot.stop()
            await kie.close()
    assert "Traceback" not in bot.log(), bot.log()


async def confirmed(crash: Crash, user: FakeUser) -> Journey:
    """The user fills Nano Banana and presses ✅ Confirm (not waiting for any status: a hold may be under way)."""
    j = Journey(crash.stack, user)
    await j.fill("google-nano-banana", "A lighthouse in fog", "⏩ Defaults for all the rest")
    await j.press_confirm(8)
    return j


async def restarted_and_delivered(crash: Crash, j: Journey) -> None:
    await crash.bot.start()
    done = await j.result(timeout=RESTART_TARGET)
    assert "Charged 8 💎" in done.text
    assert len(j.delivered("photo")) == 1
    assert (await crash.kie_calls())["createTask"] == 1
    assert len(await crash.stack.kie_tasks()) == 1
    assert await crash.ledger(j.user) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_killed_while_its_create_task_waits_in_line_the_job_is_sent_once_after_the_restart(
        tmp_path: Path, alice: FakeUser) -> None:
    """KIE allows one createTask per 10 s here: Bob's generation takes it, so Alice's createTask waits in the bot's
    line (claimed, `submitting`, not sent) when the bot is killed."""
    async with crash_stack(tmp_path, KIE_CREATE_PER_10S="1") as crash:
        first = await confirmed(crash, FakeUser(1003, "Bob", "en", "bob"))
        await first.result(timeout=RESTART_TARGET)
        j = await confirmed(crash, alice)
        job = None
        for _ in range(400):  # a guard against hanging, not a measurement
            with contextlib.suppress(NoResultFound):  # the confirmation may not have committed the job yet
                job = await crash.job(2)
            if job is not None and job.state == JobState.SUBMITTING:
                break
            await asyncio.sleep(0.05)
        assert job is not None and job.state == JobState.SUBMITTING and job.kie_state == "unsent" and job.kie_task_id is None
        await crash.bot.kill()
        assert (await crash.kie_calls())["createTask"] == 1  # Bob's
        await crash.bot.start()
        done = await j.result(timeout=RESTART_TARGET)
        assert "Charged 8 💎" in done.text and len(j.delivered("photo")) == 1
        assert (await crash.kie_calls())["createTask"] == 2 and len(await crash.stack.kie_tasks()) == 2
        assert await crash.ledger(alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_killed_right_after_create_task_the_stored_task_is_delivered(tmp_path: Path,
                                                                           alice: FakeUser) -> None:
    async with crash_stack(tmp_path) as crash:
        await crash.stack.kie_control("hold", {"endpoint": "recordInfo"})  # the first poll after createTask
        j = await confirmed(crash, alice)
        await crash.until_held()
        await crash.bot.kill()
        job = await crash.job(1)
        assert job.state == JobState.RUNNING and job.kie_task_id == (await crash.stack.kie_tasks())[0]["taskId"]
        await crash.stack.kie_control("release", {})
        await restarted_and_delivered(crash, j)


async def test_killed_during_delivery_the_result_is_sent_by_the_new_process(tmp_path: Path,
                                                                           alice: FakeUser) -> None:
    async with crash_stack(tmp_path) as crash:
        photo = crash.tg.hold_next("sendPhoto")
        j = await confirmed(crash, alice)
        await asyncio.wait_for(photo.arrived.wait(), timeout=20)
        await crash.bot.kill()
        photo.release()  # the photo never reached the chat
        assert (await crash.job(1)).state == JobState.DELIVERING
        await restarted_and_delivered(crash, j)


async def test_a_task_made_for_a_job_failed_after_the_crash_is_reported_to_the_operators(
        tmp_path: Path, alice: FakeUser) -> None:
    """Killed after KIE made the task and before its id was stored: the new process cannot know whether createTask
    went through, so it fails the job and releases the hold; when the task's callback comes (its URL names the job),
    the task is an orphan: reported to the operators once, the user charged nothing.

    (Had the callback come while the job still waited in `submitting`, the task would have been attached and
    delivered: tests/engine/test_submit.py::test_a_task_whose_answer_was_lost_in_a_crash_is_attached_by_its_callback.
    Here the order cannot be made exact: the restart alone can take longer than the lease on a busy machine.)"""
    port = free_port()
    async with crash_stack(tmp_path, WEB_PORT=str(port), PUBLIC_URL=f"http://127.0.0.1:{port}") as crash:
        await crash.stack.kie_control("task-outcome", {"outcome": "held"})  # generating until /finish
        await crash.stack.kie_control("hold", {"endpoint": "createTask"})
        j = await confirmed(crash, alice)
        await crash.until_held()
        await crash.bot.kill()
        job = await crash.job(1)
        assert job.state == JobState.SUBMITTING and job.kie_task_id is None and job.kie_state is None
        await crash.stack.kie_control("release", {})
        await crash.bot.start()
        failed = await j.failure(timeout=RESTART_TARGET)
        assert j.texts("fail-interrupted") in failed.text
        await crash.stack.kie_control("finish", {})  # the task succeeds; its callback reaches the new process
        [task] = await crash.stack.kie_tasks()
        alert = j.texts("alert-orphan-task", task=task["taskId"], job=j.job, user_id=alice.id,
                        model="google/nano-banana")
        await crash.tg.wait_for(lambda: any(m.content == alert for m in crash.tg.messages(ADMIN.id)), timeout=20)
        assert len(crash.tg.messages(ADMIN.id)) == 1
        assert j.delivered("photo") == []
        assert (await crash.kie_calls())["createTask"] == 1
        assert await crash.ledger(alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]
