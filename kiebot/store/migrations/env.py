"""Alembic environment: async engine, batch mode on SQLite, URL from the caller (never hard-coded here)."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text

from kiebot.store.db import create_engine
from kiebot.store.models import Base

config = context.config
target_metadata = Base.metadata
# Two `kiebot migrate` at once on PostgreSQL (two replicas' start scripts, say): the second waits for this lock, then
# finds the schema at head and does nothing.
MIGRATE_LOCK = 0x6B69656D  # "kiem"


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    from kiebot.config import (
        Settings,  # the `alembic` command line: DATABASE_URL from the environment / .env
    )

    return Settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_on_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_on_connection)
            await conn.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by kiebot.store.db.migrate(engine)
        _run_on_connection(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
