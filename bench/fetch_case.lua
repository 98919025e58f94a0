-- wrk: fetch cases by reference, spread over the ones created.
local first = tonumber(os.getenv("HL_FIRST_REF"))
local count = tonumber(os.getenv("HL_REF_COUNT"))
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/cases/" .. (first + (n % count)), {
    ["Authorization"] = "Bearer " .. os.getenv("HL_TOKEN"),
  })
end
