"""GraphiQL at `/graphql` (GRAPHIQL), served whole by the service: the page, its script and
the vendored React and GraphiQL (`static/vendor/`), so it works with no internet access.
Strawberry's own page would load them from a CDN; GraphQLApp renders this one instead.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from .pages import STATIC_DIR, static_page

PAGE = STATIC_DIR / "graphiql.html"
# Only this service's files run and only this service is called. GraphiQL's editor sets
# inline styles, and its icons are data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def graphiql_page() -> Response:
    return static_page(PAGE, CONTENT_SECURITY_POLICY)


def graphiql_routes() -> list[BaseRoute]:
    """The page's files under `/static/`; it names them relatively (`static/…`), so it also
    works behind a proxy that mounts the app under a prefix."""
    return [Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]
