"""A local Apache Kafka broker that the project fetches, starts and stops by itself, for the
`consume` command's tests and benchmark (`make run` never needs it).

Kafka 4.x in KRaft mode: one process is both broker and controller, its jars fetched from
Maven Central with Maven into the cache dir (as devnode.py does for Cassandra), its data,
configuration and log under the run dir (`.run/kafka/`). Readiness is a Kafka ApiVersions
request answered, so no client library is needed here.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import ToolError
from ..settings import setting
from .devnode import NodeSettings, find_java
from .maven import cached_jars

LOG4J_VERSION = "2.24.3"  # the log4j that kafka_2.13 4.1 depends on; its slf4j 1.7 binding
START_TIMEOUT_SECONDS = 90


class KafkaNodeError(ToolError):
    """Anything that stops the local broker from running; the message says what to do."""


@dataclass(frozen=True)
class BrokerSpec:
    run_dir: Path
    address: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    # Partitions of a topic made on first use (the consumer's tests make theirs explicitly).
    partitions: int = 4

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "kafka.pid"

    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "conf"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / "server.log"

    @property
    def bootstrap(self) -> str:
        return f"{self.address}:{self.port}"


class BrokerSettings(NodeSettings):
    """The local broker's settings: the node's (JAVA_HOME, the cache and run directories)
    and its own two. Read by `kafka start|stop|status` and the tests' broker fixture."""

    readme_prefix = "local broker: "

    kafka_heap: str = setting("KAFKA_HEAP", "384M", "JVM heap of `kafka start`")
    kafka_version: str = setting(
        "KAFKA_VERSION", "4.1.1", "the Apache Kafka version `kafka start` fetches (KRaft, one broker and controller)"
    )

    @classmethod
    def own_variables(cls) -> tuple[str, ...]:
        """Its own variables, not the node's it shares."""
        return tuple(env for env in cls.variables() if env not in NodeSettings.variables())


def default_spec(settings: BrokerSettings) -> BrokerSpec:
    return BrokerSpec(run_dir=settings.run_dir / "kafka")


# --------------------------------------------------------------------------- fetch


def _pom(version: str) -> str:
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.player-session-service</groupId>
  <artifactId>kafka-dev-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <!-- The broker logs through slf4j 1.7; without a binding it would log nothing. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"""


def fetch(settings: BrokerSettings) -> tuple[str, Path]:
    """Make sure the jars of KAFKA_VERSION are cached; returns (version, lib dir)."""
    version = settings.kafka_version
    lib = cached_jars(
        settings.cache_dir / "kafka" / version,
        _pom(version),
        product=f"Apache Kafka {version} (kafka_2.13 and its dependencies)",
        main_jar="kafka_2.13-*.jar",
        without_maven="set KAFKA_BOOTSTRAP_SERVERS to use existing brokers",
        error=KafkaNodeError,
    )
    return version, lib


# --------------------------------------------------------------------------- config


def render_properties(spec: BrokerSpec) -> str:
    return f"""# Written by graphql_service.tools.kafkanode for a local test broker. Do not edit:
# it is rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={spec.address}:{spec.controller_port}
listeners=PLAINTEXT://{spec.address}:{spec.port},CONTROLLER://{spec.address}:{spec.controller_port}
advertised.listeners=PLAINTEXT://{spec.address}:{spec.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={spec.data_dir}
num.partitions={spec.partitions}
auto.create.topics.enable=true
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A consumer that joins starts at once instead of waiting 3 s for others.
group.initial.rebalance.delay.ms=0
# Tests and benchmarks make small topics; keep segments and retention small too.
log.segment.bytes=67108864
log.retention.hours=24
"""


_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="{log_file}" append="false">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
"""


