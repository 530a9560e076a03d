#!/usr/bin/env python3
"""The one-run ingest benchmark: every number the project's targets need, from one command.

    bench/run_all.sh                     # = .venv/bin/python bench/run_all.py, after bench/setup.sh
    DURATION=5s SESSIONS_DURATION=5s IMPORT_EVENTS=20000 bench/run_all.sh     # a quick check

Steps (each one after the other, nothing else of ours running meanwhile):

 raw       bench/raw_ceiling.py for each backend: the service's per-event statement mix
           issued straight from the driver, 128 in flight, no HTTP (RAW_SECONDS, = DURATION).
 service   `python -m graphql_service serve` for each backend x WEB_CONCURRENCY 1 and 2, a
           fresh PROMETHEUS_MULTIPROC_DIR each; /metrics scraped before and after
           bench/wrk_ingest.sh (DURATION); statements/event from the metric deltas; max VmRSS
           of every worker sampled each second.
 baseline  bench/run_baseline.sh (Flask under gunicorn -w 2 --threads 8), same DURATION.
 sessions  the service on acsylla with the best worker count of `service`: one warm-up pass
           over the players of that ingest run (the first read of a player folds its pending
           events), then bench/wrk_sessions.sh alone (SESSIONS_DURATION), then again while
           bench/wrk_ingest.sh runs (for SESSIONS_DURATION + 2 s, started 1 s before).
 import    a JSON Lines file of IMPORT_EVENTS events (`graphql_service loadgen --write-jsonl`),
           timed through `python -m graphql_service import FILE --no-progress --json`, acsylla.

All in one fresh keyspace (BENCH_KEYSPACE, default bench_<time>), migrated once and dropped at
the end; every run uses its own player ids (BENCH_PLAYER_PREFIX), so no run reads or grows
another's partitions. Output: bench/results/<UTC time>/ (RESULTS_DIR) holds results.jsonl (one
JSON line per measurement), summary.md (the table, also printed on stdout), machine.txt, the
servers' logs, wrk's reports and the players lists.

Environment (defaults): DURATION (30s), SESSIONS_DURATION (15s), IMPORT_EVENTS (1000000),
RAW_SECONDS (DURATION), RAW_IN_FLIGHT (128), DRIVERS (acsylla,cassandra-driver), WORKERS (1,2),
STEPS (raw,service,baseline,sessions,import), BENCH_PORT (8200, the service),
BASELINE_PORT (8100), BENCH_KEYSPACE, RESULTS_DIR, COOLDOWN (3 s between runs),
IMPORT_PLAYERS (10000), IMPORT_DAYS (1), KEEP_IMPORT_FILE (0), KEEP_DATA (0: drop the keyspace);
THREADS / CONNECTIONS / TIMEOUT / BENCH_PLAYERS go to the wrk wrappers as they are.
Exit status: 0 when every run was valid (only 2xx, no socket errors, no errors in the server
logs), 3 when some was not, 1 when a step could not run at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT))

STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
DEFAULT_DRIVER = "acsylla"
# The project's targets (README / BENCHMARKS.md).
TARGET_VS_BASELINE = 2.0
TARGET_VS_CEILING = 0.7
TARGET_READ_P99_RATIO = 3.0
TARGET_IMPORT_SECONDS_PER_MILLION = 300.0
TARGET_RSS_MB = 150.0
LOG_ERROR = re.compile(r"\b(ERROR|CRITICAL|Traceback|Exception)\b")
LOG_WARNING = re.compile(r"\bWARNING\b")


def seconds_of(text: str) -> float:
    """wrk's duration syntax: 30, 30s, 2m, 1h."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


@dataclass
class Config:
    duration: str = os.environ.get("DURATION", "30s")
    sessions_duration: str = os.environ.get("SESSIONS_DURATION", "15s")
    import_events: int = int(os.environ.get("IMPORT_EVENTS", "1000000"))
    raw_seconds: float = float(os.environ.get("RAW_SECONDS") or seconds_of(os.environ.get("DURATION", "30s")))
    raw_in_flight: int = int(os.environ.get("RAW_IN_FLIGHT", "128"))
    drivers: list[str] = field(
        default_factory=lambda: [d for d in os.environ.get("DRIVERS", "acsylla,cassandra-driver").split(",") if d]
    )
    workers: list[int] = field(default_factory=lambda: [int(w) for w in os.environ.get("WORKERS", "1,2").split(",")])
    steps: list[str] = field(
        default_factory=lambda: os.environ.get("STEPS", "raw,service,baseline,sessions,import").split(",")
    )
    port: int = int(os.environ.get("BENCH_PORT", "8200"))
    baseline_port: int = int(os.environ.get("BASELINE_PORT", "8100"))
    keyspace: str = os.environ.get("BENCH_KEYSPACE", f"bench_{STAMP[:8]}_{STAMP[9:15]}".lower())
    results_dir: Path = Path(os.environ.get("RESULTS_DIR") or HERE / "results" / STAMP)
    cooldown: float = float(os.environ.get("COOLDOWN", "3"))
    import_players: int = int(os.environ.get("IMPORT_PLAYERS", "10000"))
    import_days: str = os.environ.get("IMPORT_DAYS", "1")
    keep_import_file: bool = os.environ.get("KEEP_IMPORT_FILE", "0") == "1"
    keep_data: bool = os.environ.get("KEEP_DATA", "0") == "1"


