"""CORS (CORS_ALLOW_ORIGINS): web pages served from other origins (a Unity WebGL build, a
browser game, a web dashboard) may call the REST API and /graphql. Starlette's
CORSMiddleware speaks the protocol; this module says what the service allows, and answers a
refused preflight as JSON like every other error.

It sits outside the API-key check: a preflight never carries the key (browsers send no
custom headers with it), and the answers to real requests, 401s included, need the CORS
headers or the page cannot read them."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from .errors import error_json

ALLOWED_METHODS = ("GET", "POST")
# Beyond the CORS-safelisted headers: the API keys, the JSON (or compressed) body, and a
# request id the client chose. Content-Type: application/json is what makes browsers
# preflight POST /events and POST /graphql at all (the 415 rule in errors.py).
ALLOWED_HEADERS = ("Authorization", "X-API-Key", "Content-Type", "Content-Encoding", "X-Request-Id")
# Response headers a page may read: the id to quote in a bug report, when to retry a 503,
# and how to authenticate after a 401.
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "WWW-Authenticate")
# How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours).
MAX_AGE_SECONDS = 600


class Cors(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=tuple(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=MAX_AGE_SECONDS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        # Starlette says "Disallowed CORS origin, headers" in plain text; name each problem.
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ").split(", ")
        details: list[dict[str, object]] = []
        if "origin" in refused:
            details.append({"field": "Origin", "message": f"{request_headers['origin']} is not in CORS_ALLOW_ORIGINS"})
        if "method" in refused:
            method = request_headers["access-control-request-method"]
            details.append({"field": "Access-Control-Request-Method", "message": f"{method} is not one of GET, POST"})
        if "headers" in refused:
            asked = [h.strip() for h in request_headers.get("access-control-request-headers", "").split(",")]
            unknown = [h for h in asked if h and h.lower() not in self.allow_headers]
            details.append(
                {
                    "field": "Access-Control-Request-Headers",
                    "message": f"{', '.join(unknown)} not allowed; allowed: {', '.join(ALLOWED_HEADERS)}",
                }
            )
        if "private-network" in refused:
            details.append({"field": "Access-Control-Request-Private-Network", "message": "is not allowed"})
        cors_headers = {k: v for k, v in answer.headers.items() if k.startswith("access-control-") or k == "vary"}
        return error_json(400, f"CORS preflight refused: {', '.join(refused)}", details, headers=cors_headers)
