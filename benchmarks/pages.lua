-- wrk script for benchmarks/pages.py: the browser side of the school's HTTPS proxy, and step 1's POST.
--
-- Arguments after "--": METHOD PATH [SESSIONS_FILE CHILD_CODE RUN_TAG]. Every request comes through the
-- pretend proxy (Host portal.test, X-Forwarded-Proto: https). A POST takes the next of the sessions the
-- benchmark opened beforehand (one "cookie token" line each: a real session cookie and its CSRF token)
-- and a fresh address each time, so that the per-address cap never answers instead. done() prints one
-- line of JSON: counts, latency percentiles (microseconds) and every HTTP status seen.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local function urlencode(text)
   return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
   method, path = args[1], args[2]
   statuses = {}
   sent = 0
   base_headers = { ["Host"] = "portal.test", ["X-Forwarded-Proto"] = "https", ["Accept-Language"] = "et" }
   if method == "POST" then
      sessions = {}
      for line in io.lines(args[3]) do
         local cookie, token = line:match("^(%S+) (%S+)$")
         table.insert(sessions, { cookie = cookie, token = token })
      end
      child, run_tag = args[4], args[5]
   else
      fixed_request = wrk.format(method, path, base_headers)
   end
end

function request()
   if method ~= "POST" then
      return fixed_request
   end
   sent = sent + 1
   local session = sessions[(sent + thread_number) % #sessions + 1]
   local email = string.format("v%s-%d-%d@example.ee", run_tag, thread_number, sent)
   local body = "csrf_token=" .. urlencode(session.token) .. "&email=" .. urlencode(email)
      .. "&child_personal_code=" .. child
   local headers = {}
   for name, value in pairs(base_headers) do headers[name] = value end
   headers["Cookie"] = session.cookie
   headers["Content-Type"] = "application/x-www-form-urlencoded"
   headers["Referer"] = "https://portal.test" .. path
   return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local seen = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         seen[status] = (seen[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(seen) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
         .. '"socket_errors": %d, "timeouts": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write, errors.timeout, table.concat(parts, ", ")))
end
