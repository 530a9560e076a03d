"""Options and help made from the settings table read as plain terminal text."""

from __future__ import annotations

import argparse

import pytest

from graphql_service.tools.options import environment, overrides, setting_option


def test_the_epilog_lists_each_variable_with_its_default_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    text = environment(["ALLOWED_HOSTS", "LOG_FORMAT", "PORT"])

    assert text.splitlines() == [
        "environment (README, Configuration):",
        "  ALLOWED_HOSTS (default (none: any Host)): comma-separated Host names served (*.example.com for "
        "subdomains); others get 400",
        "  LOG_FORMAT (default text): text or json (one JSON object per line); see Observability in docs/operations.md",
        "  PORT (default 8000): the HTTP port of serve",
    ]


def test_a_setting_option_keeps_the_text_given_and_only_when_given() -> None:
    parser = argparse.ArgumentParser()
    setting_option(parser, "--port", "PORT", metavar="PORT")

    assert overrides(parser.parse_args(["--port", "8080"])) == {"PORT": "8080"}
    assert overrides(parser.parse_args([])) == {}
    [port] = [action for action in parser._actions if action.option_strings == ["--port"]]
    assert port.help == "the HTTP port of serve (overrides PORT; default 8000)"
