"""The local node: configuration and the lifecycle checks that need no second node."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphql_service.settings import Settings
from graphql_service.tools import devnode


def test_the_running_node_was_started_or_found_and_answers_cql(settings: Settings, cassandra: None) -> None:
    current = devnode.status(devnode.default_spec(settings))

    assert current.running


def test_start_is_idempotent_when_the_node_answers(settings: Settings, cassandra: None) -> None:
    before = devnode.status(devnode.default_spec(settings))

    after = devnode.start(settings, quiet=True)

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
    settings = Settings(cache_dir=tmp_path, cassandra_version="5.0.0")

    with pytest.raises(devnode.DevNodeError, match="Maven"):
        devnode.fetch(settings)
