// The dashboard: the trend of session starts (per hour or day), session starts per country
// (bar chart + the same numbers as a table, total row always in sight) and a player lookup
// that pages back through history. Live through GraphQL subscriptions (live.js); polling
// over HTTP only while the websocket is down.
//
// Every rendered section carries data-state ("loading" | "ready" | "error") and, once it
// shows data, what that data is for (data-hours, data-range, data-country, data-player,
// data-page), so a test or a person can tell a fresh answer from a stale one without
// reading canvas pixels. The mode ("connecting" | "live" | "polling") is on #mode.

import { countryLabel, describeHours, formatCount, formatDuration, formatUtc } from "./format.js";
import { connectLive } from "./live.js";
import { RANGES, bucketLabel, fillBuckets } from "./trend.js";

const STARTS_FIELDS = "sessionStartsByCountry(hours: $hours) { country sessionStarts }";
const STARTS_QUERY = `query SessionStarts($hours: Int!) { ${STARTS_FIELDS} }`;
const STARTS_SUBSCRIPTION = `subscription LiveSessionStarts($hours: Int!) { ${STARTS_FIELDS} }`;

const PAGE_SIZE = 20;
const PLAYER_QUERY = `query PlayerSessions($id: ID!, $last: Int!, $before: String) {
  player(id: $id) {
    id
    sessionsPage(last: $last, before: $before) {
      sessions { sessionId country startTs endTs durationSeconds }
      nextCursor
    }
    stats { completedSessions totalSeconds averageSeconds lastSessionEnd }
  }
}`;
// Only a signal: a push means the player's newest sessions changed, and the page then asks
// for the page it shows (with its cursor and the stats), the same way polling does.
const PLAYER_SUBSCRIPTION = `subscription LivePlayerSessions($id: ID!, $last: Int!) {
  playerSessions(id: $id, last: $last) { sessionId endTs }
}`;

const PRESET_HOURS = new Set([1, 24, 168]);
const MAX_HOURS = 8760;
// The trend has no subscription of its own: it is asked again when the totals change (pushed
// or polled), at most this often, and slowly on a timer in case only old buckets changed.
const TREND_MIN_INTERVAL_MS = 5000;
const TREND_REFRESH_MS = 60_000;
const KEY_STORAGE = "player-sessions-dashboard-key";

const params = new URLSearchParams(window.location.search);
const refreshSeconds = clampInt(params.get("refresh"), 1, 60, 3);
const graphqlPath = document.body.dataset.graphqlUrl || "graphql";
const endpoint = new URL(graphqlPath, document.baseURI);
const apiBase = new URL(document.body.dataset.apiUrl || ".", document.baseURI);

const el = {
  mode: document.getElementById("mode"),
  modeDetail: document.getElementById("mode-detail"),
  status: document.getElementById("status"),
  keyForm: document.getElementById("key-form"),
  key: document.getElementById("api-key"),
  trend: document.getElementById("trend"),
  trendForm: document.getElementById("trend-form"),
  trendCountry: document.getElementById("trend-country"),
  trendCaption: document.getElementById("trend-caption"),
  trendRows: document.querySelector("#trend-table tbody"),
  starts: document.getElementById("starts"),
  windowForm: document.getElementById("window-form"),
  customHours: document.getElementById("custom-hours"),
  caption: document.getElementById("starts-caption"),
  countryRows: document.querySelector("#country-table tbody"),
  total: document.getElementById("starts-total"),
  player: document.getElementById("player"),
  playerForm: document.getElementById("player-form"),
  playerId: document.getElementById("player-id"),
  summary: document.getElementById("player-summary"),
  sessionRows: document.querySelector("#player-table tbody"),
  newer: document.getElementById("newer-page"),
  older: document.getElementById("older-page"),
  pageInfo: document.getElementById("page-info"),
};

