"""Turn `import --json` / `loadgen --json` results into Markdown rows for BENCHMARKS.md.

python scripts/bench_summary.py .run/bench/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def import_row(result: dict[str, Any]) -> str:
    return (
        f"| import | {result['lines']:,} lines | {result['elapsed_seconds']:.1f} s | "
        f"{result['events_per_second']:,.0f} events/s | accepted {result['accepted']:,}, "
        f"expired {result['expired']:,}, rejected {result['rejected']:,} |"
    )


def loadgen_row(result: dict[str, Any]) -> str:
    options = result["options"]
    mode = f"rate {options['rate']:g}/s" if options["rate"] else f"concurrency {options['concurrency']}"
    writes = result["endpoints"].get("POST /events", {})
    errors = ", ".join(f"{k}: {v}" for k, v in result["errors"].items()) or "none"
    return (
        f"| loadgen | {mode} | {result['elapsed_seconds']:.1f} s | {result['events_per_second']:,.0f} events/s, "
        f"{result['requests_per_second']:,.0f} req/s | POST /events p50 {writes.get('p50_ms')} / "
        f"p95 {writes.get('p95_ms')} / p99 {writes.get('p99_ms')} ms | errors {errors} |"
    )


def main(paths: list[str]) -> int:
    for path in paths:
        result = json.loads(Path(path).read_text())
        print(loadgen_row(result) if "endpoints" in result else import_row(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
