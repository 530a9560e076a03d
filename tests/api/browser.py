"""Debian's Chromium, driven by Playwright (which is given the browser, never downloads one),
for the browser tests of the dashboard, CORS and GraphiQL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import BrowserContext, sync_playwright
except ImportError as exc:  # pragma: no cover - a broken set-up must fail, not skip
    raise RuntimeError("the browser tests need Python's playwright package: run `make setup`") from exc

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# A bound on waits for the page, not an expectation of speed.
WAIT_MS = 30_000


@contextmanager
def chromium(**options: Any) -> Iterator[BrowserContext]:
    """A fresh browser profile, closed at the end; `options` go to Playwright's
    launch_persistent_context (e.g. reduced_motion="reduce")."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium package", pytrace=False)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="browser-profile-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
            **{"viewport": {"width": 1280, "height": 800}, **options},
        )
        try:
            yield context
        finally:
            context.close()
