// The dashboard: session starts per country (bar chart + the same numbers as a table) and a
// player lookup, both read from the public GraphQL API and refreshed every few seconds.
//
// Every rendered section carries data-state ("loading" | "ready" | "error") and, once it
// shows data, what that data is for (data-hours, data-player), so a test or a person can
// tell a fresh answer from a stale one without reading canvas pixels.

const STARTS_QUERY = `query SessionStarts($hours: Int!) {
  sessionStartsByCountry(hours: $hours) { country sessionStarts }
}`;

const PLAYER_QUERY = `query PlayerSessions($id: ID!) {
  player(id: $id) {
    id
    sessions(last: 20) { sessionId country startTs endTs durationSeconds }
    stats { completedSessions totalSeconds averageSeconds lastSessionEnd }
  }
}`;

const PRESET_HOURS = new Set([1, 24, 168]);
const MAX_HOURS = 8760;

const params = new URLSearchParams(window.location.search);
const refreshSeconds = clampInt(params.get("refresh"), 1, 60, 3);
const endpoint = new URL(document.body.dataset.graphqlUrl || "graphql", document.baseURI);

const el = {
  status: document.getElementById("status"),
  starts: document.getElementById("starts"),
  windowForm: document.getElementById("window-form"),
  customHours: document.getElementById("custom-hours"),
  caption: document.getElementById("starts-caption"),
  countryRows: document.querySelector("#country-table tbody"),
  total: document.getElementById("starts-total"),
  canvas: document.getElementById("country-chart"),
  player: document.getElementById("player"),
  playerForm: document.getElementById("player-form"),
  playerId: document.getElementById("player-id"),
  summary: document.getElementById("player-summary"),
  sessionRows: document.querySelector("#player-table tbody"),
};

const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

const state = {
  hours: clampInt(params.get("hours"), 1, MAX_HOURS, 24),
  player: (params.get("player") || "").trim(),
};
// Each request gets a number; an answer is drawn only if no newer request was made since,
// so a slow answer for the previous window or player never overwrites the current one.
const sequence = { starts: 0, player: 0 };
const problems = { starts: null, player: null };
let timer = 0;

const chart = createChart();

function clampInt(raw, min, max, fallback) {
  const value = Number.parseInt(raw ?? "", 10);
  return Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}

function createChart() {
  if (typeof window.Chart !== "function") {
    return null; // the table still shows every number
  }
  return new window.Chart(el.canvas, {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Session starts", data: [], backgroundColor: "#2f6fdf", maxBarThickness: 72 }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 250 },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => items.map((item) => countryLabel(item.label)) } },
      },
      scales: {
        x: { title: { display: true, text: "Country" }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Session starts" } },
      },
    },
  });
}

async function graphql(query, variables) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  let payload;
  try {
    payload = await response.json();
  } catch {
    throw new Error(`the API answered HTTP ${response.status}`);
  }
  if (Array.isArray(payload.errors) && payload.errors.length > 0) {
    throw new Error(payload.errors.map((error) => error.message).join("; "));
  }
  if (!response.ok || !payload.data) {
    throw new Error(`the API answered HTTP ${response.status}`);
  }
  return payload.data;
}

// ---- session starts -------------------------------------------------------------------

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
  if (chart) {
    chart.data.labels = rows.map((row) => row.country);
    chart.data.datasets[0].data = rows.map((row) => row.sessionStarts);
    chart.update();
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
        tr.append(name, cell(String(row.sessionStarts), "num"));
        return tr;
      }),
    );
  }
  const total = rows.reduce((sum, row) => sum + row.sessionStarts, 0);
  el.total.textContent = String(total);
  el.caption.textContent = `${total} session ${total === 1 ? "start" : "starts"} in the last ${describeHours(hours)}.`;
  el.starts.dataset.hours = String(hours);
  el.starts.dataset.state = "ready";
}

function countryLabel(code) {
  const name = regionNames.of(code);
  return name && name !== code ? `${code} · ${name}` : code;
}

