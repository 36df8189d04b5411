-- wrk script: one MCP tools/call (add 2+3) per request, as a stateless 2025-06-18 client sends it.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"

local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"text":"5"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("bad_responses=%d\n", bad))
end
