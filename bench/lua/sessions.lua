-- wrk script: GET /sessions?player_id=<P>&limit=20, cycling over a list of player ids.
--
--   PLAYERS_FILE=players.txt wrk -t2 -c16 -d30s --timeout 10s -s bench/lua/sessions.lua http://127.0.0.1:8100
--
-- Player ids come from PLAYERS_FILE (one a line; blank lines and lines starting with # are
-- skipped) or, without it, from PLAYERS (comma-separated). ingest.lua writes such a file
-- (PLAYERS_OUT) with the players that got complete sessions. Each wrk thread walks the whole
-- list in order, starting at a different offset, so threads do not ask for the same player
-- at the same moment. LIMIT (default 20) is the `limit` query parameter.
--
-- done() prints ONE line of JSON (it starts with {"bench":"sessions"): requests,
-- requests_per_s, p50_ms/p90_ms/p99_ms/max_ms/mean_ms, non_2xx (counted in response(); wrk's
-- own errors.status only counts status > 399, reported as status_gt_399), sessions_returned
-- (how many sessions the 2xx answers held, counted as "session_id" keys in the body),
-- empty_answers (2xx answers with no session), socket_errors {connect, read, write, timeout}.

local limit = tonumber(os.getenv("LIMIT") or "") or 20

local function load_players()
  local list = {}
  local file = os.getenv("PLAYERS_FILE")
  if file and file ~= "" then
    local f, err = io.open(file, "r")
    if not f then error("sessions.lua: cannot read PLAYERS_FILE: " .. tostring(err)) end
    for line in f:lines() do
      line = line:match("^%s*(.-)%s*$")
      if line ~= "" and line:sub(1, 1) ~= "#" then list[#list + 1] = line end
    end
    f:close()
  else
    for p in (os.getenv("PLAYERS") or ""):gmatch("[^,]+") do
      p = p:match("^%s*(.-)%s*$")
      if p ~= "" then list[#list + 1] = p end
    end
  end
  if #list == 0 then error("sessions.lua: no player ids: set PLAYERS_FILE=file or PLAYERS=a,b,c") end
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
-- per-thread Lua state

-- Globals, not locals: done() reads them from the main state with thread:get().
non_2xx = 0
sessions_returned = 0
empty_answers = 0

local paths = {}
local next_index = 1

function init(args)
  local tid = tonumber(thread_id) or 1
  local base = "/sessions"
  if wrk.path and wrk.path ~= "" and wrk.path ~= "/" then
    base = wrk.path:gsub("/+$", "") .. "/sessions"
  end
  for i, p in ipairs(players) do
    paths[i] = string.format("%s?player_id=%s&limit=%d", base, urlencode(p), limit)
  end
  -- spread the threads' starting points over the list
  next_index = math.floor((tid - 1) * #paths * 0.6180339887) % #paths + 1
end

function request()
  if #paths == 0 then -- the main state's one check call, before init()
    return wrk.format("GET", "/sessions?player_id=" .. urlencode(players[1]))
  end
  local p = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", p)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if non_2xx <= 3 then
      io.stderr:write(string.format("sessions.lua: HTTP %d: %s\n", status, (body or ""):sub(1, 300)))
    end
    return
  end
  local _, n = (body or ""):gsub('"session_id"', "")
  sessions_returned = sessions_returned + n
  if n == 0 then empty_answers = empty_answers + 1 end
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
  local n2xx, returned, empty = 0, 0, 0
  for _, t in ipairs(threads) do
    n2xx = n2xx + (tonumber(t:get("non_2xx")) or 0)
    returned = returned + (tonumber(t:get("sessions_returned")) or 0)
    empty = empty + (tonumber(t:get("empty_answers")) or 0)
  end
  local e = summary.errors
  local fields = {
    {"bench", "sessions"},
    {"label", os.getenv("BENCH_LABEL") or ""},
    {"threads", #threads},
    {"players", #players},
    {"limit", limit},
    {"duration_s", secs},
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
    {"empty_answers", empty},
  }
  local parts = {}
  for _, kv in ipairs(fields) do parts[#parts + 1] = '"' .. kv[1] .. '":' .. json_value(kv[2]) end
  parts[#parts + 1] = string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
    e.connect, e.read, e.write, e.timeout)
  io.write("{" .. table.concat(parts, ",") .. "}\n")
end
