"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
real server process (`live_server`) and the real Cassandra node.

The server's keyspace is shared with the other tests of the run, so the events here use
user-assigned country codes (XA, XB, XC) that no other test sends: for those countries the
chart and its table must show exactly what this test sent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..events import end, iso, new_player, now, start

try:
    from playwright.sync_api import Page, expect, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError as exc:  # pragma: no cover - a broken set-up must fail, not skip
    raise RuntimeError("the browser test needs Python's playwright package: run `make setup`") from exc

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
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "dashboard.png"
README_SCREENSHOT = ROOT / "docs" / "dashboard.png"
# Counts may lag writes by a few seconds and the page refreshes every 3 s: a bound on the
# wait, not an expectation of speed.
WAIT_MS = 30_000

A, B, C = "XA", "XB", "XC"
OURS = {A, B, C}

# What the page shows, read from the DOM and from the Chart.js instance (never from pixels).
SHOWN_JS = """() => {
  const section = document.getElementById("starts");
  const chart = window.Chart && window.Chart.getChart("country-chart");
  const rows = [...section.querySelectorAll("#country-table tbody tr[data-country]")];
  return {
    state: section.dataset.state,
    hours: section.dataset.hours ?? null,
    table: rows.map((tr) => [tr.cells[0].textContent.trim(), Number(tr.cells[1].textContent)]),
    chart: chart ? chart.data.labels.map((label, i) => [label, chart.data.datasets[0].data[i]]) : null,
    total: document.getElementById("starts-total").textContent.trim(),
  };
}"""

SHOWS_JS = f"""({{hours, expected, ours}}) => {{
  const shown = ({SHOWN_JS})();
  const mine = (rows) => JSON.stringify((rows || []).filter(([country]) => ours.includes(country)));
  return shown.state === "ready" && shown.hours === String(hours)
    && mine(shown.table) === JSON.stringify(expected) && mine(shown.chart) === JSON.stringify(expected);
}}"""


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium package", pytrace=False)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="dashboard-profile-") as profile:
        # A fresh profile per run; Playwright is given the browser, it never downloads one.
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": 1280, "height": 800},
            reduced_motion="reduce",
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def post(base_url: str, events: list[dict[str, Any]]) -> None:
    for offset in range(0, len(events), 10):
        response = httpx.post(f"{base_url}/events", json={"rows": events[offset : offset + 10]}, timeout=30)
        assert response.status_code == 200, response.text


def starts_only(country: str, *ages: timedelta) -> list[dict[str, Any]]:
    """Sessions that have started and not ended: they count as starts, not as sessions."""
    return [start(new_player("dashboard-other"), uuid.uuid4(), now() - age, country) for age in ages]


def shown_starts(page: Page, hours: int, expected: list[list[Any]]) -> dict[str, Any]:
    """Wait (bounded) until the chart and its table show `expected` for our countries in the
    `hours` window, then return what the page shows, so a failure prints the difference."""
    try:
        page.wait_for_function(
            SHOWS_JS, arg={"hours": hours, "expected": expected, "ours": sorted(OURS)}, timeout=WAIT_MS
        )
    except PlaywrightTimeout:
        pass  # the assertions of the caller say what the page shows instead
    shown: dict[str, Any] = page.evaluate(SHOWN_JS)
    return shown


def assert_starts(page: Page, hours: int, expected: list[list[Any]]) -> None:
    shown = shown_starts(page, hours, expected)
    assert shown["hours"] == str(hours), shown
    assert [row for row in shown["table"] if row[0] in OURS] == expected, shown
    # The chart draws exactly the rows of the table (all countries, ours and the other
    # tests'), largest first, and the total adds them up.
    assert shown["chart"] == shown["table"], shown
    counts = [count for _, count in shown["table"]]
    assert counts == sorted(counts, reverse=True), shown
    assert shown["total"] == str(sum(counts)), shown


def utc(ts: datetime) -> str:
    return iso(ts).replace("T", " ")


def test_dashboard_shows_starts_per_country_and_a_players_sessions(live_server: str, page: Page) -> None:
    t = now()
    player = new_player("dashboard")
    # The player's complete sessions: (country, start, duration).
    played = [
        (A, t - timedelta(minutes=10), timedelta(minutes=5)),
        (B, t - timedelta(hours=5), timedelta(minutes=25, seconds=30)),
        (C, t - timedelta(hours=10), timedelta(hours=1, minutes=2, seconds=3)),
    ]
    sessions = [(uuid.uuid4(), country, begun, begun + length) for country, begun, length in played]
    events = [
        e
        for sid, country, begun, ended in sessions
        for e in (start(player, sid, begun, country), end(player, sid, ended))
    ]
    events.append(start(player, uuid.uuid4(), t - timedelta(hours=9), C))  # never ends: a start, not a session
    events += starts_only(A, timedelta(minutes=15), timedelta(minutes=8))
    events += starts_only(B, timedelta(minutes=12), timedelta(hours=5, minutes=10), timedelta(hours=4))
    post(live_server, events)
    post(live_server, events[:2])  # re-delivered: still one session, one start

    failures: list[str] = []
    page.on(
        "console",
        lambda m: failures.append(f"console {m.type}: {m.text} ({m.location['url']})") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: failures.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: failures.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: failures.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{live_server}/dashboard")
    expect(page).to_have_title("Player sessions · dashboard")

    # The default window is 24 h: every start above.
    assert_starts(page, 24, [[B, 4], [A, 3], [C, 2]])

    page.get_by_label("Player id").fill(player)
    page.get_by_role("button", name="Show sessions").click()
    player_section = page.locator("#player")
    expect(player_section).to_have_attribute("data-player", player, timeout=WAIT_MS)
    expect(player_section).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    rows = page.locator("#player-table tbody tr")
    expect(rows).to_have_count(3)
    newest_first = sorted(sessions, key=lambda s: s[3], reverse=True)
    durations = ["0:05:00", "0:25:30", "1:02:03"]
    for row, (sid, country, begun, ended), duration in zip(rows.all(), newest_first, durations, strict=True):
        expect(row.locator("td")).to_have_text([str(sid), country, utc(begun), utc(ended), duration])
        expect(row.locator("td").last).to_have_attribute("data-seconds", str(int((ended - begun).total_seconds())))
    expect(page.locator("#player-summary")).to_have_text(
        f"{player}: 3 complete sessions · 1:32:33 played · 0:30:51 on average · "
        f"last ended {utc(newest_first[0][3])} UTC."
    )

    page.get_by_label("1 h", exact=True).check()
    assert_starts(page, 1, [[A, 3], [B, 1]])

    page.get_by_label("Custom", exact=True).check()
    page.get_by_label("hours", exact=True).fill("6")
    assert_starts(page, 6, [[B, 4], [A, 3]])

    page.get_by_label("24 h", exact=True).check()
    assert_starts(page, 24, [[B, 4], [A, 3], [C, 2]])

    # A load arriving while the page is open shows up without touching the page.
    post(live_server, starts_only(A, timedelta(minutes=2), timedelta(minutes=1)))
    assert_starts(page, 24, [[A, 5], [B, 4], [C, 2]])
    expect(rows).to_have_count(3)

    assert failures == []
    # Self-contained: the page asked this server for everything (no CDN, no other host).
    assert all(url.startswith(live_server) for url in requests), requests

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        # `make screenshot`: refresh the README's picture on purpose, not on every run.
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)