function describeHours(hours) {
  if (hours === 1) return "hour";
  if (hours % 24 === 0) return hours === 24 ? "24 hours" : `${hours / 24} days`;
  return `${hours} hours`;
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
    loadStarts().then(showStatus);
  }
}

// ---- player lookup --------------------------------------------------------------------

async function loadPlayer() {
  const id = ++sequence.player;
  const player = state.player;
  if (!player) {
    problems.player = null;
    return;
  }
  try {
    const data = await graphql(PLAYER_QUERY, { id: player });
    if (id !== sequence.player) return;
    renderPlayer(player, data.player);
    problems.player = null;
  } catch (error) {
    if (id !== sequence.player) return;
    el.player.dataset.state = "error";
    problems.player = `Player ${player}: ${error.message}`;
  }
}

function renderPlayer(player, found) {
  const { sessions, stats } = found;
  if (sessions.length === 0) {
    el.summary.textContent = `No complete sessions for ${player}.`;
    el.sessionRows.replaceChildren(emptyRow(5, "No complete sessions."));
  } else {
    const parts = [`${stats.completedSessions} complete ${stats.completedSessions === 1 ? "session" : "sessions"}`];
    parts.push(`${formatDuration(stats.totalSeconds)} played`);
    if (stats.averageSeconds !== null) parts.push(`${formatDuration(stats.averageSeconds)} on average`);
    if (stats.lastSessionEnd !== null) parts.push(`last ended ${formatUtc(stats.lastSessionEnd)} UTC`);
    el.summary.textContent = `${player}: ${parts.join(" · ")}.`;
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
  el.player.dataset.player = player;
  el.player.dataset.state = "ready";
}

function onPlayerSubmit(event) {
  event.preventDefault();
  const player = el.playerId.value.trim();
  if (!player) return;
  state.player = player;
  el.player.dataset.state = "loading";
  saveToUrl();
  loadPlayer().then(showStatus);
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

// "2026-11-26 11:30:00", with milliseconds only when there are some (they are stored).
function formatUtc(iso) {
  const text = new Date(iso).toISOString();
  const millis = text.slice(19, 23);
  return text.slice(0, 10) + " " + text.slice(11, 19) + (millis === ".000" ? "" : millis);
}

// H:MM:SS, with milliseconds only when there are some.
function formatDuration(seconds) {
  const totalMillis = Math.round(seconds * 1000);
  const millis = totalMillis % 1000;
  const whole = (totalMillis - millis) / 1000;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const clock = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return millis === 0 ? clock : `${clock}.${String(millis).padStart(3, "0")}`;
}

// ---- refresh loop and page state ------------------------------------------------------

function showStatus() {
  const missingChart = chart ? null : "Chart.js did not load; the table shows the numbers";
  const current = [missingChart, problems.starts, problems.player].filter(Boolean);
  if (current.length > 0) {
    el.status.textContent = current.join(" — ");
    el.status.classList.add("error");
  } else {
    el.status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    el.status.classList.remove("error");
  }
}

async function refresh() {
  window.clearTimeout(timer);
  if (!document.hidden) {
    await Promise.all([loadStarts(), loadPlayer()]);
    showStatus();
  }
  // Scheduled after the answers arrive, so a slow API never has requests piling up.
  timer = window.setTimeout(refresh, refreshSeconds * 1000);
}

function saveToUrl() {
  const next = new URLSearchParams(window.location.search);
  next.set("hours", String(state.hours));
  if (state.player) next.set("player", state.player);
  else next.delete("player");
  window.history.replaceState(null, "", `?${next}`);
}

function start() {
  document.getElementById("refresh-seconds").textContent = String(refreshSeconds);
  showWindow(state.hours);
  el.playerId.value = state.player;
  el.windowForm.addEventListener("change", onWindowChange);
  el.customHours.addEventListener("input", onWindowChange);
  el.windowForm.addEventListener("submit", (event) => event.preventDefault());
  el.playerForm.addEventListener("submit", onPlayerSubmit);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  refresh();
}

start();
