-- wrk script for benchmarks/pages.py: the browser side of the school's HTTPS proxy, and step 1's POST.
--
-- PAGES_METHOD in the environment: GET (the URL's path) or POST; a POST's arguments after "--" are
-- PATH SESSIONS_FILE CHILD_CODE RUN_TAG. Every request comes through the pretend proxy (Host portal.test,
-- X-Forwarded-Proto: https). A GET is one fixed request and its answers are not read into Lua: wrk does
-- the same little work for a big page as for hello's. A POST takes the next of the sessions the
-- benchmark opened beforehand (one "cookie token" line each: a real session cookie and its CSRF token)
-- and a fresh address each time, so that the per-address cap never answers instead; each answer's
-- status is counted. done() prints one line of JSON: counts, latency percentiles (microseconds), every
-- status seen on a POST, and how many answers were 4xx or 5xx.

local threads = {}
local method = os.getenv("PAGES_METHOD") or "GET"
local base_headers = { ["Host"] = "portal.test", ["X-Forwarded-Proto"] = "https", ["Accept-Language"] = "et" }
for name, value in pairs(base_headers) do wrk.headers[name] = value end

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local function urlencode(text)
   return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
   statuses = {}
   if method == "POST" then
      path, sent, sessions = args[1], 0, {}
      for line in io.lines(args[2]) do
         local cookie, token = line:match("^(%S+) (%S+)$")
         table.insert(sessions, { cookie = cookie, token = token })
      end
      child, run_tag = args[3], args[4]
   end
end

local function post()
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

if method == "POST" then
   request = post
   response = function(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
   end
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
         .. '"socket_errors": %d, "timeouts": %d, "error_statuses": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write, errors.timeout, errors.status, table.concat(parts, ", ")))
end
