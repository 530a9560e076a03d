"""A local Apache Cassandra node that the project fetches, starts and stops by itself
(without the binary tarball, which Maven Central lacks for 5.0: see docs/architecture.md).
Readiness is a CQL OPTIONS → SUPPORTED handshake, so no driver is needed here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pydantic import field_validator

from ..domain.errors import ToolError
from ..settings import EnvSettings, setting
from .maven import cached_jars

FALLBACK_VERSION = "5.0.9"
METADATA_URL = "https://repo.maven.apache.org/maven2/org/apache/cassandra/cassandra-all/maven-metadata.xml"
SUPPORTED_JAVA = ("17", "11")


class DevNodeError(ToolError):
    """Anything that stops the local node from running; the message says what to do."""


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "player-session-service"


class NodeSettings(EnvSettings):
    """The local node's settings: read by `cassandra start|stop|status|fetch` and the test
    fixtures that start a node, never by `serve` (the README's table lists them last)."""

    readme_prefix = "local node: "

    version: str | None = setting("CASSANDRA_VERSION", None, "pin a Cassandra version", shown="newest 5.0.x")
    heap: str = setting("CASSANDRA_HEAP", "1G", "JVM heap")
    start_timeout_seconds: int = setting("CASSANDRA_START_TIMEOUT", 180, "seconds to wait for CQL", ge=10, le=3600)
    java_home: Path | None = setting("JAVA_HOME", None, "a JDK 17 or 11 to use first", shown="*(searched)*")
    cache_dir: Path = setting(
        "PSS_CACHE_DIR",
        meaning="where the Cassandra jars are cached",
        shown="`$XDG_CACHE_HOME/player-session-service` or `~/.cache/…`",
        factory=_default_cache_dir,
    )
    run_dir: Path = setting("PSS_RUN_DIR", Path(".run"), "data, logs and pid file (`.run/cassandra/`)", shown="`.run`")

    @field_validator("run_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # The node is started from any directory later (tests, `make run`): fixed once here.
        return value.resolve()


@dataclass(frozen=True)
class NodeSpec:
    """Where one local node listens and keeps its files. Tests start a second node
    (another address, auth and TLS on) by passing a different spec."""

    run_dir: Path
    address: str = "127.0.0.1"
    native_port: int = 9042
    storage_port: int = 7000
    extra_yaml: str = ""
    # The node's native port speaks only TLS (client_encryption_options in extra_yaml).
    tls: bool = False
    # A node of a local cluster (`cluster_specs`): every node's address is a seed, each owns
    # one balanced token, and the snitch reads the datacenter from cassandra-rackdc.properties
    # as on a real cluster. Empty for the single development node.
    seeds: tuple[str, ...] = ()
    initial_token: int = 0
    cluster_name: str = "player-session-service-dev"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "cassandra.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / "system.log"

    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "conf"


def default_spec(node: NodeSettings, port: int = 9042) -> NodeSpec:
    """The development node, on CASSANDRA_PORT (the server's `Settings.port`)."""
    return NodeSpec(run_dir=node.run_dir / "cassandra", native_port=port)


DATACENTER = "datacenter1"
MAX_NODES = 9


def cluster_specs(
    run_dir: Path, nodes: int, *, first_address: str = "127.0.0.1", native_port: int = 9042, storage_port: int = 7000
) -> list[NodeSpec]:
    """`nodes` nodes of one datacenter on consecutive loopback addresses (Linux routes all of
    127.0.0.0/8 to `lo`, so no set-up is needed), each with the same ports and its own files
    under `run_dir/node<i>`. Every node is a seed and owns one evenly spaced token, so none
    has to bootstrap (stream data) and they can start one after the other in seconds."""
    if not 1 <= nodes <= MAX_NODES:
        raise DevNodeError(f"a local cluster has 1 to {MAX_NODES} nodes, not {nodes}")
    first = ipaddress.IPv4Address(first_address)
    if not first.is_loopback or not (first + nodes - 1).is_loopback:
        raise DevNodeError(f"local cluster nodes listen on 127.x.y.z addresses, not from {first_address}")
    addresses = tuple(str(first + i) for i in range(nodes))
    # Murmur3 tokens span [-2**63, 2**63): one equal slice per node.
    step = 2**64 // nodes
    return [
        NodeSpec(
            run_dir=run_dir / f"node{i + 1}",
            address=address,
            native_port=native_port,
            storage_port=storage_port,
            seeds=addresses,
            initial_token=-(2**63) + i * step,
            cluster_name=f"player-session-service-{nodes}-nodes",
        )
        for i, address in enumerate(addresses)
    ]


def default_cluster_specs(node: NodeSettings, nodes: int, port: int = 9042) -> list[NodeSpec]:
    return cluster_specs(node.run_dir / "cassandra-cluster", nodes, native_port=port)


def existing_cluster_specs(node: NodeSettings, port: int = 9042) -> list[NodeSpec]:
    """The specs of the local cluster last started under the run dir (none if never)."""
    root = node.run_dir / "cassandra-cluster"
    nodes = len(list(root.glob("node[0-9]")))
    return default_cluster_specs(node, nodes, port) if nodes else []


# --------------------------------------------------------------------------- Java


def _java_major(java: Path) -> str | None:
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = match.group(1)
    return match.group(2) if major == "1" else major


def find_java(java_home: Path | None = None) -> Path:
    """A `java` of version 17 (preferred) or 11; JAVA_HOME first if it is one of those."""
    candidates: list[Path] = []
    if java_home:
        candidates.append(java_home / "bin" / "java")
    for root in (Path("/usr/lib/jvm"), Path("/opt/java"), Path("/Library/Java/JavaVirtualMachines")):
        if root.is_dir():
            for home in sorted(root.iterdir()):
                for java in (home / "bin" / "java", home / "Contents" / "Home" / "bin" / "java"):
                    candidates.append(java)
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path))
    seen: dict[str, Path] = {}
    for java in candidates:
        if java.exists() and str(java.resolve()) not in {str(p.resolve()) for p in seen.values()}:
            major = _java_major(java)
            if major in SUPPORTED_JAVA and major not in seen:
                seen[major] = java
    for major in SUPPORTED_JAVA:
        if major in seen:
            return seen[major]
    raise DevNodeError(
        "Cassandra 5.0 needs Java 17 (or 11) and none was found (looked at JAVA_HOME, /usr/lib/jvm and PATH). "
        "Install it, e.g. `apt-get install openjdk-17-jre-headless`, or point JAVA_HOME at it."
    )