const state = {
  hours: clampInt(params.get("hours"), 1, MAX_HOURS, 24),
  range: Object.hasOwn(RANGES, params.get("trend") ?? "") ? params.get("trend") : "24h",
  country: /^[A-Z]{2}$/.test(params.get("country") ?? "") ? params.get("country") : "",
  player: (params.get("player") || "").trim(),
  // cursors[i] is the `before` of page i (null: the newest page).
  cursors: [null],
  page: 0,
  key: window.sessionStorage.getItem(KEY_STORAGE) || "",
  mode: "connecting",
};
// Each request gets a number; an answer is drawn only if no newer request was made since,
// so a slow answer for the previous window or player never overwrites the current one.
const sequence = { starts: 0, trend: 0, player: 0 };
const problems = { starts: null, trend: null, player: null, live: null };
const knownCountries = new Set();
const live = { connection: null, stopStarts: null, stopPlayer: null, lastPlayerPush: null };
let pollTimer = 0;
const trendTimer = { pending: 0, slow: 0, last: 0 };
const lastStarts = { hours: 0, shown: null };

const countryChart = createCountryChart();
const trendChart = createTrendChart();

function clampInt(raw, min, max, fallback) {
  const value = Number.parseInt(raw ?? "", 10);
  return Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}

function chartOptions(xTitle, tooltipTitle) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 250 },
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          title: tooltipTitle,
          label: (item) => `${item.dataset.label}: ${formatCount(item.parsed.y)}`,
        },
      },
    },
    scales: {
      x: { title: { display: true, text: xTitle }, grid: { display: false } },
      y: {
        beginAtZero: true,
        ticks: { precision: 0, callback: (value) => formatCount(value) },
        title: { display: true, text: "Session starts" },
      },
    },
  };
}

function createCountryChart() {
  if (typeof window.Chart !== "function") return null; // the table still shows every number
  return new window.Chart(document.getElementById("country-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Session starts", data: [], backgroundColor: "#2f6fdf", maxBarThickness: 72 }] },
    options: chartOptions("Country", (items) => items.map((item) => countryLabel(item.label))),
  });
}

function createTrendChart() {
  if (typeof window.Chart !== "function") return null;
  return new window.Chart(document.getElementById("trend-chart"), {
    type: "bar",
    data: { labels: [], bucketStarts: [], datasets: [{ label: "Session starts", data: [], backgroundColor: "#1f9d8a", maxBarThickness: 48 }] },
    options: chartOptions("UTC", (items) =>
      items.map((item) => {
        const start = trendChart.data.bucketStarts[item.dataIndex];
        return RANGES[state.range].step === "day" ? `${start.slice(0, 10)} (UTC day)` : `${formatUtc(start).slice(0, 16)} UTC`;
      }),
    ),
  });
}

// ---- requests -------------------------------------------------------------------------

function authHeaders() {
  return state.key ? { authorization: `Bearer ${state.key}` } : {};
}

// The service's errors are {"error": ..., "details": ...}; GraphQL's are {"errors": [...]}.
async function readJson(response) {
  let payload;
  try {
    payload = await response.json();
  } catch {
    throw new Error(`the API answered HTTP ${response.status}`);
  }
  if (Array.isArray(payload.errors) && payload.errors.length > 0) {
    throw new Error(payload.errors.map((error) => error.message).join("; "));
  }
  if (!response.ok) {
    const hint = response.status === 401 ? " (enter an API key above)" : "";
    throw new Error(`${payload.error || `the API answered HTTP ${response.status}`}${hint}`);
  }
  return payload;
}

async function graphql(query, variables) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  const payload = await readJson(response);
  if (!payload.data) throw new Error(`the API answered HTTP ${response.status} without data`);
  return payload.data;
}

async function rest(path, query) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query)) {
    if (value !== "" && value !== null) url.searchParams.set(name, String(value));
  }
  return readJson(await fetch(url, { headers: { accept: "application/json", ...authHeaders() } }));
}

// ---- the trend ------------------------------------------------------------------------

