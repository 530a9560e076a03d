"""Command-line options and help made from the settings' fields (settings.py, and
devnode.NodeSettings), so that `--help` cannot disagree with the README's configuration table.

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

from pydantic.fields import FieldInfo

from ..domain.errors import ConfigError
from ..settings import EnvSettings, Settings, default_text, markdown_table

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
KAFKA = tuple(env for env in Settings.variables() if env.startswith("KAFKA_"))
SERVE_READS = tuple(env for env in Settings.variables() if env != "CASSANDRA_REPLICATION" and env not in KAFKA)
CONSUME_READS = (*IMPORT_READS[:-2], "START_SHARDS", *KAFKA, "HOST", *LOGGING)


def _models() -> tuple[type[EnvSettings], ...]:
    # Imported here: `serve` builds its parser without loading the node's tool.
    from .devnode import NodeSettings
    from .kafkanode import BrokerSettings

    return Settings, NodeSettings, BrokerSettings


def node_reads() -> tuple[str, ...]:
    from .devnode import NodeSettings

    return ("CASSANDRA_CONTACT_POINTS", "CASSANDRA_PORT", *NodeSettings.variables())


def broker_reads() -> tuple[str, ...]:
    from .kafkanode import BrokerSettings

    return (*BrokerSettings.own_variables(), "JAVA_HOME", "PSS_CACHE_DIR", "PSS_RUN_DIR")


def readme_table() -> str:
    """The README's configuration table: the server's settings, then the local node's."""
    return markdown_table(*_models())


def variable(env: str) -> tuple[type[EnvSettings], FieldInfo]:
    """The settings class that reads `env`, and its field."""
    # The server's own first: `serve` must not load the node's or the broker's tool.
    model = Settings if env in Settings.variables() else next(m for m in _models() if env in m.variables())
    return model, model.variables()[env]


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


def environment(names: Sequence[str]) -> str:
    """A command's epilog: the variables it reads, each with its default."""
    lines = ["environment (README, Configuration):"]
    for name in names:
        model, field = variable(name)
        meaning = f"{model.readme_prefix}{field.description}"
        entry = f"{name} (default {_plain(default_text(field))}): {_plain(meaning)}"
        lines.append(textwrap.fill(entry, width=width(), initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


def setting_option(parser: argparse.ArgumentParser, flag: str, env: str, *, metavar: str) -> None:
    """`flag` overrides the environment variable `env`: same parser, same default."""
    model, field = variable(env)

    def checked(text: str) -> str:
        try:
            model.from_env({env: text})
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{env} ")) from None
        return text

    parser.add_argument(
        flag,
        type=checked,
        metavar=metavar,
        dest=f"setting:{env}",
        help=_help(f"{field.description} (overrides {env}; default {default_text(field)})"),
    )


def overrides(args: argparse.Namespace) -> dict[str, str]:
    return {
        name.removeprefix("setting:"): value
        for name, value in vars(args).items()
        if name.startswith("setting:") and value is not None
    }