# --------------------------------------------------------------------------- fetch


def resolve_version(node: NodeSettings) -> str:
    """CASSANDRA_VERSION if set; else the newest 5.0.x on Maven Central; else the newest
    one already cached; else a pinned fallback."""
    if node.version:
        return node.version
    try:
        with urllib.request.urlopen(METADATA_URL, timeout=10) as response:
            text = response.read().decode()
        versions = re.findall(r"<version>(5\.0\.\d+)</version>", text)
        if versions:
            return str(max(versions, key=lambda v: int(v.rsplit(".", 1)[1])))
    except OSError:
        pass
    cached = sorted(
        (p.name for p in (node.cache_dir / "cassandra").glob("5.0.*") if (p / ".complete").exists()),
        key=lambda v: int(v.rsplit(".", 1)[1]),
    )
    return cached[-1] if cached else FALLBACK_VERSION


def _pom(version: str) -> str:
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.player-session-service</groupId>
  <artifactId>cassandra-dev-node</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def fetch(node: NodeSettings, version: str | None = None) -> tuple[str, Path]:
    """Make sure the jars of `version` are cached; returns (version, lib dir)."""
    version = version or resolve_version(node)
    lib = cached_jars(
        node.cache_dir / "cassandra" / version,
        _pom(version),
        product=f"Apache Cassandra {version} (cassandra-all and its dependencies)",
        main_jar="cassandra-all-*.jar",
        without_maven="set CASSANDRA_CONTACT_POINTS to use an existing cluster",
        error=DevNodeError,
    )
    return version, lib


# --------------------------------------------------------------------------- config

_JVM_OPTIONS = [
    # From Cassandra's jvm-server.options / jvm17-server.options.
    "-ea",
    "-da:net.openhft...",
    "-XX:+UseThreadPriorities",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-XX:+ExitOnOutOfMemoryError",
    "-Xss256k",
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+PerfDisableSharedMem",
    "-Djava.net.preferIPv4Stack=true",
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-Djdk.attach.allowAttachSelf=true",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
    # A single test node has nobody to gossip with; don't wait for gossip to settle.
    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
    "-Dcassandra.superuser_setup_delay_ms=0",
]
_ADD_EXPORTS = [
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
]
_ADD_OPENS = [
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac",
    "java.base/java.lang",
    "java.base/java.util",
]

_LOGBACK = """<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>{log_file}</file>
    <append>false</append>
    <encoder><pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
"""


