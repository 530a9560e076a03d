-- wrk script for the pipeline benchmark's read phases (bench/pipeline.py runs it): read every
-- player of PLAYERS_FILE exactly once, `GET /sessions?player_id=P&limit=LIMIT`, then stop.
--
--   PLAYERS_FILE=players.txt PIPELINE_THREADS=8 DONE_FILE=done.txt COUNTS_OUT=counts.tsv \
--     wrk -t8 -c8 -d3600s --timeout 10s --latency -s bench/lua/pipeline_read.lua http://127.0.0.1:8310
--
-- ONE connection per wrk thread (-t N -c N, PIPELINE_THREADS = N): thread t reads the players
-- on the lines j with (j - 1) % N == t - 1, one after the other (closed loop), so an answer
-- is always the answer for the player the thread asked last. After its last answer a thread
-- appends a line to DONE_FILE and stops (wrk.thread:stop()). wrk itself only stops after -d
-- (its main thread sleeps that long), so bench/pipeline.py sends wrk SIGINT as soon as
-- DONE_FILE has N lines; wrk then prints its report and runs done().
--
-- request() has no side effect (it asks for the current player; wrk's one inspection call on
-- the first thread is never sent, and after a reconnect the same player is asked again);
-- response() records the answer and moves on.
--
-- The phase's duration is measured here, per thread, with clock_gettime(CLOCK_MONOTONIC)
-- (LuaJIT's FFI): from a thread's first request() to its last answer; the phase lasts from the
-- first thread's start to the last thread's end. wrk's own duration would include the wait
-- for the SIGINT.
--
-- done() writes COUNTS_OUT (when set): "player<TAB>status<TAB>sessions" per player (sessions =
-- "session_id" keys in the body), and prints ONE line of JSON ({"bench":"pipeline_read", ...}).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } pipeline_timespec;
int clock_gettime(int clk_id, pipeline_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("pipeline_timespec")

local function monotonic()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local limit = tonumber(os.getenv("LIMIT") or "") or 20
local thread_count = tonumber(os.getenv("PIPELINE_THREADS") or "") or 1
local done_file = os.getenv("DONE_FILE")

local function load_players()
  local list = {}
  local file = os.getenv("PLAYERS_FILE")
  if not file or file == "" then error("pipeline_read.lua: set PLAYERS_FILE") end
  local f, err = io.open(file, "r")
  if not f then error("pipeline_read.lua: cannot read PLAYERS_FILE: " .. tostring(err)) end
  for line in f:lines() do
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" then list[#list + 1] = line end
  end
  f:close()
  return list
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local players = load_players()

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
-- Flat tables only: wrk's thread:get() cannot copy a table of tables (it crashes).
answered_status = {}   -- player -> HTTP status
answered_sessions = {} -- player -> sessions in the answer
started_at = nil     -- monotonic seconds of the first request()
finished_at = nil    -- monotonic seconds of the last answer

local tid = 0
local mine = {}
local paths = {}
local next_index = 1

function init(args)
  tid = tonumber(thread_id) or 0
  local base = "/sessions"
  if wrk.path and wrk.path ~= "" and wrk.path ~= "/" then
    base = wrk.path:gsub("/+$", "") .. "/sessions"
  end
  for j, p in ipairs(players) do
    if (j - 1) % thread_count == tid - 1 then
      mine[#mine + 1] = p
      paths[#paths + 1] = string.format("%s?player_id=%s&limit=%d", base, urlencode(p), limit)
    end
  end
  if #mine == 0 then error("pipeline_read.lua: thread " .. tid .. " has no players (fewer players than threads?)") end
end

local inspected = false

function request()
  -- wrk's inspection call (the first call on the first thread) is never sent: it does not
  -- start the clock.
  if tid == 1 and not inspected then
    inspected = true
  elseif not started_at then
    started_at = monotonic()
  end
  return wrk.format("GET", paths[math.min(next_index, #paths)])
end

function response(status, headers, body)
  local player = mine[next_index]
  if not player then return end
  local _, n = (body or ""):gsub('"session_id"', "")
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    n = 0
    if non_2xx <= 3 then
      io.stderr:write(string.format("pipeline_read.lua: %s: HTTP %d: %s\n", player, status, (body or ""):sub(1, 300)))
    end
  end
  answered_status[player] = status
  answered_sessions[player] = n
  next_index = next_index + 1
  if next_index > #mine then
    finished_at = monotonic()
    if done_file and done_file ~= "" then
      local f = io.open(done_file, "a")
      if f then
        f:write(tid, "\n")
        f:close()
      end
    end
    wrk.thread:stop()
  end
end

-- ---------------------------------------------------------------------------------------
-- main Lua state again

local function json_value(v)
  if type(v) == "string" then return '"' .. v:gsub('[%c"\\]', "") .. '"' end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) then return string.format("%d", v) end
  return string.format("%.6f", v)
end

function done(summary, latency, requests)
  local n2xx, returned, finished = 0, 0, 0
  local first, last = nil, nil
  local out = os.getenv("COUNTS_OUT")
  local f = out and out ~= "" and io.open(out, "w") or nil
  for _, t in ipairs(threads) do
    n2xx = n2xx + (tonumber(t:get("non_2xx")) or 0)
    local s, e = t:get("started_at"), t:get("finished_at")
    if s and (not first or s < first) then first = s end
    if e then
      finished = finished + 1
      if not last or e > last then last = e end
    end
    local sessions = t:get("answered_sessions") or {}
    for p, status in pairs(t:get("answered_status") or {}) do
      returned = returned + (sessions[p] or 0)
      if f then f:write(p, "\t", status, "\t", sessions[p] or 0, "\n") end
    end
  end
  if f then f:close() end
  local secs = (first and last and last > first) and (last - first) or (summary.duration / 1e6)
  local e = summary.errors
  local fields = {
    {"bench", "pipeline_read"},
    {"threads", #threads},
    {"players", #players},
    {"limit", limit},
    {"threads_finished", finished},
    {"duration_s", secs},
    {"wrk_duration_s", summary.duration / 1e6},
    {"requests", summary.requests},
    {"requests_per_s", summary.requests / secs},
    {"p50_ms", latency:percentile(50) / 1000},
    {"p90_ms", latency:percentile(90) / 1000},
    {"p99_ms", latency:percentile(99) / 1000},
    {"max_ms", latency.max / 1000},
    {"mean_ms", latency.mean / 1000},
    {"non_2xx", n2xx},
    {"status_gt_399", e.status},
    {"sessions_returned", returned},
  }
  local parts = {}
  for _, kv in ipairs(fields) do parts[#parts + 1] = '"' .. kv[1] .. '":' .. json_value(kv[2]) end
  parts[#parts + 1] = string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
    e.connect, e.read, e.write, e.timeout)
  io.write("{" .. table.concat(parts, ",") .. "}\n")
end