CFG = Config()
OUT = CFG.results_dir
RESULTS: list[dict[str, Any]] = []
# Processes we started and must stop whatever happens.
LIVE: list[subprocess.Popen[Any]] = []


def say(message: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def record(result: dict[str, Any]) -> dict[str, Any]:
    RESULTS.append(result)
    with open(OUT / "results.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    return result


def pause() -> None:
    if CFG.cooldown > 0:
        time.sleep(CFG.cooldown)


# -- the machine ------------------------------------------------------------------------------


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()
    except OSError as exc:
        return f"({exc})"


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    info = {
        "bench": "machine",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": int(sh("nproc") or 0),
        "cpu_model": cpu,
        "free_g": sh("free", "-g"),
        "mem_total_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "git_head": sh("git", "rev-parse", "--short", "HEAD"),
        "git_dirty_files": len([line for line in sh("git", "status", "--porcelain").splitlines() if line.strip()]),
        "python": sh(PY, "--version"),
        "wrk_version": sh("wrk", "-v").splitlines()[0].split(" Copyright")[0] if shutil.which("wrk") else None,
        "kernel": sh("uname", "-r"),
        "config": {
            "DURATION": CFG.duration,
            "SESSIONS_DURATION": CFG.sessions_duration,
            "IMPORT_EVENTS": CFG.import_events,
            "RAW_SECONDS": CFG.raw_seconds,
            "RAW_IN_FLIGHT": CFG.raw_in_flight,
            "THREADS": os.environ.get("THREADS", "2"),
            "CONNECTIONS": os.environ.get("CONNECTIONS", "16"),
            "keyspace": CFG.keyspace,
            "steps": CFG.steps,
        },
    }
    (OUT / "machine.txt").write_text(
        f"date: {info['date']}\nnproc: {info['nproc']}\ncpu: {cpu}\ngit HEAD: {info['git_head']} "
        f"({info['git_dirty_files']} files changed in the work tree)\nkernel: {info['kernel']}\n"
        f"python: {info['python']}\nwrk: {info['wrk_version']}\nloadavg at start: {' '.join(info['loadavg_at_start'])}\n"
        f"\n$ free -g\n{info['free_g']}\n"
    )
    return info


# -- processes, RSS, metrics --------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can see."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue
        table[int(entry.name)] = (ppid, cmdline)
    return table


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Max VmRSS of each process `find()` returns, sampled every second in a thread."""

    def __init__(self, find: Any) -> None:
        self._find = find
        self.max_mb: dict[int, float] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            for pid in self._find():
                mb = rss_mb(pid)
                if mb is not None:
                    self.max_mb[pid] = max(mb, self.max_mb.get(pid, 0.0))
            self.samples += 1
            if self._stop.wait(1.0):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        per = {str(pid): round(mb, 1) for pid, mb in sorted(self.max_mb.items())}
        return {"rss_mb_per_worker": per, "rss_mb_max": max(per.values(), default=None), "rss_samples": self.samples}


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - our own local server
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(url: str, save_as: str) -> dict[str, dict[str, float]]:
    """The counters we need from /metrics: statements by name, statement errors, events by
    outcome, HTTP answers by route/status. The whole scrape is kept in OUT/save_as."""
    status, text = http_get(f"{url}/metrics")
    if status != 200:
        raise RuntimeError(f"GET {url}/metrics answered {status}: {text[:200]}")
    (OUT / save_as).write_text(text)
    found: dict[str, dict[str, float]] = {"statements": {}, "statement_errors": {}, "events": {}, "http": {}}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")), float(m.group(3))
        if name == "player_sessions_cassandra_statement_duration_seconds_count":
            found["statements"][labels["statement"]] = value
        elif name == "player_sessions_cassandra_statement_errors_total":
            found["statement_errors"][f"{labels['statement']}:{labels['error']}"] = value
        elif name == "player_sessions_events_total":
            found["events"][labels["outcome"]] = value
        elif name == "player_sessions_http_requests_total":
            found["http"][f"{labels['method']} {labels['route']} {labels['status']}"] = value
    return found


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    keys = sorted(set(before) | set(after))
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys if after.get(k, 0.0) - before.get(k, 0.0)}


def metrics_delta(m0: dict[str, dict[str, float]], m1: dict[str, dict[str, float]]) -> dict[str, Any]:
    statements = delta(m0["statements"], m1["statements"])
    accepted = m1["events"].get("accepted", 0.0) - m0["events"].get("accepted", 0.0)
    return {
        "statements_delta": {k: int(v) for k, v in statements.items()},
        "accepted_events_delta": int(accepted),
        "statements_per_event": round(sum(statements.values()) / accepted, 3) if accepted else None,
        "statement_errors_delta": {k: int(v) for k, v in delta(m0["statement_errors"], m1["statement_errors"]).items()},
        "events_delta": {k: int(v) for k, v in delta(m0["events"], m1["events"]).items()},
        "http_delta": {k: int(v) for k, v in delta(m0["http"], m1["http"]).items()},
    }


def scan_log(path: Path) -> dict[str, Any]:
    """Errors and warnings the server logged, with the first lines around the first error."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"log_file": str(path), "log_errors": None}
    errors = [i for i, line in enumerate(lines) if LOG_ERROR.search(line)]
    warnings = [i for i, line in enumerate(lines) if LOG_WARNING.search(line)]
    excerpt: list[str] = []
    if errors:
        first = errors[0]
        excerpt = lines[max(0, first - 2) : first + 25]
    elif warnings:
        excerpt = [lines[i] for i in warnings[:10]]
    return {
        "log_file": str(path.relative_to(OUT)),
        "log_errors": len(errors),
        "log_warnings": len(warnings),
        "log_excerpt": excerpt,
    }


class Server:
    """`python -m graphql_service serve` on one backend and worker count, in its own
    process group, with a fresh PROMETHEUS_MULTIPROC_DIR; stopped with SIGINT."""

    def __init__(self, driver: str, workers: int, label: str) -> None:
        self.driver, self.workers, self.label = driver, workers, label
        self.url = f"http://127.0.0.1:{CFG.port}"
        self.log = OUT / f"server-{label}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def __enter__(self) -> Server:
        if not port_free(CFG.port):
            raise RuntimeError(f"something already listens on 127.0.0.1:{CFG.port} (set BENCH_PORT)")
        prom = OUT / f"prom-{self.label}"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir(parents=True)
        env = {
            **os.environ,
            "CASSANDRA_DRIVER": self.driver,
            "WEB_CONCURRENCY": str(self.workers),
            "CASSANDRA_KEYSPACE": CFG.keyspace,
            "PORT": str(CFG.port),
            "HOST": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(prom),
            "LOG_LEVEL": "WARNING",
        }
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PY, "-m", "graphql_service", "serve"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.proc._bench_group = True  # type: ignore[attr-defined]
        LIVE.append(self.proc)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        from graphql_service.tools.readiness import wait_ready

        assert self.proc is not None
        deadline = time.monotonic() + 120
        self.ready = wait_ready(self.proc, self.url, self.log, timeout=120)
        # With several workers, wait until every one of them is up too.
        while len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.workers} workers not up within 120 s; {self.log}:\n{self._tail()}")
            time.sleep(0.5)

    def _tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-25:])

    def worker_pids(self) -> list[int]:
        """The uvicorn workers: the serve process itself with one worker, else its
        multiprocessing-spawned children (not the resource tracker)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        if self.workers == 1:
            return [self.proc.pid]
        return [
            pid for pid, (ppid, cmd) in proc_table().items() if ppid == self.proc.pid and "multiprocessing.spawn" in cmd
        ]

    def supervisor_rss_mb(self) -> float | None:
        return rss_mb(self.proc.pid) if self.proc and self.workers > 1 else None

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{self.label}: no exit 30 s after SIGINT: SIGTERM to its process group")
                _kill_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill_group(proc.pid, signal.SIGKILL)
                    proc.wait()
        # Workers left behind by a supervisor that died would hold the port.
        _kill_group(proc.pid, signal.SIGKILL)
        if proc in LIVE:
            LIVE.remove(proc)
        self.proc = None
        # Its files are prometheus-client's mmap state; the scrapes are kept instead.
        shutil.rmtree(OUT / f"prom-{self.label}", ignore_errors=True)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# -- wrk ------------------------------------------------------------------------------------------


def wrapper_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "OUT_DIR": str(OUT), "DURATION": CFG.duration}
    env.update(overrides)
    return env


def parse_summary(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.startswith('{"bench"')]
    return json.loads(lines[-1]) if lines else None


def start_wrk(kind: str, url: str, label: str, stderr_name: str, **env: str) -> subprocess.Popen[str]:
    script = HERE / ("wrk_ingest.sh" if kind == "ingest" else "wrk_sessions.sh")
    args = [str(script), url] + ([env.pop("players_file")] if kind == "sessions" else [])
    stderr = open(OUT / stderr_name, "w")
    proc = subprocess.Popen(
        args, env=wrapper_env(BENCH_LABEL=label, **env), stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT
    )
    proc._bench_stderr = stderr  # type: ignore[attr-defined]
    LIVE.append(proc)
    return proc


def finish_wrk(proc: subprocess.Popen[str]) -> tuple[dict[str, Any] | None, int]:
    stdout, _ = proc.communicate()
    proc._bench_stderr.close()  # type: ignore[attr-defined]
    LIVE.remove(proc)
    return parse_summary(stdout), proc.returncode


def run_wrk(kind: str, url: str, label: str, **env: str) -> tuple[dict[str, Any] | None, int]:
    return finish_wrk(start_wrk(kind, url, label, f"wrk-{label}.stderr", **env))


def valid(summary: dict[str, Any] | None) -> bool:
    return bool(summary) and not summary["non_2xx"] and not any(summary["socket_errors"].values())


# -- steps ----------------------------------------------------------------------------------------


def step_migrate() -> None:
    say(f"migrating keyspace {CFG.keyspace}")
    env = {**os.environ, "CASSANDRA_KEYSPACE": CFG.keyspace, "CASSANDRA_DRIVER": DEFAULT_DRIVER}
    done = subprocess.run(
        [PY, "-m", "graphql_service", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}): {done.stdout}{done.stderr}")
    say(done.stdout.strip())


def step_raw(driver: str) -> None:
    say(f"raw ceiling: {driver}, {CFG.raw_seconds:g} s, {CFG.raw_in_flight} statements in flight")
    cmd = [
        PY, str(HERE / "raw_ceiling.py"), "--driver", driver, "--seconds", str(CFG.raw_seconds),
        "--in-flight", str(CFG.raw_in_flight), "--keyspace", CFG.keyspace, "--prefix", f"raw-{driver}",
    ]  # fmt: skip
    with open(OUT / f"raw-{driver}.stderr", "w") as err:
        done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    line = parse_summary(done.stdout)
    if line is None:
        record({"bench": "raw_ceiling", "driver": driver, "failed": f"exit {done.returncode}, see raw-{driver}.stderr"})
        return
    line["exit"] = done.returncode
    record(line)
    say(f"  {line['statements_per_s']:,.0f} statements/s = {line['events_per_s_equiv']:,.0f} events/s equivalent")


def step_service(driver: str, workers: int) -> None:
    label = f"{driver}-w{workers}"
    say(f"service: {label}, ingest {CFG.duration}")
    result: dict[str, Any] = {"bench": "service_ingest", "label": label, "backend": driver, "workers": workers}
    server = Server(driver, workers, label)
    try:
        with server:
            m0 = scrape(server.url, f"metrics-{label}-before.txt")
            with RssSampler(server.worker_pids) as rss:
                summary, rc = run_wrk(
                    "ingest", server.url, label,
                    PLAYERS_OUT=str(OUT / f"players-{label}.txt"), BENCH_PLAYER_PREFIX=f"ing-{label}",
                )  # fmt: skip
            m1 = scrape(server.url, f"metrics-{label}-after.txt")
            result["supervisor_rss_mb"] = server.supervisor_rss_mb()
            result["cassandra"] = server.ready.get("cassandra")
    except Exception as exc:
        result["failed"] = str(exc)
        record({**result, **scan_log(server.log)})
        say(f"  FAILED: {exc}")
        return
    result.update(wrk=summary, wrk_exit=rc, players_file=f"players-{label}.txt")
    result.update(metrics_delta(m0, m1))
    result.update(rss.summary())
    result.update(scan_log(server.log))
    record(result)
    if summary:
        say(
            f"  {summary['events_per_s']:,.0f} events/s, p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms,"
            f" {result['statements_per_event']} statements/event, RSS max {result['rss_mb_max']} MB,"
            f" non-2xx {summary['non_2xx']}, log errors {result['log_errors']}"
        )


def gunicorn_workers() -> list[int]:
    gunicorn = str(HERE / ".venv" / "bin" / "gunicorn")
    table = proc_table()
    ours = {pid for pid, (_, cmd) in table.items() if gunicorn in cmd}
    # Workers are gunicorn processes whose parent is the gunicorn master.
    return [pid for pid in ours if table[pid][0] in ours]


def step_baseline() -> None:
    say(f"baseline: gunicorn -w 2 --threads 8, ingest {CFG.duration}")
    env = wrapper_env(PORT=str(CFG.baseline_port))
    env.pop("SESSIONS_DURATION", None)  # only the ingest run
    env.pop("ALSO_FLASK", None)
    env.pop("KEEP_DATA", None)
    with open(OUT / "baseline.stderr", "w") as err:
        proc = subprocess.Popen(
            [str(HERE / "run_baseline.sh")], env=env, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT
        )
        LIVE.append(proc)
        with RssSampler(gunicorn_workers) as rss:
            stdout, _ = proc.communicate()
        LIVE.remove(proc)
    summary = parse_summary(stdout)
    result: dict[str, Any] = {
        "bench": "baseline_ingest",
        "label": "baseline-gunicorn-w2-t8",
        "backend": "cassandra-driver (sync, unprepared)",
        "workers": 2,
        "wrk": summary,
        "wrk_exit": proc.returncode,
        "statements_per_event": 1.0,
        "statements_per_event_note": "by design: one unprepared INSERT per event (not measured)",
        **rss.summary(),
    }
    if summary is None:
        result["failed"] = f"run_baseline.sh exit {proc.returncode}, see baseline.stderr"
    result.update(scan_log(OUT / "baseline-gunicorn.log"))
    # gunicorn logs its own start/stop lines at INFO/"[INFO]": only errors count here.
    record(result)
    if summary:
        say(
            f"  {summary['events_per_s']:,.0f} events/s, p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms"
        )


async def _warm(url: str, players: list[str]) -> dict[str, Any]:
    import httpx

    statuses: dict[str, int] = {}
    sessions = 0
    queue = list(players)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal sessions
        while queue:
            player = queue.pop()
            try:
                answer = await http.get("/sessions", params={"player_id": player, "limit": 20})
                key = str(answer.status_code)
                if answer.status_code == 200:
                    sessions += len(answer.json()["sessions"])
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(16)))
    return {
        "players": len(players),
        "statuses": statuses,
        "sessions": sessions,
        "seconds": round(time.perf_counter() - began, 2),
    }


def best_acsylla_workers() -> tuple[int, str | None]:
    runs = [
        r for r in RESULTS
        if r.get("bench") == "service_ingest" and r["backend"] == DEFAULT_DRIVER and r.get("wrk")
    ]  # fmt: skip
    if not runs:
        return int(os.environ.get("SESSIONS_WORKERS", max(CFG.workers))), None
    runs.sort(key=lambda r: (valid(r["wrk"]), r["wrk"]["events_per_s"]), reverse=True)
    return runs[0]["workers"], runs[0]["players_file"]


def step_sessions() -> None:
    workers, players_file = best_acsylla_workers()
    label = f"sessions-{DEFAULT_DRIVER}-w{workers}"
    say(f"GET /sessions: {DEFAULT_DRIVER}, {workers} worker(s), {CFG.sessions_duration} alone and under ingest")
    result: dict[str, Any] = {"bench": "sessions_step", "label": label, "backend": DEFAULT_DRIVER, "workers": workers}
    server = Server(DEFAULT_DRIVER, workers, label)
    rss = RssSampler(server.worker_pids)
    try:
        with server, rss:
            if players_file is None or not (OUT / players_file).is_file() or not (OUT / players_file).stat().st_size:
                players_file = f"players-{label}-seed.txt"
                say("  no players file from the service step: a seed ingest run first")
                seed, _ = run_wrk(
                    "ingest", server.url, f"{label}-seed",
                    DURATION=CFG.sessions_duration, PLAYERS_OUT=str(OUT / players_file),
                    BENCH_PLAYER_PREFIX=f"seed-{label}",
                )  # fmt: skip
                record({"bench": "sessions_seed_ingest", "label": f"{label}-seed", "wrk": seed})
            players = [p.strip() for p in (OUT / players_file).read_text().splitlines() if p.strip()]
            warm = asyncio.run(_warm(server.url, players))
            record({"bench": "sessions_warmup", "label": label, "players_file": players_file, **warm})
            say(f"  warm-up: {warm['players']} players in {warm['seconds']} s, {warm['statuses']}")

            alone, rc_alone = run_wrk(
                "sessions", server.url, f"{label}-alone",
                players_file=str(OUT / players_file), DURATION=CFG.sessions_duration,
            )  # fmt: skip
            record(
                {
                    "bench": "sessions_alone",
                    "label": f"{label}-alone",
                    "workers": workers,
                    "wrk": alone,
                    "wrk_exit": rc_alone,
                }
            )
            if alone:
                say(
                    f"  alone: {alone['requests_per_s']:,.0f} req/s, p50 {alone['p50_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms"
                )
            pause()

            m0 = scrape(server.url, f"metrics-{label}-before.txt")
            ingest_for = f"{seconds_of(CFG.sessions_duration) + 2:g}s"
            ingest = start_wrk(
                "ingest", server.url, f"{label}-ingest", f"wrk-{label}-ingest.stderr",
                DURATION=ingest_for, PLAYERS_OUT=str(OUT / f"players-{label}-ingest.txt"),
                BENCH_PLAYER_PREFIX=f"mix-{label}",
            )  # fmt: skip
            time.sleep(1.0)
            loaded, rc_loaded = run_wrk(
                "sessions", server.url, f"{label}-under-ingest",
                players_file=str(OUT / players_file), DURATION=CFG.sessions_duration,
            )  # fmt: skip
            ingest_summary, rc_ingest = finish_wrk(ingest)
            m1 = scrape(server.url, f"metrics-{label}-after.txt")
            record(
                {
                    "bench": "sessions_under_ingest", "label": f"{label}-under-ingest", "workers": workers,
                    "wrk": loaded, "wrk_exit": rc_loaded,
                }
            )  # fmt: skip
            record(
                {
                    "bench": "ingest_during_sessions", "label": f"{label}-ingest", "workers": workers,
                    "wrk": ingest_summary, "wrk_exit": rc_ingest, **metrics_delta(m0, m1),
                }
            )  # fmt: skip
            if loaded:
                say(
                    f"  under ingest: {loaded['requests_per_s']:,.0f} req/s, p50 {loaded['p50_ms']:.1f} ms,"
                    f" p99 {loaded['p99_ms']:.1f} ms (ingest {ingest_summary and ingest_summary['events_per_s']:,.0f} events/s)"
                )
    except Exception as exc:
        result["failed"] = str(exc)
        say(f"  FAILED: {exc}")
    result.update(rss.summary())
    result.update(scan_log(server.log))
    record(result)


def step_import() -> None:
    n = CFG.import_events
    path = OUT / f"import-{n}.jsonl"
    say(f"import: writing {n:,} events to {path.name}")
    gen = subprocess.run(
        [
            PY, "-m", "graphql_service", "loadgen", "--write-jsonl", str(path), "--events", str(n),
            "--players", str(CFG.import_players), "--days", CFG.import_days, "--duplicates", "0", "--seed", "1",
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if gen.returncode != 0:
        record({"bench": "import", "failed": f"loadgen exit {gen.returncode}: {gen.stderr[-500:]}"})
        return
    say(f"  {gen.stdout.strip()}")
    pause()
    env = {**os.environ, "CASSANDRA_DRIVER": DEFAULT_DRIVER, "CASSANDRA_KEYSPACE": CFG.keyspace}
    say(f"import: python -m graphql_service import {path.name} ({DEFAULT_DRIVER})")
    began = time.perf_counter()
    with open(OUT / "import.stderr", "w") as err:
        done = subprocess.run(
            [PY, "-m", "graphql_service", "import", str(path), "--no-progress", "--json",
             "--rejects", str(OUT / "import.rejects.jsonl")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True, check=False,
        )  # fmt: skip
    wall = time.perf_counter() - began
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    summary = json.loads(lines[-1]) if lines else None
    accepted = summary["accepted"] if summary else 0
    result = {
        "bench": "import",
        "backend": DEFAULT_DRIVER,
        "events_in_file": n,
        "generated": gen.stdout.strip(),
        "exit": done.returncode,
        "wall_seconds": round(wall, 2),
        "events_per_s_wall": round(accepted / wall, 1) if wall else None,
        "seconds_per_million_extrapolated": round(wall * 1_000_000 / n, 1) if n else None,
        "summary": summary,
        "stderr_tail": (OUT / "import.stderr").read_text(errors="replace").splitlines()[-10:],
    }
    if summary is None:
        result["failed"] = f"import exit {done.returncode}, see import.stderr"
    record(result)
    say(f"  {wall:.1f} s wall, {result['events_per_s_wall']} events/s (accepted {accepted:,})")
    if not CFG.keep_import_file:
        path.unlink(missing_ok=True)


def drop_keyspace() -> None:
    from graphql_service.settings import Settings
    from graphql_service.store import backends, migrations

    async def drop() -> None:
        settings = Settings.from_env().with_overrides(
            driver=DEFAULT_DRIVER, keyspace=CFG.keyspace, request_timeout_seconds=120
        )
        db = await backends.connect(settings)
        try:
            await migrations.drop_keyspace(db, CFG.keyspace)
        finally:
            await db.close()

    asyncio.run(drop())
    say(f"dropped keyspace {CFG.keyspace}")


# -- the table ------------------------------------------------------------------------------------


def f0(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def f1(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f}"


def f2(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def bad_answers(w: dict[str, Any] | None) -> str:
    if not w:
        return "—"
    errs = {k: v for k, v in w["socket_errors"].items() if v}
    return f"{w['non_2xx']}" + (f" (+ socket errors {errs})" if errs else "")


def rss_cell(r: dict[str, Any]) -> str:
    """Max VmRSS of each worker, e.g. `63 / 62`."""
    per = list((r.get("rss_mb_per_worker") or {}).values())
    return " / ".join(f0(mb) for mb in per) if per else "—"


def check(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "—"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**missed**"


def render(info: dict[str, Any]) -> str:
    by = lambda kind: [r for r in RESULTS if r.get("bench") == kind]  # noqa: E731
    cassandra = next((r.get("cassandra") for r in by("service_ingest") if r.get("cassandra")), None)
    c = info["config"]
    out = [
        f"# Ingest benchmark {info['date']}",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu_model']}), {info['mem_total_gb']} GB RAM, load average at "
        f"start {' '.join(info['loadavg_at_start'])}; commit {info['git_head']}"
        + (f" + {info['git_dirty_files']} changed files" if info["git_dirty_files"] else "")
        + f"; Cassandra {cassandra or '?'} on 127.0.0.1 (same machine); {info['python']}; {info['wrk_version']}.",
        f"Load: wrk -t{info['config']['THREADS']} -c{info['config']['CONNECTIONS']}, POST /events of 10 events "
        f"(5 starts + 5 ends), DURATION={c['DURATION']}; SESSIONS_DURATION={c['SESSIONS_DURATION']}; "
        f"IMPORT_EVENTS={c['IMPORT_EVENTS']:,}; keyspace {c['keyspace']}. Raw lines: results.jsonl.",
        "",
        "| system | backend | workers | events/s | p50 ms | p99 ms | statements/event | RSS MB/worker | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in by("service_ingest") + by("baseline_ingest"):
        w = r.get("wrk")
        system = "service (uvicorn)" if r["bench"] == "service_ingest" else "baseline (gunicorn -w 2 --threads 8)"
        if r.get("failed"):
            out.append(f"| {system} | {r['backend']} | {r['workers']} | failed: {r['failed'][:120]} | | | | | |")
            continue
        spe = f2(r.get("statements_per_event"))
        if r["bench"] == "baseline_ingest":
            spe = "1 (by design)"
        flag = "" if valid(w) and not r.get("log_errors") else " ⚠"
        out.append(
            f"| {system} | {r['backend']} | {r['workers']} | {f0(w and w['events_per_s'])}{flag} | "
            f"{f1(w and w['p50_ms'])} | {f1(w and w['p99_ms'])} | {spe} | {rss_cell(r)} | {bad_answers(w)} |"
        )
    raws = by("raw_ceiling")
    if raws:
        out += [
            "",
            f"Raw ceiling (bench/raw_ceiling.py: the service's per-event statement mix straight from the driver, "
            f"{c['RAW_IN_FLIGHT']} in flight, no HTTP, one process):",
            "",
            "| backend | statements/s | events/s equivalent (÷ 1.5) | statement p50 ms | p99 ms | client CPU | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in raws:
            if r.get("failed"):
                out.append(f"| {r['driver']} | failed: {r['failed']} | | | | | |")
                continue
            out.append(
                f"| {r['driver']} | {f0(r['statements_per_s'])} | {f0(r['events_per_s_equiv'])} | "
                f"{f1(r['latency_ms']['p50'])} | {f1(r['latency_ms']['p99'])} | {r['client_cpu_share']:.2f} | "
                f"{sum(r['errors'].values()) if r['errors'] else 0} |"
            )
    alone, loaded, ing = by("sessions_alone"), by("sessions_under_ingest"), by("ingest_during_sessions")
    warm = by("sessions_warmup")
    if alone or loaded:
        step = (by("sessions_step") or [{}])[-1]
        out += [
            "",
            f"GET /sessions?limit=20 ({DEFAULT_DRIVER}, {step.get('workers')} worker(s), "
            f"{warm[-1]['players'] if warm else '?'} players, warmed up once"
            + (f" in {warm[-1]['seconds']} s" if warm else "")
            + f"; RSS max {f0(step.get('rss_mb_max'))} MB/worker):",
            "",
            "| GET /sessions | req/s | p50 ms | p99 ms | non-2xx | ingest meanwhile |",
            "|---|---|---|---|---|---|",
        ]
        for name, rows in (("alone", alone), ("under ingest", loaded)):
            w = rows[-1]["wrk"] if rows else None
            meanwhile = ""
            if name == "under ingest" and ing and ing[-1]["wrk"]:
                iw = ing[-1]["wrk"]
                meanwhile = f"{f0(iw['events_per_s'])} events/s, p99 {f1(iw['p99_ms'])} ms, non-2xx {bad_answers(iw)}"
            out.append(
                f"| {name} | {f0(w and w['requests_per_s'])} | {f1(w and w['p50_ms'])} | {f1(w and w['p99_ms'])} | "
                f"{bad_answers(w)} | {meanwhile} |"
            )
    imports = by("import")
    if imports:
        r = imports[-1]
        if r.get("failed"):
            out += ["", f"Import: failed: {r['failed']}"]
        else:
            s = r["summary"]
            out += [
                "",
                f"Import ({DEFAULT_DRIVER}, `import --no-progress --json`, {r['events_in_file']:,} events from "
                f"`loadgen --write-jsonl`): wall {r['wall_seconds']:.1f} s, {f0(r['events_per_s_wall'])} events/s "
                f"(accepted {s['accepted']:,}, expired {s['expired']:,}, rejected {s['rejected']:,}, retries "
                f"{s['retries']}; the tool's own elapsed {s['elapsed_seconds']:.1f} s, {f0(s['events_per_second'])} events/s).",
            ]

    # Targets.
    best = None
    svc = [r for r in by("service_ingest") if r["backend"] == DEFAULT_DRIVER and r.get("wrk")]
    if svc:
        best = max(svc, key=lambda r: (valid(r["wrk"]), r["wrk"]["events_per_s"]))
    base = next((r for r in by("baseline_ingest") if r.get("wrk")), None)
    raw = next((r for r in raws if r.get("driver") == DEFAULT_DRIVER and not r.get("failed")), None)
    rows: list[tuple[str, float | None, str, str]] = []
    best_eps = best["wrk"]["events_per_s"] if best else None
    label = f"{DEFAULT_DRIVER}, {best['workers']} worker(s)" if best else DEFAULT_DRIVER
    ratio = best_eps / base["wrk"]["events_per_s"] if best and base and base["wrk"]["events_per_s"] else None
    rows.append(
        (
            f"service ingest ({label}) ÷ baseline gunicorn",
            ratio,
            f"≥ {TARGET_VS_BASELINE:g}",
            check(ratio, TARGET_VS_BASELINE, True),
        )
    )
    ratio = best_eps / raw["events_per_s_equiv"] if best and raw else None
    rows.append(
        (
            f"service ingest ({label}) ÷ {DEFAULT_DRIVER} raw ceiling events/s",
            ratio,
            f"≥ {TARGET_VS_CEILING:g}",
            check(ratio, TARGET_VS_CEILING, True),
        )
    )
    a = alone[-1]["wrk"] if alone and alone[-1]["wrk"] else None
    b = loaded[-1]["wrk"] if loaded and loaded[-1]["wrk"] else None
    ratio = b["p99_ms"] / a["p99_ms"] if a and b and a["p99_ms"] else None
    rows.append(
        (
            "GET /sessions p99 under ingest ÷ alone",
            ratio,
            f"≤ {TARGET_READ_P99_RATIO:g}",
            check(ratio, TARGET_READ_P99_RATIO, False),
        )
    )
    if imports and not imports[-1].get("failed"):
        r = imports[-1]
        if r["events_in_file"] == 1_000_000:
            rows.append(
                (
                    "import wall time, 1M events (s)",
                    r["wall_seconds"],
                    f"< {TARGET_IMPORT_SECONDS_PER_MILLION:g}",
                    check(r["wall_seconds"], TARGET_IMPORT_SECONDS_PER_MILLION - 1e-9, False),
                )
            )
        else:
            x = r["seconds_per_million_extrapolated"]
            rows.append(
                (
                    f"import wall time, 1M events (s), extrapolated linearly from {r['events_in_file']:,}",
                    x,
                    f"< {TARGET_IMPORT_SECONDS_PER_MILLION:g}",
                    check(x, TARGET_IMPORT_SECONDS_PER_MILLION - 1e-9, False),
                )
            )
    rss_all = [r["rss_mb_max"] for r in by("service_ingest") + by("sessions_step") if r.get("rss_mb_max")]
    rss = max(rss_all) if rss_all else None
    rows.append(
        ("max RSS per service worker, any run (MB)", rss, f"≤ {TARGET_RSS_MB:g}", check(rss, TARGET_RSS_MB, False))
    )
    out += ["", "| project target | value | target | verdict |", "|---|---|---|---|"]
    out += [f"| {name} | {f2(value)} | {target} | {verdict} |" for name, value, target, verdict in rows]

    problems = []
    for r in RESULTS:
        if r.get("failed"):
            problems.append(f"{r.get('label', r['bench'])}: failed: {r['failed'][:300]}")
        if r.get("wrk") is not None and not valid(r["wrk"]):
            problems.append(f"{r['label']}: {bad_answers(r['wrk'])} non-2xx answers — not a valid measurement")
        if r.get("log_errors"):
            problems.append(f"{r['label']}: {r['log_errors']} error lines in {r['log_file']}")
        if r.get("statement_errors_delta"):
            problems.append(f"{r['label']}: statement errors {r['statement_errors_delta']}")
        if r.get("bench") == "raw_ceiling" and r.get("errors"):
            problems.append(f"{r['label']}: statement errors {r['errors']}")
    if problems:
        out += ["", "Problems (⚠):", ""] + [f"* {p}" for p in problems]
    return "\n".join(out) + "\n"


def invalid_runs() -> bool:
    for r in RESULTS:
        if r.get("failed") or r.get("log_errors") or r.get("statement_errors_delta"):
            return True
        if r.get("wrk") is not None and not valid(r["wrk"]):
            return True
        if r.get("bench") == "raw_ceiling" and r.get("errors"):
            return True
    return False


# -- main -----------------------------------------------------------------------------------------


def rerender(directory: Path) -> int:
    """`run_all.py --render DIR`: the table again from DIR/results.jsonl."""
    RESULTS.extend(json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines() if line)
    info = next(r for r in RESULTS if r.get("bench") == "machine")
    print(render(info), end="")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--render"]:
        return rerender(Path(sys.argv[2]))
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    say(f"results in {OUT}")
    info = record(machine())
    if not shutil.which("wrk") and set(CFG.steps) - {"raw", "import"}:
        say("wrk is missing: run bench/setup.sh")
        return 1
    migrated = False
    baseline_ran = False
    status = 0
    try:
        step_migrate()
        migrated = True
        if "raw" in CFG.steps:
            for driver in CFG.drivers:
                step_raw(driver)
                pause()
        if "service" in CFG.steps:
            for driver in CFG.drivers:
                for workers in CFG.workers:
                    step_service(driver, workers)
                    pause()
        if "baseline" in CFG.steps:
            baseline_ran = True
            step_baseline()
            pause()
        if "sessions" in CFG.steps:
            step_sessions()
            pause()
        if "import" in CFG.steps:
            step_import()
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    except Exception as exc:  # a step that could not run at all
        say(f"stopped: {type(exc).__name__}: {exc}")
        record({"bench": "error", "label": "run_all", "failed": f"{type(exc).__name__}: {exc}"})
        status = 1
    finally:
        for proc in list(LIVE):
            if proc.poll() is None:
                say(f"stopping pid {proc.pid}")
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if getattr(proc, "_bench_group", False):
                # A server runs in its own process group (its pid = the pgid): workers too.
                _kill_group(proc.pid, signal.SIGKILL)
        if migrated and not CFG.keep_data:
            try:
                drop_keyspace()
            except Exception as exc:
                say(f"could not drop keyspace {CFG.keyspace}: {exc}")
        if baseline_ran and not CFG.keep_data:
            subprocess.run([str(HERE / ".venv" / "bin" / "python"), str(HERE / "baseline" / "admin.py"), "drop"],
                           cwd=ROOT, capture_output=True, check=False)  # fmt: skip
    table = render(info)
    (OUT / "summary.md").write_text(table)
    print(table, flush=True)
    say(f"results: {OUT}")
    if status:
        return status
    return 3 if invalid_runs() else 0


if __name__ == "__main__":
    sys.exit(main())