def render_yaml(spec: NodeSpec) -> str:
    data = spec.run_dir / "data"
    seeds = ",".join(f"{address}:{spec.storage_port}" for address in spec.seeds or (spec.address,))
    if spec.seeds:
        # As on a real cluster: the datacenter comes from cassandra-rackdc.properties, and
        # nodes with their own tokens join without streaming.
        topology = "endpoint_snitch: GossipingPropertyFileSnitch\nauto_bootstrap: false"
    else:
        topology = "endpoint_snitch: SimpleSnitch"
    return f"""# Written by graphql_service.devnode for a local test node. Do not edit:
# it is rewritten on every start.
cluster_name: {spec.cluster_name}
num_tokens: 1
initial_token: {spec.initial_token}
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
{topology}
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{seeds}"
listen_address: {spec.address}
rpc_address: {spec.address}
storage_port: {spec.storage_port}
native_transport_port: {spec.native_port}
start_native_transport: true
commitlog_sync: periodic
commitlog_sync_period: 10000ms
data_file_directories: [{data / "data"}]
commitlog_directory: {data / "commitlog"}
saved_caches_directory: {data / "saved_caches"}
hints_directory: {data / "hints"}
cdc_raw_directory: {data / "cdc_raw"}
# Tests drop keyspaces and truncate tables all the time: don't snapshot on either.
auto_snapshot: false
{spec.extra_yaml}
"""


