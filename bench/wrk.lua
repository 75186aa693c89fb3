-- wrk script for bench/load.sh.
-- CERT_FILE (optional): one X-ARR-ClientCert value per line; each thread walks its own part of
-- the list in order, so no certificate repeats until a thread has sent #lines/threads requests.
-- done() prints one machine-readable line:
--   RESULT <requests> <requests/s> <p50 us> <p99 us> <non-2xx/3xx> <socket errors>
local cert_file = os.getenv("CERT_FILE")
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
  thread:set("thread_count", 0)
end

local certs
local index = 0

function init(args)
  if cert_file then
    certs = {}
    for line in io.lines(cert_file) do
      if #line > 0 then certs[#certs + 1] = line end
    end
    local share = math.floor(#certs / 2)
    index = (thread_number % 2) * share
  end
end

function request()
  if certs then
    index = index % #certs + 1
    return wrk.format(nil, nil, { ["X-ARR-ClientCert"] = certs[index] })
  end
  return wrk.request()
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format("RESULT %d %.0f %.0f %.0f %d %d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
