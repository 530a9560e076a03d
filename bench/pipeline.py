#!/usr/bin/env python3
"""The pipeline benchmark (issue 16): ingest, then the first read of every player, then a
second read, for this service and for the original design, in one run, with wrk.

    bench/pipeline.sh                          # = bench/.venv/bin/python bench/pipeline.py
    DURATION=5s PLAYERS=500 bench/pipeline.sh  # a quick check
    bench/.venv/bin/python bench/pipeline.py --render bench/results/pipeline-<time>   # the table again

For each system, one after the other (this service first), in a keyspace of its own:

 ingest       wrk for DURATION into PLAYERS fresh players (lua/pipeline_ingest.lua): INGEST_CONNECTIONS
              connections, one per wrk thread, each request a batch of 10 events: 5 starts of new
              sessions, the 5 ends of the sessions that the connection's previous request started.
 first_read   every player once, `GET /sessions?player_id=P&limit=LIMIT` (lua/pipeline_read.lua),
              READ_CONNECTIONS connections (one per wrk thread) walking the shuffled player list
              once; wrk stops each thread after its share and gets SIGINT when all are done.
 second_read  the same again.

Each phase records wrk's req/s (events/s), p50/p90/p99 (wrk's latency histogram); the CPU time
(utime + stime from /proc/<pid>/stat, whole process trees) of the Cassandra node and of the
server (`python -m graphql_service serve`, 1 worker; gunicorn's master and workers); the node's
writes (and reads) to the system's keyspace from `system_views.local_write_latency`
(`local_read_latency`), the `count` per table, difference across the phase; and wrk's own CPU.
PAUSE seconds separate the phases (the last ingest batches in flight land there; what the
servers and the node do meanwhile is recorded too, as `gap` lines). The first read's answers
are checked against what the ingest had acknowledged per player (lua/pipeline_ingest.lua
writes it), every player; after the second read a SAMPLE of players is read once more with
limit=100, outside any measurement.

Both systems run on the same machine and node, in the same run: other load on the machine (and
on the shared node) falls on both, and the node CPU of an idle window (IDLE_SECONDS, before
the run) says how much of it there was.

Output: bench/results/pipeline-<UTC time>/ (RESULTS_DIR): results.jsonl (one JSON line per
measurement), summary.md (the table, also printed on stdout), machine.txt, servers' logs, wrk's
reports, the expected and the answered counts per player.

Environment (defaults): DURATION (20s), PLAYERS (5000), INGEST_CONNECTIONS (16), READ_CONNECTIONS (8),
LIMIT (20), TIMEOUT (10s, wrk's), PAUSE (2 s), IDLE_SECONDS (5), SAMPLE (50), READ_DEADLINE (900 s,
per read phase), SYSTEMS (service,original), SERVICE_DRIVER (acsylla), SERVICE_PORT (8310),
BASELINE_PORT (8311), BASELINE_WORKERS (2), BASELINE_THREADS (8), SERVICE_KEYSPACE /
BASELINE_KEYSPACE (pipeline_<time>_service / _original; dropped at the end unless KEEP_DATA=1),
RESULTS_DIR, CASSANDRA_CONTACT_POINTS / CASSANDRA_PORT, CASSANDRA_PID (the node's java process,
found by its command line otherwise).
Exit status: 0 when every phase was valid (only 2xx, no socket errors, no error lines in the
servers' logs, every first read right), 3 when some was not, 1 when a step could not run.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVICE_PY = str(ROOT / ".venv" / "bin" / "python")
BENCH_VENV = HERE / ".venv"
STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOG_ERROR = re.compile(r"\b(ERROR|CRITICAL|Traceback|Exception)\b")
PLAYER_PREFIX = "pl"
SYSTEM_NAMES = {"service": "this service", "original": "original design"}
# Issue 16's targets, as ratios of one run (service ÷ original).
TARGET_READ_LATENCY_RATIO = 1.0
TARGET_WRITES_PER_READ = 0.05
TARGET_CPU_RATIO = 0.4
TARGET_INGEST_RATIO = 2.0
GOAL_INGEST_RATIO = 2.5
# Node CPU (ms a second) with none of our servers running above which the table warns that
# the node figures hold other users' load (a quiet dev node: a few ms/s).
BUSY_NODE_MS_PER_S = 50.0


def seconds_of(text: str) -> float:
    """wrk's duration syntax: 30, 30s, 2m, 1h."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass
class Config:
    duration: str = os.environ.get("DURATION") or "20s"
    players: int = env_int("PLAYERS", 5000)
    ingest_connections: int = env_int("INGEST_CONNECTIONS", 16)
    read_connections: int = env_int("READ_CONNECTIONS", 8)
    limit: int = env_int("LIMIT", 20)
    timeout: str = os.environ.get("TIMEOUT") or "10s"
    pause: float = float(os.environ.get("PAUSE") or 2)
    idle_seconds: float = float(os.environ.get("IDLE_SECONDS") or 5)
    sample: int = env_int("SAMPLE", 50)
    read_deadline: float = float(os.environ.get("READ_DEADLINE") or 900)
    systems: list[str] = field(
        default_factory=lambda: [s for s in (os.environ.get("SYSTEMS") or "service,original").split(",") if s]
    )
    service_driver: str = os.environ.get("SERVICE_DRIVER") or "acsylla"
    service_port: int = env_int("SERVICE_PORT", 8310)
    baseline_port: int = env_int("BASELINE_PORT", 8311)
    baseline_workers: int = env_int("BASELINE_WORKERS", 2)
    baseline_threads: int = env_int("BASELINE_THREADS", 8)
    service_keyspace: str = os.environ.get("SERVICE_KEYSPACE") or f"pipeline_{STAMP[:15].lower()}_service"
    baseline_keyspace: str = os.environ.get("BASELINE_KEYSPACE") or f"pipeline_{STAMP[:15].lower()}_original"
    results_dir: Path = Path(os.environ.get("RESULTS_DIR") or HERE / "results" / f"pipeline-{STAMP}")
    keep_data: bool = os.environ.get("KEEP_DATA", "0") == "1"
    contact_points: list[str] = field(
        default_factory=lambda: [
            h.strip() for h in (os.environ.get("CASSANDRA_CONTACT_POINTS") or "127.0.0.1").split(",") if h.strip()
        ]
    )
    cql_port: int = env_int("CASSANDRA_PORT", 9042)


