"""The command line: `player-session-service <command>` (or `python -m graphql_service`).

serve                       run the HTTP server (uvicorn)
migrate                     apply cql/*.cql to the configured keyspace
cassandra start|stop|status|fetch
                            the local development node (see devnode.py)
import FILE                 load events from JSON Lines (.gz/.bz2 too) through the service
loadgen                     drive a running service over HTTP; or write a data set

Tools are imported when their command runs, so `serve` loads neither httpx nor rich.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ..domain.errors import ServiceError
from ..ops.logs import configure_logging
from ..settings import Settings
from ..store import backends, migrations


async def _apply_migrations(settings: Settings) -> list[str]:
    db = await backends.connect(settings)
    try:
        return await migrations.apply(db, settings)
    finally:
        await db.close()


def _migrate(settings: Settings) -> int:
    applied = asyncio.run(_apply_migrations(settings))
    names = ", ".join(applied) if applied else "nothing new"
    print(f"keyspace {settings.keyspace}: applied {names}")
    return 0


async def _check_ready(settings: Settings) -> None:
    db = await backends.connect(settings)
    try:
        await migrations.check_migrated(db, settings)
    finally:
        await db.close()


def _serve(settings: Settings) -> int:
    import uvicorn

    # Fail fast, with a one-line message, when Cassandra is unreachable, refuses us, or the
    # keyspace is not migrated.
    asyncio.run(_check_ready(settings))
    if settings.metrics_multiprocess_dir:
        # Files left by an earlier run's workers would be added to this run's counters.
        for stale in settings.metrics_multiprocess_dir.glob("*.db"):
            stale.unlink()
    print(f"serving on http://{settings.host}:{settings.http_port} (GraphiQL at /graphql); Ctrl-C stops", flush=True)
    uvicorn.run(
        "graphql_service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.http_port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        # Our logging (configure_logging) already formats uvicorn's loggers, also in the
        # supervising process of several workers.
        log_config=None,
    )
    return 0


def _cassandra(settings: Settings, action: str, nodes: int) -> int:
    from . import devnode

    spec = devnode.default_spec(settings)
    if action == "start":
        if not settings.uses_local_node:
            print(f"CASSANDRA_CONTACT_POINTS is set ({','.join(settings.contact_points)}): using that cluster")
            return 0
        if nodes == 1:
            devnode.start(settings, spec)
            return 0
        specs = devnode.default_cluster_specs(settings, nodes)
        devnode.start_cluster(settings, specs)
        print(
            f"{nodes} nodes in datacenter {devnode.DATACENTER}. To use them:\n"
            f"  export CASSANDRA_CONTACT_POINTS={','.join(s.address for s in specs)}\n"
            f"  export CASSANDRA_REPLICATION=\"{{'class': 'NetworkTopologyStrategy', "
            f"'{devnode.DATACENTER}': {min(nodes, 3)}}}\"\n"
            "  (and CASSANDRA_KEYSPACE of a keyspace not yet made with another replication)"
        )
    elif action == "stop":
        # Every node this project started: the single one and any local cluster's.
        stopped = [s.address for s in (spec, *devnode.existing_cluster_specs(settings)) if devnode.stop(s)]
        print(f"stopped {', '.join(stopped)}" if stopped else "no node started by this project is running")
    elif action == "status":
        cluster = devnode.existing_cluster_specs(settings)
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
        version, lib = devnode.fetch(settings)
        print(f"Apache Cassandra {version} cached in {lib}")
    return 0


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; a tool's own options are added (its module imported) only when `argv`
    names that tool, or when `argv` is None (everything, for documentation and tests)."""
    wanted = set(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m graphql_service", description="Player session service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP server")
    sub.add_parser("migrate", help="apply cql/*.cql to the configured keyspace")
    node = sub.add_parser("cassandra", help="manage the local development Cassandra node")
    node.add_argument("action", choices=["start", "stop", "status", "fetch"])
    node.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="start: 1 (the development node on 127.0.0.1) or a cluster of N nodes on 127.0.0.1..N, "
        "one datacenter, for replication factor 3 (status and stop cover every node)",
    )
    import_parser = sub.add_parser("import", help="load events from a JSON Lines file (.gz, .bz2 too)")
    loadgen_parser = sub.add_parser("loadgen", help="drive a running service over HTTP, or write a data set")
    if "import" in wanted or argv is None:
        from . import importer

        importer.add_arguments(import_parser)
    if "loadgen" in wanted or argv is None:
        from . import loadgen

        loadgen.add_arguments(loadgen_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "import":
            from . import importer

            return importer.main(args, settings)
        if args.command == "loadgen":
            from . import loadgen

            return loadgen.main(args)
        return _cassandra(settings, args.action, args.nodes)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
