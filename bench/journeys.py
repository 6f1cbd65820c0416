"""Load benchmark: N simulated users through the whole text-to-image journey, against a bare echo bot.

Starts, in this process, the same stack as the end-to-end tests (the real `kiebot.app.App` polling the fake
Telegram Bot API, with Telegram's flood limits ON, and the KIE emulator), drives `--users` users concurrently
through `/start m_google-nano-banana` → ▶ Start → prompt → ⏩ Defaults → ✅ Confirm → "ready!", and prints figures.
Before that it measures a baseline in the same run: a bare aiogram echo bot polling its own fake Telegram,
driven by the same number of users sending the same number of messages.

Run from the repository root:  .venv/bin/python bench/journeys.py [--users 50] [--rounds 1] [--json]
Nothing here is a test: it asserts nothing about time, it only prints what it measured.
Everything listens on 127.0.0.1, every wait has a timeout, and the script stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import logging
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests` is imported from the repository root
    sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.session.middlewares.base import BaseRequestMiddleware  # noqa: E402
from aiogram.exceptions import TelegramRetryAfter  # noqa: E402

from bench.echo_bot import echo_dispatcher, make_bot  # noqa: E402
from tests.e2e.conftest import TOKEN, running_stack  # noqa: E402
from tests.fakes import FakeTelegram, FakeUser, FloodLimits  # noqa: E402

MODEL_SLUG = "google-nano-banana"
STEP_TIMEOUT = 60.0  # one user action → the expected bot answer
RESULT_TIMEOUT = 120.0  # ✅ Confirm → "ready!"
UPDATES_PER_JOURNEY = 5  # /start, ▶, prompt, ⏩, ✅


# --------------------------------------------------------------------------- figures


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:  # nearest rank
        index = min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))
        return ordered[index]

    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@dataclass
class Drive:
    """What one phase measured from the users' side."""

    completed: int = 0
    failed: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    updates_sent: int = 0
    wall_s: float = 0.0
    reaction_s: list[float] = field(default_factory=list)  # action → first bot message/edit after it
    expected_s: list[float] = field(default_factory=list)  # action → the answer the journey waits for
    result_s: list[float] = field(default_factory=list)  # ✅ Confirm → "ready!"

    def summary(self) -> dict[str, Any]:
        wall = self.wall_s or float("nan")
        return {
            "completed": self.completed, "failed": self.failed, "failures": dict(self.failures),
            "updates_sent": self.updates_sent, "wall_s": round(self.wall_s, 3),
            "journeys_per_s": round(self.completed / wall, 3), "updates_per_s": round(self.updates_sent / wall, 2),
            "reaction_latency_s": rounded(percentiles(self.reaction_s)),
            "expected_answer_latency_s": rounded(percentiles(self.expected_s)),
            "confirm_to_result_s": rounded(percentiles(self.result_s)),
        }


def rounded(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in stats.items()}


class LogTally(logging.Handler):
    """Counts log records: the emulator's request log (one INFO line per KIE request) and warnings/errors."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.kie_requests: collections.Counter[str] = collections.Counter()
        self.problems: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "kiebot.kie.emulator" and record.msg.startswith("%s %s -> %s"):
            path = str(record.args[1]) if isinstance(record.args, tuple) else "?"
            self.kie_requests["/files/*" if path.startswith("/files/") else path] += 1
        elif record.levelno >= logging.WARNING:
            self.problems[f"{record.levelname} {record.name}: {record.msg}"] += 1

    def reset(self) -> None:
        self.kie_requests.clear()
        self.problems.clear()


def setup_logging(log_file: str | None) -> LogTally:
    """Warnings and up counted (and written to `log_file` with tracebacks), the KIE emulator's request log counted."""
    tally = LogTally()
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    root.addHandler(tally)
    if log_file:
        to_file = logging.FileHandler(log_file, mode="w")
        to_file.setLevel(logging.WARNING)
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(to_file)
    emulator_log = logging.getLogger("kiebot.kie.emulator")
    emulator_log.setLevel(logging.INFO)  # its request log is how KIE calls are counted
    logging.getLogger("aiogram").setLevel(logging.ERROR)  # "Failed to fetch updates" while stopping, etc.
    return tally


# --------------------------------------------------------------------------- user side


