-- PUT /v1/feedback/{id}/answers, no If-Match; ids round-robin per thread (more drafts than connections, see README).
-- Environment: BENCH_IDS (feedback ids), BENCH_KEY (interviewer key), BENCH_BODY (file with the JSON body).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
local body = f:read("*a")
f:close()
common.install(function(id, key)
  return wrk.format("PUT", "/v1/feedback/" .. id .. "/answers",
    { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end)
