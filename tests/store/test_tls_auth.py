"""TLS and password authentication against a real node, and readable reasons when either fails.

A second local node listens on 127.0.0.2:9042 (Linux routes all of 127.0.0.0/8 to the
loopback device; the main node is bound to 127.0.0.1 only) with client encryption required
and PasswordAuthenticator. Its self-signed keystore is made by the JDK's keytool; the
certificate, exported as PEM, is the client's CASSANDRA_TLS_CA_FILE. The node, its keystore
and its data live under a temporary directory and the node is stopped at the end. The
readiness test reaches the node through a TCP relay on 127.0.0.3 that it cuts, which is how
"Cassandra went away" looks to a running service.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from graphql_service.app import create_app
from graphql_service.domain.errors import ConnectError
from graphql_service.settings import ConfigError, Settings
from graphql_service.store import backends, migrations
from graphql_service.store.backends import Backend as Database
from graphql_service.tools import devnode

from ..events import new_player, now, session_pair
from ..servers import serving

pytestmark = pytest.mark.anyio

ADDRESS = "127.0.0.2"
# Where the readiness test reaches the node through a relay it can cut.
RELAY_ADDRESS = "127.0.0.3"
KEYSTORE_PASSWORD = "node-keystore"


@dataclass(frozen=True)
class AuthNode:
    spec: devnode.NodeSpec
    node_settings: Settings  # what starts the node
    ca_file: Path
    keyspace: str

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of a client that reaches this node as the superuser, over verified
        TLS, with the storage backend under test."""
        env = {
            "CASSANDRA_DRIVER": self.node_settings.driver,
            "CASSANDRA_CONTACT_POINTS": ADDRESS,
            "CASSANDRA_PORT": str(self.spec.native_port),
            "CASSANDRA_KEYSPACE": self.keyspace,
            "CASSANDRA_USERNAME": "cassandra",
            "CASSANDRA_PASSWORD": "cassandra",
            "CASSANDRA_TLS_CA_FILE": str(self.ca_file),
            "CASSANDRA_CONNECT_TIMEOUT": "5",
        }
        env.update(overrides)
        return {key: value for key, value in env.items() if value}

    def settings(self, **overrides: str) -> Settings:
        return Settings.from_env(self.env(**overrides))


