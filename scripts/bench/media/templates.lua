-- wrk script for scripts/bench-media.sh: POST /v1/templates, a tweetImage card whose title differs on every
-- request (thread id and counter in it), so no two renders are the same text.
--
--   wrk -t1 -c4 -d15s --latency -s scripts/bench/media/templates.lua http://127.0.0.1:PORT -- API_KEY
--
-- done() prints one machine-readable line:
--   BENCH_RESULT requests=N status_2xx=N non_2xx=N socket_errors=N duration_s=F rps=F p50_ms=F p90_ms=F p99_ms=F max_ms=F
-- plus one "BENCH_STATUS <code> <count>" line per status seen (and the first body of each non-2xx status).

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local api_key, counter
-- Global: done() reads it from each thread with thread:get("statuses").
statuses = {}

local words = { "Shipping", "media", "ingest", "with", "bounded", "memory", "and", "real", "probes", "today" }

function init(args)
  api_key = args[1] or os.getenv("SOKU_API_KEY")
  if not api_key or api_key == "" then
    error("usage: wrk ... -s templates.lua URL -- API_KEY")
  end
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  -- A title of 6 to 15 words, different on every request.
  local n = 6 + (counter % 10)
  local t = {}
  for i = 1, n do
    t[i] = words[((counter + i) % #words) + 1]
  end
  local title = string.format("%s #%d-%d", table.concat(t, " "), tid or 0, counter)
  local body = string.format(
    '{"templateSlug":"tweetImage","config":{"title":"%s","author":"Soku Bench","handle":"soku",'
      .. '"theme":"%s"}}', title, (counter % 2 == 0) and "dark" or "light")
  return wrk.format("POST", "/v1/templates", {
    ["Content-Type"] = "application/json",
    ["soku-api-key"] = api_key,
  }, body)
end

function response(status, headers, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and not statuses["body" .. status] then
    statuses["body" .. status] = resp_body and string.sub(resp_body, 1, 300) or ""
  end
end

function done(summary, latency, requests)
  local totals, bodies = {}, {}
  for _, thread in ipairs(threads) do
    local st = thread:get("statuses") or {}
    for k, v in pairs(st) do
      if type(k) == "number" then
        totals[k] = (totals[k] or 0) + v
      elseif not bodies[k] then
        bodies[k] = v
      end
    end
  end
  local ok2xx, non2xx = 0, 0
  local codes = {}
  for code, n in pairs(totals) do
    table.insert(codes, code)
    if code >= 200 and code <= 299 then ok2xx = ok2xx + n else non2xx = non2xx + n end
  end
  table.sort(codes)
  for _, code in ipairs(codes) do
    io.write(string.format("BENCH_STATUS %d %d\n", code, totals[code]))
    if bodies["body" .. code] then
      io.write(string.format("BENCH_BODY %d %s\n", code, (bodies["body" .. code]:gsub("\n", " "))))
    end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d status_2xx=%d non_2xx=%d socket_errors=%d"
      .. " duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, ok2xx, non2xx, e.connect + e.read + e.write + e.timeout,
    secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
