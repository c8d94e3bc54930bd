-- GET /health/live: no authentication, no database; a floor for the HTTP stack (Kestrel + routing + JSON).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
common.install(function(id, key) return wrk.format("GET", "/health/live") end)
