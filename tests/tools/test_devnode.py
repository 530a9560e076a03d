"""The local node: configuration and the lifecycle checks that need no second node."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphql_service.settings import Settings
from graphql_service.tools import devnode


def _spec(settings: Settings) -> devnode.NodeSpec:
    return devnode.default_spec(devnode.NodeSettings.from_env(), settings.port)


def test_the_running_node_was_started_or_found_and_answers_cql(settings: Settings, cassandra: None) -> None:
    current = devnode.status(_spec(settings))

    assert current.running


def test_start_is_idempotent_when_the_node_answers(
    settings: Settings, node_settings: devnode.NodeSettings, cassandra: None
) -> None:
    before = devnode.status(_spec(settings))

    after = devnode.start(node_settings, _spec(settings), quiet=True)

    assert before.managed and before.pid is not None  # the node `make cassandra` started
    assert after.running and after.pid == before.pid


def test_a_closed_port_does_not_answer_cql() -> None:
    assert not devnode.cql_answers("127.0.0.1", 1, timeout=0.5)


def test_java_17_or_11_is_found() -> None:
    assert devnode._java_major(devnode.find_java()) in devnode.SUPPORTED_JAVA


def test_the_yaml_keeps_every_file_under_the_run_dir(tmp_path: Path) -> None:
    spec = devnode.NodeSpec(run_dir=tmp_path, address="127.0.0.2", native_port=9142)

    text = devnode.render_yaml(spec)

    assert "native_transport_port: 9142" in text
    assert "listen_address: 127.0.0.2" in text
    assert "auto_snapshot: false" in text
    for key in ("commitlog_directory", "saved_caches_directory", "hints_directory", "cdc_raw_directory"):
        line = next(ln for ln in text.splitlines() if ln.startswith(key))
        assert str(tmp_path) in line


def test_stop_without_a_node_of_ours_touches_nothing(tmp_path: Path) -> None:
    (tmp_path / "cassandra.pid").write_text("1\n")  # pid 1 is not our Cassandra

    assert devnode.stop(devnode.NodeSpec(run_dir=tmp_path)) is False


def test_a_missing_maven_is_reported_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    node = devnode.NodeSettings.from_env({"PSS_CACHE_DIR": str(tmp_path), "CASSANDRA_VERSION": "5.0.0"})

    with pytest.raises(devnode.DevNodeError, match="Maven"):
        devnode.fetch(node)


def test_a_three_node_cluster_is_one_datacenter_on_consecutive_addresses_with_balanced_tokens(tmp_path: Path) -> None:
    specs = devnode.cluster_specs(tmp_path, 3)

    assert [s.address for s in specs] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert [s.initial_token for s in specs] == [-9223372036854775808, -3074457345618258603, 3074457345618258602]
    assert [s.run_dir for s in specs] == [tmp_path / "node1", tmp_path / "node2", tmp_path / "node3"]
    assert all(s.native_port == 9042 and s.storage_port == 7000 for s in specs)


def test_cluster_nodes_list_every_node_as_a_seed_and_read_their_datacenter_from_a_file(tmp_path: Path) -> None:
    text = devnode.render_yaml(devnode.cluster_specs(tmp_path, 3, first_address="127.0.0.11")[1])

    assert 'seeds: "127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000"' in text
    assert "listen_address: 127.0.0.12" in text
    assert "endpoint_snitch: GossipingPropertyFileSnitch" in text
    assert "auto_bootstrap: false" in text
    assert "initial_token: -3074457345618258603" in text


def test_a_cluster_is_not_started_where_another_node_already_answers(
    node_settings: devnode.NodeSettings, cassandra: None, tmp_path: Path
) -> None:
    with pytest.raises(devnode.DevNodeError, match=re.escape("already answers on 127.0.0.1:9042")):
        devnode.start_cluster(node_settings, devnode.cluster_specs(tmp_path, 3))


@pytest.mark.parametrize("nodes", [0, 10])
def test_a_local_cluster_has_one_to_nine_nodes(tmp_path: Path, nodes: int) -> None:
    with pytest.raises(devnode.DevNodeError, match="1 to 9 nodes"):
        devnode.cluster_specs(tmp_path, nodes)
