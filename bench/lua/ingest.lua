-- wrk script: POST /events with 10 events per request, sessions that really complete.
--
--   wrk -t2 -c16 -d30s --timeout 10s -s bench/lua/ingest.lua http://127.0.0.1:8100
--
-- Every request is `POST /events`, `Content-Type: application/json`, body {"rows": [10 events]}:
--   * 5 `start` events of 5 NEW sessions (random UUIDv4 ids, players `p-<thread>-<n>`,
--     n uniform in 1..BENCH_PLAYERS, a country from a weighted list), and
--   * the 5 `end` events of the 5 sessions that this wrk thread started in its previous request.
-- A thread's very first request has no previous sessions to end, so it carries 10 starts: the
-- 5 sessions that the next request ends, plus 5 more that are never ended (abandoned
-- sessions). So every request has exactly 10 events; a run stores (R + T) * 5 starts and
-- (R - T) * 5 ends, for R requests sent (completed + in flight when wrk stopped), T threads.
--
-- State is per wrk *thread* (wrk gives each thread its own Lua state; its connections share it,
-- and wrk tells a script nothing about connections). With c/t connections per thread, the
-- request that carries a session's start may still be in flight when its end is sent on
-- another connection of the thread: the service accepts either order ("complete once both
-- have arrived, in whatever order"), and the baseline does not care.
--
-- Timestamps: start ts = now - 30 min - (0..10 s); end ts = start + 1..28 min, so every end
-- is at least a minute in the past (no validator refuses it) and every event is far inside
-- the one-year retention. ISO-8601 UTC with 'Z', e.g.
-- 2026-11-27T07:21:04.512Z. The milliseconds number the player's sessions (see new_session),
-- so that the baseline's (player_id, ts) key loses no row.
--
-- Environment: BENCH_PLAYERS (players per thread, default 1000), BENCH_PLAYER_PREFIX
-- (default "p"), PLAYERS_OUT (a file: done() writes there, one a line, every player id that
-- got at least one end event sent — input for sessions.lua), BENCH_LABEL (copied into the
-- summary).
--
-- done() prints ONE line of JSON (it starts with {"bench":"ingest"):
--   requests, events (10 x completed requests, any status), events_ok (10 x 2xx responses),
--   events_per_s, requests_per_s, p50_ms/p90_ms/p99_ms/max_ms/mean_ms,
--   non_2xx (counted here in response(): wrk itself only counts status > 399, as
--   errors.status), status_gt_399 (wrk's own count), socket_errors {connect, read, write,
--   timeout}.

local EVENTS_PER_REQUEST = 10
local NEW_PER_REQUEST = 5

local players = tonumber(os.getenv("BENCH_PLAYERS") or "") or 1000
local prefix = os.getenv("BENCH_PLAYER_PREFIX") or "p"

-- Roughly what a global game sees: weights, not a census.
local COUNTRY_WEIGHTS = {
  {"US", 18}, {"BR", 9}, {"DE", 8}, {"IN", 8}, {"JP", 7}, {"GB", 7}, {"FR", 6}, {"KR", 6},
  {"MX", 5}, {"CA", 4}, {"ES", 4}, {"IT", 4}, {"PL", 3}, {"SE", 3}, {"FI", 2}, {"AU", 3},
  {"TR", 3},
}
local COUNTRIES = {}
for _, cw in ipairs(COUNTRY_WEIGHTS) do
  for _ = 1, cw[2] do COUNTRIES[#COUNTRIES + 1] = cw[1] end
end

-- ---------------------------------------------------------------------------------------
-- main Lua state: setup() is called once per thread before it starts; done() at the end.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

-- ---------------------------------------------------------------------------------------
-- per-thread Lua state

local tid = 0          -- set in init() from the global that setup() put there
local pending = nil    -- sessions started by this thread's previous request
-- Globals, not locals: done() reads them from the main state with thread:get().
non_2xx = 0
ended_players = {}

local function seed_random()
  -- Each wrk thread has its own LuaJIT state and so its own math.random generator: seed it
  -- from /dev/urandom, mixed with the thread id, or threads started in the same second would
  -- produce the same "random" session ids.
  local seed = os.time() * 1000 + tid * 7919
  local f = io.open("/dev/urandom", "rb")
  if f then
    local bytes = f:read(6)
    f:close()
    if bytes then
      seed = 0
      for i = 1, #bytes do seed = seed * 256 + bytes:byte(i) end
      seed = seed + tid
    end
  end
  math.randomseed(seed)
  for _ = 1, 10 do math.random() end -- let the generator leave its seed behind
end

local HEX = "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x"

local function uuid4()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = 0x40 + (b[7] % 16)   -- version 4
  b[9] = 0x80 + (b[9] % 64)   -- variant 10xx (RFC 4122)
  return string.format(HEX, unpack(b))
end

local function iso(ms)
  -- ms since the epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ"
  local s = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", ms - s * 1000)
end

-- The baseline keys its rows PRIMARY KEY (player_id, ts): two starts (or two ends) of one player
-- in the same millisecond overwrite each other there. Real players do not do that, so neither
-- does this load: a player's k-th session (players belong to one thread) gets k mod 1000 as
-- the milliseconds of both its start and its end, so two of one player's starts (or ends)
-- can only collide if they are 1000 sessions apart AND fall in the same second. The seconds
-- stay random. Bounded memory: one counter per player.
local sessions_of = {}

local function new_session(now_ms)
  local player = string.format("%s-%d-%d", prefix, tid, math.random(1, players))
  local k = (sessions_of[player] or 0) + 1
  sessions_of[player] = k
  local start_ms = now_ms - 30 * 60 * 1000 - math.random(0, 10) * 1000 + k % 1000
  return {
    player = player,
    id = uuid4(),
    country = COUNTRIES[math.random(1, #COUNTRIES)],
    start_ms = start_ms,
    end_ms = start_ms + math.random(60, 28 * 60) * 1000,   -- 1..28 min later, still in the past
  }
end

local function start_json(s)
  return string.format(
    '{"event":"start","player_id":"%s","session_id":"%s","ts":"%s","country":"%s"}',
    s.player, s.id, iso(s.start_ms), s.country)
end

local function end_json(s)
  return string.format('{"event":"end","player_id":"%s","session_id":"%s","ts":"%s"}',
    s.player, s.id, iso(s.end_ms))
end

local path = "/events"
local headers = {["Content-Type"] = "application/json"}

-- wrk 4.x calls request() once on the FIRST thread's Lua state, after init(), to inspect the
-- request (script_verify_request: how many requests one call returns), and never sends what
-- that call returns. A script that kept state from that call would lose a batch: the thread's
-- next request would end 5 sessions whose starts were never sent. So that thread's first
-- call builds a valid request and changes no state. (On a wrk that checked elsewhere, the
-- only effect would be one more unsent request's worth of nothing: no state was changed.)
local inspect_call_pending = false

function init(args)
  tid = tonumber(thread_id) or 0
  inspect_call_pending = (tid == 1)
  seed_random()
  -- A URL with a path (http://host:port/prefix) puts the endpoint under that prefix.
  if wrk.path and wrk.path ~= "" and wrk.path ~= "/" then
    path = wrk.path:gsub("/+$", "") .. "/events"
  end
end

local function post(rows)
  return wrk.format("POST", path, headers, '{"rows":[' .. table.concat(rows, ",") .. ']}')
end

function request()
  local now_ms = os.time() * 1000
  if inspect_call_pending or tid == 0 then -- wrk's inspection call (tid 0: the main state)
    inspect_call_pending = false
    local rows = {}
    for i = 1, EVENTS_PER_REQUEST do
      rows[i] = string.format(
        '{"event":"start","player_id":"%s-0-0","session_id":"%s","ts":"%s","country":"FI"}',
        prefix, uuid4(), iso(now_ms - 30 * 60 * 1000))
    end
    return post(rows)
  end
  local rows = {}
  local fresh = {}
  for i = 1, NEW_PER_REQUEST do
    local s = new_session(now_ms)
    fresh[i] = s
    rows[#rows + 1] = start_json(s)
  end
  if pending then
    for _, s in ipairs(pending) do
      rows[#rows + 1] = end_json(s)
      ended_players[s.player] = true
    end
  else
    -- first request of this thread: 5 more starts, of sessions that never end
    for _ = 1, EVENTS_PER_REQUEST - NEW_PER_REQUEST do
      rows[#rows + 1] = start_json(new_session(now_ms))
    end
  end
  pending = fresh
  return post(rows)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if non_2xx <= 3 then -- show the first few, so a 400 says why
      io.stderr:write(string.format("ingest.lua: thread %d got HTTP %d: %s\n",
        tid, status, (body or ""):sub(1, 300)))
    end
  end
end

-- ---------------------------------------------------------------------------------------
-- main Lua state again

local function json_value(v)
  if type(v) == "string" then return '"' .. v:gsub('[%c"\\]', "") .. '"' end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) then return string.format("%d", v) end
  return string.format("%.3f", v)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local n2xx = 0
  local out = os.getenv("PLAYERS_OUT")
  local f = out and out ~= "" and io.open(out, "w") or nil
  local nplayers = 0
  for _, t in ipairs(threads) do
    n2xx = n2xx + (tonumber(t:get("non_2xx")) or 0)
    local ended = t:get("ended_players") or {}
    for p, _ in pairs(ended) do
      nplayers = nplayers + 1
      if f then f:write(p, "\n") end
    end
  end
  if f then f:close() end
  local e = summary.errors
  local fields = {
    {"bench", "ingest"},
    {"label", os.getenv("BENCH_LABEL") or ""},
    {"threads", #threads},
    {"duration_s", secs},
    {"requests", summary.requests},
    {"events", summary.requests * EVENTS_PER_REQUEST},
    {"events_ok", (summary.requests - n2xx) * EVENTS_PER_REQUEST},
    {"requests_per_s", summary.requests / secs},
    {"events_per_s", summary.requests * EVENTS_PER_REQUEST / secs},
    {"p50_ms", latency:percentile(50) / 1000},
    {"p90_ms", latency:percentile(90) / 1000},
    {"p99_ms", latency:percentile(99) / 1000},
    {"max_ms", latency.max / 1000},
    {"mean_ms", latency.mean / 1000},
    {"non_2xx", n2xx},
    {"status_gt_399", e.status},
    {"players_with_ends", nplayers},
  }
  local parts = {}
  for _, kv in ipairs(fields) do parts[#parts + 1] = '"' .. kv[1] .. '":' .. json_value(kv[2]) end
  parts[#parts + 1] = string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
    e.connect, e.read, e.write, e.timeout)
  io.write("{" .. table.concat(parts, ",") .. "}\n")
end
