"""The job engine under load, in one process against the KIE emulator and the fake Telegram with their real limits.

Run from the repository root:  .venv/bin/python bench/engine_load.py [--json]

Three phases, each on a fresh stack (the real `kiebot.app.App`, product settings, a temp SQLite file); the emulator
enforces KIE's account limits (20 createTask per 10 s, 10 recordInfo per s: 429 beyond), the fake Telegram its
own (30 messages/s overall, 1/s per chat with a burst of 3: 429 beyond):

1. **10,000 jobs in flight**: 10,000 `running` job rows whose KIE tasks stay `generating`, the worker polling them.
   Resident memory (VmRSS of this process: bot, fakes and emulator) before the jobs, after the emulator's tasks, and
   at its peak while the worker polls them; the bot's share is the last minus the one before.
2. **100 confirms from 20 users in one burst**: 100 calls of the service a ✅ Confirm makes (`GenerationService.start`,
   5 per user, all at once). KIE createTask rate (after the first window's burst) beside KIE's limit, KIE 429s, and
   where each user's first task came in the order of creation (fair: every user's first among the first 20).
3. **1,000 generations finishing at once**: 1,000 `running` jobs of 1,000 users whose tasks have all succeeded. Time
   until every result is delivered beside the least time the binding limit allows (KIE's 10 status reads/s for one
   read per job, or the bot's Telegram pace for the messages sent), and 429s from either side.

Nothing asserts; figures are printed (and, with --json, one JSON line). Everything listens on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests` is imported from the repository root
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, update  # noqa: E402

from kiebot.clock import utcnow  # noqa: E402
from kiebot.kie.emulator import EmulatorTimings, EmuTask, _finish_success, start_emulator  # noqa: E402
from kiebot.services.wizard import Draft  # noqa: E402
from kiebot.store.models import Job, JobState, User  # noqa: E402
from tests.e2e.conftest import KIE_KEY, TOKEN, Stack, make_settings  # noqa: E402
from tests.fakes import FakeTelegram, FloodLimits  # noqa: E402

MODEL = "google/nano-banana"
KIE_LIMITS = {"createTask": (20, 10.0), "recordInfo": (10, 1.0)}  # API.md: per account; 429 beyond
MESSAGE_METHODS = ("sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendmediagroup",
                   "editmessagecaption", "editmessagereplymarkup")


def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@contextlib.asynccontextmanager
async def engine_stack(tmp: Path, name: str) -> AsyncIterator[Stack]:
    """The bot with product settings (pacing, intervals, lease) on a fresh SQLite file, the emulator with KIE's
    account limits and quick task timings, the fake Telegram with Telegram's limits."""
    async with FakeTelegram(token=TOKEN, flood=FloodLimits()) as tg:
        kie = await start_emulator(api_key=KIE_KEY, rate_limits=KIE_LIMITS,
                                   timings=EmulatorTimings(null_record_s=0.2, queue_s=0.2, generate_s=0.6))
        settings = make_settings(tmp / name, tg, kie, database_url=f"sqlite+aiosqlite:///{tmp / name}.db",
                                 kie_poll_speedup=1.0, worker_interval=1.0, status_edit_interval=3.0,
                                 welcome_bonus=1000)
        stack = Stack(tg, kie, settings)
        try:
            await stack.start_bot()
            yield stack
        finally:
            await stack.stop_bot()
            await kie.close()


async def add_users(stack: Stack, ids: list[int]) -> None:
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        await session.execute(insert(User), [{"id": i, "first_name": f"U{i}", "balance": 1000} for i in ids])
        await session.commit()


def emulator_tasks(stack: Stack, count: int, *, succeeded: bool) -> list[str]:
    """Tasks made straight in the emulator's state: `generating` forever, or already `success` with a result."""
    state = stack.kie.state
    model = state.models[MODEL]
    ids = []
    for _ in range(count):
        task = EmuTask(uuid.uuid4().hex, model, {"model": MODEL, "input": {"prompt": "x"}}, stack.kie.url,
                       int(time.time() * 1000), state="generating", visible=True)
        if succeeded:
            _finish_success(state, task)
            task.complete_ms = task.created_ms
        state.tasks[task.task_id] = task
        ids.append(task.task_id)
    return ids


async def add_running_jobs(stack: Stack, tasks: list[str], users: list[int]) -> None:
    """`running` jobs holding `tasks`, due now, spread over `users`."""
    assert stack.app is not None
    now = utcnow()
    rows = [dict(user_id=users[i % len(users)], chat_id=users[i % len(users)], language="en", model_id=MODEL,
                 values={"prompt": "x"}, files=[], confirm_key=uuid.uuid4().hex, price=8, credits="4",
                 state=JobState.RUNNING.value, kie_task_id=task, kie_state="generating", next_check_at=now,
                 created_at=now, submitted_at=now)
            for i, task in enumerate(tasks)]
    held = func.coalesce(select(func.sum(Job.price)).where(Job.user_id == User.id, Job.state == JobState.RUNNING.value)
                         .scalar_subquery(), 0)
    async with stack.app.sessionmaker() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Job), rows[start:start + 1000])
        await session.execute(update(User).where(User.id.in_(set(users))).values(held=held))  # as confirms hold
        await session.commit()


