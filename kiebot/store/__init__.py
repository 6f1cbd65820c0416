"""Persistence: engine and migrations, the wallet ledger, users, the job repository, aiogram FSM storage."""
from kiebot.store import jobs, users, wallet
from kiebot.store.db import create_engine, dialect_insert, migrate, session_factory
from kiebot.store.fsm import SqlStorage
from kiebot.store.jobs import NotEnoughBalance
from kiebot.store.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Base,
    ChatThrottle,
    FsmRecord,
    Job,
    JobState,
    LedgerEntry,
    LedgerKind,
    User,
)
from kiebot.store.users import get_or_create_user, set_language
from kiebot.store.wallet import LedgerError, get_balance

__all__ = [
    "ACTIVE_STATES",
    "OPEN_STATES",
    "Base",
    "ChatThrottle",
    "FsmRecord",
    "Job",
    "JobState",
    "LedgerEntry",
    "LedgerError",
    "LedgerKind",
    "NotEnoughBalance",
    "SqlStorage",
    "User",
    "create_engine",
    "dialect_insert",
    "get_balance",
    "get_or_create_user",
    "jobs",
    "migrate",
    "session_factory",
    "set_language",
    "users",
    "wallet",
]
