"""The `kiebot` command line: run | migrate | check | cleanup | catalog | emulate-kie."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from kiebot.config import Settings
from kiebot.logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiebot", description="Telegram bot for KIE.ai generation models")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the bot (long polling) and the job worker")
    sub.add_parser("migrate", help="create or upgrade the database")
    sub.add_parser("check", help="audit the settings and the working directory (ok / warn / fail per line)")
    sub.add_parser("cleanup", help="delete stale drafts and transient rows, and old raw KIE answers")
    catalog = sub.add_parser("catalog", help="list the models offered: KIE id, name, price range")
    catalog.add_argument("--excluded", action="store_true", help="list the models not offered, with the reason")
    catalog.add_argument("--lang", default="en", choices=("en", "ru"))
    emulator = sub.add_parser("emulate-kie", help="serve the KIE emulator for a dry run without spending credits")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"kiebot: the settings in the environment or .env are not valid:\n{exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    handler = {"run": _run, "migrate": _migrate, "check": _check, "cleanup": _cleanup,
               "catalog": _catalog, "emulate-kie": _emulate}
    return handler[args.command](settings, args)


def _check(settings: Settings, _: argparse.Namespace) -> int:
    from kiebot.audit import gather

    report = gather(settings, Path.cwd())
    print(report.text())
    return 0 if report.ok else 2


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from kiebot.audit import gather

    report = gather(settings, Path.cwd())
    if not report.ok:
        lines = ["kiebot will not start: the security audit failed (`kiebot check` shows the whole report):"]
        lines += [f"  {finding.line()}" for finding in report.failed]
        lines.append("To try the bot without spending KIE credits, run `kiebot emulate-kie` and set KIE_API_BASE and "
                     "KIE_UPLOAD_BASE to http://127.0.0.1:8090 (any KIE_API_KEY of 16 characters or more works).")
        print("\n".join(lines), file=sys.stderr)
        return 2
    from kiebot.app import run_bot

    asyncio.run(run_bot(settings))
    return 0


def _cleanup(settings: Settings, _: argparse.Namespace) -> int:
    from kiebot.services.upkeep import cleanup_once

    report = asyncio.run(cleanup_once(settings))
    print(report.text())
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from kiebot.store import db

    asyncio.run(db.migrate(settings.database_url))
    print("kiebot: the database is up to date.")
    return 0


def _catalog(settings: Settings, args: argparse.Namespace) -> int:
    from kiebot.app import load_catalog
    from kiebot.catalog import CatalogError, pricing

    try:
        catalog = load_catalog(settings)
    except CatalogError as exc:
        print(f"kiebot: the catalogue override is not valid: {exc}", file=sys.stderr)
        return 2
    if args.excluded:
        for model_id, reason in catalog.excluded:
            print(f"{model_id}\t{reason}")
        print(f"{len(catalog.excluded)} models not offered", file=sys.stderr)
        return 0
    for model in catalog.models:
        low, high = pricing.price_range(model, settings.price_markup)
        price = str(low) if low == high else f"{low}-{high}"
        print(f"{model.id}\t{model.name(args.lang)}\t{price}")
    print(f"{len(catalog.models)} models offered (prices in bot units, PRICE_MARKUP={settings.price_markup})",
          file=sys.stderr)
    return 0


def _emulate(settings: Settings, args: argparse.Namespace) -> int:
    from kiebot.kie.emulator import run_emulator

    print(f"KIE emulator on http://{args.host}:{args.port} — set KIE_API_BASE and KIE_UPLOAD_BASE to it.")
    run_emulator(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