async function loadTrend() {
  const id = ++sequence.trend;
  const { range, country } = state;
  const { hours, step } = RANGES[range];
  trendTimer.last = Date.now();
  try {
    const answer = await rest("session-starts/series", { hours, step, country });
    if (id !== sequence.trend) return;
    renderTrend(range, country, answer);
    problems.trend = null;
  } catch (error) {
    if (id !== sequence.trend) return;
    el.trend.dataset.state = "error";
    problems.trend = `Trend: ${error.message}`;
  }
  showStatus();
}

function renderTrend(range, country, answer) {
  const buckets = fillBuckets(answer);
  const labels = buckets.map((bucket) => bucketLabel(bucket.start, answer.step));
  if (!country) {
    for (const point of answer.series) knownCountries.add(point.country);
    updateCountryOptions();
  }
  if (trendChart) {
    trendChart.data.labels = labels;
    trendChart.data.bucketStarts = buckets.map((bucket) => bucket.start);
    trendChart.data.datasets[0].data = buckets.map((bucket) => bucket.starts);
    trendChart.data.datasets[0].label = country ? `Session starts in ${country}` : "Session starts";
    trendChart.update();
  }
  el.trendRows.replaceChildren(
    ...buckets.map((bucket, i) => {
      const tr = document.createElement("tr");
      tr.dataset.bucketStart = bucket.start;
      tr.dataset.sessionStarts = String(bucket.starts);
      const when = document.createElement("th");
      when.scope = "row";
      const time = document.createElement("time");
      time.dateTime = bucket.start;
      time.textContent = answer.step === "day" ? bucket.start.slice(0, 10) : `${formatUtc(bucket.start).slice(0, 16)}`;
      when.append(time);
      tr.append(when, cell(formatCount(bucket.starts), "num"));
      tr.title = labels[i];
      return tr;
    }),
  );
  const total = buckets.reduce((sum, bucket) => sum + bucket.starts, 0);
  const where = country ? `in ${countryLabel(country)}` : "in all countries";
  el.trendCaption.textContent = `Session starts ${where} ${RANGES[range].text} (UTC): ${formatCount(total)} in all.`;
  el.trend.dataset.range = range;
  el.trend.dataset.country = country;
  el.trend.dataset.state = "ready";
}

// Asked again at most every TREND_MIN_INTERVAL_MS, however often the totals change.
function scheduleTrend() {
  if (trendTimer.pending) return;
  const wait = Math.max(0, trendTimer.last + TREND_MIN_INTERVAL_MS - Date.now());
  trendTimer.pending = window.setTimeout(() => {
    trendTimer.pending = 0;
    loadTrend();
  }, wait);
}

function restartSlowTrendTimer() {
  window.clearInterval(trendTimer.slow);
  trendTimer.slow = window.setInterval(() => {
    if (!document.hidden) scheduleTrend();
  }, TREND_REFRESH_MS);
}

function updateCountryOptions() {
  if (state.country) knownCountries.add(state.country);
  const codes = [...knownCountries].sort();
  const shown = [...el.trendCountry.options].slice(1).map((option) => option.value);
  if (JSON.stringify(codes) === JSON.stringify(shown)) return;
  el.trendCountry.replaceChildren(
    el.trendCountry.options[0],
    ...codes.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = countryLabel(code);
      return option;
    }),
  );
  el.trendCountry.value = state.country;
}

function onTrendChange() {
  const range = new FormData(el.trendForm).get("range");
  const country = el.trendCountry.value;
  if (range === state.range && country === state.country) return;
  state.range = range;
  state.country = country;
  el.trend.dataset.state = "loading";
  saveToUrl();
  window.clearTimeout(trendTimer.pending);
  trendTimer.pending = 0;
  loadTrend();
}

// ---- session starts per country -------------------------------------------------------

