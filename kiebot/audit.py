"""The security audit behind `kiebot check` (and the refusal of `kiebot run`): one finding per check.

The checks are plain functions of plain values; `gather` reads what they need (the settings, the `.env` file's
mode, git's view of the working directory). A finding never carries a secret's value: at most its length.
Failures stop the bot; warnings are told and the bot starts.
"""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from kiebot.config import Settings

# Telegram's bot token: the bot's numeric id, a colon, then 35 characters of A-Z a-z 0-9 _ -.
TOKEN_FORM = re.compile(r"\d+:[A-Za-z0-9_-]{35}")
# The same shape inside any text (the boundaries keep a longer run of such characters from matching).
TOKEN_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])\d{5,}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")
MIN_KIE_KEY = 16
# A configured value shorter than this is not searched for in files: it would match by chance.
MIN_SEARCHED = 8
MAX_SCANNED_BYTES = 2_000_000
# A line carrying this marker may hold a made-up token (the convention of detect-secrets).
ALLOW_MARKER = "pragma: allowlist secret"

MISSING_HELP = {
    "BOT_TOKEN": "the Telegram bot token: talk to @BotFather in Telegram, send /newbot and copy the token it gives",
    "KIE_API_KEY": "the KIE.ai API key: sign in at https://kie.ai, open the API Key page and create a key",
}


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    text: str

    def line(self) -> str:
        return f"{self.level.value:<5}{self.check}: {self.text}"


@dataclass(frozen=True)
class EnvFile:
    """What is known of `.env`: whether it exists, its permission bits, and whether git ignores it (None: the
    directory is not a git checkout)."""

    exists: bool
    mode: int = 0
    git_ignored: bool | None = None


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    what: str  # "the configured BOT_TOKEN", "a bot token"...


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.FAIL)

    @property
    def ok(self) -> bool:
        return not self.failed

    def text(self) -> str:
        lines = [f.line() for f in self.findings]
        fails = len(self.failed)
        warns = sum(f.level is Level.WARN for f in self.findings)
        lines.append(f"{fails} failure(s), {warns} warning(s)")
        return "\n".join(lines)


def _secret(value: object) -> str:
    """The plain text of a SecretStr / str setting ('' when unset)."""
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return (getter() if getter else str(value)).strip()


# --- the checks (pure) ----------------------------------------------------------------------------------


def check_required(settings: Settings) -> list[Finding]:
    missing = [name for name in settings.missing_secrets() if name in MISSING_HELP]  # the webhook's: check_webhook
    if not missing:
        return [Finding(Level.OK, "required settings", "BOT_TOKEN and KIE_API_KEY are set")]
    return [Finding(Level.FAIL, name, f"missing: {MISSING_HELP[name]}; put {name}=<your value> in .env "
                    "(copy .env.example) or export it") for name in missing]


def check_token(token: str) -> list[Finding]:
    if not token:
        return []
    if TOKEN_FORM.fullmatch(token):
        return [Finding(Level.OK, "BOT_TOKEN", f"has Telegram's form ({len(token)} characters)")]
    return [Finding(Level.FAIL, "BOT_TOKEN", f"is not of Telegram's form <digits>:<35 characters of A-Z a-z 0-9 _ -> "
                    f"(it has {len(token)} characters); copy it again from @BotFather")]


def check_kie_key(key: str, raw: str) -> list[Finding]:
    """`raw`: the key as configured (whitespace included), `key`: stripped."""
    if not key:
        return []
    if any(ch.isspace() for ch in raw):
        return [Finding(Level.FAIL, "KIE_API_KEY", "contains whitespace; copy it again from the KIE API Key page")]
    if len(key) < MIN_KIE_KEY:
        return [Finding(Level.FAIL, "KIE_API_KEY", f"is {len(key)} characters long, shorter than {MIN_KIE_KEY}; "
                        "copy the whole key from the KIE API Key page")]
    return [Finding(Level.OK, "KIE_API_KEY", f"looks like a key ({len(key)} characters)")]


def check_webhook(webhook_url: str, webhook_secret: str) -> list[Finding]:
    if not webhook_url:
        return [Finding(Level.OK, "webhook", "not used (long polling)")]
    if not webhook_secret:
        return [Finding(Level.FAIL, "WEBHOOK_SECRET", "WEBHOOK_URL is set but WEBHOOK_SECRET is not: anyone could "
                        "post updates to the bot; set WEBHOOK_SECRET to a long random string")]
    return [Finding(Level.OK, "webhook", f"WEBHOOK_SECRET is set ({len(webhook_secret)} characters)")]


def check_env_file(env: EnvFile) -> list[Finding]:
    if not env.exists:
        return [Finding(Level.WARN, ".env", "no .env file: settings come from the environment only")]
    found = []
    if env.mode & 0o077:
        found.append(Finding(Level.FAIL, ".env", f"other users can read or change it (mode {env.mode & 0o777:o}); "
                             "run: chmod 600 .env"))
    if env.git_ignored is False:
        found.append(Finding(Level.FAIL, ".env", "git does not ignore it, so it could be committed; "
                             "add .env to .gitignore"))
    if not found:
        ignored = "" if env.git_ignored is None else ", ignored by git"
        found.append(Finding(Level.OK, ".env", f"readable by its owner only{ignored}"))
    return found


