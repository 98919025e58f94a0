-- wrk: open cases as fast as the server acknowledges them.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("HL_TOKEN")
wrk.body = '{"beneficiary_id":"' .. os.getenv("HL_BENEFICIARY") ..
  '","summary":"Phishing mail impersonating the bank","urgency":"medium","impact":"low",' ..
  '"service_type":"phishing","tags":["bench"]}'
