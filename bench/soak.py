#!/usr/bin/env python3
"""Soak: sustained ingest and reads against one server process for SOAK_SECONDS (600).

    bench/soak.sh                        # = bench/setup.sh if needed, then this with .venv's python
    SOAK_SECONDS=60 bench/soak.sh        # a short check

One `python -m graphql_service serve` (acsylla, 1 worker) on a fresh keyspace; 20 s of ingest
to make players with complete sessions; then wrk ingest (bench/lua/ingest.lua) and wrk
GET /sessions (bench/lua/sessions.lua) together for SOAK_SECONDS, the server's RSS sampled
every 10 s. Passes when there was no non-2xx answer, no socket error, no error in the server
log, and RSS grew at most 10 % from the end of the first minute to the end. Writes soak.json
and the server log to bench/results/<UTC time>/ and prints one markdown line. Not part of the
test command (it takes ten minutes).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all as bench

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
SAMPLE_EVERY = 10.0
MAX_GROWTH = 0.10


def main() -> int:
    bench.OUT.mkdir(parents=True, exist_ok=True)
    bench.step_migrate()
    samples: list[tuple[float, float]] = []
    try:
        with bench.Server(bench.DEFAULT_DRIVER, 1, "soak") as server:
            players = bench.OUT / "players-soak.txt"
            bench.run_wrk("ingest", server.url, "soak-seed", DURATION="20s", PLAYERS_OUT=str(players))
            stop = threading.Event()
            started = time.monotonic()

            def sample() -> None:
                while not stop.wait(SAMPLE_EVERY):
                    mb = sum(bench.rss_mb(pid) or 0.0 for pid in server.worker_pids())
                    samples.append((round(time.monotonic() - started, 1), round(mb, 1)))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            duration = f"{SOAK_SECONDS}s"
            ingest = bench.start_wrk(
                "ingest", server.url, "soak-ingest", "wrk-soak-ingest.stderr", DURATION=duration,
                BENCH_PLAYER_PREFIX="soak", PLAYERS_OUT=str(bench.OUT / "players-soak-2.txt"),
            )  # fmt: skip
            reads = bench.start_wrk(
                "sessions", server.url, "soak-reads", "wrk-soak-reads.stderr", DURATION=duration,
                players_file=str(players),
            )  # fmt: skip
            ingest_summary, _ = bench.finish_wrk(ingest)
            reads_summary, _ = bench.finish_wrk(reads)
            stop.set()
            sampler.join()
            log = bench.scan_log(server.log)
    finally:
        bench.drop_keyspace()
    after_first_minute = next((mb for t, mb in samples if t >= 60), samples[0][1] if samples else None)
    last = samples[-1][1] if samples else None
    growth = (last - after_first_minute) / after_first_minute if last and after_first_minute else None
    errors = sum(
        (s or {}).get("non_2xx", 1) + sum((s or {}).get("socket_errors", {}).values())
        for s in (ingest_summary, reads_summary)
    ) + int(log.get("log_errors", 0) or 0)
    ok = errors == 0 and growth is not None and growth <= MAX_GROWTH
    result = {
        "bench": "soak",
        "seconds": SOAK_SECONDS,
        "ingest": ingest_summary,
        "reads": reads_summary,
        "server_log": log,
        "rss_samples_mb": samples,
        "rss_mb_after_first_minute": after_first_minute,
        "rss_mb_last": last,
        "rss_growth": None if growth is None else round(growth, 4),
        "errors": errors,
        "ok": ok,
    }
    (bench.OUT / "soak.json").write_text(json.dumps(result, indent=1))
    i, r = ingest_summary or {}, reads_summary or {}
    print(
        f"| {SOAK_SECONDS} s | {i.get('events_per_s', 0):,.0f} events/s (p99 {i.get('p99_ms', 0):.1f} ms) | "
        f"{r.get('requests_per_s', 0):,.0f} reads/s (p99 {r.get('p99_ms', 0):.1f} ms) | {errors} | "
        f"{after_first_minute} → {last} MB ({0 if growth is None else growth * 100:+.1f} %) | {'pass' if ok else 'FAIL'} |"
    )
    print(f"results: {bench.OUT}", file=sys.stderr)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
