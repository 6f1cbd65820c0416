"""The deployment files as far as they can be checked without a Docker engine: the compose file parses, names the
services the README promises, starts the bot only after a successful migration, and passes kiebot only settings it
reads; the Dockerfile runs `kiebot run` as a non-root user with the pinned dependencies."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kiebot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name.upper() for name in Settings.model_fields}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_bot_postgres_redis_and_a_one_shot_migration() -> None:
    services = compose()["services"]
    assert set(services) == {"bot", "migrate", "postgres", "redis"}
    assert services["migrate"]["command"] == ["kiebot", "migrate"]
    assert services["migrate"]["restart"] == "no"
    bot = services["bot"]
    assert bot["command"] == ["kiebot", "run"]
    assert bot["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert bot["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert bot["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert bot["deploy"]["replicas"] == 2
    for name in ("bot", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_gives_kiebot_only_settings_it_reads_and_secrets_from_env_file() -> None:
    services = compose()["services"]
    for name in ("bot", "migrate"):
        service = services[name]
        assert service["env_file"] == ".env"
        unknown = set(service["environment"]) - SETTINGS
        assert not unknown, f"{name} sets {unknown}, which kiebot does not read"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "${POSTGRES_PASSWORD" in service["environment"]["DATABASE_URL"]  # never a password in the file
    bot = services["bot"]["environment"]
    assert bot["REDIS_URL"].startswith("redis://redis:")
    assert bot["WEB_HOST"] == "0.0.0.0"
    assert f":{bot['WEB_PORT']}/" in str(services["bot"]["healthcheck"]["test"])


def test_dockerfile_runs_kiebot_as_a_non_root_user_with_pinned_dependencies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "--constraint constraints.txt" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^CMD \["kiebot", "run"\]$', dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored  # secrets and history never reach the image
