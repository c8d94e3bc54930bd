-- Shared by the wrk scripts: per-thread round-robin over ids, non-2xx counting, one machine-readable summary line.
-- Environment: BENCH_IDS (a Lua file returning a list of ids), BENCH_KEY (API key).
local M = {}
local threads = {}

function M.install(build_request)
  function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
  end

  function init(args)
    non2xx, statuses = 0, {}
    local ids = os.getenv("BENCH_IDS") and dofile(os.getenv("BENCH_IDS")) or { "none" }
    local key = os.getenv("BENCH_KEY") or ""
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
    -- Thread t takes ids t+1, t+1+nthreads, ...: threads never share a row.
    reqs = {}
    for i = tid + 1, #ids, nthreads do
      table.insert(reqs, build_request(ids[i], key))
    end
    if #reqs == 0 then reqs = { build_request(ids[1], key) } end
    n = 0
  end

  function request()
    n = n + 1
    return reqs[(n - 1) % #reqs + 1]
  end

  function response(status, headers, body)
    if status >= 300 then
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
      if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n") end
    end
  end

  function done(summary, latency, requests)
    local bad = 0
    for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, latency.mean / 1000, bad, e.connect, e.read, e.write, e.timeout))
  end
end

return M
