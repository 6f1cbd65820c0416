"""`kiebot check`: every failing case and every warning, through the checks and through the command itself."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiebot.audit import EnvFile, Level, audit, find_leaks
from kiebot.config import Settings

TOKEN = "123456789:AAEaaaaBBBBccccDDDDeeeeFFFFgggg_-00"  # pragma: allowlist secret
KEY = "kie-key-0123456789abcdef"
SAFE_ENV = EnvFile(exists=True, mode=0o100600, git_ignored=True)


def settings(**values: object) -> Settings:
    base: dict[str, object] = {"bot_token": TOKEN, "kie_api_key": KEY, "admin_ids": [1]}
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[arg-type]


def levels(report) -> dict[str, list[Level]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[Level]] = {}
    for finding in report.findings:
        found.setdefault(finding.check, []).append(finding.level)
    return found


def test_a_sound_setup_passes_without_warnings() -> None:
    report = audit(settings(), SAFE_ENV, leaks=[])
    assert report.ok and all(f.level is Level.OK for f in report.findings), report.text()
    assert TOKEN not in report.text() and KEY not in report.text()


@pytest.mark.parametrize("missing", ["bot_token", "kie_api_key"])
def test_a_missing_required_setting_fails(missing: str) -> None:
    report = audit(settings(**{missing: None}), SAFE_ENV, leaks=[])
    assert not report.ok
    assert [f.check for f in report.failed] == [missing.upper()]


@pytest.mark.parametrize("token", [
    "123456789:short",
    "123456789:AAEaaaaBBBBccccDDDDeeeeFFFFgggg_-000",  # 36 characters
    "bot123:AAEaaaaBBBBccccDDDDeeeeFFFFgggg_-00",
    "123456789:AAEaaaaBBBBccccDDDDeeeeFFFFgggg+-00",  # a character Telegram never uses
])
def test_a_token_not_of_telegrams_form_fails_without_showing_it(token: str) -> None:
    report = audit(settings(bot_token=token), SAFE_ENV, leaks=[])
    assert [f.check for f in report.failed] == ["BOT_TOKEN"]
    assert token not in report.text() and f"{len(token)} characters" in report.text()


@pytest.mark.parametrize("key,why", [("short-key-15chr", "shorter than 16"), ("kie key 0123456789abc", "whitespace"),
                                     ("kie-key-0123456789abc\t", "whitespace")])
def test_a_short_or_spaced_kie_key_fails(key: str, why: str) -> None:
    report = audit(settings(kie_api_key=key), SAFE_ENV, leaks=[])
    assert [f.check for f in report.failed] == ["KIE_API_KEY"] and why in report.failed[0].text
    assert key.strip() not in report.text()


def test_webhook_mode_without_a_secret_fails() -> None:
    report = audit(settings(webhook_url="https://bot.example.com/tg"), SAFE_ENV, leaks=[])
    assert [f.check for f in report.failed] == ["WEBHOOK_SECRET"]
    assert audit(settings(webhook_url="https://bot.example.com/tg", webhook_secret="s" * 32), SAFE_ENV, []).ok


def test_an_env_file_others_can_read_fails() -> None:
    report = audit(settings(), EnvFile(exists=True, mode=0o100644, git_ignored=True), leaks=[])
    assert [f.check for f in report.failed] == [".env"] and "chmod 600 .env" in report.failed[0].text


def test_an_env_file_git_does_not_ignore_fails() -> None:
    report = audit(settings(), EnvFile(exists=True, mode=0o100600, git_ignored=False), leaks=[])
    assert [f.check for f in report.failed] == [".env"] and ".gitignore" in report.failed[0].text


def test_warnings_no_env_file_no_admins_callbacks_unsigned() -> None:
    report = audit(settings(admin_ids=[], public_url="https://bot.example.com"), EnvFile(exists=False), leaks=None)
    assert report.ok
    warned = {f.check for f in report.findings if f.level is Level.WARN}
    assert warned == {".env", "ADMIN_IDS", "KIE_WEBHOOK_HMAC_KEY"}
    assert "0 failure(s), 3 warning(s)" in report.text()


def test_leaks_are_the_configured_values_and_token_shapes_outside_tests() -> None:
    files = [
        ("deploy/notes.md", f"token is {TOKEN}\n"),
        ("scripts/run.sh", f"export KIE_API_KEY={KEY}\n"),
        ("docs/other.md", "an unrelated 987654321:ZZZaaaaBBBBccccDDDDeeeeFFFFgggg_-00 token\n"),
        ("tests/unit/test_x.py", "FAKE = '555555:AAAaaaaBBBBccccDDDDeeeeFFFFgggg_-00'\n"),  # a test fixture
        ("README.md", "nothing here\n"),
    ]
    leaks = find_leaks(files, {"BOT_TOKEN": TOKEN, "KIE_API_KEY": KEY})
    assert [(leak.path, leak.line, leak.what) for leak in leaks] == [
        ("deploy/notes.md", 1, "the configured BOT_TOKEN"),
        ("scripts/run.sh", 1, "the configured KIE_API_KEY"),
        ("docs/other.md", 1, "a bot token"),
    ]
    report = audit(settings(), SAFE_ENV, leaks)
    assert len(report.failed) == 3 and TOKEN not in report.text() and KEY not in report.text()


# --- the command, in a real git checkout -----------------------------------------------------------------

def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def _check(cwd: Path, **env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "KIE_API_KEY", "ADMIN_IDS")}
    done = subprocess.run([sys.executable, "-m", "kiebot", "check"], cwd=cwd, capture_output=True, text=True,
                          env={**clean, **env}, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_the_command_in_a_checkout(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text(".env\n")
    env_file = tmp_path / ".env"
    env_file.write_text(f"BOT_TOKEN={TOKEN}\nKIE_API_KEY={KEY}\nADMIN_IDS=1\n")
    env_file.chmod(0o600)
    (tmp_path / "app.txt").write_text("hello\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "start")
    code, out = _check(tmp_path)
    assert code == 0, out
    assert "0 failure(s), 0 warning(s)" in out

    (tmp_path / "app.txt").write_text(f"key={KEY}\n")  # a secret in a tracked file (not even committed)
    env_file.chmod(0o644)
    code, out = _check(tmp_path)
    assert code == 2
    assert "fail tracked files: app.txt:1 holds the configured KIE_API_KEY" in out
    assert "fail .env: other users can read or change it (mode 644)" in out
    assert KEY not in out and TOKEN not in out


def test_the_command_outside_git_and_run_refuses(tmp_path: Path) -> None:
    code, out = _check(tmp_path, BOT_TOKEN=TOKEN, KIE_API_KEY="short")
    assert code == 2
    assert "ok   tracked files: not a git checkout: skipped" in out and "warn .env: no .env file" in out
    assert "fail KIE_API_KEY: is 5 characters long" in out
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "KIE_API_KEY")}
    done = subprocess.run([sys.executable, "-m", "kiebot", "run"], cwd=tmp_path, capture_output=True, text=True,
                          env={**clean, "BOT_TOKEN": TOKEN, "KIE_API_KEY": "short"}, timeout=120)
    assert done.returncode == 2
    assert "kiebot will not start: the security audit failed" in done.stderr
    assert "fail KIE_API_KEY: is 5 characters long" in done.stderr


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused_at_start(url: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="keeps nothing across a restart"):
        settings(database_url=url)
    assert settings(database_url="sqlite+aiosqlite:///data/kiebot.db").database_url.endswith("kiebot.db")
