"""The `kiebot` command as an operator runs it: settings from the environment only, a clear stop when
secrets are missing, and a clean shutdown on SIGTERM that keeps jobs for the next start."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from kiebot.kie.emulator import start_emulator
from tests.e2e.conftest import KIE_KEY, TOKEN
from tests.fakes import FakeTelegram, FakeUser

KIEBOT = [sys.executable, "-m", "kiebot"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "KIE_API_KEY", "DATABASE_URL")}
    env.update(extra)
    return env


async def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(*KIEBOT, *args, cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode()


async def test_missing_secrets_stop_the_bot_with_instructions(tmp_path: Path) -> None:
    code, out = await run(["run"], tmp_path, clean_env())
    assert code == 2
    assert "BOT_TOKEN" in out and "KIE_API_KEY" in out and ".env" in out and "@BotFather" in out


async def test_run_answers_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        kie = await start_emulator(api_key=KIE_KEY)
        env = clean_env(BOT_TOKEN=TOKEN, KIE_API_KEY=KIE_KEY, TELEGRAM_API_BASE=tg.base_url,
                        KIE_API_BASE=kie.url, KIE_UPLOAD_BASE=kie.url, LOG_LEVEL="DEBUG")
        try:
            assert (await run(["migrate"], tmp_path, env))[0] == 0
            assert (tmp_path / "data" / "kiebot.db").exists()  # the default SQLite file, under the working dir
            process = await asyncio.create_subprocess_exec(*KIEBOT, "run", cwd=tmp_path, env=env,
                                                           stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
            user = FakeUser(5001, "Olga", "ru")
            await tg.send_command(user, "/start")
            reply = await tg.wait_for_message(user.id, "Баланс", timeout=30)
            assert "100 💎" in reply.text
            assert {"ru", "en"} <= set(tg.commands)
            process.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            await kie.close()
    log = out.decode()
    assert process.returncode == 0, log
    assert "kiebot stopped" in log and "Traceback" not in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log and KIE_KEY not in log


@pytest.mark.parametrize("command", [["catalog"], ["catalog", "--excluded"], ["check"]])
async def test_informational_commands(tmp_path: Path, command: list[str]) -> None:
    code, out = await run(command, tmp_path, clean_env(BOT_TOKEN=TOKEN, KIE_API_KEY=KIE_KEY))
    assert code == 0, out
    if command == ["catalog"]:
        assert "google/nano-banana\tNano Banana\t8" in out and "120 models offered" in out  # 96 market + 24 others
        assert "suno/generate\tSuno — song\t24" in out and "veo3.1/generate\tVeo 3.1\t60-740" in out
    if command == ["catalog", "--excluded"]:
        assert "bytedance/seedream\tno price in KIE's pricing table" in out
        assert "runway/extend\tno price in KIE's pricing table" in out
        assert "kling-3.0/motion-control\tKIE requires a callback URL" in out