CFG = Config()
OUT = CFG.results_dir
RESULTS: list[dict[str, Any]] = []


def say(message: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def record(result: dict[str, Any]) -> dict[str, Any]:
    RESULTS.append(result)
    with open(OUT / "results.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    return result


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()
    except OSError as exc:
        return f"({exc})"


# -- CQL: the node's own counters, keyspaces ----------------------------------------------------


class Node:
    """A cassandra-driver session (bench/.venv) for the node's virtual tables and for dropping
    the benchmark's keyspaces: none of the service's code, so it works on any store."""

    def __init__(self) -> None:
        try:
            from cassandra.cluster import Cluster
        except ImportError:
            raise SystemExit("pipeline.py: cassandra-driver is missing: run bench/pipeline.sh (bench/.venv)") from None

        self._cluster = Cluster(CFG.contact_points, port=CFG.cql_port)
        self._session = self._cluster.connect()

    def release_version(self) -> str:
        row = self._session.execute("SELECT release_version FROM system.local").one()
        return str(row.release_version)

    def counts(self, table: str, keyspace: str) -> dict[str, int]:
        """`count` per table of system_views.<table> (local_write_latency / local_read_latency)
        for one keyspace: operations the node applied locally since it started."""
        rows = self._session.execute(
            f"SELECT table_name, count FROM system_views.{table} WHERE keyspace_name = %s", (keyspace,)
        )
        return {row.table_name: int(row.count) for row in rows}

    def drop(self, keyspace: str) -> None:
        # A generous timeout: dropping a keyspace flushes and snapshots its tables.
        self._session.execute(f'DROP KEYSPACE IF EXISTS "{keyspace}"', timeout=120)

    def close(self) -> None:
        self._cluster.shutdown()


# -- processes and their CPU ----------------------------------------------------------------------


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


def tree(root: int) -> list[int]:
    """root and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in proc_table().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process (all its threads), in clock ticks; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP `port` (any local address), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def cassandra_pid() -> int | None:
    """The java process that listens on the CQL port: other nodes may run on the machine too
    (a test's cluster on other addresses), so the command line alone does not tell."""
    if os.environ.get("CASSANDRA_PID"):
        return int(os.environ["CASSANDRA_PID"])
    pids = [pid for pid, (_, cmd) in proc_table().items() if "org.apache.cassandra.service.CassandraDaemon" in cmd]
    if len(pids) <= 1:
        return pids[0] if pids else None
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(CFG.cql_port)}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return pid
            except OSError:
                continue
    return None


def ms(ticks: int) -> float:
    return ticks * 1000 / CLK_TCK


def children_cpu_ms() -> float:
    """CPU of our children that have been waited for (so: the wrk runs so far)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - our own local server
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


def kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Server:
    """One system's HTTP server, in its own process group (its pid = the group's id)."""

    system = ""

    def __init__(self, port: int, keyspace: str) -> None:
        self.port, self.keyspace = port, keyspace
        self.url = f"http://127.0.0.1:{port}"
        self.log = OUT / f"server-{self.system}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        raise NotImplementedError

    def ready_path(self) -> str:
        raise NotImplementedError

    def stop_signal(self) -> int:
        return signal.SIGTERM

    def __enter__(self) -> Server:
        if not port_free(self.port):
            raise RuntimeError(f"something already listens on 127.0.0.1:{self.port}")
        cmd, env, cwd = self.command()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.system} server exited ({self.proc.returncode}); see {self.log}")
            status, body = http_get(self.url + self.ready_path(), timeout=5)
            if status == 200:
                try:
                    self.ready = json.loads(body)
                except ValueError:
                    self.ready = {}
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.url}{self.ready_path()} not 200 within 120 s; see {self.log}")

    def pids(self) -> list[int]:
        return tree(self.proc.pid) if self.proc is not None and self.proc.poll() is None else []

    def cpu_ticks(self) -> int:
        return sum(cpu_ticks(pid) for pid in self.pids())

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(self.stop_signal())
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{self.system}: no exit 30 s after the stop signal: SIGKILL to its process group")
                kill_group(proc.pid, signal.SIGKILL)
                proc.wait()
        kill_group(proc.pid, signal.SIGKILL)  # workers left behind would hold the port


class ServiceServer(Server):
    """`python -m graphql_service serve`, one worker, on SERVICE_DRIVER (acsylla)."""

    system = "service"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        prom = OUT / "prom-service"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir(parents=True)
        env = {
            **os.environ,
            "CASSANDRA_DRIVER": CFG.service_driver,
            "CASSANDRA_KEYSPACE": self.keyspace,
            "WEB_CONCURRENCY": "1",
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(prom),
            "LOG_LEVEL": "WARNING",
        }
        return [SERVICE_PY, "-m", "graphql_service", "serve"], env, ROOT

    def ready_path(self) -> str:
        return "/readyz"

    def stop_signal(self) -> int:
        return signal.SIGINT

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(OUT / "prom-service", ignore_errors=True)


class OriginalServer(Server):
    """bench/baseline/app.py (Flask, one unprepared INSERT per event) under gunicorn."""

    system = "original"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        env = {**os.environ, "BASELINE_KEYSPACE": self.keyspace}
        cmd = [
            str(BENCH_VENV / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
            "-w", str(CFG.baseline_workers), "--threads", str(CFG.baseline_threads),
            "-b", f"127.0.0.1:{self.port}", "app:app",
        ]  # fmt: skip
        return cmd, env, HERE / "baseline"

    def ready_path(self) -> str:
        return "/health"


def migrate_service(keyspace: str) -> None:
    env = {**os.environ, "CASSANDRA_KEYSPACE": keyspace, "CASSANDRA_DRIVER": CFG.service_driver}
    done = subprocess.run(
        [SERVICE_PY, "-m", "graphql_service", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}): {done.stdout}{done.stderr}")


# The driver's schema-metadata noise about OTHER keyspaces of the shared node (a test dropping
# its keyspace while the driver refreshes its schema): not an error of the system under test.
OTHER_KEYSPACE_NOISE = re.compile(r"No row found for table \(or view\) (\w+)\.")


def scan_log(path: Path, keyspace: str) -> dict[str, Any]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"log_errors": None}
    errors, ignored = [], 0
    for i, line in enumerate(lines):
        if not LOG_ERROR.search(line):
            continue
        noise = OTHER_KEYSPACE_NOISE.search(line)
        if noise and noise.group(1) != keyspace:
            ignored += 1
        else:
            errors.append(i)
    excerpt = lines[max(0, errors[0] - 2) : errors[0] + 25] if errors else []
    return {"log_file": path.name, "log_errors": len(errors), "log_excerpt": excerpt, "log_ignored": ignored}


# -- measuring a phase ----------------------------------------------------------------------------


STATEMENT_COUNT = re.compile(
    r'^player_sessions_cassandra_statement_duration_seconds_count\{[^}]*statement="([^"]*)"[^}]*\}\s+(\S+)', re.M
)


def statements(server: Server) -> dict[str, float] | None:
    """The service's statements by name from /metrics (None for the original design, or when
    the metric is not there)."""
    if server.system != "service":
        return None
    status, text = http_get(f"{server.url}/metrics")
    if status != 200:
        return None
    return {name: float(value) for name, value in STATEMENT_COUNT.findall(text)}


@dataclass
class Snapshot:
    at: float
    node_ticks: int | None
    server_ticks: int
    client_ms: float
    writes: dict[str, int]
    reads: dict[str, int]


class Meter:
    def __init__(self, node: Node, server: Server, node_pid: int | None) -> None:
        self.node, self.server, self.node_pid = node, server, node_pid

    def snapshot(self) -> Snapshot:
        ks = self.server.keyspace
        return Snapshot(
            at=time.monotonic(),
            node_ticks=cpu_ticks(self.node_pid) if self.node_pid else None,
            server_ticks=self.server.cpu_ticks(),
            client_ms=children_cpu_ms(),
            writes=self.node.counts("local_write_latency", ks),
            reads=self.node.counts("local_read_latency", ks),
        )

    @staticmethod
    def between(a: Snapshot, b: Snapshot) -> dict[str, Any]:
        def diff(x: dict[str, int], y: dict[str, int]) -> dict[str, int]:
            d = {t: y.get(t, 0) - x.get(t, 0) for t in sorted(set(x) | set(y))}
            return {t: v for t, v in d.items() if v}

        writes, reads = diff(a.writes, b.writes), diff(a.reads, b.reads)
        node_ms = ms(b.node_ticks - a.node_ticks) if a.node_ticks is not None and b.node_ticks is not None else None
        return {
            "wall_s": round(b.at - a.at, 3),
            "node_cpu_ms": node_ms,
            "server_cpu_ms": ms(b.server_ticks - a.server_ticks),
            "client_cpu_ms": round(b.client_ms - a.client_ms, 1),
            "node_writes": sum(writes.values()),
            "node_writes_by_table": writes,
            "node_reads": sum(reads.values()),
            "node_reads_by_table": reads,
        }


def parse_summary(path: Path, marker: str) -> dict[str, Any] | None:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.startswith(marker)]
    return json.loads(lines[-1]) if lines else None


def valid(w: dict[str, Any] | None) -> bool:
    return bool(w) and not w["non_2xx"] and not any(w["socket_errors"].values())  # type: ignore[index]


def wrk_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def run_ingest(system: str, server: Server, meter: Meter) -> dict[str, Any]:
    n = min(CFG.ingest_connections, CFG.players)
    expect = OUT / f"expect-{system}.tsv"
    report = OUT / f"wrk-{system}-ingest.txt"
    cmd = [
        "wrk", f"-t{n}", f"-c{n}", f"-d{CFG.duration}", "--timeout", CFG.timeout, "--latency",
        "-s", str(HERE / "lua" / "pipeline_ingest.lua"), server.url,
    ]  # fmt: skip
    env = wrk_env(
        PIPELINE_PLAYERS=str(CFG.players), PIPELINE_THREADS=str(n), PLAYER_PREFIX=PLAYER_PREFIX, EXPECT_OUT=str(expect)
    )
    s0, m0 = statements(server), meter.snapshot()
    with open(report, "w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    m1 = meter.snapshot()
    s1 = statements(server)
    w = parse_summary(report, '{"bench"')
    result = {"bench": "phase", "system": system, "phase": "ingest", "connections": n, "wrk": w,
              "wrk_exit": proc.returncode, **Meter.between(m0, m1), **statements_delta(s0, s1)}  # fmt: skip
    if w is None:
        result["failed"] = f"no summary from wrk (exit {proc.returncode}), see {report.name}"
    return record(result)


def run_read(system: str, phase: str, server: Server, meter: Meter, players_file: Path) -> dict[str, Any]:
    n = min(CFG.read_connections, CFG.players)
    done_file = OUT / f"done-{system}-{phase}.txt"
    counts = OUT / f"counts-{system}-{phase}.tsv"
    report = OUT / f"wrk-{system}-{phase}.txt"
    done_file.unlink(missing_ok=True)
    # -d: longer than any read phase; the threads stop themselves, wrk gets SIGINT after them.
    cmd = [
        "wrk", f"-t{n}", f"-c{n}", f"-d{int(CFG.read_deadline) + 60}s", "--timeout", CFG.timeout, "--latency",
        "-s", str(HERE / "lua" / "pipeline_read.lua"), server.url,
    ]  # fmt: skip
    env = wrk_env(
        PLAYERS_FILE=str(players_file), PIPELINE_THREADS=str(n), LIMIT=str(CFG.limit),
        DONE_FILE=str(done_file), COUNTS_OUT=str(counts),
    )  # fmt: skip
    s0, m0 = statements(server), meter.snapshot()
    m1: Snapshot | None = None
    timed_out = False
    with open(report, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + CFG.read_deadline
        while proc.poll() is None:
            if done_file.is_file() and len(done_file.read_text().split()) >= n:
                m1 = meter.snapshot()
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if m1 is None:
        m1 = meter.snapshot()
    s1 = statements(server)
    w = parse_summary(report, '{"bench"')
    result = {"bench": "phase", "system": system, "phase": phase, "connections": n, "wrk": w,
              "wrk_exit": proc.returncode, **Meter.between(m0, m1), **statements_delta(s0, s1)}  # fmt: skip
    if w is None:
        result["failed"] = f"no summary from wrk (exit {proc.returncode}), see {report.name}"
    elif timed_out or w["threads_finished"] < n:
        result["failed"] = f"only {w['threads_finished']} of {n} wrk threads got through their players"
    elif w["requests"] != CFG.players:
        result["failed"] = f"{w['requests']} requests for {CFG.players} players"
    return record(result)


def statements_delta(s0: dict[str, float] | None, s1: dict[str, float] | None) -> dict[str, Any]:
    if s0 is None or s1 is None:
        return {}
    d = {k: int(s1.get(k, 0) - s0.get(k, 0)) for k in sorted(set(s0) | set(s1))}
    return {"service_statements": {k: v for k, v in d.items() if v}}


def gap(system: str, name: str, meter: Meter) -> None:
    if CFG.pause <= 0:
        return
    m0 = meter.snapshot()
    time.sleep(CFG.pause)
    record({"bench": "gap", "system": system, "phase": name, **Meter.between(m0, meter.snapshot())})


# -- correctness ----------------------------------------------------------------------------------


def read_expect(system: str) -> dict[str, tuple[int, int]]:
    expect = {}
    for line in (OUT / f"expect-{system}.tsv").read_text().splitlines():
        player, complete, uncertain = line.split("\t")
        expect[player] = (int(complete), int(uncertain))
    return expect


def check_reads(system: str, phase: str, expect: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Every player's answer against what the ingest had acknowledged: between min(complete,
    LIMIT) and min(complete + uncertain, LIMIT) sessions (uncertain: the ends of the batches in
    flight when wrk stopped)."""
    answers: dict[str, tuple[int, int]] = {}
    path = OUT / f"counts-{system}-{phase}.tsv"
    if path.is_file():
        for line in path.read_text().splitlines():
            player, status_text, count_text = line.split("\t")
            answers[player] = (int(status_text), int(count_text))
    wrong = []
    for player, (complete, uncertain) in expect.items():
        lo, hi = min(complete, CFG.limit), min(complete + uncertain, CFG.limit)
        status, n = answers.get(player, (0, -1))
        if status != 200 or not lo <= n <= hi:
            wrong.append({"player": player, "status": status, "sessions": n, "expected": [lo, hi]})
    return record(
        {
            "bench": "check", "system": system, "phase": phase, "players": len(expect), "answered": len(answers),
            "right": len(expect) - len(wrong), "wrong": len(wrong), "wrong_examples": wrong[:5],
            "players_uncertain": sum(1 for _, u in expect.values() if u),
            "players_full_page": sum(1 for c, _ in expect.values() if c >= CFG.limit),
        }
    )  # fmt: skip


