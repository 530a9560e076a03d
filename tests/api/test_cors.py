"""CORS_ALLOW_ORIGINS: pages on the origins named may call the API (preflights answered without
an API key, errors readable by the page); others get no CORS headers; unset, nothing changes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from graphql_service.app import create_app
from graphql_service.settings import ConfigError, Settings
from graphql_service.store.backends import Backend

from ..events import new_player, now, session_pair
from ..servers import serving

pytestmark = pytest.mark.anyio
GAME = "https://game.example.com"
PATHS = ["/events", "/sessions", "/session-starts", "/players/some-player/stats", "/graphql"]


def preflight(origin: str, method: str = "POST", headers: str = "content-type, x-api-key") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": headers,
    }


@pytest.fixture
async def cors_client(settings: Settings, database: Backend) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.with_overrides(
        cors_allow_origins=(GAME, "http://localhost:8080"), api_keys=("ingest-key",), read_api_keys=("read-key",)
    )
    async with serving(create_app(configured, database=database)) as client:
        yield client


@pytest.mark.parametrize("path", PATHS)
async def test_preflights_are_answered_without_an_api_key(cors_client: httpx.AsyncClient, path: str) -> None:
    method = "POST" if path in ("/events", "/graphql") else "GET"
    response = await cors_client.options(path, headers=preflight(GAME, method, "authorization, content-type"))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == GAME
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    allowed = {h.lower() for h in response.headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "x-api-key", "content-type", "content-encoding", "x-request-id"} <= allowed
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers


async def test_answers_to_allowed_origins_carry_cors_headers_and_expose_ours(cors_client: httpx.AsyncClient) -> None:
    player = new_player("cors")
    _, events = session_pair(player, now() - timedelta(minutes=20))
    headers = {"origin": GAME, "x-api-key": "ingest-key"}

    posted = await cors_client.post("/events", json=events, headers=headers)
    refused = await cors_client.post("/events", json=events, headers={"origin": GAME})

    assert posted.status_code == 200
    # A page can read a 401 too, and the headers a client needs to act on an answer.
    assert refused.status_code == 401
    for response in (posted, refused):
        assert response.headers["access-control-allow-origin"] == GAME
        assert "origin" in response.headers["vary"].lower()
        exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"x-request-id", "retry-after"} <= exposed


async def test_other_origins_get_no_cors_headers(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get(
        "/sessions", params={"player_id": "p"}, headers={"origin": "https://evil.example", "x-api-key": "read-key"}
    )

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_a_refused_preflight_is_a_400_in_json_naming_what_is_refused(cors_client: httpx.AsyncClient) -> None:
    origin = await cors_client.options("/events", headers=preflight("https://evil.example"))
    method = await cors_client.options("/events", headers=preflight(GAME, method="DELETE"))
    header = await cors_client.options("/events", headers=preflight(GAME, headers="content-type, x-debug"))

    assert origin.status_code == method.status_code == header.status_code == 400
    assert origin.json() == {
        "error": "CORS preflight refused: origin",
        "details": [{"field": "Origin", "message": "https://evil.example is not in CORS_ALLOW_ORIGINS"}],
    }
    assert "access-control-allow-origin" not in origin.headers
    assert method.json()["details"] == [
        {"field": "Access-Control-Request-Method", "message": "DELETE is not one of GET, POST"}
    ]
    assert header.json()["error"] == "CORS preflight refused: headers"
    assert header.json()["details"][0]["message"].startswith("x-debug not allowed")


async def test_the_host_allow_list_is_checked_before_cors(settings: Settings, database: Backend) -> None:
    configured = settings.with_overrides(cors_allow_origins=(GAME,), allowed_hosts=("api.example.com",))
    async with serving(create_app(configured, database=database)) as client:
        wrong_host = await client.options("/events", headers=preflight(GAME))
        right_host = await client.options("/events", headers={**preflight(GAME), "host": "api.example.com"})

    assert wrong_host.status_code == 400
    assert "ALLOWED_HOSTS" in wrong_host.json()["error"]
    assert right_host.status_code == 200


async def test_a_star_lets_any_origin_in(settings: Settings, database: Backend) -> None:
    async with serving(create_app(settings.with_overrides(cors_allow_origins=("*",)), database=database)) as client:
        preflighted = await client.options("/graphql", headers=preflight("https://anywhere.example"))
        answered = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://anywhere.example"}
        )

    assert preflighted.status_code == 200
    assert preflighted.headers["access-control-allow-origin"] == "*"
    assert answered.headers["access-control-allow-origin"] == "*"
    assert answered.json() == {"data": {"__typename": "Query"}}


async def test_unset_there_are_no_cors_headers_and_options_is_a_405(client: httpx.AsyncClient) -> None:
    response = await client.options("/events", headers=preflight(GAME))
    answered = await client.get("/healthz", headers={"origin": GAME})

    assert response.status_code == 405
    assert response.json()["error"]
    assert not any(h.startswith("access-control-") for h in [*response.headers, *answered.headers])


def test_origins_are_read_from_a_comma_separated_list() -> None:
    settings = Settings.from_env({"CORS_ALLOW_ORIGINS": f" {GAME} , http://127.0.0.1:8080,capacitor://localhost "})

    assert settings.cors_allow_origins == (GAME, "http://127.0.0.1:8080", "capacitor://localhost")
    assert Settings.from_env({"CORS_ALLOW_ORIGINS": "*"}).cors_allow_origins == ("*",)
    assert Settings.from_env({}).cors_allow_origins == ()


@pytest.mark.parametrize("origin", [f"{GAME}/", f"{GAME}/play", "game.example.com", "https://"])
def test_an_origin_that_could_never_match_is_a_configuration_error(origin: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"no path, no /), got {origin!r}")):
        Settings.from_env({"CORS_ALLOW_ORIGINS": origin})
