"""The command line: `player-session-service <command>` (or `python -m graphql_service`).

serve                       run the HTTP server (uvicorn)
migrate                     apply the CQL migrations to the configured keyspace
upgrade                     carry a keyspace written before the session store over to it
cassandra start|stop|status|fetch
                            the local development node (see devnode.py)
import FILE                 load events from JSON Lines (.gz/.bz2 too) through the service
loadgen                     drive a running service over HTTP; or write a data set
consume                     store events read from Kafka topics (see consume/)
kafka start|stop|status     the local Kafka broker for consume's tests (see kafkanode.py)

Options that stand for a setting (`serve --port` for PORT, ...) are made from that setting's
field (settings.py, options.py) and handed on as the environment variable.

Every operator mistake ends as one `error: ...` line and a non-zero exit; `--debug` (or
LOG_LEVEL=DEBUG) adds the traceback. Tools are imported when their command runs, so `serve`
loads neither httpx nor rich.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from importlib import metadata
from types import ModuleType

from .. import __version__
from ..domain.errors import ConfigError, ServiceError, StorageRejected
from ..ops.logs import configure_logging
from ..settings import Settings
from ..store import backends, migrations
from .options import (
    CONSUME_READS,
    IMPORT_READS,
    LOGGING,
    MIGRATE_READS,
    SERVE_READS,
    broker_reads,
    environment,
    node_reads,
    overrides,
    setting_option,
    width,
)

DISTRIBUTION = "player-session-service"


def _version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return __version__


async def _apply_migrations(settings: Settings) -> list[str]:
    db = await backends.connect(settings)
    try:
        return await migrations.apply(db, settings)
    except StorageRejected as exc:
        raise ConfigError(
            f"Cassandra refused to set up keyspace {settings.keyspace!r} ({exc}): check CASSANDRA_KEYSPACE, and "
            "that CASSANDRA_USERNAME may create keyspaces and tables "
            "(docs/operations.md, Running against a real cluster)"
        ) from exc
    finally:
        await db.close()


def _migrate(settings: Settings, debug: bool) -> int:
    from .preflight import silenced

    # Its summary line (or one error line) says it all; --debug shows each statement's log.
    with silenced(not debug):
        applied = asyncio.run(_apply_migrations(settings))
    names = ", ".join(applied) if applied else "nothing new"
    print(f"keyspace {settings.keyspace}: applied {names}")
    return 0


async def _check_ready(settings: Settings, debug: bool) -> None:
    from .preflight import ready_service

    async with ready_service(settings, debug=debug):
        pass


def _serve(settings: Settings, debug: bool) -> int:
    import uvicorn

    # Fail fast, with a one-line message, when Cassandra is unreachable, refuses us, or the
    # keyspace does not hold the schema (the workers would each fail with a traceback).
    asyncio.run(_check_ready(settings, debug))
    if settings.metrics_multiprocess_dir:
        # Files left by an earlier run's workers would be added to this run's counters.
        for stale in settings.metrics_multiprocess_dir.glob("*.db"):
            stale.unlink()
    _raise_open_file_limit()
    print(f"serving on http://{settings.host}:{settings.http_port} (GraphiQL at /graphql); Ctrl-C stops", flush=True)
    uvicorn.run(
        "graphql_service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.http_port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        # uvicorn's httptools protocol with a header timeout, a per-client connection cap and
        # strict Host rules (api/connections.py); an import string, so workers import it.
        http="graphql_service.api.connections:GuardedHttp",
        # A graphql-transport-ws message is a few hundred bytes; websockets' default is 16 MiB.
        ws_max_size=settings.max_body_bytes,
        # Our logging (configure_logging) already formats uvicorn's loggers, also in the
        # supervising process of several workers.
        log_config=None,
    )
    return 0


def _raise_open_file_limit() -> None:
    """Every connection is a file descriptor: take all the operator allows (the hard limit),
    not the shell's usual soft 1024. Workers inherit it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _cassandra(settings: Settings, action: str, nodes: int) -> int:
    from . import devnode

    node = devnode.NodeSettings.from_env()
    spec = devnode.default_spec(node, settings.port)
    if action == "start":
        if not settings.uses_local_node:
            print(f"CASSANDRA_CONTACT_POINTS is set ({','.join(settings.contact_points)}): using that cluster")
            return 0
        if nodes == 1:
            devnode.start(node, spec)
            return 0
        specs = devnode.default_cluster_specs(node, nodes, settings.port)
        devnode.start_cluster(node, specs)
        print(
            f"{nodes} nodes in datacenter {devnode.DATACENTER}. To use them:\n"
            f"  export CASSANDRA_CONTACT_POINTS={','.join(s.address for s in specs)}\n"
            f"  export CASSANDRA_REPLICATION=\"{{'class': 'NetworkTopologyStrategy', "
            f"'{devnode.DATACENTER}': {min(nodes, 3)}}}\"\n"
            "  (and CASSANDRA_KEYSPACE of a keyspace not yet made with another replication)"
        )
    elif action == "stop":
        # Every node this project started: the single one and any local cluster's.
        stopped = [s.address for s in (spec, *devnode.existing_cluster_specs(node, settings.port)) if devnode.stop(s)]
        print(f"stopped {', '.join(stopped)}" if stopped else "no node started by this project is running")
    elif action == "status":
        cluster = devnode.existing_cluster_specs(node, settings.port)
        running = False
        for each in (spec, *cluster):
            current = devnode.status(each)
            if each is not spec and not current.managed:
                print(f"cluster node {each.address}: not running")
                continue
            version = devnode.version_of(each)
            print(current.describe() + (f"; Apache Cassandra {version}" if version and current.managed else ""))
            running = running or current.running
        return 0 if running else 3
    elif action == "fetch":
        version, lib = devnode.fetch(node)
        print(f"Apache Cassandra {version} cached in {lib}")
    return 0


