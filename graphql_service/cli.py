"""The command line: `python -m graphql_service <command>`.

serve                       run the HTTP server (uvicorn)
migrate                     apply cql/*.cql to the configured keyspace
cassandra start|stop|status|fetch
                            the local development node (see devnode.py)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import devnode, migrations
from .db import ConnectError, Database
from .settings import ConfigError, Settings


def _migrate(settings: Settings) -> int:
    db = Database.connect(settings)
    try:
        applied = migrations.apply(db, settings)
    finally:
        db.close()
    names = ", ".join(applied) if applied else "nothing new"
    print(f"keyspace {settings.keyspace}: applied {names}")
    return 0


def _serve(settings: Settings) -> int:
    import uvicorn

    # Fail fast, with a readable message, when Cassandra is unreachable or refuses us.
    Database.connect(settings).close()
    print(f"serving on http://{settings.host}:{settings.http_port} (GraphiQL at /graphql); Ctrl-C stops", flush=True)
    uvicorn.run(
        "graphql_service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.http_port,
        workers=settings.workers,
        log_level="info",
    )
    return 0


def _cassandra(settings: Settings, action: str) -> int:
    spec = devnode.default_spec(settings)
    if action == "start":
        if not settings.uses_local_node:
            print(f"CASSANDRA_CONTACT_POINTS is set ({','.join(settings.contact_points)}): using that cluster")
            return 0
        devnode.start(settings, spec)
    elif action == "stop":
        print("stopped" if devnode.stop(spec) else "no node started by this project is running")
    elif action == "status":
        current = devnode.status(spec)
        version = devnode.version_of(spec)
        print(current.describe() + (f"; Apache Cassandra {version}" if version and current.managed else ""))
        return 0 if current.running else 3
    elif action == "fetch":
        version, lib = devnode.fetch(settings)
        print(f"Apache Cassandra {version} cached in {lib}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m graphql_service", description="Player session service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP server")
    sub.add_parser("migrate", help="apply cql/*.cql to the configured keyspace")
    node = sub.add_parser("cassandra", help="manage the local development Cassandra node")
    node.add_argument("action", choices=["start", "stop", "status", "fetch"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            return _migrate(settings)
        return _cassandra(settings, args.action)
    except (ConfigError, ConnectError, devnode.DevNodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
