"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
real server process and the real Cassandra node.

Two kinds of server: `live_server`, whose keyspace the other tests of the run share (the
events here use user-assigned country codes, XA…XZ, that no other test sends, so for those
countries the page must show exactly what the test sent), and `realistic_server`, a keyspace
of its own filled by `import` with a month of realistic starts (FI, SE, DE, US, BR, JP …),
where every number on the page is known exactly. Its run leaves docs/dashboard.png
(`make screenshot`).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from .. import keyspaces
from ..events import end, iso, new_player, now, start
from ..servers import served
from .browser import WAIT_MS, chromium

try:
    from playwright.sync_api import Page, Request, WebSocket, WebSocketRoute, expect
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError as exc:  # pragma: no cover - a broken set-up must fail, not skip
    raise RuntimeError("the browser test needs Python's playwright package: run `make setup`") from exc

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "dashboard.png"
README_SCREENSHOT = ROOT / "docs" / "dashboard.png"

A, B, C = "XA", "XB", "XC"
OURS = {A, B, C}

# What the page shows, read from the DOM and from the Chart.js instances (never from pixels).
SHOWN_JS = """() => {
  const section = document.getElementById("starts");
  const chart = window.Chart && window.Chart.getChart("country-chart");
  const rows = [...section.querySelectorAll("#country-table tbody tr[data-country]")];
  const total = document.getElementById("starts-total");
  return {
    state: section.dataset.state,
    hours: section.dataset.hours ?? null,
    table: rows.map((tr) => [tr.dataset.country, Number(tr.dataset.sessionStarts)]),
    text: rows.map((tr) => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()]),
    chart: chart ? chart.data.labels.map((label, i) => [label, chart.data.datasets[0].data[i]]) : null,
    total: Number(total.dataset.sessionStarts),
    totalText: total.textContent.trim(),
    mode: document.getElementById("mode").dataset.mode,
  };
}"""

SHOWS_JS = f"""({{hours, expected, ours}}) => {{
  const shown = ({SHOWN_JS})();
  const mine = (rows) => JSON.stringify((rows || []).filter(([country]) => ours.includes(country)));
  return shown.state === "ready" && shown.hours === String(hours)
    && mine(shown.table) === JSON.stringify(expected) && mine(shown.chart) === JSON.stringify(expected);
}}"""

TREND_JS = """() => {
  const section = document.getElementById("trend");
  const chart = window.Chart && window.Chart.getChart("trend-chart");
  const rows = [...section.querySelectorAll("#trend-table tbody tr")];
  return {
    state: section.dataset.state,
    range: section.dataset.range ?? null,
    country: section.dataset.country ?? null,
    rows: rows.map((tr) => [tr.dataset.bucketStart, Number(tr.dataset.sessionStarts)]),
    chart: chart ? chart.data.datasets[0].data : null,
    labels: chart ? chart.data.labels.length : null,
  };
}"""

TREND_SHOWS_JS = f"""({{range, country, expected}}) => {{
  const shown = ({TREND_JS})();
  const nonzero = Object.fromEntries(shown.rows.filter(([, n]) => n > 0));
  return shown.state === "ready" && shown.range === range && shown.country === country
    && JSON.stringify(nonzero) === JSON.stringify(expected);
}}"""

# The total row sits inside the visible part of its scrolling box, which does scroll.
TOTAL_IN_SIGHT_JS = """() => {
  const box = document.querySelector("#starts .table-box").getBoundingClientRect();
  const scroller = document.querySelector("#starts .table-box");
  const total = document.getElementById("starts-total").getBoundingClientRect();
  return {
    scrolls: scroller.scrollHeight > scroller.clientHeight,
    inSight: total.top >= box.top && total.bottom <= box.bottom + 1,
  };
}"""


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium(reduced_motion="reduce") as context:
        yield context.pages[0] if context.pages else context.new_page()


