-- wrk script for bench/booking_load.py: sends the requests of a file in turn, each once, and
-- (BENCH_STATUSES=1) counts the answers' statuses.
--
-- BENCH_REQUESTS names the file, one request a line: "GET <path>" or "POST <path> <JSON body>".
-- BENCH_THREADS is wrk's -t: thread k of n sends lines k, k+n, k+2n, ... When a thread has sent
-- its share it starts again with the GET lines only (a booking is never sent twice); a thread
-- with no GET line then stops (after at most one /healthz per connection). Its requests after the first pass are counted ("repeated").

local file = os.getenv("BENCH_REQUESTS")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local lines = {}
  for line in io.lines(file) do
    table.insert(lines, line)
  end
  first_pass, again = {}, {}
  for i = id, #lines, thread_count do
    local line = lines[i]
    local method, rest = line:match("^(%u+) (.*)$")
    if method == "GET" then
      local raw = wrk.format("GET", rest)
      table.insert(first_pass, raw)
      table.insert(again, raw)
    else
      local path, body = rest:match("^(%S+) (.*)$")
      table.insert(
        first_pass,
        wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
      )
    end
  end
  current, index, repeated, exhausted = first_pass, 0, 0, false
  statuses = {}
end

function request()
  index = index + 1
  if index > #current then
    current, index = again, 1
    if #again == 0 then
      -- Bookings only: each connection sends /healthz once more, and the thread stops at the
      -- first answer after that (wrk cannot stop before sending).
      exhausted = true
      again = { wrk.format("GET", "/healthz") }
      current = again
    end
  end
  if current == again then
    repeated = repeated + 1
  end
  return current[index]
end

-- Only with BENCH_STATUSES=1: wrk hands every answer's body to response() as a Lua string, a
-- copy of ~60 kB per availability answer made on the cores the server runs on. Without it wrk
-- counts answers that are not 2xx/3xx (summary.errors.status) and the bookings made are counted
-- in the database.
if os.getenv("BENCH_STATUSES") == "1" then
  function response(status, headers, body)
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    if exhausted then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status
  ))
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %s %d\n", status, count))
    end
    io.write(string.format("REPEATED %d\n", thread:get("repeated")))
  end
end
