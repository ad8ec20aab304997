-- wrk script for W5: each connection alternates POST /minimize (the tutorial's 1000-iteration Rosenbrock run,
-- recordEvery 1) and GET /minimize/{id}/events, read to the end of the stream (the completed event).
-- Prints jobs whose whole stream was read, per second.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pending = nil
  completed = 0
  events = 0
  started = os.time()
end

local body = '{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, ' ..
  '"constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 0.01}, "maxIterations": 1000, "recordEvery": 1}'

function request()
  if pending then
    local path = "/minimize/" .. pending .. "/events"
    pending = nil
    return wrk.format("GET", path)
  end
  return wrk.format("POST", "/minimize", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, response_body)
  if status == 202 then
    pending = string.match(response_body, '"id":"(%x+)"')
  elseif status == 200 and string.find(response_body, "event: completed", 1, true) then
    completed = completed + 1
    local _, count = string.gsub(response_body, "event: iteration", "")
    events = events + count
  end
end

function done(summary, latency, requests)
  local jobs, iterationEvents = 0, 0
  for _, thread in ipairs(threads) do
    jobs = jobs + thread:get("completed")
    iterationEvents = iterationEvents + thread:get("events")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("W5 jobs per second: %.1f (%d jobs streamed to completed in %.1f s, %d iteration events, %.0f per job)\n",
    jobs / seconds, jobs, seconds, iterationEvents, iterationEvents / math.max(jobs, 1)))
end
