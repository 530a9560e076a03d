"""The service under `loadgen`'s realistic traffic: the server as `make run` starts it
(`python -m graphql_service serve`, default keyspace, one worker) on a spare port, `loadgen`
at each concurrency (batches of 1-10 events, 10 % of sessions end first, 5 % of events sent
twice, 1,000 players), every report kept as JSON, and one Markdown row per run for
BENCHMARKS.md. (bench/run_all.py is the ingest benchmark under wrk, beside the baseline.)

    .venv/bin/python bench/loadgen.py [--duration 30] [--concurrency 4,16] [-- LOADGEN FLAGS]
    .venv/bin/python bench/loadgen.py --rows .run/bench/loadgen-*.json    # the rows again

Extra loadgen flags follow `--`, e.g. `-- --rest-reads 0.1`. Reports go to OUT_DIR
(.run/bench). Needs the local node (`make cassandra`) or CASSANDRA_CONTACT_POINTS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql_service.tools.readiness import free_port, running

ROOT = Path(__file__).resolve().parent.parent


def row(result: dict[str, Any]) -> str:
    """One `loadgen --json` report as a BENCHMARKS.md row."""
    options = result["options"]
    mode = f"rate {options['rate']:g}/s" if options["rate"] else f"concurrency {options['concurrency']}"
    writes = result["endpoints"].get("POST /events", {})
    errors = ", ".join(f"{k}: {v}" for k, v in result["errors"].items()) or "none"
    return (
        f"| loadgen | {mode} | {result['elapsed_seconds']:.1f} s | {result['events_per_second']:,.0f} events/s, "
        f"{result['requests_per_second']:,.0f} req/s | POST /events p50 {writes.get('p50_ms')} / "
        f"p95 {writes.get('p95_ms')} / p99 {writes.get('p99_ms')} ms | errors {errors} |"
    )


def run(duration: int, concurrencies: list[int], extra: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    python = [sys.executable, "-m", "graphql_service"]
    subprocess.run([*python, "migrate"], cwd=ROOT, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = out / f"server-{port}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*python, "serve"], cwd=ROOT, env={**os.environ, "PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT
        )
    reports = []
    with running(server, url, log_path, timeout=120):
        for concurrency in concurrencies:
            report = out / f"loadgen-c{concurrency}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
            command = [*python, "loadgen", "--url", url, "--duration", str(duration)]
            command += ["--concurrency", str(concurrency), "--seed", "1", *extra, "--json", "--no-progress"]
            with open(report, "w") as stdout:
                # Exit 1 only says some request was not answered 200: the report counts them.
                subprocess.run(command, cwd=ROOT, stdout=stdout, check=False)
            reports.append(report)
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=30, help="seconds per run (default %(default)s)")
    parser.add_argument("--concurrency", default="4,16", help="clients per run, comma-separated (default %(default)s)")
    parser.add_argument("--rows", nargs="+", type=Path, metavar="REPORT", help="only print the rows of these reports")
    parser.add_argument("extra", nargs="*", help="loadgen flags, after --")
    args = parser.parse_args()
    out = Path(os.environ.get("OUT_DIR", ROOT / ".run" / "bench"))
    reports = args.rows or run(args.duration, [int(c) for c in args.concurrency.split(",")], args.extra, out)
    for report in reports:
        print(row(json.loads(report.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