async def step(tg: FakeTelegram, drive: Drive, user: FakeUser, action: Callable[[], Awaitable[Any]],
               expect: str, timeout: float = STEP_TIMEOUT) -> float:
    """Do one user action; record the first reaction and the expected answer; returns when it was done."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await action()
    drive.updates_sent += 1
    await tg.wait_for_message(user.id, None, timeout=timeout)
    drive.reaction_s.append(loop.time() - started)
    await tg.wait_for_message(user.id, expect, timeout=timeout)
    drive.expected_s.append(loop.time() - started)
    return started


async def kiebot_journey(tg: FakeTelegram, drive: Drive, user: FakeUser) -> None:
    loop = asyncio.get_running_loop()
    await step(tg, drive, user, lambda: tg.send_command(user, "/start", args=f"m_{MODEL_SLUG}"), "Nano Banana")
    await step(tg, drive, user, lambda: tg.click(user, "▶ Start"), "step 1")
    await step(tg, drive, user, lambda: tg.send_text(user, f"A red fox in the snow, user {user.id}"), "step 2")
    await step(tg, drive, user, lambda: tg.click(user, "⏩ Defaults for all the rest"), "check the parameters")
    started = await step(tg, drive, user, lambda: tg.click(user, "✅ Confirm"), "ready!", timeout=RESULT_TIMEOUT)
    drive.result_s.append(loop.time() - started)


async def echo_journey(tg: FakeTelegram, drive: Drive, user: FakeUser) -> None:
    for n in range(UPDATES_PER_JOURNEY):
        text = f"echo {user.id} #{n}"
        await step(tg, drive, user, lambda t=text: tg.send_text(user, t), text)


async def drive_users(tg: FakeTelegram, users: list[FakeUser], rounds: int, ramp_s: float, deadline_s: float,
                      journey: Callable[[FakeTelegram, Drive, FakeUser], Awaitable[None]]) -> Drive:
    drive = Drive()

    async def one_user(index: int, user: FakeUser) -> None:
        if ramp_s > 0:
            await asyncio.sleep(ramp_s * index / max(1, len(users)))
        for _ in range(rounds):
            try:
                await journey(tg, drive, user)
                drive.completed += 1
            except Exception as exc:  # noqa: BLE001 - a failed journey is a figure, not a crash
                drive.failed += 1
                drive.failures[f"{type(exc).__name__}: {str(exc)[:140]}"] += 1
                return  # the user's chat is in an unknown state: no more rounds for them

    started = time.perf_counter()
    tasks = [asyncio.create_task(one_user(i, u)) for i, u in enumerate(users)]
    done, pending = await asyncio.wait(tasks, timeout=deadline_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    drive.wall_s = time.perf_counter() - started
    if pending:
        drive.failures[f"still running at the {deadline_s:.0f} s deadline"] += len(pending)
    drive.failed = len(users) * rounds - drive.completed
    return drive


def make_users(count: int, first_id: int) -> list[FakeUser]:
    return [FakeUser(first_id + i, f"User{i}", "en", f"bench{first_id + i}") for i in range(count)]


def telegram_calls(tg: FakeTelegram, since: int) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Calls by method made after index `since`, and their error answers by (method, code)."""
    by_method: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    for call in tg.calls()[since:]:
        by_method[call.method] += 1
        if call.status and call.status != 200:
            errors[f"{call.method} {call.status}"] += 1
    return by_method, errors


# --------------------------------------------------------------------------- baseline: bare echo bot


class RetryAfter(BaseRequestMiddleware):
    """The least a bot needs under flood limits: wait `retry_after` and try again (up to 5 times)."""

    def __init__(self) -> None:
        self.retries = 0

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        for attempt in range(6):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == 5:
                    raise
                self.retries += 1
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


@dataclass
class EchoBot:
    tg: FakeTelegram
    dispatcher: Dispatcher
    retry: RetryAfter


@contextlib.asynccontextmanager
async def echo_bot(flood: FloodLimits) -> AsyncIterator[EchoBot]:
    """The bare echo bot (`bench/echo_bot.py`) polling its own `FakeTelegram`, in this process."""
    async with FakeTelegram(token=TOKEN, flood=flood) as tg:
        bot = make_bot(TOKEN, tg.base_url)
        retry = RetryAfter()
        bot.session.middleware(retry)
        dp = echo_dispatcher()
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=True))
        try:
            await tg.wait_for(lambda: bool(tg.calls("getUpdates")), timeout=10)
            yield EchoBot(tg, dp, retry)
        finally:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            await asyncio.wait_for(polling, timeout=30)


