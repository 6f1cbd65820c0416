"""Wizard-step bench: one step of a model's form in kiebot, beside a bare aiogram echo bot, every rate limit off.

What the engine issue asks of the bot layer, printed as figures (nothing here asserts): a wizard step at ≥ 40% of
the echo bot's rate; p99 reaction < 50 ms at 100 updates/s from 200 users; on SQLite and PostgreSQL.

By default all in one process and one event loop (bots, fake Telegram, users); with --process each bot is a child
process polling a fake Telegram of this process, where the users stay (kiebot: `python -m kiebot run` on the migrated
database, settings from the environment; the echo bot: bench/echo_bot.py), so the bot has a core and a GIL of its
own; the counters that need a hook inside the bot (SQL, `feed_update`, GC) then print "–" and CPU per action is
given for the bot's process and this one apart. Every phase is bounded in count and in time:
1. the echo bot (bench/echo_bot.py, its fake Telegram's `FloodLimits(enabled=False)`); an action is a text, its
   answer the bot message saying exactly that text;
2. kiebot (`running_stack`, or its process; limits off in the fake Telegram and the bot's own pacing raised to
   10⁶/s) on a temp SQLite file, then on a fresh PostgreSQL database when TEST_DATABASE_URL or --pg is given.
   Untimed setup: every user sends `/start m_google-nano-banana` and presses ▶ Start (→ step 1). An action then
   alternately types the prompt (→ the exact "Nano Banana · step 2 of 3" screen) and presses ◀ Back (→ "step 1 of
   3" again).
For each bot, untimed warm-up (the saturation users do one round), then:
- saturation: --users users each do 2 × --rounds actions, each as soon as the previous answer is there;
- fixed load: --load-users users, --rate actions per second in all for --load-seconds (open loop: each action goes
  out at its scheduled time, the users taking the slots in turn; a user whose previous answer is still missing acts
  as soon as it comes, and how late the actions went out is reported; what a user could not send before the end of
  the schedule is counted as not sent; the answers still due are then waited for).
Reaction = the user's action → the exact answering screen, as the user side sees it.

Run from the repository root:  .venv/bin/python bench/wizard_steps.py [--process] [--users 50] [--rounds 5] [--pg URL]
[--json] (`make bench` runs it with --process after journeys.py.)
Exit status 1 when an action sent to kiebot got no answer.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests` and `bench` are imported from the repository root
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.journeys import (  # noqa: E402
    LogTally,
    database,
    echo_bot,
    fmt,
    make_users,
    percentiles,
    rounded,
    setup_logging,
    timed,
)
from kiebot.kie.emulator import start_emulator  # noqa: E402
from kiebot.store import db  # noqa: E402
from tests.e2e.conftest import ADMIN, KIE_KEY, TOKEN, Stack, make_settings, running_stack  # noqa: E402
from tests.e2e.journey import Journey  # noqa: E402
from tests.e2e.test_crash_journeys import BotProcess  # noqa: E402
from tests.e2e.test_process import clean_env  # noqa: E402
from tests.fakes import FakeMessage, FakeTelegram, FakeUser, FloodLimits  # noqa: E402

MODEL_SLUG = "google-nano-banana"
STEP_TIMEOUT = 60.0  # one action → its answer (long: at the fixed load an overloaded bot falls seconds behind)
UNLIMITED = {"telegram_global_rate": 1e6, "telegram_chat_rate": 1e6, "telegram_chat_burst": 10**6}
TARGET_RATIO = 0.40  # wizard steps/s ÷ echo updates/s, at saturation
TARGET_P99_S = 0.050  # reaction p99 at the fixed load
KIEBOT = ("-m", "kiebot", "run")  # --process: the bots' command lines (after the Python interpreter)
ECHO_BOT = (str(ROOT / "bench" / "echo_bot.py"),)


# --------------------------------------------------------------------------- users


class Actor(Protocol):
    async def act(self, k: int) -> None:
        """Do action number `k` and wait for its exact answer."""


class EchoUser:
    def __init__(self, tg: FakeTelegram, user: FakeUser) -> None:
        self.tg, self.user = tg, user

    async def act(self, k: int) -> None:
        text = f"echo {self.user.id} #{k}"
        await self.tg.send_text(self.user, text)
        await self.tg.wait_for_screen(self.user.id, lambda m: m.content == text, timeout=STEP_TIMEOUT,
                                      what=f"echo {text!r}")


class WizardUser(Journey):
    """A user at step 1 of the model's form: even actions type the prompt (→ step 2), odd ones press ◀ Back
    (→ step 1); each waits for that exact screen (`Journey`), with a longer timeout than the tests'."""

    async def wait(self, what: str, check: Callable[[FakeMessage], bool], *, after: int | None = None,
                   timeout: float = STEP_TIMEOUT) -> FakeMessage:
        return await super().wait(what, check, after=after, timeout=timeout)

    async def act(self, k: int) -> None:
        if k % 2 == 0:
            await self.answer_text(f"A red fox in the snow, take {k}")
        else:
            await self.tap(self.texts("btn-back"))
            await self.step(1)


