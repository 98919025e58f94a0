-- wrk: console pages as a signed-in person opens them: the queue (all open cases) and case
-- pages spread over the references (HL_PAGE=queue|case).
local cookie = "helpline_session=" .. os.getenv("HL_TOKEN")
local page = os.getenv("HL_PAGE")
local first = tonumber(os.getenv("HL_FIRST_REF") or "1001")
local count = tonumber(os.getenv("HL_REF_COUNT") or "1")
local n = 0
request = function()
  n = n + 1
  local path = "/?view=open"
  if page == "case" then path = "/cases/" .. (first + (n * 7919) % count) end
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end