async def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    async with echo_bot(FloodLimits()) as echo:
        tg, retry = echo.tg, echo.retry
        since = len(tg.calls())
        users = make_users(args.users, 7_000_000)
        drive = await drive_users(tg, users, args.rounds, args.ramp, args.deadline, echo_journey)
        by_method, errors = telegram_calls(tg, since)
    result = drive.summary()
    result.update(telegram_calls={k: v for k, v in sorted(by_method.items())},
                  telegram_errors=dict(errors), telegram_429=tg.count_429, retries_after_429=retry.retries)
    return result


# --------------------------------------------------------------------------- kiebot


@contextlib.asynccontextmanager
async def database(url: str | None, tmp: Path) -> AsyncIterator[str]:
    """A fresh database for this run: a temp SQLite file, or a new PostgreSQL database dropped afterwards."""
    if not url:
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    if not url.startswith("postgresql"):
        raise SystemExit(f"--database-url: only sqlite (default) and postgresql+asyncpg URLs: {url}")
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"kiebot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def job_timings(app: Any) -> dict[str, Any]:
    """From the job rows: waiting for submission (created → submitted) and submitted → finished."""
    from sqlalchemy import select

    from kiebot.store.models import Job

    def aware(moment: datetime | None) -> datetime | None:
        return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    async with app.sessionmaker() as session:
        jobs = list((await session.execute(select(Job))).scalars())
    queued, running, states = [], [], collections.Counter()
    for job in jobs:
        states[str(job.state)] += 1
        created, submitted, finished = aware(job.created_at), aware(job.submitted_at), aware(job.finished_at)
        if created and submitted:
            queued.append((submitted - created).total_seconds())
        if submitted and finished:
            running.append((finished - submitted).total_seconds())
    return {"jobs": len(jobs), "states": dict(states),
            "created_to_submitted_s": rounded(percentiles(queued)),
            "submitted_to_finished_s": rounded(percentiles(running))}


async def run_kiebot(args: argparse.Namespace, tally: LogTally) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kiebot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        async with database(args.database_url, tmp) as url:
            # The e2e stack's fast KIE emulator and poll speed-up, but the product's own pacing settings.
            async with running_stack(tmp, flood=FloodLimits(), database_url=url, welcome_bonus=100 * args.rounds,
                                     status_edit_interval=args.status_edit_interval,
                                     worker_interval=args.worker_interval, log_level="WARNING") as stack:
                tg = stack.tg
                probes = instrument(stack.app)
                tally.reset()
                since = len(tg.calls())
                base_429 = tg.count_429
                users = make_users(args.users, 5_000_000)
                drive = await drive_users(tg, users, args.rounds, args.ramp, args.deadline, kiebot_journey)
                by_method, errors = telegram_calls(tg, since)
                count_429 = tg.count_429 - base_429
                kie_requests = dict(tally.kie_requests)
                problems = dict(tally.problems.most_common(12))
                kie_state = stack.kie.state
                tasks = [t for t in kie_state.tasks.values()]
                jobs = await job_timings(stack.app)
                internals = probes.summary()
                memory = await measure_memory(stack, args) if args.memory_users else None
    generations = max(1, len(tasks))
    result = drive.summary()
    result.update(
        database=url.split("://")[0],
        kie_tasks=len(tasks), kie_task_states=dict(collections.Counter(t.state for t in tasks)),
        kie_uploads=len(kie_state.uploads), kie_requests=kie_requests,
        kie_requests_per_generation={k: round(v / generations, 2) for k, v in sorted(kie_requests.items())},
        telegram_calls={k: v for k, v in sorted(by_method.items())},
        telegram_calls_per_generation={k: round(v / max(1, drive.completed), 2) for k, v in sorted(by_method.items())},
        telegram_errors=dict(errors), telegram_429=count_429, log_problems=problems, jobs=jobs, memory=memory,
        internals=internals,
    )
    return result


