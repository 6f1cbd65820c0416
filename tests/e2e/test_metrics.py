"""GET /metrics after a journey: the counters moved by what the journey did, and nothing else."""
from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from kiebot.app import App
from kiebot.config import Settings
from tests.e2e.conftest import Stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(stack: Stack) -> Samples:
    assert stack.app is not None and stack.app.web is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.app.web.url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_moved_after_a_generation(webhook_stack: Stack, alice: FakeUser) -> None:
    stack, j = webhook_stack, Journey(webhook_stack, alice)
    before = await scrape(stack)
    assert value(before, "kiebot_updates_total", type="message") == 0
    assert value(before, "kiebot_queue_jobs", state="waiting") == 0

    await stack.kie_control("fail", {"code": 455, "times": 1, "endpoint": "recordInfo"})  # retried by the client
    stack.tg.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
    await j.fill("google-nano-banana", "A red fox in the snow", "⏩ Defaults for all the rest")
    await j.generate(8)
    after = await scrape(stack)

    assert value(after, "kiebot_updates_total", type="message") >= 2  # opening the model, the prompt
    assert value(after, "kiebot_updates_total", type="callback_query") >= 3
    updates = sum(value(after, "kiebot_updates_total", type=t) for t in ("message", "callback_query"))
    assert value(after, "kiebot_update_handling_seconds_count", type="message") + value(
        after, "kiebot_update_handling_seconds_count", type="callback_query") == updates
    assert value(after, "kiebot_generations", model="google/nano-banana", state="done") == 1
    assert value(after, "kiebot_queue_jobs", state="waiting") == 0
    assert value(after, "kiebot_queue_jobs", state="running") == 0
    for kind in ("bonus", "hold", "charge"):
        assert value(after, "kiebot_ledger_movements_total", kind=kind) == 1, kind
    calls = (await stack.kie_control("calls"))["calls"]
    assert value(after, "kiebot_kie_request_seconds_count", path="/api/v1/jobs/createTask") == calls["createTask"]
    assert value(after, "kiebot_kie_request_seconds_count", path="/api/v1/jobs/recordInfo") == calls["recordInfo"]
    assert value(after, "kiebot_kie_errors_total", path="/api/v1/jobs/recordInfo", code="455") == 1
    assert value(after, "kiebot_telegram_rate_limited_total", method="editMessageText") == 1
    assert value(after, "kiebot_cache_hits_total", cache="users") + value(
        after, "kiebot_cache_misses_total", cache="users") > 0


def test_two_apps_in_one_process_count_apart(tmp_path) -> None:
    settings = Settings(_env_file=None, bot_token="1:x", kie_api_key="k" * 20,
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    one, two = App(settings), App(settings)  # a shared default registry would refuse the second's metrics
    one.metrics.ledger_moved("bonus")
    assert one.metrics.registry.get_sample_value("kiebot_ledger_movements_total", {"kind": "bonus"}) == 1
    assert two.metrics.registry.get_sample_value("kiebot_ledger_movements_total", {"kind": "bonus"}) is None