async function loadStarts() {
  const id = ++sequence.starts;
  const hours = state.hours;
  try {
    const data = await graphql(STARTS_QUERY, { hours });
    if (id !== sequence.starts) return;
    renderStarts(hours, data.sessionStartsByCountry);
    problems.starts = null;
  } catch (error) {
    if (id !== sequence.starts) return;
    el.starts.dataset.state = "error";
    problems.starts = `Session starts: ${error.message}`;
  }
}

function renderStarts(hours, rows) {
  // New starts in the totals mean new starts in the trend: ask for it again (throttled).
  const shown = JSON.stringify(rows);
  if (lastStarts.hours === hours && lastStarts.shown !== null && lastStarts.shown !== shown) scheduleTrend();
  lastStarts.hours = hours;
  lastStarts.shown = shown;
  for (const row of rows) knownCountries.add(row.country);
  updateCountryOptions();
  if (countryChart) {
    countryChart.data.labels = rows.map((row) => row.country);
    countryChart.data.datasets[0].data = rows.map((row) => row.sessionStarts);
    countryChart.update();
  }
  if (rows.length === 0) {
    el.countryRows.replaceChildren(emptyRow(2, "No session starts in this window."));
  } else {
    el.countryRows.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        tr.dataset.country = row.country;
        tr.dataset.sessionStarts = String(row.sessionStarts);
        const name = document.createElement("th");
        name.scope = "row";
        const code = document.createElement("abbr");
        code.textContent = row.country;
        code.title = countryLabel(row.country);
        name.append(code);
        tr.append(name, cell(formatCount(row.sessionStarts), "num"));
        return tr;
      }),
    );
  }
  const total = rows.reduce((sum, row) => sum + row.sessionStarts, 0);
  el.total.textContent = formatCount(total);
  el.total.dataset.sessionStarts = String(total);
  el.caption.textContent = `${formatCount(total)} session ${total === 1 ? "start" : "starts"} in the last ${describeHours(hours)}.`;
  el.starts.dataset.hours = String(hours);
  el.starts.dataset.state = "ready";
}

function selectedHours() {
  const choice = new FormData(el.windowForm).get("window");
  if (choice !== "custom") return Number(choice);
  return el.customHours.checkValidity() ? clampInt(el.customHours.value, 1, MAX_HOURS, null) : null;
}

function showWindow(hours) {
  const preset = PRESET_HOURS.has(hours);
  for (const radio of el.windowForm.elements.window) {
    radio.checked = preset ? radio.value === String(hours) : radio.value === "custom";
  }
  if (!preset) el.customHours.value = String(hours);
}

function onWindowChange(event) {
  if (event.target === el.customHours) {
    el.windowForm.elements.window.value = "custom";
  }
  const hours = selectedHours();
  if (hours === null) return; // an incomplete or out-of-range custom value: keep the last window
  if (hours !== state.hours) {
    state.hours = hours;
    el.starts.dataset.state = "loading";
    saveToUrl();
    if (state.mode === "live") subscribeStarts();
    else loadStarts().then(showStatus);
  }
}

// ---- player lookup --------------------------------------------------------------------

async function loadPlayer() {
  const id = ++sequence.player;
  const { player, page } = state;
  if (!player) {
    problems.player = null;
    return;
  }
  try {
    const data = await graphql(PLAYER_QUERY, { id: player, last: PAGE_SIZE, before: state.cursors[page] });
    if (id !== sequence.player) return;
    renderPlayer(player, page, data.player);
    problems.player = null;
  } catch (error) {
    if (id !== sequence.player) return;
    el.player.dataset.state = "error";
    problems.player = `Player ${player}: ${error.message}`;
  }
}