# --------------------------------------------------------------------------- driving them


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process (aiosqlite's included)
    return usage.ru_utime + usage.ru_stime


async def bounded(coros: list[Coroutine[Any, Any, Any]], deadline_s: float) -> list[Any]:
    """Run them at once for at most `deadline_s`; each one's result, its exception, or TimeoutError if cut off."""
    tasks = [asyncio.create_task(c) for c in coros]
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=deadline_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [TimeoutError(f"cut off at the {deadline_s:.0f} s deadline") if t in pending
            else (t.exception() or t.result()) for t in tasks]


@dataclass
class Load:
    """What one phase measured from the users' side."""

    planned: int
    sent: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    reaction_s: list[float] = field(default_factory=list)
    lag_s: list[float] = field(default_factory=list)  # open loop: how late each action went out

    def summary(self) -> dict[str, Any]:
        answered = len(self.reaction_s)
        return {"planned": self.planned, "sent": self.sent, "answered": answered, "failed": self.sent - answered,
                "not_sent": self.planned - self.sent, "failures": dict(self.failures), "wall_s": round(self.wall_s, 3),
                "per_s": round(answered / self.wall_s, 2) if self.wall_s else None,
                "reaction_s": rounded(percentiles(self.reaction_s)),
                "send_lag_s": rounded(percentiles(self.lag_s)) if self.lag_s else None,
                "cpu_ms_per_action": round(1000 * self.cpu_s / answered, 2) if answered else None}


async def drive(actors: list[Actor], due: Callable[[int, int], float | None], planned: int, deadline_s: float,
                paced_until: float | None = None) -> tuple[Load, list[Actor]]:
    """Actor i does actions k = 0, 1, ... while `due(i, k)` (seconds from the start) is not None. `paced_until`:
    none before its due time, and none after `paced_until` seconds (the actor was still waiting for an answer when
    the schedule ended: not sent). Returns the figures and the actors left in a known state (all answers in)."""
    loop = asyncio.get_running_loop()
    load = Load(planned)

    async def one(i: int, actor: Actor) -> None:
        k = 0
        while (offset := due(i, k)) is not None:
            if paced_until is not None:
                await asyncio.sleep(start + offset - loop.time())
                if loop.time() - start > paced_until:
                    return
                load.lag_s.append(max(0.0, loop.time() - start - offset))
            began = loop.time()
            load.sent += 1
            await actor.act(k)
            load.reaction_s.append(loop.time() - began)
            k += 1

    cpu, start = cpu_seconds(), loop.time()
    outcomes = await bounded([one(i, a) for i, a in enumerate(actors)], deadline_s)
    load.wall_s, load.cpu_s = loop.time() - start, cpu_seconds() - cpu
    for outcome in outcomes:
        if outcome is not None:
            load.failures[f"{type(outcome).__name__}: {str(outcome)[:140]}"] += 1
    return load, [a for a, outcome in zip(actors, outcomes) if outcome is None]


async def saturate(actors: list[Actor], actions: int, deadline_s: float) -> tuple[Load, list[Actor]]:
    return await drive(actors, lambda i, k: 0.0 if k < actions else None, len(actors) * actions, deadline_s)


async def fixed_load(actors: list[Actor], rate: float, seconds: float, deadline_s: float) -> tuple[Load, list[Actor]]:
    total, n = int(rate * seconds), len(actors)

    def due(i: int, k: int) -> float | None:
        slot = k * n + i  # slots are 1/rate apart, taken by the users in turn
        return slot / rate if slot < total else None

    return await drive(actors, due, total if n else 0, deadline_s, paced_until=seconds)


class GcPauses:
    """The garbage collector's pauses (`gc.callbacks`): (generation, seconds). They stop the whole process —
    bot, fakes and users alike — so they show in every reaction time that spans them."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))


GC = GcPauses()


class Counters:
    """What the bot did during a phase as the fake Telegram saw it (calls per action); the subclasses add what they
    can see of the bot. A figure nothing here could see is None (printed "–")."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.mark()

    def mark(self) -> None:
        self.calls_at, self.gc_at = len(self.tg.calls()), len(GC.pauses)

    def per_action(self, actions: int) -> dict[str, Any]:
        calls = collections.Counter(c.method for c in self.tg.calls()[self.calls_at:])
        return {"telegram_calls_per_action": {k: round(v / max(1, actions), 2) for k, v in sorted(calls.items())},
                "update_handling_s": None, "gc": None, "sql_per_action": None, "bot_cpu_ms_per_action": None,
                "bench_gc": None}

    def gc_since_mark(self) -> dict[str, Any]:
        """This process's GC pauses since `mark`."""
        pauses = GC.pauses[self.gc_at:]
        full = [seconds for generation, seconds in pauses if generation == 2]
        return {"collections": len(pauses), "gen2": len(full), "gen2_longest_s": round(max(full, default=0), 4),
                "total_s": round(sum(seconds for _, seconds in pauses), 4)}

    def log_problems(self) -> dict[str, int]:
        return {}


class InProcessCounters(Counters):
    """The bot runs in this process: SQL statements and transactions (SQLAlchemy engine events, and the FSM
    table's own count), time spent in `Dispatcher.feed_update` per update, GC pauses, and the warnings it logged."""

    def __init__(self, tg: FakeTelegram, dispatcher: Any, engine: Any = None, tally: LogTally | None = None) -> None:
        self.update_s: list[float] = []
        timed(dispatcher, "feed_update", self.update_s)
        self.sql: collections.Counter[str] | None = None
        if engine is not None:
            self.sql = collections.Counter()
            sql = self.sql
            event.listen(engine.sync_engine, "before_cursor_execute", lambda *_: sql.update(["statements"]))
            event.listen(engine.sync_engine, "begin", lambda *_: sql.update(["transactions"]))
            # The FSM row's statements run on the driver, past SQLAlchemy's events (kiebot/store/fsm_table.py).
            dispatcher.storage.table.observe = lambda _word: sql.update(["statements"])
        self.tally = tally
        if tally is not None:
            tally.reset()
        super().__init__(tg)

    def mark(self) -> None:
        super().mark()
        self.sql_at = collections.Counter(self.sql or {})
        self.update_s.clear()

    def per_action(self, actions: int) -> dict[str, Any]:
        each = max(1, actions)
        result = super().per_action(actions)
        result["update_handling_s"] = rounded(percentiles(self.update_s))
        result["gc"] = self.gc_since_mark()
        if self.sql is not None:
            result["sql_per_action"] = {k: round((self.sql[k] - self.sql_at[k]) / each, 2)
                                        for k in ("statements", "transactions")}
        return result

    def log_problems(self) -> dict[str, int]:
        return dict(self.tally.problems.most_common(8)) if self.tally else {}


class ChildCounters(Counters):
    """The bot runs in a child process: its CPU time (/proc/<pid>/stat, every thread) and what it wrote to its log
    (kiebot: JSON lines at WARNING and up; anything else, e.g. a traceback of the echo bot, as it came)."""

    def __init__(self, tg: FakeTelegram, bot: BotProcess) -> None:
        assert bot.process is not None
        self.bot, self.pid = bot, bot.process.pid
        super().__init__(tg)

    def mark(self) -> None:
        super().mark()
        self.cpu_at = process_cpu_seconds(self.pid)

    def per_action(self, actions: int) -> dict[str, Any]:
        result = super().per_action(actions)
        cpu = process_cpu_seconds(self.pid) - self.cpu_at
        result["bot_cpu_ms_per_action"] = round(1000 * cpu / actions, 2) if actions else None
        result["bench_gc"] = self.gc_since_mark()  # the users' and the fake's side: it delays what they see
        return result

    def log_problems(self) -> dict[str, int]:
        problems: collections.Counter[str] = collections.Counter()
        for line in filter(None, self.bot.log().splitlines()):
            try:
                record = json.loads(line)
                problems[f"{record['level']} {record['logger']}: {str(record['msg'])[:120]}"] += 1
            except (ValueError, KeyError, TypeError):
                problems[f"stderr: {line[:120]}"] += 1
        return dict(problems.most_common(8))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far, all its threads (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # fields from the 3rd on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_phases(actors: list[Actor], counters: Counters, args: argparse.Namespace) -> dict[str, Any]:
    """Warm-up, saturation with the first --users actors, then the fixed load with the first --load-users left."""
    results: dict[str, Any] = {}
    if args.process:  # as kiebot's App does for itself: this process's heap (imports, fakes) out of the GC's reach,
        gc.collect()  # so that a full collection of the harness does not stall the users (hundreds of ms)
        gc.freeze()
    warm, _ = await saturate(actors[:args.users], 2, args.deadline)
    results["warm_up"] = {"answered": len(warm.reaction_s), "failures": dict(warm.failures)}
    counters.mark()
    load, healthy = await saturate(actors[:args.users], 2 * args.rounds, args.deadline)
    results["saturation"] = {**load.summary(), **counters.per_action(len(load.reaction_s))}
    survivors = healthy + actors[args.users:]
    counters.mark()
    load, _ = await fixed_load(survivors[:args.load_users], args.rate, args.load_seconds,
                               args.load_seconds + args.deadline)
    results["fixed"] = {**load.summary(), **counters.per_action(len(load.reaction_s)),
                        "users": min(len(survivors), args.load_users)}
    return results


async def run_echo(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kiebot-bench-") as tmp_name:
        async with (echo_process(Path(tmp_name)) if args.process else echo_here()) as (tg, counters):
            users = make_users(max(args.users, args.load_users), 7_000_000)
            results = await run_phases([EchoUser(tg, u) for u in users], counters, args)
            return {**results, "log_problems": counters.log_problems()}


@contextlib.asynccontextmanager
async def echo_here() -> AsyncIterator[tuple[FakeTelegram, Counters]]:
    async with echo_bot(FloodLimits(enabled=False)) as echo:
        yield echo.tg, InProcessCounters(echo.tg, echo.dispatcher)


@contextlib.asynccontextmanager
async def echo_process(tmp: Path) -> AsyncIterator[tuple[FakeTelegram, Counters]]:
    async with FakeTelegram(token=TOKEN, flood=FloodLimits(enabled=False)) as tg:
        async with child_bot(tmp, tg, ECHO_BOT) as bot:
            yield tg, ChildCounters(tg, bot)


async def run_kiebot(args: argparse.Namespace, url: str | None, tally: LogTally) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kiebot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        async with database(url, tmp) as db_url:
            where = kiebot_process(tmp, db_url) if args.process else kiebot_here(tmp, db_url, tally)
            async with where as (stack, counters):
                results = await open_forms(stack, args)
                results.update(await run_phases(results.pop("actors"), counters, args))
                results["log_problems"] = counters.log_problems()
    return {"database": db_url.split("://")[0], **results}


@contextlib.asynccontextmanager
async def kiebot_here(tmp: Path, db_url: str, tally: LogTally) -> AsyncIterator[tuple[Stack, Counters]]:
    async with running_stack(tmp, flood=FloodLimits(enabled=False), database_url=db_url, log_level="WARNING",
                             status_edit_interval=3.0, worker_interval=1.0, **UNLIMITED) as stack:
        assert stack.app is not None
        yield stack, InProcessCounters(stack.tg, stack.app.dispatcher, stack.app.engine_db, tally)


@contextlib.asynccontextmanager
async def kiebot_process(tmp: Path, db_url: str) -> AsyncIterator[tuple[Stack, Counters]]:
    """`python -m kiebot run` on the migrated database, its settings from the environment as in
    tests/e2e/test_crash_journeys.py: the same settings as `kiebot_here`. The KIE emulator runs here (the bot checks
    KIE's credits; the wizard steps never call KIE)."""
    await db.migrate(db_url)
    async with FakeTelegram(token=TOKEN, flood=FloodLimits(enabled=False)) as tg:
        kie = await start_emulator(api_key=KIE_KEY)
        try:
            env = dict(KIE_API_KEY=KIE_KEY, KIE_API_BASE=kie.url, KIE_UPLOAD_BASE=kie.url, DATABASE_URL=db_url,
                       ADMIN_IDS=str(ADMIN.id), WEB_PORT="0", LOG_LEVEL="WARNING", LOG_FORMAT="json",
                       STATUS_EDIT_INTERVAL="3.0", WORKER_INTERVAL="1.0",
                       **{name.upper(): str(value) for name, value in UNLIMITED.items()})
            async with child_bot(tmp, tg, KIEBOT, **env) as bot:
                yield Stack(tg, kie, make_settings(tmp, tg, kie, database_url=db_url)), ChildCounters(tg, bot)
        finally:
            await kie.close()


@contextlib.asynccontextmanager
async def child_bot(tmp: Path, tg: FakeTelegram, command: tuple[str, ...], **env: str) -> AsyncIterator[BotProcess]:
    """A bot polling `tg` from a child process (start-up waited for up to 90 s); however the block ends, it is
    stopped: SIGTERM, then SIGKILL after 20 s. Its log is shown when the block fails."""
    bot = BotProcess(tmp, tg, clean_env(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url, PYTHONUNBUFFERED="1", **env),
                     command)
    try:
        await bot.start()
        yield bot
    except BaseException:
        print(f"{' '.join(command)} log (its end):\n{bot.log()[-4000:]}", file=sys.stderr)
        raise
    finally:
        await bot.stop()


async def open_forms(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Untimed: every user opens the model's form (`/start m_<slug>`, ▶ Start → step 1)."""
    actors = [WizardUser(stack, u) for u in make_users(max(args.users, args.load_users), 5_000_000)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await bounded([a.open_model(MODEL_SLUG) for a in actors], args.deadline)
    ready = [a for a, outcome in zip(actors, outcomes) if not isinstance(outcome, BaseException)]
    failures = collections.Counter(f"{type(o).__name__}: {str(o)[:140]}" for o in outcomes
                                   if isinstance(o, BaseException))
    return {"actors": ready, "setup": {"users": len(actors), "ready": len(ready), "failures": dict(failures),
                                       "wall_s": round(loop.time() - started, 2)}}


# --------------------------------------------------------------------------- report


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{1000 * value:.1f}" if value < 0.1 else f"{1000 * value:.0f}"


def verdict(value: float | None, target: float, *, at_least: bool) -> str:
    if value is None:
        return "-"
    if (value >= target) if at_least else (value < target):
        return "met"
    return f"missed {target / value:.1f}× short" if at_least else f"missed by {ms(value - target)} ms"


def gc_pauses(g: dict[str, Any]) -> str:
    return f"{g['gen2']}; {ms(g['gen2_longest_s'] or None)} / {ms(g['total_s'])}"


def hooked(value: Any, show: Callable[[Any], str]) -> str:
    """A figure taken by a hook inside the bot's process: "–" when the bot ran in a process of its own."""
    return "–" if value is None else show(value)


def print_report(results: dict[str, Any]) -> None:
    echo, bots = results["echo"], results["kiebot"]
    process = results["mode"] == "process"
    columns = [("echo bot", echo)] + [(f"kiebot {b['database'].split('+')[0]}", b) for b in bots]
    w, cw = 46, 20
    a = results["args"]
    print()
    print(f"wizard steps bench — {results['date']}  cpus={results['cpus']} python={results['python']}  limits off  "
          + ("each bot in its own process (--process)" if process else "bots, fakes and users in one process"))
    print(f"command: {results['command']}")
    print(f"machine load (1-min load average, other processes included): {results['loadavg'][0]:.2f} at the start, "
          f"{results['loadavg'][1]:.2f} at the end")
    print(f"{'':{w}}" + "".join(f" {name:>{cw}}" for name, _ in columns))

    def row(label: str, cell: Callable[[dict[str, Any]], Any], *, echo_too: bool = True) -> None:
        cells = [(str(cell(c)) if (echo_too or c is not echo) else "") for _, c in columns]
        print(f"{label:{w}}" + "".join(f" {v:>{cw}}" for v in cells))

    def phase(name: str, title: str) -> None:
        print(title)
        row("  answered / sent / planned", lambda c: f"{c[name]['answered']} / {c[name]['sent']} / "
                                                       f"{c[name]['planned']}")
        row("  per second", lambda c: fmt(c[name]["per_s"]))
        for q in ("p50", "p95", "p99", "max"):
            row(f"  reaction {q}, ms", lambda c, q=q: ms(c[name]["reaction_s"][q]))
        if process:
            row("  CPU per action: the bot's process, ms", lambda c: fmt(c[name]["bot_cpu_ms_per_action"]))
            row("  CPU per action: this process (users, fake), ms", lambda c: fmt(c[name]["cpu_ms_per_action"]))
        else:
            row("  CPU per action (whole process), ms", lambda c: fmt(c[name]["cpu_ms_per_action"]))
        row("  inside the bot: one update p50 / p99, ms", lambda c: hooked(c[name]["update_handling_s"], lambda u: (
            f"{ms(u['p50'])} / {ms(u['p99'])}")))
        row("  SQL statements / transactions per action", lambda c: hooked(c[name]["sql_per_action"], lambda q: (
            "{statements} / {transactions}".format(**q))), echo_too=False)
        row("  Telegram calls per action", lambda c: f"{sum(c[name]['telegram_calls_per_action'].values()):.2f}")
        row("  GC: gen-2 runs; longest / all GC pauses, ms", lambda c: hooked(c[name]["gc"], gc_pauses))
        if process:
            row("  GC of this process (users, fake), the same", lambda c: gc_pauses(c[name]["bench_gc"]))

    echo_rate = echo["saturation"]["per_s"]
    phase("saturation", f"saturation: {a['users']} users × {2 * a['rounds']} actions, each as soon as answered")
    ratio = {id(c): (c["saturation"]["per_s"] / echo_rate if echo_rate and c["saturation"]["per_s"] else None)
             for _, c in columns}
    row("  rate ÷ echo bot's", lambda c: "-" if ratio[id(c)] is None else f"{ratio[id(c)]:.3f}×")
    row(f"  target ≥ {TARGET_RATIO:.2f}× echo", lambda c: verdict(ratio[id(c)], TARGET_RATIO, at_least=True),
        echo_too=False)
    phase("fixed", f"fixed load: {a['load_users']} users, {a['rate']:g} actions/s in all for {a['load_seconds']:g} s "
                   "(open loop)")
    row("  send lag behind schedule p99 / max, ms", lambda c: (
        f"{ms(c['fixed']['send_lag_s']['p99'])} / {ms(c['fixed']['send_lag_s']['max'])}"
        if c["fixed"]["send_lag_s"] else "-"))
    row(f"  target p99 < {ms(TARGET_P99_S)} ms", lambda c: verdict(c["fixed"]["reaction_s"]["p99"], TARGET_P99_S,
                                                                   at_least=False))
    print()
    for name, c in columns:
        problems = {k: v for k, v in c.items() if k in ("setup", "warm_up", "log_problems")}
        failures = {p: c[p]["failures"] for p in ("saturation", "fixed") if c[p]["failures"]}
        print(f"{name}: {json.dumps(problems, ensure_ascii=False)}" + (f" FAILURES {failures}" if failures else ""))


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="users at saturation (default 50)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds per user at saturation, 2 actions each (default 5)")
    parser.add_argument("--load-users", type=int, default=200, help="users at the fixed load (default 200)")
    parser.add_argument("--rate", type=float, default=100.0, help="actions per second at the fixed load (default 100)")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="length of the fixed load (default 20 s)")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL") or None,
                        help="a PostgreSQL URL (default: TEST_DATABASE_URL): kiebot also runs on a fresh database "
                             "created there and dropped afterwards")
    parser.add_argument("--deadline", type=float, default=90.0,
                        help="seconds a setup or saturation phase may run (the fixed load: its length + this)")
    parser.add_argument("--process", action="store_true",
                        help="run each bot as a child process (kiebot: `python -m kiebot run`), the users and the fake "
                             "Telegram staying in this one")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    parser.add_argument("--log-file", default=None,
                        help="write the bot's warnings and errors (with tracebacks) here (not with --process: the "
                             "child's log is counted instead)")
    args = parser.parse_args(argv)
    if not (1 <= args.users <= 1000 and 1 <= args.rounds <= 500 and 1 <= args.load_users <= 1000
            and 0 < args.rate <= 2000 and 0 < args.load_seconds <= 300 and 0 < args.deadline <= 600):
        parser.error("--users 1..1000, --rounds 1..500, --load-users 1..1000, --rate ≤ 2000, --load-seconds ≤ 300, "
                     "--deadline ≤ 600")
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tally = setup_logging(args.log_file)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "python": sys.version.split()[0],
        "cpus": os.cpu_count(), "command": " ".join([".venv/bin/python", "bench/wizard_steps.py", *sys.argv[1:]]),
        "args": {k: v for k, v in vars(args).items() if k != "pg"}, "kiebot": [], "loadavg": [os.getloadavg()[0]],
        "mode": "process" if args.process else "in-process",
    }
    # SIGTERM as Ctrl-C: the phase is cancelled and every `finally` runs (child bots stopped, databases dropped).
    this = asyncio.current_task()
    assert this is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    print(f"echo bot: {args.users} users × {2 * args.rounds} actions, then {args.load_users} users at "
          f"{args.rate:g}/s…", file=sys.stderr)
    results["echo"] = await run_echo(args)
    for url in (None, args.pg) if args.pg else (None,):
        print(f"kiebot on {'PostgreSQL' if url else 'SQLite'}: the same…", file=sys.stderr)
        results["kiebot"].append(await run_kiebot(args, url, tally))
    results["loadavg"].append(os.getloadavg()[0])
    return results


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = asyncio.run(main(args))
    except asyncio.CancelledError:
        print("stopped by SIGTERM", file=sys.stderr)
        return 128 + signal.SIGTERM
    print_report(results)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, default=str))
    failed = sum(b[p]["failed"] for b in results["kiebot"] for p in ("saturation", "fixed"))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(cli())
