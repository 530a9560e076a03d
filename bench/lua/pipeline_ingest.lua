-- wrk script for the pipeline benchmark's ingest phase (bench/pipeline.py runs it):
--
--   PIPELINE_PLAYERS=5000 PIPELINE_THREADS=16 EXPECT_OUT=expect.tsv \
--     wrk -t16 -c16 -d20s --timeout 10s --latency -s bench/lua/pipeline_ingest.lua http://127.0.0.1:8310
--
-- ONE connection per wrk thread (-t N -c N, PIPELINE_THREADS = N): wrk tells a script nothing
-- about connections, so a thread with one connection is how "the connection's previous
-- request" can be known. Closed loop: a connection sends its next request only after the
-- answer to the previous one, so every end goes out after its start was acknowledged.
--
-- Every request is `POST /events` with {"rows": [10 events]}:
--   * 5 `start` events of 5 NEW sessions, each of a player picked at random among this
--     thread's players, and
--   * the 5 `end` events of the 5 sessions started by this connection's previous request.
-- The connection's first request has nothing to end yet: it carries 10 starts (5 ended by the
-- next request, 5 never ended).
--
-- Players: `<PLAYER_PREFIX>-<i>` for i in 0 .. PIPELINE_PLAYERS-1; thread t owns the i with
-- i % PIPELINE_THREADS == t-1, so a player's sessions all come from one thread (its counter
-- below numbers them) and the run covers exactly PIPELINE_PLAYERS players.
--
-- request() has no side effect: it returns the body that the last answer (or init) built.
-- wrk 4.x calls request() once on the first thread's state to inspect it and never sends that
-- one; and after a reconnect it sends the same batch again (the service is idempotent, the
-- original design overwrites the same rows). response() is where the state moves on: the
-- acknowledged batch's ends complete their sessions, and the next batch is built.
--
-- Timestamps as in ingest.lua: start = now - 30 min - 0..10 s, with the player's k-th session
-- at k mod 1000 ms (the original design keys its rows (player_id, ts)); end = start + 1..28 min.
--
-- done() writes EXPECT_OUT (when set): one line per player, "player<TAB>complete<TAB>uncertain":
-- complete = sessions whose end was acknowledged with a 2xx (its start was acknowledged before);
-- uncertain = sessions whose end was in a batch still in flight when wrk stopped, or answered
-- non-2xx (the server may or may not have stored it). A first read must return between
-- min(complete, limit) and min(complete + uncertain, limit) sessions.
-- It prints ONE line of JSON (it starts with {"bench":"pipeline_ingest"}).

local EVENTS_PER_REQUEST = 10
local NEW_PER_REQUEST = 5

local total_players = tonumber(os.getenv("PIPELINE_PLAYERS") or "") or 5000
local thread_count = tonumber(os.getenv("PIPELINE_THREADS") or "") or 1
local prefix = os.getenv("PLAYER_PREFIX") or "pl"

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
-- main Lua state

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

-- ---------------------------------------------------------------------------------------
-- per-thread Lua state. Globals, not locals, where done() reads them with thread:get().

non_2xx = 0
complete = {}       -- player -> sessions completed and acknowledged
uncertain = {}      -- player -> sessions whose end's batch was not acknowledged

local tid = 0
local mine = {}          -- this thread's player ids
local sessions_of = {}   -- player -> sessions started so far (numbers their milliseconds)
local body = nil         -- the batch request() sends (again, after a reconnect)
local in_flight = nil    -- the sessions whose ends that batch carries
-- ... counted by player, for done(): the batch still in flight (or never sent) at the stop.
-- Flat tables only: wrk's thread:get() cannot copy a table of tables (it crashes).
in_flight_players = {}
local started = nil      -- the sessions whose starts that batch carries (ended by the next)

local function seed_random()
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
  for _ = 1, 10 do math.random() end
end

local HEX = "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x"

local function uuid4()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = 0x40 + (b[7] % 16)
  b[9] = 0x80 + (b[9] % 64)
  return string.format(HEX, unpack(b))
end

local function iso(ms)
  local s = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", ms - s * 1000)
end

