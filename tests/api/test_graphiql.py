"""GraphiQL at /graphql (GRAPHIQL): the page and everything it loads come from the service,
pinned by integrity hashes, and ship in the wheel. The browser run is test_graphiql_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest

from graphql_service.api.pages import STATIC_DIR
from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..servers import serving

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
HTML = {"accept": "text/html"}
ASSET = re.compile(r'(?:src|href)="(static/[^"]+)"(?:\s+integrity="([^"]+)")?')


def assets(page: str) -> list[tuple[str, str | None]]:
    return [(url, integrity or None) for url, integrity in ASSET.findall(page)]


async def test_graphiql_is_served_with_its_assets_from_the_service(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "connect-src 'self';" in page.headers["content-security-policy"]
    assert "unpkg" not in page.text and "https://" not in page.text
    found = assets(page.text)
    assert {url.rsplit("/", 1)[1] for url, _ in found} >= {
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "graphiql.js",
    }
    for url, _ in found:
        # The page names them relative to itself: /graphql → /static/….
        response = await client.get(f"/{url}")
        assert response.status_code == 200, url


def test_the_vendored_files_are_the_ones_the_page_pins() -> None:
    pinned = [(url, integrity) for url, integrity in assets((STATIC_DIR / "graphiql.html").read_text()) if integrity]

    assert len(pinned) == 6
    for url, integrity in pinned:
        assert integrity is not None
        digest = base64.b64encode(hashlib.sha384((STATIC_DIR / url.removeprefix("static/")).read_bytes()).digest())
        assert integrity == f"sha384-{digest.decode()}", url


def test_every_file_of_the_page_ships_in_the_wheel() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package_dir = STATIC_DIR.parents[1]
    page = STATIC_DIR / "graphiql.html"
    files = [page, *(STATIC_DIR / url.removeprefix("static/") for url, _ in assets(page.read_text()))]
    files += sorted((STATIC_DIR / "vendor").glob("*LICENSE*"))

    for path in files:
        relative = path.relative_to(package_dir).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in globs["graphql_service"]), relative


async def test_a_get_with_a_query_still_runs_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"}, headers=HTML)

    assert response.json() == {"data": {"__typename": "Query"}}


async def test_with_graphiql_off_there_is_no_ide_page_and_no_assets(settings: Settings, database: Backend) -> None:
    async with serving(create_app(settings.with_overrides(graphiql=False), database=database)) as client:
        page = await client.get("/graphql", headers=HTML)
        script = await client.get("/static/vendor/graphiql.min.js")
        query = await client.post("/graphql", json={"query": "{ __typename }"})

    assert page.status_code == 404
    assert page.headers["content-type"] == "application/json"
    assert script.status_code == 404
    assert query.json() == {"data": {"__typename": "Query"}}
