"""Suite-wide hooks.

In CI (env `CI` set, as `.ci/run` does) a test marked `postgres` — e.g. the PostgreSQL variant of `store_db` — must
run: a skip (TEST_DATABASE_URL missing, say) is reported as a failure, so CI never passes on SQLite alone.
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
    if report.skipped and _in_ci() and item.get_closest_marker("postgres") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} needs PostgreSQL but was skipped in CI: {reason}"