local function new_session(now_ms)
  local player = mine[math.random(1, #mine)]
  local k = (sessions_of[player] or 0) + 1
  sessions_of[player] = k
  local start_ms = now_ms - 30 * 60 * 1000 - math.random(0, 10) * 1000 + k % 1000
  return {
    player = player,
    id = uuid4(),
    country = COUNTRIES[math.random(1, #COUNTRIES)],
    start_ms = start_ms,
    end_ms = start_ms + math.random(60, 28 * 60) * 1000,
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

local function add(counts, sessions)
  for _, s in ipairs(sessions or {}) do counts[s.player] = (counts[s.player] or 0) + 1 end
end

-- The next batch: 5 new starts + the ends of `to_end` (or 5 more starts that never end).
local function build(to_end)
  local now_ms = os.time() * 1000
  local rows = {}
  local fresh = {}
  for i = 1, NEW_PER_REQUEST do
    fresh[i] = new_session(now_ms)
    rows[#rows + 1] = start_json(fresh[i])
  end
  if to_end then
    for _, s in ipairs(to_end) do rows[#rows + 1] = end_json(s) end
  else
    for _ = 1, EVENTS_PER_REQUEST - NEW_PER_REQUEST do rows[#rows + 1] = start_json(new_session(now_ms)) end
  end
  started, in_flight = fresh, to_end
  in_flight_players = {}
  add(in_flight_players, to_end)
  body = wrk.format("POST", path, headers, '{"rows":[' .. table.concat(rows, ",") .. ']}')
end

function init(args)
  tid = tonumber(thread_id) or 0
  for i = 0, total_players - 1 do
    if i % thread_count == tid - 1 then mine[#mine + 1] = string.format("%s-%d", prefix, i) end
  end
  if #mine == 0 then error("pipeline_ingest.lua: thread " .. tid .. " has no players (PIPELINE_PLAYERS < threads?)") end
  seed_random()
  if wrk.path and wrk.path ~= "" and wrk.path ~= "/" then
    path = wrk.path:gsub("/+$", "") .. "/events"
  end
  build(nil)
end

function request()
  return body
end

function response(status, hdrs, answer)
  if status >= 200 and status <= 299 then
    add(complete, in_flight)
  else
    add(uncertain, in_flight)
    non_2xx = non_2xx + 1
    if non_2xx <= 3 then
      io.stderr:write(string.format("pipeline_ingest.lua: thread %d got HTTP %d: %s\n",
        tid, status, (answer or ""):sub(1, 300)))
    end
  end
  build(started)
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
  local done_complete, done_uncertain = {}, {}
  for i, t in ipairs(threads) do
    n2xx = n2xx + (tonumber(t:get("non_2xx")) or 0)
    done_complete[i] = t:get("complete") or {}
    done_uncertain[i] = t:get("uncertain") or {}
    for p, n in pairs(t:get("in_flight_players") or {}) do
      done_uncertain[i][p] = (done_uncertain[i][p] or 0) + n
    end
  end
  local out = os.getenv("EXPECT_OUT")
  local f = out and out ~= "" and io.open(out, "w") or nil
  local sessions_complete, sessions_uncertain = 0, 0
  for i = 0, total_players - 1 do
    local t = i % #threads + 1
    local p = string.format("%s-%d", prefix, i)
    local c, u = done_complete[t][p] or 0, done_uncertain[t][p] or 0
    sessions_complete = sessions_complete + c
    sessions_uncertain = sessions_uncertain + u
    if f then f:write(p, "\t", c, "\t", u, "\n") end
  end
  if f then f:close() end
  local e = summary.errors
  local fields = {
    {"bench", "pipeline_ingest"},
    {"threads", #threads},
    {"players", total_players},
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
    {"sessions_complete", sessions_complete},
    {"sessions_uncertain", sessions_uncertain},
  }
  local parts = {}
  for _, kv in ipairs(fields) do parts[#parts + 1] = '"' .. kv[1] .. '":' .. json_value(kv[2]) end
  parts[#parts + 1] = string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
    e.connect, e.read, e.write, e.timeout)
  io.write("{" .. table.concat(parts, ",") .. "}\n")
end
