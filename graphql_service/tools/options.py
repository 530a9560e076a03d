"""Command-line options and help made from the settings table, so that `--help` cannot
disagree with the README's configuration table.

An option that stands for a setting (`serve --port` for PORT) shows that variable and its
default, checks its value with the setting's own parser and is handed on as the variable
itself (`overrides`), which is what uvicorn's worker processes read. Each command's epilog
lists the variables it reads, with their defaults.
"""

from __future__ import annotations

import argparse
import re
import shutil
import textwrap
from collections.abc import Sequence

from ..domain.errors import ConfigError
from ..settings import TABLE, Setting

SETTINGS = {setting.env: setting for setting in TABLE}
# The settings each command reads, for its `--help` (the README's table explains them all).
CONNECTION = (
    "CASSANDRA_DRIVER",
    "CASSANDRA_CONTACT_POINTS",
    "CASSANDRA_PORT",
    "CASSANDRA_LOCAL_DC",
    "CASSANDRA_KEYSPACE",
    "CASSANDRA_USERNAME",
    "CASSANDRA_PASSWORD",
    "CASSANDRA_TLS_CA_FILE",
    "CASSANDRA_TLS",
    "CASSANDRA_TLS_VERIFY",
    "CASSANDRA_PROTOCOL_VERSION",
    "CASSANDRA_CONNECT_TIMEOUT",
    "CASSANDRA_REQUEST_TIMEOUT",
)
LOCAL_NODE = tuple(s.env for s in TABLE if s.meaning.startswith("local node:"))
LOCAL_BROKER = tuple(s.env for s in TABLE if s.meaning.startswith("local broker:"))
LOGGING = ("LOG_FORMAT", "LOG_LEVEL")
MIGRATE_READS = (*CONNECTION, "CASSANDRA_REPLICATION", "CQL_DIR", *LOGGING)
IMPORT_READS = (
    *CONNECTION,
    "CASSANDRA_READ_CONSISTENCY",
    "CASSANDRA_WRITE_CONSISTENCY",
    "CASSANDRA_SPECULATIVE_DELAY_MS",
    "RETENTION_SECONDS",
    "RETENTION_CLOCK",
    "MAX_FUTURE_SECONDS",
    "CQL_DIR",
    *LOGGING,
)
KAFKA = tuple(s.env for s in TABLE if s.meaning.startswith("`consume`:"))
SERVE_READS = tuple(
    s.env for s in TABLE if s.env not in (*LOCAL_NODE, *LOCAL_BROKER, *KAFKA) and s.env != "CASSANDRA_REPLICATION"
)
CONSUME_READS = (*IMPORT_READS[:-2], "START_SHARDS", *KAFKA, "HOST", *LOGGING)
KAFKA_NODE_READS = (*LOCAL_BROKER, "JAVA_HOME", "PSS_CACHE_DIR", "PSS_RUN_DIR")
NODE_READS = ("CASSANDRA_CONTACT_POINTS", "CASSANDRA_PORT", *LOCAL_NODE)


_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def _plain(markdown: str) -> str:
    """A README cell as terminal text: no code marks, emphasis or links."""
    text = _LINK.sub(r"\1 in the README", markdown.replace("`", ""))
    return text.replace("*(", "(").replace(")*", ")")


def _help(markdown: str) -> str:
    # Option help goes through %-formatting (for %(default)s); an epilog does not.
    return _plain(markdown).replace("%", "%%")


def width() -> int:
    # The width argparse wraps option help to (COLUMNS, else the terminal's).
    return max(shutil.get_terminal_size().columns - 2, 40)


def _default(setting: Setting) -> str:
    return _plain(setting.describe_default())


def environment(names: Sequence[str]) -> str:
    """A command's epilog: the variables it reads, each with its default."""
    lines = ["environment (README, Configuration):"]
    for name in names:
        setting = SETTINGS[name]
        entry = f"{name} (default {_default(setting)}): {_plain(setting.meaning)}"
        lines.append(textwrap.fill(entry, width=width(), initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


def setting_option(parser: argparse.ArgumentParser, flag: str, env: str, *, metavar: str) -> None:
    """`flag` overrides the environment variable `env`: same parser, same default."""
    setting = SETTINGS[env]

    def checked(text: str) -> str:
        try:
            setting.parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{env} ")) from None
        return text

    parser.add_argument(
        flag,
        type=checked,
        metavar=metavar,
        dest=f"setting:{env}",
        help=_help(f"{setting.meaning} (overrides {env}; default {setting.describe_default()})"),
    )


def overrides(args: argparse.Namespace) -> dict[str, str]:
    return {
        name.removeprefix("setting:"): value
        for name, value in vars(args).items()
        if name.startswith("setting:") and value is not None
    }