def java_command(java: Path, lib: Path, spec: NodeSpec, heap: str) -> list[str]:
    jamm = next(lib.glob("jamm-*.jar"), None)
    command = [str(java), f"-Xms{heap}", f"-Xmx{heap}", *_JVM_OPTIONS]
    if jamm:
        command.append(f"-javaagent:{jamm}")
    for item in _ADD_EXPORTS:
        command += ["--add-exports", f"{item}=ALL-UNNAMED"]
    for item in _ADD_OPENS:
        command += ["--add-opens", f"{item}=ALL-UNNAMED"]
    if spec.seeds:
        # The first node would otherwise look for the other seeds for 30 s (the default ring
        # delay) before going on alone; on one machine they answer within a second or not yet.
        command.append("-Dcassandra.ring_delay_ms=2000")
    command += [
        f"-Dcassandra.config=file://{spec.conf_dir / 'cassandra.yaml'}",
        f"-Dcassandra.logdir={spec.log_file.parent}",
        f"-Dcassandra.storagedir={spec.run_dir / 'data'}",
        f"-Dlogback.configurationFile={spec.conf_dir / 'logback.xml'}",
        "-Dcassandra-foreground=yes",
        "-cp",
        f"{spec.conf_dir}:{lib}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    return command


# --------------------------------------------------------------------------- lifecycle


def cql_answers(address: str, port: int, timeout: float = 2.0, *, tls: bool = False) -> bool:
    """True when a CQL native-protocol OPTIONS request gets a SUPPORTED answer."""
    frame = struct.pack(">BBhBi", 0x04, 0, 0, 0x05, 0)  # v4 request, stream 0, OPTIONS, empty body
    # Readiness only: whose certificate it is does not matter here, so it is not checked.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            with context.wrap_socket(raw) if tls else raw as conn:
                conn.sendall(frame)
                header = conn.recv(9)
    except OSError:
        return False
    return len(header) == 9 and header[4] == 0x06  # SUPPORTED


def _our_pid(spec: NodeSpec) -> int | None:
    """The pid in the pid file if that process is still the node we started."""
    try:
        pid = int(spec.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    if "CassandraDaemon" in cmdline and str(spec.conf_dir) in cmdline:
        return pid
    return None


def _log_errors(spec: NodeSpec, lines: int = 12) -> str:
    texts = []
    for path in (spec.log_file, spec.run_dir / "logs" / "stdout.log"):
        if path.exists():
            interesting = [
                ln for ln in path.read_text(errors="replace").splitlines() if "ERROR" in ln or "Exception" in ln
            ]
            texts.extend(interesting[-lines:])
    return "\n".join(texts)


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    pid: int | None
    address: str
    port: int
    log_file: Path
    managed: bool

    def describe(self) -> str:
        where = f"{self.address}:{self.port}"
        if self.running and self.managed:
            return f"running (pid {self.pid}) on {where}; log {self.log_file}"
        if self.running:
            return f"a CQL node answers on {where} (not started by this project)"
        return f"not running on {where}"


def status(spec: NodeSpec) -> NodeStatus:
    pid = _our_pid(spec)
    answers = cql_answers(spec.address, spec.native_port, tls=spec.tls)
    return NodeStatus(answers, pid, spec.address, spec.native_port, spec.log_file, pid is not None)


def start(node: NodeSettings, spec: NodeSpec, *, quiet: bool = False) -> NodeStatus:
    """Start the node unless it (or any CQL node on that address) already answers; wait until ready."""

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    if cql_answers(spec.address, spec.native_port, tls=spec.tls):
        current = status(spec)
        say(f"Cassandra: {current.describe()} — reusing it")
        return current
    pid = _our_pid(spec)
    process: subprocess.Popen[bytes] | None = None
    if pid is None:
        java = find_java(node.java_home)
        version, lib = fetch(node)
        for sub in ("conf", "logs", "data"):
            (spec.run_dir / sub).mkdir(parents=True, exist_ok=True)
        (spec.conf_dir / "cassandra.yaml").write_text(render_yaml(spec))
        (spec.conf_dir / "logback.xml").write_text(_LOGBACK.format(log_file=spec.log_file))
        # Read from the classpath (conf/ is on it) by GossipingPropertyFileSnitch.
        (spec.conf_dir / "cassandra-rackdc.properties").write_text(f"dc={DATACENTER}\nrack=rack1\n")
        (spec.run_dir / "VERSION").write_text(version + "\n")
        where = f"{spec.address}:{spec.native_port}"
        say(f"starting Apache Cassandra {version} on {where} with {java} (log {spec.log_file})")
        with open(spec.run_dir / "logs" / "stdout.log", "wb") as out:
            process = subprocess.Popen(
                java_command(java, lib, spec, node.heap),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C on the server must not take the node down with it
            )
        spec.pid_file.write_text(f"{process.pid}\n")
        # The node outlives this call. Someone must wait() for it: to reap it when it is
        # stopped while we still run, and so the Popen is not dropped while the node runs
        # (a ResourceWarning, an error under pytest).
        threading.Thread(target=process.wait, name=f"reap-cassandra-{process.pid}", daemon=True).start()
    started = time.monotonic()
    deadline = started + node.start_timeout_seconds
    while time.monotonic() < deadline:
        if cql_answers(spec.address, spec.native_port, tls=spec.tls):
            say(f"Cassandra ready on {spec.address}:{spec.native_port} after {time.monotonic() - started:.1f}s")
            return status(spec)
        exited = process.poll() is not None if process else _our_pid(spec) is None
        if exited:
            raise DevNodeError(f"Cassandra exited during start-up; see {spec.log_file}\n{_log_errors(spec)}".rstrip())
        time.sleep(0.5)
    raise DevNodeError(
        f"Cassandra did not answer CQL on {spec.address}:{spec.native_port} within "
        f"{node.start_timeout_seconds}s; see {spec.log_file}\n{_log_errors(spec)}".rstrip()
    )


def start_cluster(node: NodeSettings, specs: list[NodeSpec], *, quiet: bool = False) -> list[NodeStatus]:
    """Start the nodes one after the other (two joining at once fail), each once the one
    before answers CQL. Nodes of this cluster that already run are kept."""
    for spec in specs:
        if _our_pid(spec) is None and cql_answers(spec.address, spec.native_port, tls=spec.tls):
            raise DevNodeError(
                f"another CQL node already answers on {spec.address}:{spec.native_port} "
                "(the single development node? `cassandra stop` ends it); a cluster node cannot start there"
            )
    return [start(node, spec, quiet=quiet) for spec in specs]


def pid_of(spec: NodeSpec) -> int:
    """The pid of the running node this project started, for fault tests that kill or
    freeze it."""
    pid = _our_pid(spec)
    if pid is None:
        raise DevNodeError(f"no node started by this project runs on {spec.address}:{spec.native_port}")
    return pid


def stop(spec: NodeSpec, timeout: float = 60) -> bool:
    """Stop exactly the process this project started (per its pid file). True if one was stopped."""
    pid = _our_pid(spec)
    if pid is None:
        spec.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _our_pid(spec) is not None:
        time.sleep(0.2)
    if _our_pid(spec) is not None:
        os.kill(pid, signal.SIGKILL)
    spec.pid_file.unlink(missing_ok=True)
    return True


def version_of(spec: NodeSpec) -> str | None:
    path = spec.run_dir / "VERSION"
    return path.read_text().strip() if path.exists() else None
