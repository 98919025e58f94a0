-- wrk: console pages as a signed-in lead opens them (HL_PAGE): the queue (all open cases),
-- the escalations, the statistics, and a case's page, analysis or related cases spread over
-- the references.
local cookie = "helpline_session=" .. os.getenv("HL_TOKEN")
local page = os.getenv("HL_PAGE")
local first = tonumber(os.getenv("HL_FIRST_REF") or "1001")
local count = tonumber(os.getenv("HL_REF_COUNT") or "1")
local fixed = { queue = "/?view=open", escalations = "/escalations", statistics = "/statistics" }
local under = { case = "", analysis = "/analysis", related = "/related", related2 = "/related?depth=2" }
local n = 0
request = function()
  n = n + 1
  local path = fixed[page]
  if path == nil then path = "/cases/" .. (first + (n * 7919) % count) .. under[page] end
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end