class Watch:
    """What the page did: failures (console errors, page errors, failed requests, 4xx/5xx),
    the GraphQL operations it sent over HTTP, and the messages the server pushed to it."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.failures: list[str] = []
        self.urls: list[str] = []
        self.http_bodies: list[str] = []
        self.pushed: list[dict[str, Any]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.failures.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.failures.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.failures.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", self._request)
        page.on("websocket", self._websocket)

    @staticmethod
    def mark(page: Page) -> None:
        """Marks the loaded document: if the page reloads, the mark is gone."""
        page.evaluate("window.__sameDocument = true")

    @staticmethod
    def same_document(page: Page) -> bool:
        return page.evaluate("window.__sameDocument === true") is True

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.failures.append(f"console {message.type}: {message.text} ({message.location['url']})")

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)
        if request.method == "POST" and request.url.endswith("/graphql"):
            self.http_bodies.append(request.post_data or "")

    def _websocket(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.pushed.append(json.loads(payload)))

    def http_asked_for(self, field: str) -> bool:
        return any(field in body for body in self.http_bodies)

    def pushed_field(self, field: str, check: Callable[[Any], bool]) -> bool:
        return any(
            message.get("type") == "next" and check(message["payload"]["data"].get(field))
            for message in self.pushed
            if isinstance(message.get("payload"), dict) and isinstance(message["payload"].get("data"), dict)
        )


def post(base_url: str, events: list[dict[str, Any]], **headers: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
        for offset in range(0, len(events), 10):
            response = client.post("/events", json={"rows": events[offset : offset + 10]})
            assert response.status_code == 200, response.text


def starts_only(country: str, *ages: timedelta) -> list[dict[str, Any]]:
    """Sessions that have started and not ended: they count as starts, not as sessions."""
    return [start(new_player("dashboard-other"), uuid.uuid4(), now() - age, country) for age in ages]


def wait_for(page: Page, script: str, arg: Any) -> None:
    """Wait (bounded) until `script(arg)` holds; on timeout the caller's assertions say what
    the page shows instead."""
    try:
        page.wait_for_function(script, arg=arg, timeout=WAIT_MS)
    except PlaywrightTimeout:
        pass


def shown_starts(page: Page, hours: int, expected: list[list[Any]]) -> dict[str, Any]:
    wait_for(page, SHOWS_JS, {"hours": hours, "expected": expected, "ours": sorted(OURS)})
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
    assert shown["total"] == sum(counts), shown
    assert shown["totalText"] == f"{sum(counts):,}", shown


def utc(ts: datetime) -> str:
    return iso(ts).replace("T", " ")


def test_dashboard_shows_starts_per_country_and_a_players_sessions_live(live_server: str, page: Page) -> None:
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

    watch = Watch(page, live_server)
    page.goto(f"{live_server}/dashboard")
    Watch.mark(page)
    expect(page).to_have_title("Player sessions · dashboard")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "live", timeout=WAIT_MS)
    expect(page.locator("#mode")).to_have_text("● Live")

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
    expect(page.locator("#older-page")).to_be_disabled()  # one page holds them all

    page.get_by_label("1 h", exact=True).check()
    assert_starts(page, 1, [[A, 3], [B, 1]])

    page.get_by_label("Custom", exact=True).check()
    page.get_by_label("hours", exact=True).fill("6")
    assert_starts(page, 6, [[B, 4], [A, 3]])

    page.get_by_label("24 h", exact=True).check()
    assert_starts(page, 24, [[B, 4], [A, 3], [C, 2]])

    page.locator("#trend-country").select_option(A)
    expect(page.locator("#trend")).to_have_attribute("data-country", A, timeout=WAIT_MS)
    expect(page.locator("#trend-caption")).to_contain_text(": 3 in all.", timeout=WAIT_MS)

    # Events arriving while the page is open show up without touching the page: pushed
    # over the websocket, not asked for (the trend is asked again when the totals change).
    later = uuid.uuid4()
    began = now() - timedelta(minutes=3)
    post(live_server, [start(player, later, began, A), end(player, later, began + timedelta(minutes=2))])
    post(live_server, starts_only(A, timedelta(minutes=2), timedelta(minutes=1)))
    assert_starts(page, 24, [[A, 6], [B, 4], [C, 2]])
    expect(rows).to_have_count(4, timeout=WAIT_MS)
    expect(rows.first).to_have_attribute("data-session-id", str(later))
    expect(page.locator("#trend-caption")).to_contain_text(": 6 in all.", timeout=WAIT_MS)
    expect(page.locator("#mode")).to_have_attribute("data-mode", "live")

    def has_a_with(count: int) -> Callable[[Any], bool]:
        return lambda rows: isinstance(rows, list) and {"country": A, "sessionStarts": count} in rows

    assert watch.pushed_field("sessionStartsByCountry", has_a_with(6)), watch.pushed[-5:]
    assert watch.pushed_field("playerSessions", lambda rows: isinstance(rows, list) and len(rows) == 4)
    # Live: the per-country totals never came over HTTP (no polling), and the page never reloaded.
    assert not watch.http_asked_for("sessionStartsByCountry"), watch.http_bodies
    assert Watch.same_document(page)
    assert watch.failures == []
    # Self-contained: the page asked this server for everything (no CDN, no other host).
    assert all(url.startswith(live_server) or url.startswith("ws://127.0.0.1") for url in watch.urls), watch.urls


def test_dashboard_polls_when_the_websocket_cannot_open(live_server: str, page: Page) -> None:
    country = "XP"
    post(live_server, starts_only(country, timedelta(minutes=5)))

    def refuse(socket: WebSocketRoute) -> None:
        socket.close(code=1011, reason="refused by the test")

    page.route_web_socket("**/graphql", refuse)
    watch = Watch(page, live_server)
    page.goto(f"{live_server}/dashboard")
    Watch.mark(page)

    mode = page.locator("#mode")
    expect(mode).to_have_attribute("data-mode", "polling", timeout=WAIT_MS)
    expect(mode).to_have_text("Polling")
    country_row = page.locator(f'#country-table tbody tr[data-country="{country}"]')
    expect(country_row).to_have_attribute("data-session-starts", "1", timeout=WAIT_MS)

    post(live_server, starts_only(country, timedelta(minutes=1)))
    expect(country_row).to_have_attribute("data-session-starts", "2", timeout=WAIT_MS)
    expect(mode).to_have_attribute("data-mode", "polling")
    assert watch.http_asked_for("sessionStartsByCountry")
    assert Watch.same_document(page)
    assert watch.failures == []


def test_dashboard_sends_the_api_key_the_server_asks_for(
    settings: Settings, database: Backend, page: Page, tmp_path: Path
) -> None:
    key = "dashboard-read-key"
    with served(settings, tmp_path / "server.log", READ_API_KEYS=key) as base_url:
        country = "XK"
        post(base_url, starts_only(country, timedelta(minutes=4), timedelta(minutes=3)))
        page.goto(f"{base_url}/dashboard")

        # Without the key: the websocket is refused (4403), the HTTP reads get 401, and the
        # page says so.
        expect(page.locator("#mode")).to_have_attribute("data-mode", "polling", timeout=WAIT_MS)
        expect(page.locator("#status")).to_contain_text("enter an API key above", timeout=WAIT_MS)

        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Use key").click()
        expect(page.locator("#mode")).to_have_attribute("data-mode", "live", timeout=WAIT_MS)
        country_row = page.locator(f'#country-table tbody tr[data-country="{country}"]')
        expect(country_row).to_have_attribute("data-session-starts", "2", timeout=WAIT_MS)
        # The trend comes from REST, with the key as a header.
        page.locator("#trend-country").select_option(country)
        expect(page.locator("#trend")).to_have_attribute("data-country", country, timeout=WAIT_MS)
        expect(page.locator("#trend")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
        expect(page.locator("#trend-caption")).to_contain_text(": 2 in all.")
        expect(page.locator("#status")).not_to_have_class("status error")
        # The key stays out of the address bar.
        assert key not in page.url


# ---- a month of realistic data --------------------------------------------------------

# Share of starts per country, roughly a global mobile game's.
COUNTRIES = {
    "US": 26,
    "BR": 13,
    "DE": 10,
    "JP": 9,
    "GB": 8,
    "FR": 7,
    "KR": 6,
    "MX": 5,
    "CA": 5,
    "FI": 4,
    "SE": 4,
    "IN": 3,
}
PLAYER = "nova-fox-4812"
# Start ages within this much of a window's edge are left out: the page asks a few minutes
# after the events are made, and the edge must not move an event in or out of a window.
EDGE = timedelta(minutes=30)
WINDOWS = (timedelta(hours=24), timedelta(hours=168), timedelta(hours=720))


@dataclass
class Month:
    made_at: datetime
    starts: list[tuple[datetime, str]]  # (ts, country) of every start
    sessions: list[tuple[str, str, datetime, datetime]]  # PLAYER's: (id, country, start, end)

    def within(self, window: timedelta) -> list[tuple[datetime, str]]:
        return [(ts, country) for ts, country in self.starts if self.made_at - ts < window]


def safe_age(age: timedelta) -> bool:
    return timedelta(minutes=2) <= age < WINDOWS[-1] - EDGE and all(not (w - EDGE <= age <= w + EDGE) for w in WINDOWS)


def make_month(at: datetime) -> tuple[Month, list[dict[str, Any]]]:
    """A game launched 11 days ago after a small beta: ~1,300 starts a day now, more in the
    European and American evening; one player with 25 sessions over the last 6 days."""
    rng = random.Random(4812)
    codes, weights = list(COUNTRIES), list(COUNTRIES.values())
    starts: list[tuple[datetime, str]] = []
    events: list[dict[str, Any]] = []
    for day in range(30):
        daily = 60 if day > 11 else 1500 - 45 * day
        made = 0
        while made < daily:
            age = timedelta(days=day, seconds=rng.uniform(0, 86_400))
            ts = (at - age).replace(microsecond=0)
            evening = 0.35 + 0.65 * (1 + math.cos((ts.hour - 19) / 24 * 2 * math.pi)) / 2
            if rng.random() > evening:
                continue
            made += 1
            if not safe_age(at - ts):
                continue
            country = rng.choices(codes, weights)[0]
            starts.append((ts, country))
            events.append(start(f"p-{rng.getrandbits(40):010x}", uuid.UUID(int=rng.getrandbits(128)), ts, country))
    sessions = []
    ended = at.replace(microsecond=0) - timedelta(minutes=40)
    for _ in range(25):
        # One after another, back in time: 4 to 75 minutes each, an hour to 8 apart.
        begun = ended - timedelta(minutes=rng.randint(4, 75), seconds=rng.randint(0, 59))
        while not safe_age(at - begun):
            begun, ended = begun - EDGE, ended - EDGE
        sid, country = str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(["FI", "SE"])
        sessions.append((sid, country, begun, ended))
        starts.append((begun, country))
        events += [start(PLAYER, uuid.UUID(sid), begun, country), end(PLAYER, uuid.UUID(sid), ended)]
        ended = begun - timedelta(minutes=rng.randint(60, 480))
    return Month(at, starts, sorted(sessions, key=lambda s: s[3], reverse=True)), events


@pytest.fixture
async def realistic(
    settings: Settings, database: Backend, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[tuple[str, Month]]:
    """A server on a keyspace of its own, filled by `python -m graphql_service import`."""
    async with keyspaces.own_keyspace(database, settings, "dash") as own:
        month, events = make_month(now())
        data = tmp_path / "month.jsonl"
        data.write_text("".join(json.dumps(event) + "\n" for event in events))
        # Loading the month is not what this tests: the faster backend loads it for both runs (it
        # took twice as long with cassandra-driver); the server below reads it with the one under test.
        env = {**os.environ, "CASSANDRA_DRIVER": "acsylla"}
        imported = subprocess.run(
            [sys.executable, "-m", "graphql_service", "import", "--keyspace", own.keyspace, "--no-progress", str(data)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        with served(own, tmp_path / "server.log") as base_url:
            yield base_url, month


def bucket(ts: datetime, step: str) -> str:
    floored = ts.replace(minute=0, second=0, microsecond=0)
    if step == "day":
        floored = floored.replace(hour=0)
    return floored.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def expected_trend(month: Month, window: timedelta, step: str, country: str = "") -> dict[str, int]:
    counts = Counter(bucket(ts, step) for ts, code in month.within(window) if not country or code == country)
    return dict(sorted(counts.items()))


def assert_trend(page: Page, range_: str, country: str, expected: dict[str, int], step_hours: int) -> None:
    wait_for(page, TREND_SHOWS_JS, {"range": range_, "country": country, "expected": expected})
    shown = page.evaluate(TREND_JS)
    assert (shown["state"], shown["range"], shown["country"]) == ("ready", range_, country), shown
    assert {start: n for start, n in shown["rows"] if n > 0} == expected, shown
    # Every bucket of the window, empty ones as zeros, one step apart; the chart draws them all.
    starts = [datetime.fromisoformat(start) for start, _ in shown["rows"]]
    assert all(b - a == timedelta(hours=step_hours) for a, b in pairwise(starts)), shown
    assert shown["chart"] == [n for _, n in shown["rows"]], shown
    assert shown["labels"] == len(shown["rows"]), shown


def test_dashboard_shows_a_month_of_realistic_data_exactly(realistic: tuple[str, Month], page: Page) -> None:
    base_url, month = realistic
    watch = Watch(page, base_url)
    page.goto(f"{base_url}/dashboard")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "live", timeout=WAIT_MS)

    # The trend: per hour over 24 h, per day over 7 and 30 days, all countries or one.
    assert_trend(page, "24h", "", expected_trend(month, WINDOWS[0], "hour"), 1)
    page.get_by_label("7 d by day").check()
    assert_trend(page, "7d", "", expected_trend(month, WINDOWS[1], "day"), 24)
    page.locator("#trend-country").select_option("FI")
    page.get_by_label("30 d by day").check()
    assert_trend(page, "30d", "FI", expected_trend(month, WINDOWS[2], "day", "FI"), 24)
    page.get_by_label("24 h by hour").check()
    assert_trend(page, "24h", "FI", expected_trend(month, WINDOWS[0], "hour", "FI"), 1)
    page.locator("#trend-country").select_option("")
    assert_trend(page, "24h", "", expected_trend(month, WINDOWS[0], "hour"), 1)
    expect(page.locator("#trend-caption")).to_contain_text(f": {len(month.within(WINDOWS[0])):,} in all.")

    # The totals: every country, largest first, thousands separators, the total in sight.
    per_country = Counter(country for _, country in month.within(WINDOWS[0]))
    expected = sorted(per_country.items(), key=lambda item: (-item[1], item[0]))
    wait_for(
        page,
        "(n) => document.getElementById('starts-total').dataset.sessionStarts === String(n)",
        sum(per_country.values()),
    )
    shown = page.evaluate(SHOWN_JS)
    assert sorted(shown["table"], key=lambda row: (-row[1], row[0])) == [list(row) for row in expected], shown
    assert [count for _, count in shown["table"]] == sorted(per_country.values(), reverse=True), shown
    assert shown["text"] == [[country, f"{count:,}"] for country, count in shown["table"]], shown
    assert shown["chart"] == shown["table"], shown
    total = sum(per_country.values())
    assert total >= 1000 and shown["totalText"] == f"{total:,}", shown
    assert page.evaluate(TOTAL_IN_SIGHT_JS) == {"scrolls": True, "inSight": True}

    # The player, 20 sessions a page, newest end first, durations as H:MM:SS.
    page.get_by_label("Player id").fill(PLAYER)
    page.get_by_role("button", name="Show sessions").click()
    player = page.locator("#player")
    rows = page.locator("#player-table tbody tr")

    def assert_page(number: int, sessions: list[tuple[str, str, datetime, datetime]]) -> None:
        expect(player).to_have_attribute("data-page", str(number), timeout=WAIT_MS)
        expect(player).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
        expect(rows).to_have_count(len(sessions))
        for row, (sid, country, begun, ended) in zip(rows.all(), sessions, strict=True):
            length = int((ended - begun).total_seconds())
            duration = f"{length // 3600}:{length % 3600 // 60:02}:{length % 60:02}"
            expect(row.locator("td")).to_have_text([sid, country, utc(begun), utc(ended), duration])

    assert_page(1, month.sessions[:20])
    expect(page.locator("#newer-page")).to_be_disabled()
    page.get_by_role("button", name="Older →").click()
    assert_page(2, month.sessions[20:])
    expect(page.locator("#older-page")).to_be_disabled()
    page.get_by_role("button", name="← Newer").click()
    assert_page(1, month.sessions[:20])
    expect(page.locator("#player-summary")).to_contain_text(f"{PLAYER}: 25 complete sessions · ")

    assert watch.failures == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        # `make screenshot`: refresh the documentation's picture on purpose, not on every run.
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)
