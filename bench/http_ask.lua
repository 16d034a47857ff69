-- wrk script of bench/bench_http.py: POST /ask, a different question on each request.
--
--   wrk -t1 -c8 -d30s --timeout 10s --latency -s bench/http_ask.lua http://127.0.0.1:8000 -- BODIES
--
-- BODIES holds one JSON request body per line. bench_http.py writes it with Python's json.dumps,
-- so the escaping of quotes, backslashes and non-ASCII is done by a real JSON encoder.
-- done() prints one "qa-bench-result key=value ..." line for bench_http.py to parse.

local bodies = {}
local next_body = 0
local thread_count = 0
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  -- Runs in the main Lua state, once per thread, before that thread's init().
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s http_ask.lua URL -- BODIES_FILE")
  end
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      bodies[#bodies + 1] = line
    end
  end
  file:close()
  if #bodies == 0 then
    error("no request bodies in " .. path)
  end
  -- Threads start at different questions so that they do not ask the same one in lockstep.
  next_body = ((thread_index or 0) * 17) % #bodies
end

function request()
  local body = bodies[next_body + 1]
  next_body = (next_body + 1) % #bodies
  return wrk.format("POST", "/ask", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "qa-bench-result requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d "
      .. "status=%d timeout=%d p50_us=%d p95_us=%d p99_us=%d mean_us=%.1f max_us=%d "
      .. "thread_rps_mean=%.2f\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max, requests.mean
  ))
end