async def count_jobs(stack: Stack, *states: JobState) -> int:
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        query = select(func.count()).select_from(Job).where(Job.state.in_([s.value for s in states]))
        return int((await session.execute(query)).scalar_one())


# --------------------------------------------------------------------------- 1. memory with 10,000 jobs in flight


async def jobs_in_flight(tmp: Path, jobs: int, seconds: float) -> dict[str, Any]:
    async with engine_stack(tmp, "inflight") as stack:
        gc.collect()
        baseline = rss_mb()
        tasks = emulator_tasks(stack, jobs, succeeded=False)
        users = list(range(10_000, 10_000 + max(1, jobs // 5)))
        await add_users(stack, users)
        gc.collect()
        with_tasks = rss_mb()
        await add_running_jobs(stack, tasks, users)
        polls_before = stack.kie.state.calls["recordInfo"]
        peak, started = with_tasks, time.monotonic()
        while time.monotonic() - started < seconds:  # the worker claims and polls them meanwhile
            await asyncio.sleep(0.5)
            peak = max(peak, rss_mb())
        return {
            "jobs": jobs, "seconds": seconds, "rss_before_mb": round(baseline, 1),
            "rss_with_emulator_tasks_mb": round(with_tasks, 1), "rss_peak_mb": round(peak, 1),
            "bot_share_mb": round(peak - with_tasks, 1),
            "polls": stack.kie.state.calls["recordInfo"] - polls_before,
            "kie_429": sum(stack.kie.state.throttled.values()), "telegram_429": stack.tg.count_429,
            "still_running": await count_jobs(stack, JobState.RUNNING),
        }


# --------------------------------------------------------------------------- 2. a burst of confirms


async def confirm_burst(tmp: Path, users: int, per_user: int, deadline: float) -> dict[str, Any]:
    async with engine_stack(tmp, "burst") as stack:
        app = stack.app
        assert app is not None
        model = app.catalog.known(MODEL)
        assert model is not None
        ids = list(range(20_000, 20_000 + users))
        await add_users(stack, ids)
        limit_per_10s = app.settings.kie_create_per_10s

        async def confirm(user: int, n: int) -> None:
            draft = Draft(MODEL, values={"prompt": f"burst {user} {n}"})
            result = await app.services.generation.start(model, draft, user_id=user, chat_id=user, language="en",
                                                         status_message_id=None)
            assert result.started is not None, result

        # Each user's n-th confirmation before anyone's (n+1)-th: the order users would press in a burst.
        await asyncio.gather(*(confirm(user, n) for n in range(per_user) for user in ids))
        app.engine.wake()
        total, started = users * per_user, time.monotonic()
        while len(stack.kie.state.tasks) < total and time.monotonic() - started < deadline:
            await asyncio.sleep(0.2)
        created = sorted(stack.kie.state.tasks.values(), key=lambda t: t.created_ms)
        async with app.sessionmaker() as session:
            rows = (await session.execute(select(Job.id, Job.kie_task_id, Job.user_id).order_by(Job.id))).all()
        owner = {task: user for _, task, user in rows}
        order = [owner.get(t.task_id) for t in created]
        first_position = {user: order.index(user) + 1 for user in ids if user in order}
        # Concurrent confirms commit in no set order: a user's first confirmation is its first job row.
        confirmed = [user for _, _, user in rows]
        first_confirm = {user: confirmed.index(user) + 1 for user in ids if user in confirmed}
        span = (created[-1].created_ms - created[0].created_ms) / 1000 if len(created) > 1 else 0.0
        # After the first window's burst, a limiter at KIE's limit admits `limit_per_10s` every 10 s.
        rate = (len(created) - limit_per_10s) / span if span and len(created) > limit_per_10s else None
        return {
            "confirms": total, "created": len(created), "span_s": round(span, 2),
            "create_rate_per_s": round(rate, 3) if rate else None, "limit_per_s": limit_per_10s / 10,
            "rate_share_of_limit": round(rate / (limit_per_10s / 10), 3) if rate else None,
            "kie_429": sum(stack.kie.state.throttled.values()), "telegram_429": stack.tg.count_429,
            "first_create_position": {str(u): p for u, p in first_position.items()},
            "worst_first_position": max(first_position.values()) if first_position else None,
            "first_confirm_position": {str(u): p for u, p in first_confirm.items()},
            "worst_first_confirm_position": max(first_confirm.values()) if first_confirm else None,
            "max_active_per_user": app.settings.max_active_per_user,
        }


# --------------------------------------------------------------------------- 3. many results at once


async def finishing_at_once(tmp: Path, jobs: int, deadline: float) -> dict[str, Any]:
    async with engine_stack(tmp, "finishing") as stack:
        app = stack.app
        assert app is not None
        users = list(range(30_000, 30_000 + jobs))
        await add_users(stack, users)
        tasks = emulator_tasks(stack, jobs, succeeded=True)
        sent_before = sum(len(stack.tg.calls(m)) for m in MESSAGE_METHODS)
        polls_before = stack.kie.state.calls["recordInfo"]
        started = time.monotonic()
        await add_running_jobs(stack, tasks, users)
        app.engine.wake()
        while time.monotonic() - started < deadline:
            if await count_jobs(stack, JobState.DONE, JobState.FAILED) >= jobs:
                break
            await asyncio.sleep(0.5)
        wall = time.monotonic() - started
        polls = stack.kie.state.calls["recordInfo"] - polls_before
        messages = sum(len(stack.tg.calls(m)) for m in MESSAGE_METHODS) - sent_before
        pace = min(app.settings.telegram_global_rate, FloodLimits().global_rate)
        # The least work: one status read per job (a read answered 429 is work the limits did not need) and the
        # messages actually sent (a photo and the final status per job).
        bounds = {"kie_status_reads": jobs / app.settings.kie_polls_per_second, "telegram_messages": messages / pace}
        binding = max(bounds, key=lambda k: bounds[k])
        return {
            "jobs": jobs, "done": await count_jobs(stack, JobState.DONE),
            "failed": await count_jobs(stack, JobState.FAILED), "wall_s": round(wall, 2),
            "status_reads": polls, "telegram_messages": messages, "telegram_pace_per_s": pace,
            "bound_s": {k: round(v, 2) for k, v in bounds.items()}, "binding": binding,
            "share_over_bound": round(wall / bounds[binding], 3) if bounds[binding] else None,
            "kie_429": sum(stack.kie.state.throttled.values()), "telegram_429": stack.tg.count_429,
        }


# --------------------------------------------------------------------------- the report


def report(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows: figure | value | baseline or limit from the same run | target."""
    rows: list[tuple[str, str, str, str]] = []
    if (m := results.get("inflight")) is not None:
        rows += [(f"RSS with {m['jobs']:,} jobs in flight (peak, whole process)", f"{m['rss_peak_mb']} MB",
                  f"{m['rss_before_mb']} MB before the jobs; {m['rss_with_emulator_tasks_mb']} MB with the "
                  f"emulator's tasks", "< 300 MB"),
                 ("  of which the bot's share (peak − with emulator tasks)", f"{m['bot_share_mb']} MB",
                  f"{m['polls']} status reads in {m['seconds']:g} s", ""),
                 ("  429s while polling them (KIE / Telegram)", f"{m['kie_429']} / {m['telegram_429']}", "", "0")]
    if (b := results.get("burst")) is not None:
        rows += [(f"{b['confirms']} confirms from {len(b['first_create_position'])} users: createTask rate",
                  f"{b['create_rate_per_s']}/s ({b['created']} created over {b['span_s']} s)",
                  f"KIE limit {b['limit_per_s']}/s; share {b['rate_share_of_limit']}", "≥ 0.90 of the limit"),
                 ("  KIE 429s during the burst", str(b["kie_429"]), "", "0"),
                 ("  worst first-create position of a user", str(b["worst_first_position"]),
                  f"{len(b['first_create_position'])} users; worst first-confirm position "
                  f"{b['worst_first_confirm_position']}", f"≤ {len(b['first_create_position'])} (fair)")]
    if (f := results.get("finishing")) is not None:
        rows += [(f"{f['jobs']:,} generations finishing at once: all delivered in", f"{f['wall_s']} s "
                  f"({f['done']} done, {f['failed']} failed)",
                  f"binding limit ({f['binding']}) allows {f['bound_s'][f['binding']]} s; other "
                  f"{ {k: v for k, v in f['bound_s'].items() if k != f['binding']} }; ratio {f['share_over_bound']}",
                  "≤ 1.15 × the bound"),
                 ("  429s (KIE / Telegram)", f"{f['kie_429']} / {f['telegram_429']}", "", "0 / 0")]
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    print("| figure | value | baseline / limit (same run) | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kiebot-engine-bench-") as tmp:
        if args.inflight:
            results["inflight"] = await jobs_in_flight(Path(tmp), args.inflight, args.inflight_seconds)
        if args.burst_users:
            results["burst"] = await confirm_burst(Path(tmp), args.burst_users, args.burst_per_user, args.deadline)
        if args.finishing:
            results["finishing"] = await finishing_at_once(Path(tmp), args.finishing, args.deadline)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inflight", type=int, default=10_000, help="jobs in flight for the memory figure (0: skip)")
    parser.add_argument("--inflight-seconds", type=float, default=20.0, help="how long the worker polls them")
    parser.add_argument("--burst-users", type=int, default=20, help="users confirming at once (0: skip)")
    parser.add_argument("--burst-per-user", type=int, default=5)
    parser.add_argument("--finishing", type=int, default=1000, help="generations finishing at once (0: skip)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds a phase may take at most")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    measured = asyncio.run(main(arguments))
    print_table(report(measured))
    if arguments.json:
        print(json.dumps(measured, ensure_ascii=False, default=str))