def _loadgen() -> ModuleType:
    """The loadgen tool, whose HTTP client and report table (httpx, rich) are the `tools`
    extra: not among the wheel's runtime dependencies."""
    try:
        from . import loadgen
    except ModuleNotFoundError as exc:
        print(
            f"error: loadgen needs {exc.name}, from the tools extra: pip install 'player-session-service[tools]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    return loadgen


def _kafka(action: str) -> int:
    from . import kafkanode

    settings = kafkanode.BrokerSettings.from_env()
    spec = kafkanode.default_spec(settings)
    if action == "start":
        kafkanode.start(settings, spec)
    elif action == "stop":
        stopped = kafkanode.stop(spec)
        print(f"stopped Kafka on {spec.bootstrap}" if stopped else "no broker started by this project is running")
    else:
        current = kafkanode.status(spec)
        version = kafkanode.version_of(spec)
        print(current.describe() + (f"; Apache Kafka {version}" if version and current.managed else ""))
        return 0 if current.running else 3
    return 0


def _consume(settings: Settings, debug: bool) -> int:
    from ..consume.runner import run

    return run(settings, debug=debug)


def build_parser(argv: Sequence[str] | None = None, *, prog: str | None = None) -> argparse.ArgumentParser:
    """The parser; a tool's own options are added (its module imported) only when `argv`
    names that tool, or when `argv` is None (everything, for documentation and tests).
    `prog` is how the user ran us; argparse's default is the script's name."""
    wanted = set(sys.argv[1:] if argv is None else argv)
    # --debug is accepted before and after the command (one action shared by every parser);
    # SUPPRESS keeps a command's parser from resetting the value given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback behind an error (so does LOG_LEVEL=DEBUG)",
    )
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Player session service: game events in, complete player sessions out, "
        "over REST and GraphQL, stored in Apache Cassandra.",
        epilog="Every setting is an environment variable (README, Configuration); "
        "`%(prog)s COMMAND --help` lists a command's options and the variables it reads.",
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str, reads: Sequence[str]) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, width=width()),
            epilog=environment(reads) if reads else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[debug],
        )

    serve = command(
        "serve",
        "run the HTTP server (REST, GraphQL, dashboard)",
        "Check that Cassandra answers and the keyspace is migrated, then serve HTTP with uvicorn.",
        SERVE_READS,
    )
    setting_option(serve, "--host", "HOST", metavar="ADDRESS")
    setting_option(serve, "--port", "PORT", metavar="PORT")
    setting_option(serve, "--workers", "WEB_CONCURRENCY", metavar="N")
    setting_option(serve, "--keyspace", "CASSANDRA_KEYSPACE", metavar="NAME")
    migrate = command(
        "migrate",
        "create the keyspace and apply the CQL migrations it lacks",
        "Create the keyspace and apply each CQL migration (the package's cql/ files) it lacks, in order; "
        "running it again applies nothing new.",
        MIGRATE_READS,
    )
    setting_option(migrate, "--keyspace", "CASSANDRA_KEYSPACE", metavar="NAME")
    upgrade = command(
        "upgrade",
        "carry a keyspace written before the session store of cql/008 over to it",
        "Replay every event the store before cql/008 kept (session_events_by_player) through the new store's "
        "writes, with the life each had left; idempotent, and resumes where an interrupted run stopped. "
        "Run `migrate` first.",
        MIGRATE_READS,
    )
    setting_option(upgrade, "--keyspace", "CASSANDRA_KEYSPACE", metavar="NAME")
    upgrade.add_argument("--from-start", action="store_true", help="replay everything again, even if done before")
    node = command(
        "cassandra",
        "manage the local development Cassandra node",
        "The local development node: start it (or reuse one that answers on the port), stop it, show its "
        "status (exit code 3 when it is not running), or fetch and cache a Cassandra release.",
        # The node's settings are the node tool's (devnode.py), loaded only when asked for.
        node_reads() if "cassandra" in wanted or argv is None else (),
    )
    node.add_argument("action", choices=["start", "stop", "status", "fetch"], help="what to do with the node")
    node.add_argument(
        "--nodes",
        type=int,
        default=1,
        metavar="N",
        help="start: 1 (the development node on 127.0.0.1) or a cluster of N nodes on 127.0.0.1..N, "
        "one datacenter, for replication factor 3 (status and stop cover every node; default %(default)s)",
    )
    import_parser = command(
        "import",
        "load events from a JSON Lines file (.gz, .bz2 too)",
        "Load events from a JSON Lines file straight into Cassandra, through the same checks as the APIs; "
        "each rejected line goes to a reject file with the reason.",
        IMPORT_READS,
    )
    setting_option(import_parser, "--keyspace", "CASSANDRA_KEYSPACE", metavar="NAME")
    loadgen_parser = command(
        "loadgen",
        "drive a running service over HTTP, or write a data set",
        "Send synthetic game events (and reads) to a running service over HTTP and report latencies, or "
        "write a JSON Lines data set for `import` (--write-jsonl).",
        LOGGING,
    )
    consume = command(
        "consume",
        "store events read from Kafka (or Azure Event Hubs) topics",
        "Read events from KAFKA_TOPICS in the consumer group KAFKA_GROUP_ID and store them through the same "
        "checks as POST /events; offsets are committed only once a record is stored or dead-lettered. "
        "SIGTERM or Ctrl-C commits what is done and stops.",
        CONSUME_READS,
    )
    setting_option(consume, "--topics", "KAFKA_TOPICS", metavar="TOPIC,...")
    setting_option(consume, "--group", "KAFKA_GROUP_ID", metavar="NAME")
    setting_option(consume, "--keyspace", "CASSANDRA_KEYSPACE", metavar="NAME")
    setting_option(consume, "--health-port", "KAFKA_HEALTH_PORT", metavar="PORT")
    broker = command(
        "kafka",
        "manage the local Kafka broker (for consume's tests and benchmark)",
        "The local Apache Kafka broker (KRaft, one process): start it (or reuse one that answers on "
        "127.0.0.1:9092), stop it, or show its status (exit code 3 when it is not running).",
        broker_reads() if "kafka" in wanted or argv is None else (),
    )
    broker.add_argument("action", choices=["start", "stop", "status"], help="what to do with the broker")
    if "import" in wanted or argv is None:
        from . import importer

        importer.add_arguments(import_parser)
    if "loadgen" in wanted or argv is None:
        _loadgen().add_arguments(loadgen_parser)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments, prog=prog).parse_args(arguments)
    debug = bool(getattr(args, "debug", False))
    try:
        # An option is its variable given on the command line: the workers uvicorn starts
        # read the environment, not our arguments.
        os.environ.update(overrides(args))
        settings = Settings.from_env()
        debug = debug or settings.log_level == "DEBUG"
        configure_logging(settings)
        if args.command == "serve":
            return _serve(settings, debug)
        if args.command == "migrate":
            return _migrate(settings, debug)
        if args.command == "upgrade":
            from . import upgrade

            return upgrade.main(settings, from_start=args.from_start, debug=debug)
        if args.command == "import":
            from . import importer

            args.debug = debug
            return importer.main(args, settings)
        if args.command == "loadgen":
            done: int = _loadgen().main(args)
            return done
        if args.command == "consume":
            return _consume(settings, debug)
        if args.command == "kafka":
            return _kafka(args.action)
        return _cassandra(settings, args.action, args.nodes)
    except ServiceError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A bug, or a failure nobody foresaw: still one line for the operator.
        if debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {_one_line(exc)} (--debug shows the traceback)", file=sys.stderr)
        return 1