def check_leaks(leaks: Iterable[Leak] | None) -> list[Finding]:
    """`leaks` None: the directory is not a git checkout, nothing to scan."""
    if leaks is None:
        return [Finding(Level.OK, "tracked files", "not a git checkout: skipped")]
    found = [Finding(Level.FAIL, "tracked files", f"{leak.path}:{leak.line} holds {leak.what}; remove it, rewrite "
                     "the history if it was pushed, and revoke the secret") for leak in leaks]
    return found or [Finding(Level.OK, "tracked files", "no secret found in the files git tracks")]


def check_admins(admin_ids: list[int]) -> list[Finding]:
    if not admin_ids:
        return [Finding(Level.WARN, "ADMIN_IDS", "empty: nobody gets operator alerts or can use /grant and /stats")]
    return [Finding(Level.OK, "ADMIN_IDS", f"{len(admin_ids)} admin(s)")]


def check_callbacks(public_url: str, hmac_key: str) -> list[Finding]:
    if public_url and not hmac_key:
        return [Finding(Level.WARN, "KIE_WEBHOOK_HMAC_KEY", "PUBLIC_URL is set without it: KIE callbacks are not "
                        "verified (they are only hints, but set the key from the KIE dashboard)")]
    return []


def find_leaks(files: Iterable[tuple[str, str]], secrets: dict[str, str]) -> list[Leak]:
    """Secrets in `files` ((path, text) pairs): the configured values (`secrets`: name → value) anywhere, and
    token-shaped strings outside test code (whose fixtures are made-up tokens) and lines marked ALLOW_MARKER."""
    searched = {name: value for name, value in secrets.items() if len(value) >= MIN_SEARCHED}
    leaks = []
    for path, text in files:
        shapes = not _is_test_path(path)
        for number, line in enumerate(text.splitlines(), 1):
            named = [name for name, value in searched.items() if value in line]
            leaks += [Leak(path, number, f"the configured {name}") for name in named]
            if not named and shapes and ALLOW_MARKER not in line and TOKEN_IN_TEXT.search(line):
                leaks.append(Leak(path, number, "a bot token"))
    return leaks


def _is_test_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return any(part in ("tests", "test") for part in parts[:-1]) or parts[-1].startswith("test_")


def audit(settings: Settings, env: EnvFile, leaks: Iterable[Leak] | None) -> Report:
    token = _secret(settings.bot_token)
    raw_key = settings.kie_api_key.get_secret_value() if settings.kie_api_key else ""
    findings = [
        *check_required(settings),
        *check_token(token),
        *check_kie_key(raw_key.strip(), raw_key),
        *check_webhook(_secret(settings.webhook_url), _secret(settings.webhook_secret)),
        *check_env_file(env),
        *check_leaks(leaks),
        *check_admins(settings.admin_ids),
        *check_callbacks(_secret(settings.public_url), _secret(settings.kie_webhook_hmac_key)),
    ]
    return Report(tuple(findings))


# --- what the checks read (I/O) -------------------------------------------------------------------------


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def is_git_checkout(directory: Path) -> bool:
    done = _git(directory, "rev-parse", "--is-inside-work-tree")
    return done is not None and done.returncode == 0 and done.stdout.strip() == b"true"


def env_file(directory: Path, in_git: bool) -> EnvFile:
    path = directory / ".env"
    if not path.is_file():
        return EnvFile(exists=False)
    ignored = None
    if in_git:
        done = _git(directory, "check-ignore", "-q", ".env")
        ignored = None if done is None or done.returncode > 1 else done.returncode == 0
    return EnvFile(True, path.stat().st_mode, ignored)


def tracked_files(directory: Path) -> Iterable[tuple[str, str]]:
    """(path, text) of every file git tracks here (binary and very large files skipped)."""
    done = _git(directory, "ls-files", "-z")
    if done is None or done.returncode != 0:
        return
    for name in done.stdout.decode("utf-8", "replace").split("\0"):
        path = directory / name
        if not name or not path.is_file() or path.stat().st_size > MAX_SCANNED_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" not in data:
            yield name, data.decode("utf-8", "replace")


def gather(settings: Settings, directory: Path) -> Report:
    """Run every check on `settings` and the working directory `directory`."""
    in_git = is_git_checkout(directory)
    leaks = None
    if in_git:
        secrets = {"BOT_TOKEN": _secret(settings.bot_token), "KIE_API_KEY": _secret(settings.kie_api_key),
                   "WEBHOOK_SECRET": _secret(settings.webhook_secret),
                   "KIE_WEBHOOK_HMAC_KEY": _secret(settings.kie_webhook_hmac_key)}
        leaks = find_leaks(tracked_files(directory), secrets)
    return audit(settings, env_file(directory, in_git), leaks)