function renderPlayer(player, page, found) {
  const { stats } = found;
  const { sessions, nextCursor } = found.sessionsPage;
  if (stats.completedSessions === 0) {
    el.summary.textContent = `No complete sessions for ${player}.`;
  } else {
    const count = formatCount(stats.completedSessions);
    const parts = [`${count} complete ${stats.completedSessions === 1 ? "session" : "sessions"}`];
    parts.push(`${formatDuration(stats.totalSeconds)} played`);
    if (stats.averageSeconds !== null) parts.push(`${formatDuration(stats.averageSeconds)} on average`);
    if (stats.lastSessionEnd !== null) parts.push(`last ended ${formatUtc(stats.lastSessionEnd)} UTC`);
    el.summary.textContent = `${player}: ${parts.join(" · ")}.`;
  }
  if (sessions.length === 0) {
    el.sessionRows.replaceChildren(emptyRow(5, page === 0 ? "No complete sessions." : "No older sessions."));
  } else {
    el.sessionRows.replaceChildren(
      ...sessions.map((session) => {
        const tr = document.createElement("tr");
        tr.dataset.sessionId = session.sessionId;
        const idCell = cell("", "id");
        const code = document.createElement("code");
        code.textContent = session.sessionId;
        idCell.append(code);
        const duration = cell(formatDuration(session.durationSeconds), "num");
        duration.dataset.seconds = String(session.durationSeconds);
        tr.append(idCell, cell(session.country), timeCell(session.startTs), timeCell(session.endTs), duration);
        return tr;
      }),
    );
  }
  state.cursors[page + 1] = nextCursor;
  state.cursors.length = page + 2;
  el.older.disabled = !nextCursor;
  el.newer.disabled = page === 0;
  el.pageInfo.textContent =
    sessions.length === 0 ? `Page ${page + 1}` : `Page ${page + 1} · ${sessions.length} ${sessions.length === 1 ? "session" : "sessions"}`;
  el.player.dataset.player = player;
  el.player.dataset.page = String(page + 1);
  el.player.dataset.state = "ready";
}

function showPage(page) {
  state.page = page;
  el.player.dataset.state = "loading";
  el.older.disabled = true;
  el.newer.disabled = true;
  loadPlayer().then(showStatus);
}

function onPlayerSubmit(event) {
  event.preventDefault();
  const player = el.playerId.value.trim();
  if (!player) return;
  state.player = player;
  state.cursors = [null];
  saveToUrl();
  subscribePlayer();
  showPage(0);
}

// ---- live updates and polling ---------------------------------------------------------

function subscribeStarts() {
  if (live.stopStarts) live.stopStarts();
  live.stopStarts = null;
  if (!live.connection) return;
  const hours = state.hours;
  live.stopStarts = live.connection.subscribe(
    STARTS_SUBSCRIPTION,
    { hours },
    (data) => {
      if (hours !== state.hours) return;
      renderStarts(hours, data.sessionStartsByCountry);
      problems.starts = null;
      showStatus();
    },
    (error) => subscriptionFailed(`Session starts: ${error.message}`),
  );
}

function subscribePlayer() {
  if (live.stopPlayer) live.stopPlayer();
  live.stopPlayer = null;
  live.lastPlayerPush = null;
  if (!live.connection || !state.player) return;
  const player = state.player;
  live.stopPlayer = live.connection.subscribe(
    PLAYER_SUBSCRIPTION,
    { id: player, last: PAGE_SIZE },
    (data) => {
      const pushed = JSON.stringify(data.playerSessions);
      const previous = live.lastPlayerPush;
      live.lastPlayerPush = pushed;
      // The first push is the answer the page just asked for itself; after a reconnect the
      // server pushes the current answer again, which only matters if it changed meanwhile.
      if (player === state.player && previous !== null && pushed !== previous) loadPlayer().then(showStatus);
    },
    (error) => subscriptionFailed(`Player ${player}: ${error.message}`),
  );
}

// A subscription the server refused (a limit, a bad argument): poll instead, and say why.
function subscriptionFailed(message) {
  problems.live = message;
  setMode("polling", message);
}

function connect() {
  if (live.connection) live.connection.dispose();
  live.connection = null;
  live.stopStarts = null;
  live.stopPlayer = null;
  problems.live = null;
  setMode("connecting", null);
  live.connection = connectLive({ path: graphqlPath, key: state.key, onMode: setMode });
  subscribeStarts();
  subscribePlayer();
}

