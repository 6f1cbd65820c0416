"""Every benchmark in one table: figure | value | baseline or limit from the same run | target.

Run from the repository root:  .venv/bin/python bench/summary.py [--only journeys,wizard_steps,engine_load]

Runs `bench/journeys.py`, `bench/wizard_steps.py` and `bench/engine_load.py` one after another, each with `--json`
(`wizard_steps.py` also with `--process`: each bot in its own process; their own reports go to this script's stderr), reads the JSON line each prints last, and prints one Markdown table
on stdout. A script that fails or prints no JSON gets a row saying so. Options after `--` go to every script
(e.g. `-- --deadline 120`); nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str]
SCRIPTS = ("journeys", "wizard_steps", "engine_load")
# Each bot measured from outside, in its own process (the in-process mode shares one core and GIL with the users).
OWN_OPTIONS = {"wizard_steps": ["--process"]}


def run(script: str, extra: list[str]) -> dict[str, Any] | str:
    """The script's JSON results, or why there are none."""
    command = [sys.executable, str(ROOT / "bench" / f"{script}.py"), "--json", *OWN_OPTIONS.get(script, []), *extra]
    print(f"== {' '.join(command[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True, check=False)
    sys.stderr.write(done.stdout)  # its own report, for whoever reads the whole run
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return f"no JSON (exit status {done.returncode})"


def _ms(seconds: Any) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def journeys_rows(r: dict[str, Any]) -> list[Row]:
    base, bot = r.get("baseline") or {}, r["kiebot"]
    return [
        (f"journeys ({r['users']} users, limits on): completed / failed", f"{bot['completed']} / {bot['failed']}",
         f"echo bot {base.get('completed')} / {base.get('failed')}", ""),
        ("  updates handled per second", str(bot["updates_per_s"]), f"echo bot {base.get('updates_per_s')}", ""),
        ("  ✅ Confirm → result p50 / p95", f"{bot['confirm_to_result_s']['p50']} / "
                                           f"{bot['confirm_to_result_s']['p95']} s", "", ""),
    ]


def wizard_rows(r: dict[str, Any]) -> list[Row]:
    echo = r["echo"]
    rows: list[Row] = []
    where = "each bot in its own process" if r.get("mode") == "process" else "bots and users in one process"
    for bot in r["kiebot"]:
        db = "SQLite" if bot["database"].startswith("sqlite") else "PostgreSQL"
        sat, fixed = bot["saturation"], bot["fixed"]
        ratio = sat["per_s"] / echo["saturation"]["per_s"] if sat["per_s"] and echo["saturation"]["per_s"] else None
        rows += [
            (f"wizard step rate, {db} (limits off; {where})", f"{sat['per_s']}/s ({ratio:.3f}× echo)" if ratio else "–",
             f"echo bot {echo['saturation']['per_s']}/s", "≥ 0.40× echo"),
            (f"wizard step p99 at {r['args']['rate']:g}/s from {r['args']['load_users']} users, {db}",
             _ms(fixed["reaction_s"]["p99"]), f"echo bot {_ms(echo['fixed']['reaction_s']['p99'])}", "< 50 ms"),
        ]
    return rows


def engine_rows(r: dict[str, Any]) -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from bench.engine_load import report

    return report(r)


BUILDERS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "journeys": journeys_rows, "wizard_steps": wizard_rows, "engine_load": engine_rows}


def table(results: dict[str, dict[str, Any] | str]) -> list[Row]:
    rows: list[Row] = []
    for script, result in results.items():
        if isinstance(result, str):
            rows.append((f"bench/{script}.py", result, "", ""))
            continue
        try:
            rows += BUILDERS[script](result)
        except (KeyError, TypeError, ZeroDivisionError) as exc:  # a script changed its JSON: say so, keep the rest
            rows.append((f"bench/{script}.py", f"unreadable JSON ({type(exc).__name__}: {exc})", "", ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(SCRIPTS), help="comma-separated scripts to run")
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown scripts: {sorted(unknown)}")
    results = {script: run(script, extra) for script in chosen}
    print("| figure | value | baseline / limit (same run) | target |")
    print("|---|---|---|---|")
    for row in table(results):
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