def _keytool(*args: str | Path, java_home: Path | None) -> None:
    keytool = devnode.find_java(java_home).resolve().parent / "keytool"
    if not keytool.exists():
        raise RuntimeError(f"keytool is needed to make the test node's keystore and is not next to {keytool.parent}")
    result = subprocess.run([str(keytool), *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed:\n{result.stdout}{result.stderr}")


def _make_keystore(directory: Path, java_home: Path | None) -> tuple[Path, Path]:
    keystore, pem = directory / "node.p12", directory / "node.pem"
    store = ("-keystore", keystore, "-storepass", KEYSTORE_PASSWORD)
    _keytool(
        "-genkeypair", "-alias", "node", "-keyalg", "RSA", "-keysize", "2048", "-validity", "7",
        "-storetype", "PKCS12", *store, "-keypass", KEYSTORE_PASSWORD,
        "-dname", f"CN={ADDRESS}", "-ext", f"SAN=IP:{ADDRESS},IP:{RELAY_ADDRESS}",
        java_home=java_home,
    )  # fmt: skip
    _keytool("-exportcert", "-rfc", "-alias", "node", *store, "-file", pem, java_home=java_home)
    return keystore, pem


def _node_yaml(keystore: Path) -> str:
    # Key names as in Cassandra 5.0's conf/cassandra.yaml; unknown keys abort start-up.
    return f"""authenticator:
  class_name: PasswordAuthenticator
authorizer:
  class_name: CassandraAuthorizer
# No auth caches: a dropped role is refused at its next login, not up to 2 s later.
credentials_validity: 0ms
roles_validity: 0ms
permissions_validity: 0ms
client_encryption_options:
  enabled: true
  optional: false
  keystore: {keystore}
  keystore_password: {KEYSTORE_PASSWORD}
  store_type: PKCS12
"""


async def _connect_when_ready(settings: Settings) -> Database:
    """On a freshly started node the superuser role appears a moment after CQL answers."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await backends.connect(settings)
        except ConnectError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _wait_until_ready(settings: Settings) -> None:
    db = await _connect_when_ready(settings)
    await db.close()


async def _migrate(settings: Settings) -> None:
    db = await _connect_when_ready(settings)
    try:
        await migrations.apply(db, settings)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def auth_node(
    settings: Settings, node_settings: devnode.NodeSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthNode]:
    directory = tmp_path_factory.mktemp("auth-node")
    keystore, pem = _make_keystore(directory, node_settings.java_home)
    spec = devnode.NodeSpec(
        run_dir=directory / "cassandra",
        address=ADDRESS,
        native_port=9042,
        storage_port=7000,
        extra_yaml=_node_yaml(keystore),
        tls=True,
    )
    try:
        devnode.start(node_settings.with_overrides(heap="512M"), spec, quiet=True)
        node = AuthNode(spec=spec, node_settings=settings, ca_file=pem, keyspace=settings.keyspace)
        # A loop of its own that the backend does not outlive: connected and closed in it.
        asyncio.run(_wait_until_ready(node.settings()))
        yield node
    finally:
        # Its data is thrown away, so no graceful drain: SIGTERM, then SIGKILL at once.
        devnode.stop(spec, timeout=0)


async def test_migrate_ingest_and_read_over_tls_with_a_password(auth_node: AuthNode) -> None:
    settings = auth_node.settings()
    assert (settings.tls_enabled, settings.tls_verify, settings.username) == (True, True, "cassandra")
    assert settings.driver == auth_node.node_settings.driver
    await _migrate(settings)
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))

    async with serving(create_app(settings)) as client:
        posted = await client.post("/events", json={"rows": pair})
        listed = await client.get("/sessions", params={"player_id": player})

    assert posted.text == "POST success"
    assert [s["session_id"] for s in listed.json()["sessions"]] == [str(session)]


async def test_certificate_checks_can_be_switched_off(auth_node: AuthNode) -> None:
    settings = auth_node.settings(CASSANDRA_TLS_CA_FILE="", CASSANDRA_TLS="true", CASSANDRA_TLS_VERIFY="false")

    db = await backends.connect(settings)
    try:
        [row] = await db.execute_schema("SELECT release_version FROM system.local")
        assert row["release_version"].startswith("5.0")
        assert (await db.ping()).startswith("5.0")
    finally:
        await db.close()


async def test_a_wrong_password_is_reported_as_refused_credentials(auth_node: AuthNode) -> None:
    with pytest.raises(ConnectError, match=r"^Cassandra at 127\.0\.0\.2:9042 refused the credentials of user"):
        await backends.connect(auth_node.settings(CASSANDRA_PASSWORD="wrong"))


def test_serve_with_a_wrong_password_exits_with_one_line(auth_node: AuthNode) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASSANDRA_")}
    env.update(auth_node.env(CASSANDRA_PASSWORD="wrong"))

    result = subprocess.run(
        [sys.executable, "-m", "graphql_service", "serve"], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Cassandra at 127.0.0.2:9042 refused the credentials of user 'cassandra'")


async def test_a_missing_user_name_is_reported(auth_node: AuthNode) -> None:
    with pytest.raises(ConnectError, match="requires a password: set CASSANDRA_USERNAME and CASSANDRA_PASSWORD"):
        await backends.connect(auth_node.settings(CASSANDRA_USERNAME="", CASSANDRA_PASSWORD=""))


async def test_a_client_without_tls_is_told_the_node_may_want_it(auth_node: AuthNode) -> None:
    with pytest.raises(ConnectError, match=r"127\.0\.0\.2:9042 is unreachable \(.*set CASSANDRA_TLS=true\)"):
        await backends.connect(auth_node.settings(CASSANDRA_TLS_CA_FILE=""))


async def test_a_tls_client_is_told_when_the_node_does_not_use_tls(settings: Settings, cassandra: None) -> None:
    plain_node = settings.with_overrides(tls_enabled=True, tls_verify=False, connect_timeout_seconds=5)

    with pytest.raises(ConnectError, match=r"is unreachable \(the TLS handshake failed: .* set CASSANDRA_TLS=false\)"):
        await backends.connect(plain_node)


async def test_an_untrusted_certificate_is_reported(auth_node: AuthNode) -> None:
    # TLS on and verified against the system's CAs, which never signed this node's certificate.
    with pytest.raises(ConnectError, match="is unreachable: its TLS certificate is not trusted"):
        await backends.connect(auth_node.settings(CASSANDRA_TLS_CA_FILE="", CASSANDRA_TLS="true"))


async def test_an_unusable_ca_file_is_a_configuration_error(auth_node: AuthNode, tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")

    with pytest.raises(ConfigError, match=r"CASSANDRA_TLS_CA_FILE .* is not a readable PEM file"):
        await backends.connect(auth_node.settings(CASSANDRA_TLS_CA_FILE=str(not_pem)))


async def test_an_unreachable_port_is_reported(auth_node: AuthNode) -> None:
    with pytest.raises(ConnectError, match=r"(?i)^Cassandra at 127\.0\.0\.2:1 is unreachable: .*Connection refused"):
        await backends.connect(auth_node.settings(CASSANDRA_PORT="1"))


async def test_a_wrong_local_datacenter_is_reported(auth_node: AuthNode) -> None:
    with pytest.raises(ConnectError, match=r"has no node in datacenter 'West Europe' .*its datacenters: datacenter1"):
        await backends.connect(auth_node.settings(CASSANDRA_LOCAL_DC="West Europe"))


def test_a_password_without_a_user_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="CASSANDRA_PASSWORD is set but CASSANDRA_USERNAME is not"):
        Settings.from_env({"CASSANDRA_PASSWORD": "secret"})


async def _run_cql(settings: Settings, *statements: str) -> None:
    db = await _connect_when_ready(settings)
    try:
        for statement in statements:
            await db.execute_schema(statement)
    finally:
        await db.close()


class Link:
    """The network between the service and the node: a TCP relay on RELAY_ADDRESS that can
    be cut (listener and every open connection closed) and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._relay, RELAY_ADDRESS, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        node_reader, node_writer = await asyncio.open_connection(*self.target)
        self.writers += [client_writer, node_writer]
        await asyncio.gather(_pipe(client_reader, node_writer), _pipe(node_reader, client_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass  # the link was cut
    finally:
        writer.close()


async def test_readyz_says_whether_cassandra_is_unreachable_or_refuses_the_credentials(auth_node: AuthNode) -> None:
    superuser = auth_node.settings()
    await _migrate(superuser)
    role = f"service_{secrets.token_hex(4)}"
    await _run_cql(
        superuser,
        f"CREATE ROLE {role} WITH PASSWORD = 'secret' AND LOGIN = true",
        # What README's "Running against a real cluster" grants the service's role.
        f"GRANT SELECT ON KEYSPACE {auth_node.keyspace} TO {role}",
        f"GRANT MODIFY ON KEYSPACE {auth_node.keyspace} TO {role}",
    )
    link = Link((ADDRESS, auth_node.spec.native_port))
    await link.restore()
    app = create_app(
        auth_node.settings(
            CASSANDRA_CONTACT_POINTS=RELAY_ADDRESS,
            CASSANDRA_PORT=str(link.port),
            CASSANDRA_USERNAME=role,
            CASSANDRA_PASSWORD="secret",
        )
    )
    where = f"Cassandra at {RELAY_ADDRESS}:{link.port}"
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))
    try:
        async with serving(app) as client:
            ready = await client.get("/readyz")
            # SELECT and MODIFY on the keyspace are all the service's role needs.
            posted = await client.post("/events", json={"rows": pair})
            listed = await client.get("/sessions", params={"player_id": player})
            await link.cut()
            unreachable = await client.get("/readyz")
            # While the link is down the service's role is dropped; when the link comes back
            # the node no longer accepts the service's credentials.
            await _run_cql(superuser, f"DROP ROLE {role}")
            await link.restore()
            refused = await client.get("/readyz")
    finally:
        await link.cut()

    assert ready.status_code == 200
    assert posted.text == "POST success"
    assert [s["session_id"] for s in listed.json()["sessions"]] == [str(session)]
    assert (unreachable.status_code, unreachable.json()["status"]) == (503, "unavailable")
    assert unreachable.json()["reason"].startswith(f"{where} is unreachable")
    assert (refused.status_code, refused.json()["status"]) == (503, "unavailable")
    assert refused.json()["reason"].startswith(f"{where} refused the credentials of user {role!r}")
