"""Suite-wide hooks.

In CI (env `CI` set, as `.ci/run` does) a test marked `postgres` (e.g. the PostgreSQL variant of `store_db`) or
`redis` must run: a skip (TEST_DATABASE_URL or TEST_REDIS_URL missing, say) is reported as a failure, so CI never
passes on SQLite and memory alone.
"""
from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    needs = [m.name for m in item.iter_markers() if m.name in ("postgres", "redis")]
    if report.skipped and _in_ci() and needs:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} needs {needs[0]} but was skipped in CI: {reason}"