def _jvm(java: Path, lib: Path, spec: BrokerSpec, heap: str) -> list[str]:
    return [
        str(java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile={spec.conf_dir / 'log4j2.xml'}",
        f"-Dkafka.logs.dir={spec.log_file.parent}",
        "-cp",
        f"{lib}/*",
    ]


def _cluster_id() -> str:
    # What `kafka-storage random-uuid` prints: 16 random bytes, URL-safe base64 without padding.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _format(java: Path, lib: Path, spec: BrokerSpec, heap: str) -> None:
    """Format the data directory once (KRaft's metadata log), as `kafka-storage format --standalone`."""
    if (spec.data_dir / "meta.properties").exists():
        return
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        *_jvm(java, lib, spec, heap),
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        _cluster_id(),
        "--config",
        str(spec.conf_dir / "server.properties"),
        "--standalone",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise KafkaNodeError(f"could not format the broker's data directory {spec.data_dir}:\n{tail}")


# --------------------------------------------------------------------------- lifecycle


def broker_answers(address: str, port: int, timeout: float = 2.0) -> bool:
    """True when a Kafka ApiVersions (v0) request gets an answer without an error code."""
    client = b"pss-probe"
    body = struct.pack(">hhih", 18, 0, 7, len(client)) + client  # ApiVersions v0, correlation id 7
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.sendall(struct.pack(">i", len(body)) + body)
            header = b""
            while len(header) < 10:
                chunk = conn.recv(10 - len(header))
                if not chunk:
                    return False
                header += chunk
    except OSError:
        return False
    _size, correlation, error = struct.unpack(">iih", header)
    return bool(correlation == 7 and error == 0)


def _our_pid(spec: BrokerSpec) -> int | None:
    try:
        pid = int(spec.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    if "kafka.Kafka" in cmdline and str(spec.conf_dir) in cmdline:
        return pid
    return None


def _log_errors(spec: BrokerSpec, lines: int = 12) -> str:
    texts = []
    for path in (spec.log_file, spec.run_dir / "logs" / "stdout.log"):
        if path.exists():
            found = [ln for ln in path.read_text(errors="replace").splitlines() if "ERROR" in ln or "Exception" in ln]
            texts.extend(found[-lines:])
    return "\n".join(texts)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path
    managed: bool

    def describe(self) -> str:
        if self.running and self.managed:
            return f"Kafka running (pid {self.pid}) on {self.bootstrap}; log {self.log_file}"
        if self.running:
            return f"a Kafka broker answers on {self.bootstrap} (not started by this project)"
        return f"Kafka not running on {self.bootstrap}"


def status(spec: BrokerSpec) -> BrokerStatus:
    pid = _our_pid(spec)
    return BrokerStatus(broker_answers(spec.address, spec.port), pid, spec.bootstrap, spec.log_file, pid is not None)


def start(settings: BrokerSettings, spec: BrokerSpec | None = None, *, quiet: bool = False) -> BrokerStatus:
    """Start the broker unless one already answers on its port; wait until it answers."""
    spec = spec or default_spec(settings)

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    if broker_answers(spec.address, spec.port):
        current = status(spec)
        say(f"{current.describe()} — reusing it")
        return current
    process: subprocess.Popen[bytes] | None = None
    if _our_pid(spec) is None:
        java = find_java(settings.java_home)
        version, lib = fetch(settings)
        for sub in ("conf", "logs"):
            (spec.run_dir / sub).mkdir(parents=True, exist_ok=True)
        (spec.conf_dir / "server.properties").write_text(render_properties(spec))
        (spec.conf_dir / "log4j2.xml").write_text(_LOG4J2.format(log_file=spec.log_file))
        _format(java, lib, spec, settings.kafka_heap)
        say(f"starting Apache Kafka {version} (KRaft) on {spec.bootstrap} with {java} (log {spec.log_file})")
        command = [*_jvm(java, lib, spec, settings.kafka_heap), "kafka.Kafka", str(spec.conf_dir / "server.properties")]
        with open(spec.run_dir / "logs" / "stdout.log", "wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        spec.pid_file.write_text(f"{process.pid}\n")
        (spec.run_dir / "VERSION").write_text(version + "\n")
        # Reaped by a thread of ours while we run (see devnode.start).
        threading.Thread(target=process.wait, name=f"reap-kafka-{process.pid}", daemon=True).start()
    started = time.monotonic()
    while time.monotonic() < started + START_TIMEOUT_SECONDS:
        if broker_answers(spec.address, spec.port):
            say(f"Kafka ready on {spec.bootstrap} after {time.monotonic() - started:.1f}s")
            return status(spec)
        if (process.poll() is not None) if process else _our_pid(spec) is None:
            raise KafkaNodeError(f"Kafka exited during start-up; see {spec.log_file}\n{_log_errors(spec)}".rstrip())
        time.sleep(0.25)
    raise KafkaNodeError(
        f"Kafka did not answer on {spec.bootstrap} within {START_TIMEOUT_SECONDS}s; see {spec.log_file}\n"
        f"{_log_errors(spec)}".rstrip()
    )


def stop(spec: BrokerSpec, timeout: float = 30) -> bool:
    """Stop exactly the broker this project started (per its pid file). True if one was stopped."""
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


def version_of(spec: BrokerSpec) -> str | None:
    path = spec.run_dir / "VERSION"
    return path.read_text().strip() if path.exists() else None
