-- GET /v1/applications/{id}; ids round-robin per thread. Environment: BENCH_IDS (application ids), BENCH_KEY.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
common.install(function(id, key)
  return wrk.format("GET", "/v1/applications/" .. id, { ["Authorization"] = "Bearer " .. key })
end)
