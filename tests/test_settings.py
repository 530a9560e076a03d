"""Settings: one table states every variable once; parsing is strict; the README shows the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphql_service.settings import TABLE, ConfigError, Settings, markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_configuration_table_is_the_settings_table() -> None:
    text = README.read_text()
    begin, end = "<!-- settings:begin -->\n", "\n<!-- settings:end -->"
    shown = text[text.index(begin) + len(begin) : text.index(end)]
    # `make settings-table` rewrites it.
    assert shown == markdown_table()


def test_every_variable_in_the_table_is_read() -> None:
    for setting in TABLE:
        if setting.kind == "int":
            raw, expected = str(setting.low), setting.low
        elif setting.kind == "bool":
            raw, expected = str(not setting.default).lower(), not setting.default
        elif setting.kind == "choice":
            raw, expected = setting.choices[-1], setting.choices[-1]
        else:
            continue
        assert getattr(Settings.from_env({setting.env: raw}), setting.attr) == expected, setting.env


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
