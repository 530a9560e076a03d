"""Settings: each variable is one field, declared once; parsing is strict; the README shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from graphql_service.settings import ConfigError, EnvSettings, Settings, bounds
from graphql_service.tools.devnode import NodeSettings
from graphql_service.tools.options import readme_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_configuration_table_is_the_settings_table() -> None:
    text = README.read_text()
    begin, end = "<!-- settings:begin -->\n", "\n<!-- settings:end -->"
    shown = text[text.index(begin) + len(begin) : text.index(end)]
    # `make settings-table` rewrites it.
    assert shown == readme_table()


@pytest.mark.parametrize("model", [Settings, NodeSettings])
def test_every_variable_is_read(model: type[EnvSettings]) -> None:
    for name, field in model.model_fields.items():
        env = str(field.validation_alias)
        expected: object
        if field.annotation is int:
            expected = bounds(field)[0]
        elif field.annotation is bool:
            expected = not field.default
        elif get_origin(field.annotation) is Literal:
            expected = get_args(field.annotation)[-1]
        else:
            continue
        assert getattr(model.from_env({env: str(expected).lower()}), name) == expected, env


def test_every_setting_says_what_it_does_and_numbers_have_a_range() -> None:
    for model in (Settings, NodeSettings):
        for env, field in model.variables().items():
            assert field.description, env
            if field.annotation is int:
                low, high = bounds(field)
                assert low <= field.default <= high, env


def test_an_empty_environment_gives_the_defaults() -> None:
    loaded = Settings.from_env({})
    assert (loaded.driver, loaded.port, loaded.keyspace, loaded.protocol_version) == (
        "acsylla",
        9042,
        "player_sessions",
        5,
    )


@pytest.mark.parametrize("raw", ["1_0", "\uff15", "0x10", "1.0", "ten", "+5"])  # \uff15: a full-width 5
def test_whole_numbers_take_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ConfigError, match="CASSANDRA_PORT must be an integer"):
        Settings.from_env({"CASSANDRA_PORT": raw})


def test_out_of_range_numbers_name_the_range() -> None:
    with pytest.raises(ConfigError, match="CASSANDRA_PROTOCOL_VERSION must be between 3 and 5, got 6"):
        Settings.from_env({"CASSANDRA_PROTOCOL_VERSION": "6"})


def test_start_shards_must_be_a_power_of_two_from_8() -> None:
    assert Settings.from_env({"START_SHARDS": "64"}).start_shards == 64
    with pytest.raises(ConfigError, match="START_SHARDS must be a power of two"):
        Settings.from_env({"START_SHARDS": "12"})
    with pytest.raises(ConfigError, match="START_SHARDS must be between 8 and 1024"):
        Settings.from_env({"START_SHARDS": "4"})


def test_choices_are_case_insensitive_and_named_when_wrong() -> None:
    assert Settings.from_env({"CASSANDRA_DRIVER": "Cassandra-Driver"}).driver == "cassandra-driver"
    assert Settings.from_env({"CASSANDRA_READ_CONSISTENCY": "local_one"}).read_consistency == "LOCAL_ONE"
    with pytest.raises(ConfigError, match="CASSANDRA_DRIVER must be one of acsylla, cassandra-driver"):
        Settings.from_env({"CASSANDRA_DRIVER": "pycassa"})


def test_a_ca_file_turns_tls_on_unless_tls_is_set_explicitly() -> None:
    assert Settings.from_env({"CASSANDRA_TLS_CA_FILE": "/ca.pem"}).tls_enabled is True
    assert Settings.from_env({"CASSANDRA_TLS_CA_FILE": "/ca.pem", "CASSANDRA_TLS": "false"}).tls_enabled is False


def test_a_keyspace_must_be_a_cql_identifier() -> None:
    with pytest.raises(ConfigError, match="CASSANDRA_KEYSPACE must be a CQL identifier"):
        Settings.from_env({"CASSANDRA_KEYSPACE": "drop table;"})


def test_contact_points_are_a_trimmed_list() -> None:
    loaded = Settings.from_env({"CASSANDRA_CONTACT_POINTS": " 10.0.0.1, ,10.0.0.2 "})
    assert loaded.contact_points == ("10.0.0.1", "10.0.0.2")
    assert not loaded.uses_local_node


def test_overrides_take_only_settings_that_exist() -> None:
    assert Settings.from_env({}).with_overrides(port=9142).port == 9142
    with pytest.raises(TypeError, match="cassandra_heap"):
        Settings.from_env({}).with_overrides(cassandra_heap="1G")


def test_secrets_are_taken_as_given_and_kept_out_of_the_repr() -> None:
    loaded = Settings.from_env({"CASSANDRA_USERNAME": " u ", "CASSANDRA_PASSWORD": " p w "})

    assert (loaded.username, loaded.password) == ("u", " p w ")
    assert "p w" not in repr(loaded)


def test_the_local_node_settings_are_the_node_tools_own() -> None:
    node = NodeSettings.from_env({"CASSANDRA_HEAP": "512M", "PSS_RUN_DIR": "relative"})

    assert node.heap == "512M"
    assert node.run_dir == Path("relative").resolve()
    assert "CASSANDRA_HEAP" not in Settings.variables()
    with pytest.raises(ConfigError, match="CASSANDRA_START_TIMEOUT must be between 10 and 3600, got 5"):
        NodeSettings.from_env({"CASSANDRA_START_TIMEOUT": "5"})
