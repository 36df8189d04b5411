-- wrk script: one MCP tools/call (add 2+3) per request, as a stateless 2025-06-18 client sends it.
-- Every answer must be 200 with "text":"5"; the others are counted and printed as bad_responses.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"

-- Each wrk thread runs this script in a Lua state of its own and done() runs in the main one:
-- the count is a global of each thread's state, summed through the thread objects setup() kept.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

bad = 0

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"text":"5"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("bad") or 0)
  end
  io.write(string.format("bad_responses=%d\n", total))
end
