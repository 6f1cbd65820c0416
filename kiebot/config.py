"""All settings in one place, read from the environment or `.env`.

Every outside URL is a setting so that tests, the emulator and self-hosted
servers can stand in for the real services.
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/kiebot.db"
DEFAULT_STARS_PACKAGES = ((50, 100), (100, 220), (250, 600), (500, 1300))
# Paths the bot's web server serves itself; the webhook path must be another one.
RESERVED_PATHS = ("/kie/callback", "/health", "/healthz", "/metrics")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    kie_api_key: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    kie_api_base: str = "https://api.kie.ai"
    kie_upload_base: str = "https://kieai.redpandaai.co"
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_language: str = "ru"
    welcome_bonus: int = Field(default=100, ge=0)
    price_markup: Decimal = Field(default=Decimal("2"), gt=0)
    max_active_per_user: int = Field(default=3, ge=1)

    catalog_path: Path | None = None
    # Public https base of this deployment; KIE callbacks go to <public_url>/kie/callback?job=<id>.
    public_url: str | None = None
    # Where the bot's own web server (KIE callbacks, /health) listens; PUBLIC_URL must lead here.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # The key set in KIE's dashboard for signed callbacks; when set, a callback with a bad signature gets 401.
    kie_webhook_hmac_key: SecretStr | None = None
    # Sent as callBackUrl to the KIE APIs that require one (Suno) when PUBLIC_URL is not set: the bot polls instead.
    kie_placeholder_callback_url: str = "https://example.com/kie/callback"
    # Webhook mode: the full https URL Telegram calls (a reverse proxy forwards it to WEB_HOST:WEB_PORT, same path).
    # Unset: the bot polls Telegram (one process per bot token only).
    webhook_url: str | None = None
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token on every webhook call; a call without it gets 401.
    webhook_secret: SecretStr | None = None
    # How long an update id is remembered, so an update Telegram delivers again is handled once (Telegram keeps an
    # undelivered update for 24 h).
    webhook_dedup_seconds: float = Field(default=86400.0, gt=0)
    # A worker's hold on a job; renewed every fifth of it while a step runs. After a crash the jobs are taken up
    # again within this time (plus WORKER_INTERVAL).
    job_lease_seconds: float = Field(default=25.0, gt=0)
    # Divides every KIE polling interval: tests and dry runs against the emulator go faster.
    kie_poll_speedup: float = Field(default=1.0, gt=0)
    # How often the job worker looks for work, in seconds.
    worker_interval: float = Field(default=1.0, gt=0)
    # The least time between two edits of one chat's status messages (Telegram allows ~1 msg/s per chat).
    status_edit_interval: float = Field(default=3.0, ge=0)
    # An uploaded KIE file is re-uploaded after this many hours (KIE keeps uploads 1-3 days).
    upload_ttl_hours: float = Field(default=20.0, gt=0)
    # Outgoing Telegram pace (PLATFORM.md): messages per second overall, and per chat with a short burst.
    telegram_global_rate: float = Field(default=25.0, gt=0)
    telegram_chat_rate: float = Field(default=1.0, gt=0)
    telegram_chat_burst: int = Field(default=3, ge=1)
    # KIE's account limits (API.md): about 20 createTask per 10 s and 10 status requests per second.
    kie_create_per_10s: int = Field(default=20, ge=1)
    kie_polls_per_second: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    # "json": one JSON object per line (for log collectors); "text": readable lines.
    log_format: Literal["text", "json"] = "text"
    # Redis, shared by replicas: the cache (and, with the replicas issue, the limiters). Unset: in memory.
    redis_url: str | None = None

    # Telegram Stars top-up packages: (Stars, 💎) pairs, written `50:100,100:220` (sorted by Stars).
    stars_packages: Annotated[tuple[tuple[int, int], ...], NoDecode] = DEFAULT_STARS_PACKAGES
    # A low-balance notice is sent once each time the balance falls below this; None: the cheapest model's price.
    low_balance_threshold: int | None = Field(default=None, ge=0)
    # Free generations per user per UTC day, for the KIE model ids in FREE_MODELS (comma-separated).
    free_daily: int = Field(default=1, ge=0)
    free_models: Annotated[tuple[str, ...], NoDecode] = ()
    # 💎 to both the invited user and the one who invited them, on the invited user's first payment.
    referral_bonus: int = Field(default=50, ge=0)
    # Admins are alerted once when the KIE account's credits fall below this (checked on every read and periodically).
    kie_credits_alert: Decimal = Field(default=Decimal("100"), ge=0)
    # `kiebot cleanup` (and the bot, daily): KIE's raw answers of jobs settled longer ago than this are dropped,
    # and drafts (half-filled forms) untouched for DRAFT_DAYS are deleted.
    retention_days: int = Field(default=30, ge=1)
    draft_days: int = Field(default=7, ge=1)
    # How often Telegram's Star transactions are compared with the ledger (also once at start-up), in seconds.
    reconcile_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("bot_token", "kie_api_key", "catalog_path", "public_url", "redis_url", "low_balance_threshold", "kie_webhook_hmac_key", "webhook_url", "webhook_secret",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`NAME=` in .env (as in .env.example) means "not set"."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("stars_packages", mode="before")
    @classmethod
    def _parse_packages(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = []
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            stars, sep, credits = part.partition(":")
            if not sep or not stars.isdigit() or not credits.isdigit():
                raise ValueError(f"STARS_PACKAGES: {part!r} is not STARS:AMOUNT")
            pairs.append((int(stars), int(credits)))
        return tuple(pairs)

    @field_validator("stars_packages")
    @classmethod
    def _valid_packages(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if not value:
            raise ValueError("STARS_PACKAGES needs at least one package")
        if any(stars <= 0 or credits <= 0 for stars, credits in value):
            raise ValueError("STARS_PACKAGES: Stars and amounts must be positive")
        if len({stars for stars, _ in value}) != len(value):
            raise ValueError("STARS_PACKAGES: two packages with the same number of Stars")
        return tuple(sorted(value))

    @field_validator("free_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        value = value.lower()
        if value not in ("ru", "en"):
            raise ValueError("DEFAULT_LANGUAGE must be 'ru' or 'en'")
        return value

    @field_validator("database_url")
    @classmethod
    def _lasting_database(cls, value: str) -> str:
        # Balances and paid results must survive a restart; the FSM table also needs a database its own connections
        # share with the application's (an in-memory SQLite database is one per connection).
        if value.startswith("sqlite") and (":memory:" in value or value.rstrip("/").endswith(":")):
            raise ValueError("an in-memory SQLite database keeps nothing across a restart: give a file, "
                             "e.g. sqlite+aiosqlite:///data/kiebot.db")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("WEBHOOK_URL must be a full URL, e.g. https://bot.example.com/telegram/webhook")
        if (parts.path or "/") in RESERVED_PATHS:
            raise ValueError(f"WEBHOOK_URL's path {parts.path} is one the bot serves itself; choose another")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @field_validator("telegram_api_base", "kie_api_base", "kie_upload_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def missing_secrets(self) -> list[str]:
        """Names of the settings `kiebot run` cannot start without."""
        missing = []
        if not self.bot_token or not self.bot_token.get_secret_value().strip():
            missing.append("BOT_TOKEN")
        if not self.kie_api_key or not self.kie_api_key.get_secret_value().strip():
            missing.append("KIE_API_KEY")
        if self.webhook_url and not self.webhook_secret:
            missing.append("WEBHOOK_SECRET")
        return missing

    @property
    def webhook_path(self) -> str | None:
        """The path of WEBHOOK_URL, which the bot's web server serves (None: polling)."""
        return (urlsplit(self.webhook_url).path or "/") if self.webhook_url else None

    @property
    def callback_url(self) -> str | None:
        return f"{self.public_url.rstrip('/')}/kie/callback" if self.public_url else None

    def callback_url_for(self, job_id: int) -> str | None:
        """The callBackUrl of a job's KIE task: it names the job, so even a task whose id we never learned
        (a crash right after createTask) finds its job."""
        return f"{self.callback_url}?job={job_id}" if self.callback_url else None
