-- wrk script for scripts/bench-intake.sh: POST /v1/posts, a valid text post to threads, x and linkedin, with a
-- unique Idempotency-Key on every request.
--
--   wrk -t2 -c64 -d30s --latency -s scripts/bench/intake.lua http://127.0.0.1:PORT -- API_KEY RUN_TAG
--
-- done() prints one machine-readable line:
--   BENCH_RESULT requests=N status_2xx=N status_202=N non_2xx=N socket_errors=N duration_s=F rps=F p50_ms=F ...
-- plus one "BENCH_STATUS <code> <count>" line per status seen, for whoever reads the output.

local threads = {}
local next_id = 0

-- Runs in the main Lua state once per thread, before the threads start.
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local api_key, run_tag, counter, body, path
-- Global (not local): done() reads it from each thread with thread:get("statuses").
statuses = {}

function init(args)
  api_key = args[1] or os.getenv("SOKU_API_KEY")
  run_tag = args[2] or tostring(os.time())
  if not api_key or api_key == "" then
    error("usage: wrk ... -s intake.lua URL -- API_KEY [RUN_TAG]")
  end
  counter = 0
  statuses = {}
  -- Seed per thread so that the random part differs between threads as well.
  math.randomseed(os.time() + (tid or 0) * 7919)
  path = "/v1/posts"
  body = '{"post":{"content":{"text":"Benchmark: intake throughput of Soku.",'
    .. '"mediaType":"text","platform":["threads","x","linkedin"]}}}'
end

function request()
  counter = counter + 1
  local key = string.format("bench-%s-t%d-%d-%08x", run_tag, tid or 0, counter, math.random(0, 0x7fffffff))
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["soku-api-key"] = api_key,
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
  -- Keep the first non-2xx body of each status to explain it in the report.
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
  local ok2xx, s202, non2xx = 0, 0, 0
  local codes = {}
  for code, n in pairs(totals) do
    table.insert(codes, code)
    if code >= 200 and code <= 299 then ok2xx = ok2xx + n else non2xx = non2xx + n end
    if code == 202 then s202 = n end
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
    "BENCH_RESULT requests=%d status_2xx=%d status_202=%d non_2xx=%d socket_errors=%d"
      .. " duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, ok2xx, s202, non2xx, e.connect + e.read + e.write + e.timeout,
    secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