function setMode(mode, why) {
  const next = problems.live && mode === "live" ? "polling" : mode;
  const changed = next !== state.mode;
  state.mode = next;
  el.mode.dataset.mode = next;
  el.mode.textContent = { connecting: "Connecting…", live: "● Live", polling: "Polling" }[next];
  el.mode.title =
    next === "live"
      ? "Updates are pushed over a GraphQL subscription"
      : next === "polling"
        ? `Asking every ${refreshSeconds} s: the live connection is down${why ? ` (${why})` : ""}`
        : "Opening the live connection";
  if (next === "polling") {
    if (changed) poll();
  } else {
    window.clearTimeout(pollTimer);
    pollTimer = 0;
  }
  if (changed && next === "live") {
    // Back from polling: the subscriptions push the current answers; catch the trend up.
    scheduleTrend();
  }
}

async function poll() {
  window.clearTimeout(pollTimer);
  pollTimer = 0;
  if (!document.hidden) {
    await Promise.all([loadStarts(), loadPlayer()]);
    showStatus();
  }
  // Scheduled after the answers arrive, so a slow API never has requests piling up.
  if (state.mode === "polling") pollTimer = window.setTimeout(poll, refreshSeconds * 1000);
}

// ---- formatting -----------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function emptyRow(columns, text) {
  const tr = document.createElement("tr");
  const td = cell(text, "empty");
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

function timeCell(iso) {
  const td = document.createElement("td");
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = formatUtc(iso);
  td.append(time);
  return td;
}

// ---- page state -----------------------------------------------------------------------

function showStatus() {
  const missingChart = countryChart ? null : "Chart.js did not load; the tables show the numbers";
  const current = [missingChart, problems.trend, problems.starts, problems.player, problems.live].filter(Boolean);
  if (current.length > 0) {
    el.status.textContent = current.join(" — ");
    el.status.classList.add("error");
  } else {
    el.status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    el.status.classList.remove("error");
  }
}

function saveToUrl() {
  const next = new URLSearchParams(window.location.search);
  next.set("hours", String(state.hours));
  next.set("trend", state.range);
  if (state.country) next.set("country", state.country);
  else next.delete("country");
  if (state.player) next.set("player", state.player);
  else next.delete("player");
  window.history.replaceState(null, "", `?${next}`);
}

function onKeySubmit(event) {
  event.preventDefault();
  state.key = el.key.value.trim();
  // This tab only: the key is not written into the URL or kept after the tab closes.
  if (state.key) window.sessionStorage.setItem(KEY_STORAGE, state.key);
  else window.sessionStorage.removeItem(KEY_STORAGE);
  problems.starts = problems.trend = problems.player = null;
  connect();
  loadTrend();
  if (state.player) loadPlayer().then(showStatus);
}

function start() {
  document.getElementById("refresh-seconds").textContent = String(refreshSeconds);
  showWindow(state.hours);
  el.trendForm.elements.range.value = state.range;
  updateCountryOptions();
  el.playerId.value = state.player;
  el.key.value = state.key;
  el.trendForm.addEventListener("change", onTrendChange);
  el.trendForm.addEventListener("submit", (event) => event.preventDefault());
  el.windowForm.addEventListener("change", onWindowChange);
  el.customHours.addEventListener("input", onWindowChange);
  el.windowForm.addEventListener("submit", (event) => event.preventDefault());
  el.playerForm.addEventListener("submit", onPlayerSubmit);
  el.keyForm.addEventListener("submit", onKeySubmit);
  el.older.addEventListener("click", () => showPage(state.page + 1));
  el.newer.addEventListener("click", () => showPage(Math.max(0, state.page - 1)));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.mode === "polling") poll();
  });
  connect();
  loadTrend();
  restartSlowTrendTimer();
  if (state.player) showPage(0);
}

start();
