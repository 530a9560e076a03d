"""The dashboard: one static page and its assets, served by the app itself (docs/dashboard.md).

The page talks only to the service's public API (GraphQL queries and subscriptions at
`/graphql`, `/session-starts/series` for the trend), so it shows exactly what any client would
see. Everything it needs, Chart.js and the graphql-ws client included, ships inside the
package (`static/`), which keeps it working with no build step, no CDN and no network.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from .auth import Access, guarded
from .pages import STATIC_DIR, static_page

# The page loads nothing but its own files and talks to nothing but this origin; a strict
# policy costs nothing and keeps a stray injected script or stylesheet from running.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def dashboard_page(request: Request) -> Response:
    return static_page(STATIC_DIR / "dashboard.html", CONTENT_SECURITY_POLICY)


def dashboard_routes() -> list[BaseRoute]:
    """`/dashboard` and its assets under `/dashboard/static/`. The page refers to both with
    relative URLs, so it also works behind a proxy that mounts the app under a prefix."""
    return [
        guarded("/dashboard", dashboard_page, Access.OPEN, ["GET"]),
        Mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static"),
    ]
