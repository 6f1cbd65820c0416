"""Secrets never reach a log line or a stored text: journeys run with known secrets (the KIE key, the bot token,
the KIE callback HMAC key), every logger at DEBUG written the way the product writes (JSON lines), and then the
whole log and every text in the database are searched for them. The log itself must be useful: the lines carry
the update, user, job and KIE task they belong to."""
from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiebot.logs import make_handler, secrets_of
from kiebot.store import db
from kiebot.store.models import Base
from tests.e2e.conftest import KIE_KEY, TOKEN, Stack, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser

HMAC_KEY = "hmac-test-key-0123456789abcdef"


@contextmanager
def captured_log(stack: Stack) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(stack.settings, stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stored_texts(stack: Stack) -> str:
    """Every row of every table, as text."""
    engine = db.create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = [str(row) for table in Base.metadata.sorted_tables
                    for row in (await conn.execute(select(table))).all()]
    finally:
        await engine.dispose()
    return "\n".join(rows)


def records(log_text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]


async def test_no_secret_in_logs_or_stored_texts(tmp_path: Path, alice: FakeUser) -> None:
    port = free_port()
    async with running_stack(tmp_path, kie_webhook_hmac_key=HMAC_KEY, log_format="json", web_port=port,
                             public_url=f"http://127.0.0.1:{port}") as stack:
        secrets = secrets_of(stack.settings)
        assert {TOKEN, KIE_KEY, HMAC_KEY} <= set(secrets)
        with captured_log(stack) as log:
            j = Journey(stack, alice)
            # A photo goes through Telegram's file URL (which holds the token) and a KIE upload (the key).
            await j.open_model("google-nano-banana-edit")
            await j.answer_text("Make the sky purple")
            await j.send_photo(width=800, height=600)
            await j.step(2, collected=1)
            await j.choose("✅ Done (1)")
            await j.defaults_for_the_rest()
            await j.generate(8)
            # KIE fails a task with a message that quotes the secrets back (a buggy upstream must not leak them).
            await stack.kie_control("task-outcome", {"outcome": "fail", "fail_code": "500",
                                                     "fail_msg": f"bad key {KIE_KEY} for bot{TOKEN}"})
            await j.open_model("google-nano-banana")
            await j.answer_text("A red fox")
            await j.defaults_for_the_rest()
            await j.press_confirm(8)
            await j.failure()
            text = log.getvalue()
        stored = await stored_texts(stack)

    for secret in secrets:
        assert secret not in text, "a secret reached the log"
        assert secret not in stored, "a secret reached the database"
    lines = records(text)
    assert lines and len(lines) == len(text.splitlines()), "every line is one JSON object"
    kie_polls = [r for r in lines if r["msg"].startswith("KIE GET /api/v1/jobs/recordInfo")]
    assert kie_polls and [r for r in kie_polls if not {"job", "task", "model", "status", "ms"} <= set(r)] == []
    states = [(r["job"], r["state"]) for r in lines if r["msg"] == "generation state"]
    assert (1, "done") in states and (2, "failed") in states
    assert any(r["msg"] == "ledger movement" and r.get("kind") == "charge" and r["job"] == 1 for r in lines)
    callbacks = [r["msg"] for r in lines if r["msg"].startswith("KIE callback for task")]
    assert callbacks and not any("refused" in m for m in callbacks), "signed callbacks arrived and were accepted"
    updates = [r for r in lines if r.get("update") is not None]
    assert updates and all(r.get("user") == alice.id for r in updates)

