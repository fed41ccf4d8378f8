-- wrk script: POST /api/v1/stories/{id}/comments, JSON body, bearer token.
-- Each request signs as the next of the seeded readers, so the load is spread over
-- ~20 accounts as on a real story. Environment (set by bench/run):
--   BENCH_POST_STORY   id of the story to post to
--   BENCH_TOKENS_FILE  file with one bearer token per line

local story = os.getenv("BENCH_POST_STORY")
local tokens_file = os.getenv("BENCH_TOKENS_FILE")
local tokens = {}
for line in io.lines(tokens_file) do
  if #line > 0 then
    tokens[#tokens + 1] = line
  end
end

local path = "/api/v1/stories/" .. story .. "/comments"
local counter = 0
local id = 0

-- Runs in the main Lua state once per wrk thread: number the threads so that their
-- bodies differ.
local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_no", threads_seen)
end

function init(args)
  id = thread_no or 0
  counter = id * 7 -- start each thread on a different reader
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local body = '{"body":"Posted under load: comment ' .. counter .. ' from wrk thread ' .. id
    .. '. The council vote was closer than the headline suggests."}'
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
