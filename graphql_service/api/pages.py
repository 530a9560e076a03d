"""The HTML pages the service serves itself (the dashboard, GraphiQL): from `static/`, each
under its own Content-Security-Policy, never cached stale, never sniffed as another type."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse

STATIC_DIR = Path(__file__).parent / "static"


def static_page(page: Path, content_security_policy: str) -> FileResponse:
    return FileResponse(
        page,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": content_security_policy,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )
