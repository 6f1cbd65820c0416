"""Fixtures every engine test module shares: the store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) and an
engine over a scripted KIE, a recording notifier and a fake clock (`parts`)."""
from __future__ import annotations

import pytest

from tests.engine.kit import Clock, RecordingNotifier, ScriptedKie, make_engine
from tests.store_fixtures import db_session, db_sessionmaker, store_db  # noqa: F401


@pytest.fixture
def parts(db_sessionmaker):  # noqa: F811
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    return make_engine(db_sessionmaker, kie, notifier, clock), kie, notifier, clock