class Probes:
    """Timings taken inside the bot by wrapping two instance attributes (no product code changes):
    how long each update takes to handle (`Dispatcher.feed_update`) and each step of a job (`Engine.advance`)."""

    def __init__(self) -> None:
        self.update_s: list[float] = []
        self.step_s: list[float] = []

    def summary(self) -> dict[str, Any]:
        return {"update_handling_s": rounded(percentiles(self.update_s)),
                "job_step_s": rounded(percentiles(self.step_s))}


def timed(owner: Any, name: str, into: list[float]) -> None:
    """Wrap the instance attribute `owner.<name>` (a coroutine function): each call's duration goes to `into`."""
    inner = getattr(owner, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await inner(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(owner, name, wrapper)


def instrument(app: Any) -> Probes:
    probes = Probes()
    timed(app.dispatcher, "feed_update", probes.update_s)
    timed(app.engine, "advance", probes.step_s)
    return probes


async def measure_memory(stack: Any, args: argparse.Namespace) -> dict[str, Any]:
    """A separate, untimed batch under tracemalloc: Python heap held after the journeys and peak while they ran."""
    users = make_users(args.memory_users, 6_000_000)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        drive = await drive_users(stack.tg, users, 1, args.ramp, args.deadline, kiebot_journey)
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    done = max(1, drive.completed)
    return {"journeys": drive.completed, "failed": drive.failed,
            "retained_kib_per_journey": round((after - before) / 1024 / done, 1),
            "peak_in_flight_kib_per_journey": round((peak - before) / 1024 / done, 1),
            "note": "Python heap only (tracemalloc), fake Telegram's stored messages included"}


# --------------------------------------------------------------------------- report


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}{unit}" if value < 10 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


def print_report(results: dict[str, Any]) -> None:
    base, kb = results["baseline"], results["kiebot"]
    w = 44
    print()
    print(f"kiebot journeys bench — {results['date']}  users={results['users']} rounds={results['rounds']} "
          f"db={kb['database']} python={results['python']} cpus={results['cpus']}")
    print(f"command: {results['command']}")
    print(f"{'':{w}} {'echo bot':>14} {'kiebot':>14} {'ratio':>8}")

    def row(label: str, b: Any, k: Any, unit: str = "", ratio: bool = True) -> None:
        r = (f"{k / b:.2f}x" if ratio and isinstance(b, (int, float)) and isinstance(k, (int, float)) and b else "")
        print(f"{label:{w}} {fmt(b, unit):>14} {fmt(k, unit):>14} {r:>8}")

    row("journeys completed", base["completed"], kb["completed"], ratio=False)
    row("journeys failed", base["failed"], kb["failed"], ratio=False)
    row("updates sent by users", base["updates_sent"], kb["updates_sent"], ratio=False)
    row("wall time", base["wall_s"], kb["wall_s"], " s")
    row("journeys per second", base["journeys_per_s"], kb["journeys_per_s"])
    row("updates handled per second", base["updates_per_s"], kb["updates_per_s"])
    for key, label in (("reaction_latency_s", "action → next bot message/edit"),
                       ("expected_answer_latency_s", "action → expected answer")):
        for q in ("p50", "p95", "p99", "max"):
            row(f"{label} {q}", base[key][q], kb[key][q], " s")
    for q in ("p50", "p95", "p99", "max"):
        row(f"confirm → result delivered {q}", None, kb["confirm_to_result_s"][q], " s", ratio=False)
    row("Telegram 429 answered by the fake", base["telegram_429"], kb["telegram_429"], ratio=False)
    row("peak RSS of the process (after phase)", results["rss_after_baseline_mb"], results["rss_after_kiebot_mb"],
        " MB", ratio=False)
    print()
    gens = kb["kie_tasks"]
    print(f"KIE: {gens} tasks {kb['kie_task_states']}, {kb['kie_uploads']} uploads; requests per generation: "
          + ", ".join(f"{k} {v}" for k, v in kb["kie_requests_per_generation"].items()))
    print("Telegram calls per completed journey (kiebot): "
          + ", ".join(f"{k} {v}" for k, v in kb["telegram_calls_per_generation"].items()))
    print(f"Telegram error answers (kiebot): {kb['telegram_errors'] or 'none'}; "
          f"echo bot: {base['telegram_errors'] or 'none'} (retried {base['retries_after_429']}×)")
    jobs = kb["jobs"]
    print(f"jobs: {jobs['jobs']} {jobs['states']}; created→submitted p50/p95/max "
          f"{fmt(jobs['created_to_submitted_s']['p50'])}/{fmt(jobs['created_to_submitted_s']['p95'])}/"
          f"{fmt(jobs['created_to_submitted_s']['max'])} s; submitted→finished p50/p95/max "
          f"{fmt(jobs['submitted_to_finished_s']['p50'])}/{fmt(jobs['submitted_to_finished_s']['p95'])}/"
          f"{fmt(jobs['submitted_to_finished_s']['max'])} s")
    inn = kb["internals"]
    uh, js = inn["update_handling_s"], inn["job_step_s"]
    print(f"inside the bot: handling one update p50/p95/max {fmt(uh['p50'])}/{fmt(uh['p95'])}/{fmt(uh['max'])} s "
          f"({uh['n']} updates); one job step p50/p95/max {fmt(js['p50'])}/{fmt(js['p95'])}/{fmt(js['max'])} s "
          f"({js['n']} steps)")
    if kb["memory"]:
        m = kb["memory"]
        print(f"memory per journey (tracemalloc, {m['journeys']} extra journeys): retained "
              f"{m['retained_kib_per_journey']} KiB, peak in flight {m['peak_in_flight_kib_per_journey']} KiB")
    for name, part in (("echo bot", base), ("kiebot", kb)):
        if part["failures"]:
            print(f"{name} failures: {part['failures']}")
    if kb["log_problems"]:
        print("kiebot warnings/errors logged (count: template):")
        for text, count in kb["log_problems"].items():
            print(f"  {count:5d}  {text[:150]}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users driven at once (default 50)")
    parser.add_argument("--rounds", type=int, default=1, help="journeys each user makes one after another (default 1)")
    parser.add_argument("--database-url", default=None,
                        help="default: a temp SQLite file; postgresql+asyncpg://postgres@127.0.0.1:5432/test "
                             "creates a fresh database next to it and drops it afterwards")
    parser.add_argument("--status-edit-interval", type=float, default=3.0,
                        help="the bot's STATUS_EDIT_INTERVAL (default 3.0, the product default; e2e tests use 0.2)")
    parser.add_argument("--worker-interval", type=float, default=1.0,
                        help="the bot's WORKER_INTERVAL (default 1.0, the product default; e2e tests use 0.05)")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds over which users start (default 0: all at once)")
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds a phase may run before it is cut off")
    parser.add_argument("--memory-users", type=int, default=10,
                        help="extra journeys run under tracemalloc for memory per job (0: skip)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the echo-bot baseline")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    parser.add_argument("--log-file", default=None, help="write the bot's warnings and errors (with tracebacks) here")
    args = parser.parse_args(argv)
    if not (1 <= args.users <= 1000 and 1 <= args.rounds <= 20 and 0 <= args.memory_users <= 200):
        parser.error("--users 1..1000, --rounds 1..20, --memory-users 0..200")
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tally = setup_logging(args.log_file)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "users": args.users,
        "rounds": args.rounds, "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "command": " ".join([".venv/bin/python", "bench/journeys.py", *sys.argv[1:]]),
    }
    if not args.skip_baseline:
        print(f"baseline: bare aiogram echo bot, {args.users} users × {args.rounds * UPDATES_PER_JOURNEY} messages…",
              file=sys.stderr)
        results["baseline"] = await run_baseline(args)
    results["rss_after_baseline_mb"] = round(peak_rss_mb(), 1)
    print(f"kiebot: {args.users} users × {args.rounds} text-to-image journeys…", file=sys.stderr)
    results["kiebot"] = await run_kiebot(args, tally)
    results["rss_after_kiebot_mb"] = round(peak_rss_mb(), 1)
    return results


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(main(args))
    if "baseline" not in results:
        results["baseline"] = {k: None for k in ("completed", "failed", "updates_sent", "wall_s", "journeys_per_s",
                                                 "updates_per_s", "telegram_429", "retries_after_429")}
        for key in ("reaction_latency_s", "expected_answer_latency_s"):
            results["baseline"][key] = percentiles([])
        results["baseline"].update(telegram_errors={}, failures={})
    print_report(results)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, default=str))
    return 0 if results["kiebot"]["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(cli())