def check_sample(system: str, server: Server, expect: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """SAMPLE players read again with limit=100 (outside the measurements): the whole count."""
    players = sorted(expect)
    random.Random(7).shuffle(players)  # noqa: S311 - a repeatable sample, not a secret
    wrong = []
    sample = players[: CFG.sample]
    for player in sample:
        complete, uncertain = expect[player]
        lo, hi = min(complete, 100), min(complete + uncertain, 100)
        query = urllib.parse.urlencode({"player_id": player, "limit": 100})
        status, body = http_get(f"{server.url}/sessions?{query}", timeout=30)
        n = len(json.loads(body)["sessions"]) if status == 200 else -1
        if not lo <= n <= hi:
            wrong.append({"player": player, "status": status, "sessions": n, "expected": [lo, hi]})
    return record(
        {
            "bench": "check", "system": system, "phase": "sample_limit_100", "players": len(sample),
            "answered": len(sample), "right": len(sample) - len(wrong), "wrong": len(wrong),
            "wrong_examples": wrong[:5],
        }
    )  # fmt: skip


# -- one system -----------------------------------------------------------------------------------


def run_system(system: str, node: Node, node_pid: int | None, players_file: Path) -> None:
    keyspace = CFG.service_keyspace if system == "service" else CFG.baseline_keyspace
    say(f"{SYSTEM_NAMES[system]}: keyspace {keyspace}")
    node.drop(keyspace)
    server: Server
    if system == "service":
        migrate_service(keyspace)
        server = ServiceServer(CFG.service_port, keyspace)
    else:
        server = OriginalServer(CFG.baseline_port, keyspace)
    with server:
        record({"bench": "server", "system": system, "keyspace": keyspace, "ready": server.ready,
                "pids": server.pids()})  # fmt: skip
        meter = Meter(node, server, node_pid)
        say(f"  ingest: {CFG.duration} into {CFG.players:,} players, {CFG.ingest_connections} connections")
        r = run_ingest(system, server, meter)
        w = r["wrk"] or {}
        say(f"    {w.get('events_per_s', 0):,.0f} events/s, p50 {w.get('p50_ms', 0):.1f} ms, p99 "
            f"{w.get('p99_ms', 0):.1f} ms, non-2xx {w.get('non_2xx')}")  # fmt: skip
        expect = read_expect(system) if not r.get("failed") else {}
        for i, phase in enumerate(("first_read", "second_read")):
            gap(system, f"before_{phase}", meter)
            say(f"  {phase}: {CFG.players:,} players, {CFG.read_connections} connections")
            r = run_read(system, phase, server, meter, players_file)
            w = r["wrk"] or {}
            say(f"    {w.get('requests_per_s', 0):,.0f} req/s, p50 {w.get('p50_ms', 0):.1f} ms, p99 "
                f"{w.get('p99_ms', 0):.1f} ms, {r['node_writes']:,} node writes, non-2xx {w.get('non_2xx')}"
                + (f"; FAILED: {r['failed']}" if r.get("failed") else ""))  # fmt: skip
            if expect and i == 0:
                c = check_reads(system, phase, expect)
                say(f"    answers right for {c['right']:,} of {c['players']:,} players")
        if expect and CFG.sample:
            c = check_sample(system, server, expect)
            say(f"  sample, limit=100: {c['right']} of {c['players']} right")
    record({"bench": "server_log", "system": system, **scan_log(server.log, keyspace)})


# -- the table ------------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def milliseconds(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} ms"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def times(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"  # noqa: RUF001 - the issue's tables write ratios so


def phase_of(system: str, phase: str, kind: str = "phase") -> dict[str, Any] | None:
    return next((r for r in RESULTS if r.get("bench") == kind and r["system"] == system and r["phase"] == phase), None)


def cpu_ms(r: dict[str, Any] | None) -> float | None:
    if not r or r.get("node_cpu_ms") is None:
        return None
    return float(r["node_cpu_ms"] + r["server_cpu_ms"])


def per(x: float | None, n: float | None, scale: float = 1) -> float | None:
    return x * scale / n if x is not None and n else None


@dataclass
class Figures:
    """What the table shows of one system."""

    ingest: dict[str, Any] | None
    first: dict[str, Any] | None
    second: dict[str, Any] | None

    @property
    def events(self) -> float | None:
        w = self.ingest and self.ingest["wrk"]
        return float(w["events_ok"]) if w else None

    def w(self, r: dict[str, Any] | None, key: str) -> float | None:
        w = r and r.get("wrk")
        return float(w[key]) if w else None

    def latency(self, r: dict[str, Any] | None) -> str:
        w = r and r.get("wrk")
        return f"{w['p50_ms']:.1f} ms, {w['p99_ms']:.1f} ms" if w else "—"

    def reads(self, r: dict[str, Any] | None) -> float | None:
        return self.w(r, "requests")

    def cpu_per_read(self, r: dict[str, Any] | None) -> float | None:
        return per(cpu_ms(r), self.reads(r))

    def writes_per_read(self, r: dict[str, Any] | None) -> float | None:
        return per(float(r["node_writes"]), self.reads(r)) if r else None

    def writes_per_event(self) -> float | None:
        return per(float(self.ingest["node_writes"]), self.events) if self.ingest else None

    def cpu_per_1000_events(self) -> float | None:
        return per(cpu_ms(self.ingest), self.events, 1000)

    def cpu_ingest_and_first_read(self) -> float | None:
        a, b = cpu_ms(self.ingest), cpu_ms(self.first)
        return per(a + b, self.events, 1000) if a is not None and b is not None else None


def figures(system: str) -> Figures:
    return Figures(phase_of(system, "ingest"), phase_of(system, "first_read"), phase_of(system, "second_read"))


def split(r: dict[str, Any] | None, n: float | None, scale: float = 1) -> str:
    """`5.1 ms (node 3.9 + server 1.2)`"""
    total = per(cpu_ms(r), n, scale)
    if total is None or r is None:
        return "—"
    return (
        f"{total:,.{1 if total < 100 else 0}f} ms (node {per(r['node_cpu_ms'], n, scale):,.1f} + "
        f"server {per(r['server_cpu_ms'], n, scale):,.1f})"
    )


def read_cell(f: Figures, r: dict[str, Any] | None) -> str:
    if not r or not r.get("wrk"):
        return "—" if not r else f"failed: {r.get('failed')}"
    w = r["wrk"]
    return f"{w['requests_per_s']:,.0f} req/s, {w['p50_ms']:.1f} ms, {w['p99_ms']:.1f} ms"


def check_cell(system: str, phase: str) -> str:
    c = phase_of(system, phase, "check")
    if not c:
        return "—"
    return f"{c['right']:,} of {c['players']:,}" + (f" (**{c['wrong']:,} wrong**)" if c["wrong"] else "")


def bad_cell(system: str) -> str:
    if not any(r.get("bench") == "phase" and r["system"] == system for r in RESULTS):
        return "—"
    parts = []
    for r in RESULTS:
        if r.get("bench") == "phase" and r["system"] == system:
            w = r.get("wrk")
            if not w:
                parts.append(f"{r['phase']}: no wrk summary")
                continue
            errs = {k: v for k, v in w["socket_errors"].items() if v}
            if w["non_2xx"] or errs:
                parts.append(f"{r['phase']}: {w['non_2xx']}" + (f" + socket errors {errs}" if errs else ""))
    return "; ".join(parts) if parts else "0"


def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "—"
    return "met" if (value >= target if higher_is_better else value <= target) else "**missed**"


def render() -> str:
    info = next(r for r in RESULTS if r.get("bench") == "machine")
    c = info["config"]
    s, o = figures("service"), figures("original")
    out = [
        f"# Pipeline benchmark {info['date']}",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu_model']}), {info['mem_total_gb']} GB RAM, load average at start "
        f"{' '.join(info['loadavg_at_start'])}; commit {info['git_head']}"
        + (f" + {info['git_dirty_files']} changed files" if info["git_dirty_files"] else "")
        + f"; Cassandra {info.get('cassandra') or '?'} on 127.0.0.1 (same machine, shared"
        + (f", pid {info['cassandra_pid']}" if info.get("cassandra_pid") else ": **its CPU not measured**, no process")
        + f"); {info['wrk_version']}.",
        f"Load: ingest {c['DURATION']} into {c['PLAYERS']:,} fresh players (wrk, {c['INGEST_CONNECTIONS']} "
        f"connections, batches of 10: 5 starts, 5 ends of the connection's previous batch); then every player once, "
        f"`GET /sessions?player_id=P&limit={c['LIMIT']}` ({c['READ_CONNECTIONS']} connections), twice; "
        f"{c['PAUSE']:g} s between phases. This service: `serve`, 1 worker, {c['SERVICE_DRIVER']}. Original design: "
        f"bench/baseline (Flask, one unprepared INSERT per event) under gunicorn -w {c['BASELINE_WORKERS']} "
        f"--threads {c['BASELINE_THREADS']}. CPU: utime+stime of the Cassandra process and of the server's "
        f"processes over the phase; node writes: `system_views.local_write_latency` counts, the system's keyspace.",
        "",
        "| | this service | original design | service ÷ original |",
        "|---|---:|---:|---:|",
    ]

    def row(name: str, a: str, b: str, r: str = "") -> None:
        out.append(f"| {name} | {a} | {b} | {r} |")

    row("ingest, events/s", fmt(s.w(s.ingest, "events_per_s")), fmt(o.w(o.ingest, "events_per_s")),
        times(ratio(s.w(s.ingest, "events_per_s"), o.w(o.ingest, "events_per_s"))))  # fmt: skip
    row("ingest p50, p99", s.latency(s.ingest), o.latency(o.ingest))
    row("node + server CPU of the ingest, per 1,000 events", split(s.ingest, s.events, 1000),
        split(o.ingest, o.events, 1000), times(ratio(s.cpu_per_1000_events(), o.cpu_per_1000_events())))  # fmt: skip
    row("node writes during the ingest, per event", fmt(s.writes_per_event(), 2), fmt(o.writes_per_event(), 2))
    for name, key in (("first", "first"), ("second", "second")):
        rs, ro = getattr(s, key), getattr(o, key)
        lat = ""
        if rs and ro and rs.get("wrk") and ro.get("wrk"):
            lat = (f"p50 {times(ratio(rs['wrk']['p50_ms'], ro['wrk']['p50_ms']))}, "
                   f"p99 {times(ratio(rs['wrk']['p99_ms'], ro['wrk']['p99_ms']))}")  # fmt: skip
        row(f"{name} read of each player: req/s, p50, p99", read_cell(s, rs), read_cell(o, ro), lat)
        row(f"node + server CPU of the {name} reads, a read", split(rs, s.reads(rs)), split(ro, o.reads(ro)),
            times(ratio(s.cpu_per_read(rs), o.cpu_per_read(ro))))  # fmt: skip
        row(f"node writes during the {name} reads, a read", fmt(s.writes_per_read(rs), 2),
            fmt(o.writes_per_read(ro), 2))  # fmt: skip
    row("**CPU per 1,000 events, ingest + first read**", milliseconds(s.cpu_ingest_and_first_read()),
        milliseconds(o.cpu_ingest_and_first_read()),
        times(ratio(s.cpu_ingest_and_first_read(), o.cpu_ingest_and_first_read())))  # fmt: skip
    row(f"first reads with the sessions sent (limit {c['LIMIT']})", check_cell("service", "first_read"),
        check_cell("original", "first_read"))  # fmt: skip
    row("sample re-read with limit=100, right", check_cell("service", "sample_limit_100"),
        check_cell("original", "sample_limit_100"))  # fmt: skip
    row("non-2xx answers", bad_cell("service"), bad_cell("original"))

    busy = [r["node_cpu_ms_per_s"] for r in RESULTS if r.get("bench") == "idle"]
    if busy and max(busy) > BUSY_NODE_MS_PER_S:
        out += [
            "",
            f"⚠ The node was busy with other work: {max(busy):,.0f} ms of its CPU a second while none of this "
            "benchmark's servers ran (below). The node CPU figures hold that load too, so they are not these "
            "systems' alone; latencies and rates suffer from it as well. Compare runs on a quiet machine.",
        ]

    # Issue 16's targets.
    rows: list[tuple[str, float | None, str, str]] = []
    if s.first and o.first and s.first.get("wrk") and o.first.get("wrk"):
        for p in ("p50", "p99"):
            x = ratio(s.first["wrk"][f"{p}_ms"], o.first["wrk"][f"{p}_ms"])
            rows.append((f"first read {p}, service ÷ original", x, "≤ 1", verdict(x, TARGET_READ_LATENCY_RATIO, False)))
    x = s.writes_per_read(s.first)
    rows.append(("node writes a first read (service; incl. background rollups)", x, f"≤ {TARGET_WRITES_PER_READ:g}",
                 verdict(x, TARGET_WRITES_PER_READ, False)))  # fmt: skip
    x = ratio(s.cpu_ingest_and_first_read(), o.cpu_ingest_and_first_read())
    rows.append(("CPU per 1,000 events, ingest + first read, service ÷ original", x, f"≤ {TARGET_CPU_RATIO:g}",
                 verdict(x, TARGET_CPU_RATIO, False)))  # fmt: skip
    x = ratio(s.w(s.ingest, "events_per_s"), o.w(o.ingest, "events_per_s"))
    rows.append(("ingest events/s, service ÷ original", x, f"≥ {TARGET_INGEST_RATIO:g} (goal {GOAL_INGEST_RATIO:g})",
                 verdict(x, TARGET_INGEST_RATIO, True)))  # fmt: skip
    out += ["", "| issue 16 target | value | target | verdict |", "|---|---:|---|---|"]
    out += [f"| {name} | {fmt(v, 2)} | {t} | {v_} |" for name, v, t, v_ in rows]

    # Details: every phase and gap, raw.
    out += [
        "",
        "Per phase (wall time; CPU in ms over the phase; node writes/reads to the system's keyspace; "
        "wrk's own CPU as the load client):",
        "",
        "| system | phase | wall s | requests | node CPU ms | server CPU ms | wrk CPU ms | node writes | node reads "
        "| writes by table |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in RESULTS:
        if r.get("bench") not in ("phase", "gap"):
            continue
        w = r.get("wrk")
        tables = ", ".join(f"{t} {n:,}" for t, n in sorted(r["node_writes_by_table"].items(), key=lambda kv: -kv[1]))
        out.append(
            f"| {r['system']} | {r['phase']} | {r['wall_s']:.1f} | {fmt(w and w['requests'])} | "
            f"{fmt(r['node_cpu_ms'])} | {fmt(r['server_cpu_ms'])} | {fmt(r['client_cpu_ms'])} | "
            f"{r['node_writes']:,} | {r['node_reads']:,} | {tables or '—'} |"
        )
    idle = [r for r in RESULTS if r.get("bench") == "idle"]
    if idle:
        rates = " and ".join(f"{r['node_cpu_ms_per_s']:,.0f} ms/s {r.get('when', 'before')}" for r in idle)
        out += [
            "",
            f"Node CPU with none of this benchmark's servers running ({idle[0]['seconds']:g} s before and after the "
            f"run): {rates} — other users of the shared node and machine; that load is in every node figure above, "
            f"for both systems alike (1,000 ms/s = one core).",
        ]
    stmts = [r for r in RESULTS if r.get("bench") == "phase" and r.get("service_statements")]
    if stmts:
        out += ["", "The service's statements per phase (/metrics):", ""]
        for r in stmts:
            total = sum(r["service_statements"].values())
            n = (r["wrk"] or {}).get("requests") or 0
            listing = ", ".join(f"{k} {v:,}" for k, v in sorted(r["service_statements"].items(), key=lambda kv: -kv[1]))
            out.append(f"* {r['phase']}: {total:,} ({fmt(per(total, n), 2)} a request): {listing}")
    problems = problem_list()
    if problems:
        out += ["", "Problems (the run is not a valid measurement where these apply):", ""]
        out += [f"* {p}" for p in problems]
    return "\n".join(out) + "\n"


def problem_list() -> list[str]:
    problems = []
    for r in RESULTS:
        where = f"{r.get('system', '')} {r.get('phase', r.get('label', ''))}".strip()
        if r.get("failed"):
            problems.append(f"{where}: failed: {r['failed'][:300]}")
        if r.get("bench") == "phase" and r.get("wrk") and not valid(r["wrk"]):
            w = r["wrk"]
            problems.append(f"{where}: {w['non_2xx']} non-2xx answers, socket errors {w['socket_errors']}")
        if r.get("bench") == "check" and r["wrong"]:
            problems.append(
                f"{where}: {r['wrong']} players with a wrong number of sessions, e.g. {r['wrong_examples']}"
            )
        if r.get("bench") == "server_log" and r.get("log_errors"):
            problems.append(f"{where}: {r['log_errors']} error lines in {r['log_file']}")
    return problems


# -- main -----------------------------------------------------------------------------------------


def machine(cassandra: str | None, node_pid: int | None) -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    info: dict[str, Any] = {
        "bench": "machine",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "git_head": sh("git", "rev-parse", "--short", "HEAD"),
        "git_dirty_files": len([line for line in sh("git", "status", "--porcelain").splitlines() if line.strip()]),
        "cassandra": cassandra,
        "cassandra_pid": node_pid,
        "wrk_version": sh("wrk", "-v").splitlines()[0].split(" Copyright")[0] if shutil.which("wrk") else None,
        "kernel": sh("uname", "-r"),
        "config": {
            "DURATION": CFG.duration, "PLAYERS": CFG.players, "INGEST_CONNECTIONS": CFG.ingest_connections,
            "READ_CONNECTIONS": CFG.read_connections, "LIMIT": CFG.limit, "PAUSE": CFG.pause,
            "SERVICE_DRIVER": CFG.service_driver, "BASELINE_WORKERS": CFG.baseline_workers,
            "BASELINE_THREADS": CFG.baseline_threads, "SYSTEMS": CFG.systems,
            "keyspaces": [CFG.service_keyspace, CFG.baseline_keyspace],
        },
    }  # fmt: skip
    (OUT / "machine.txt").write_text(
        f"date: {info['date']}\nnproc: {info['nproc']}\ncpu: {cpu}\ngit HEAD: {info['git_head']} "
        f"({info['git_dirty_files']} files changed in the work tree)\nkernel: {info['kernel']}\n"
        f"cassandra: {cassandra}\nwrk: {info['wrk_version']}\nloadavg at start: {' '.join(info['loadavg_at_start'])}\n"
        f"\n$ free -g\n{sh('free', '-g')}\n"
    )
    return info


def idle_sample(node_pid: int | None, when: str) -> None:
    """The node's CPU while none of the benchmark's servers runs: what other users of the
    shared node and machine add to every node figure."""
    if not node_pid or CFG.idle_seconds <= 0:
        return
    t0, c0 = time.monotonic(), cpu_ticks(node_pid)
    time.sleep(CFG.idle_seconds)
    t1, c1 = time.monotonic(), cpu_ticks(node_pid)
    rate = round(ms(c1 - c0) / (t1 - t0), 1)
    record({"bench": "idle", "when": when, "seconds": CFG.idle_seconds, "node_cpu_ms_per_s": rate})


def write_players() -> Path:
    """Every player once, in one shuffled order (the same for both systems)."""
    players = [f"{PLAYER_PREFIX}-{i}" for i in range(CFG.players)]
    random.Random(16).shuffle(players)  # noqa: S311 - a repeatable order, not a secret
    path = OUT / "players.txt"
    path.write_text("\n".join(players) + "\n")
    return path


def main() -> int:
    if sys.argv[1:2] == ["--render"]:
        directory = Path(sys.argv[2])
        RESULTS.extend(json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines() if line)
        print(render(), end="")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    say(f"results in {OUT}")
    if not shutil.which("wrk"):
        say("wrk is missing: run bench/setup.sh")
        return 1
    node = Node()
    node_pid = cassandra_pid()
    if node_pid is None:
        say("no (single) Cassandra process found on this machine: node CPU is not measured (set CASSANDRA_PID)")
    record(machine(node.release_version(), node_pid))
    status = 0
    began = time.monotonic()
    try:
        idle_sample(node_pid, "before")
        players_file = write_players()
        for system in CFG.systems:
            run_system(system, node, node_pid, players_file)
        idle_sample(node_pid, "after")
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    except Exception as exc:  # a step that could not run at all
        say(f"stopped: {type(exc).__name__}: {exc}")
        record({"bench": "error", "label": "pipeline", "failed": f"{type(exc).__name__}: {exc}"})
        status = 1
    finally:
        if not CFG.keep_data:
            for keyspace in (CFG.service_keyspace, CFG.baseline_keyspace):
                try:
                    node.drop(keyspace)
                except Exception as exc:
                    say(f"could not drop keyspace {keyspace}: {exc}")
            say("dropped the benchmark's keyspaces")
        node.close()
    record({"bench": "elapsed", "seconds": round(time.monotonic() - began, 1)})
    table = render()
    (OUT / "summary.md").write_text(table)
    print(table, flush=True)
    say(f"results: {OUT} ({time.monotonic() - began:.0f} s)")
    if status:
        return status
    return 3 if problem_list() else 0


if __name__ == "__main__":
    sys.exit(main())
