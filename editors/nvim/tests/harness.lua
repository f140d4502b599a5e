-- Test harness for one test file, run in a headless Neovim by tests/run.sh: registers
-- tests, runs them in order, writes one result line per test to $POE_TEST_RESULTS and
-- quits. It also starts the fake Poe, points the sidecar at it, captures vim.notify and
-- stubs functions for the length of one test.
--
-- Result file lines: "PASS <name>", "FAIL <name>" followed by indented detail lines, and
-- "END" once every test ran, so run.sh can tell a crash from a finished file.

local H = {}

H.root = assert(vim.env.POE_TEST_ROOT, "POE_TEST_ROOT must name the plugin folder")
H.sidecar_bin = assert(vim.env.POE_SIDECAR_BIN, "POE_SIDECAR_BIN must name the poe-sidecar binary")
H.fakepoe_bin = assert(vim.env.FAKEPOE_BIN, "FAKEPOE_BIN must name the fakepoe binary")
local results_path = assert(vim.env.POE_TEST_RESULTS, "POE_TEST_RESULTS must name the results file")

--- A valid API key for the fake: "sk-poe-" and 40 letters and digits.
H.KEY = "sk-poe-" .. string.rep("k3Y9pQ2x", 5)

--- Default wait, in milliseconds. Generous, because CI machines can be slow.
H.TIMEOUT = 15000

local tests = {}
local restores = {}
local fakes = {}

-- These would leak into the sidecar from the developer's shell and change what it does.
for _, name in ipairs({ "POE_API_KEY", "POE_OAUTH_CLIENT_ID", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY" }) do
  vim.env[name] = nil
end

---@class test.Note
---@field message string
---@field level integer

---@type test.Note[]
H.notes = {}
vim.notify = function(message, level)
  table.insert(H.notes, { message = message, level = level or vim.log.levels.INFO })
end

--- Registers a test. Tests run in the order they are registered.
---@param name string
---@param fn fun()
function H.test(name, fn)
  table.insert(tests, { name = name, fn = fn })
end

--- Replaces tbl[key] with value until the current test ends.
---@param tbl table
---@param key string
---@param value any
function H.stub(tbl, key, value)
  table.insert(restores, { tbl = tbl, key = key, value = tbl[key] })
  rawset(tbl, key, value)
end

local function restore_stubs()
  for i = #restores, 1, -1 do
    local saved = restores[i]
    rawset(saved.tbl, saved.key, saved.value)
  end
  restores = {}
end

--- Waits until cond() returns true, processing events meanwhile. Fails the test after
--- timeout_ms.
---@param cond fun(): boolean
---@param what string|fun(): string what is awaited, for the failure message
---@param timeout_ms integer|nil
function H.wait(cond, what, timeout_ms)
  if not vim.wait(timeout_ms or H.TIMEOUT, cond, 10) then
    if type(what) == "function" then
      what = what()
    end
    error("timed out waiting for " .. what .. "\nnotifications so far:\n" .. H.format_notes(), 2)
  end
end

---@return string
function H.format_notes()
  local lines = {}
  for _, note in ipairs(H.notes) do
    table.insert(lines, ("  [%d] %s"):format(note.level, note.message))
  end
  if #lines == 0 then
    return "  (none)"
  end
  return table.concat(lines, "\n")
end

--- Returns the first notification containing text (plain match) at level, if given.
---@param text string
---@param level integer|nil
---@return test.Note|nil
function H.find_note(text, level)
  for _, note in ipairs(H.notes) do
    if note.message:find(text, 1, true) and (level == nil or note.level == level) then
      return note
    end
  end
  return nil
end

--- Waits for a notification containing text and returns it.
---@param text string
---@param level integer|nil
---@param timeout_ms integer|nil
---@return test.Note
function H.wait_note(text, level, timeout_ms)
  local found
  H.wait(function()
    found = H.find_note(text, level)
    return found ~= nil
  end, ("a notification containing %q"):format(text), timeout_ms)
  return found
end

--- Fails unless got equals want (deep comparison for tables).
function H.eq(got, want, what)
  if not vim.deep_equal(got, want) then
    error(("%s: got %s, want %s"):format(what, vim.inspect(got), vim.inspect(want)), 2)
  end
end

--- Fails unless text contains part (plain match).
function H.contains(text, part, what)
  if type(text) ~= "string" or not text:find(part, 1, true) then
    error(("%s: %s does not contain %q"):format(what, vim.inspect(text), part), 2)
  end
end

--- Fails when text contains part (plain match).
function H.lacks(text, part, what)
  if type(text) == "string" and text:find(part, 1, true) then
    error(("%s: %s contains %q"):format(what, vim.inspect(text), part), 2)
  end
end

--- Returns how many times part occurs in text (plain match, not overlapping).
---@param text string
---@param part string
---@return integer
function H.count(text, part)
  local n, start = 0, 1
  while true do
    local first, last = text:find(part, start, true)
    if not first then
      return n
    end
    n, start = n + 1, last + 1
  end
end

--- Returns the notifications at level whose text contains part.
---@param part string
---@param level integer|nil
---@return test.Note[]
function H.notes_with(part, level)
  return vim.tbl_filter(function(note)
    return note.message:find(part, 1, true) ~= nil and (level == nil or note.level == level)
  end, H.notes)
end

--- Fails unless value is truthy.
function H.truthy(value, what)
  if not value then
    error(what .. ": got " .. vim.inspect(value), 2)
  end
end

--- Returns the lines of buffer bufnr as one string.
function H.buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
end

---@class test.Fake
---@field url string
---@field baseUrl string
---@field authorizeUrl string
---@field tokenUrl string
---@field job integer

--- Starts the fake Poe with the given flags and waits for its URLs.
---@param args string[]|nil such as { "-key", H.KEY, "-chunk-delay", "20ms" }
---@return test.Fake
function H.start_fake(args)
  local output = ""
  local command = { H.fakepoe_bin }
  vim.list_extend(command, args or {})
  local job = vim.fn.jobstart(command, {
    on_stdout = function(_, data)
      output = output .. table.concat(data, "\n")
    end,
  })
  assert(job > 0, "fakepoe could not be started: " .. H.fakepoe_bin)
  H.wait(function()
    return output:find("\n", 1, true) ~= nil
  end, "fakepoe to print its URLs")

  local fake = vim.json.decode(output:match("^[^\n]+"))
  fake.job = job
  table.insert(fakes, fake)
  return fake
end

--- Points sidecars started from now on at fake, through the environment they inherit.
---@param fake test.Fake
function H.use_fake(fake)
  vim.env.POE_BASE_URL = fake.baseUrl
  vim.env.POE_OAUTH_AUTHORIZE_URL = fake.authorizeUrl
  vim.env.POE_OAUTH_TOKEN_URL = fake.tokenUrl
end

--- Gives sidecars started from now on an empty data and state folder, so no key is
--- stored, and returns the path of the key file they will use.
---@return string
function H.fresh_home()
  local home = vim.fn.tempname()
  vim.fn.mkdir(home .. "/data", "p")
  vim.fn.mkdir(home .. "/state", "p")
  vim.env.XDG_DATA_HOME = home .. "/data"
  vim.env.XDG_STATE_HOME = home .. "/state"
  return home .. "/data/poe-sidecar/auth.json"
end

--- Calls require("poe").setup with the test's sidecar binary and opts.
---@param opts table|nil
function H.setup(opts)
  local merged = vim.tbl_deep_extend("force", { cmd = { H.sidecar_bin } }, opts or {})
  require("poe").setup(merged)
end

--- Signs in with H.KEY through :PoeSignIn apikey, with the hidden prompt stubbed.
function H.sign_in_with_key()
  H.stub(vim.fn, "inputsecret", function()
    return H.KEY
  end)
  vim.cmd("PoeSignIn apikey")
  H.wait_note("Signed in with an API key", vim.log.levels.INFO)
end

--- Returns the process id of the running sidecar. Neovim 0.7's client keeps it in rpc.pid.
---@return integer
function H.sidecar_pid()
  local client = require("poe.sidecar").client()
  H.truthy(client, "running sidecar client")
  H.wait(function()
    return client.initialized
  end, "the sidecar's handshake")
  return client.rpc.pid
end

local function write_results(lines)
  local file = assert(io.open(results_path, "a"))
  file:write(table.concat(lines, "\n"), "\n")
  file:close()
end

--- Runs the registered tests, writes their results and quits Neovim.
function H.run()
  vim.cmd("runtime plugin/poe.lua")
  for _, test in ipairs(tests) do
    H.notes = {}
    local ok, err = xpcall(test.fn, debug.traceback)
    restore_stubs()
    pcall(vim.cmd, "silent! tabonly | silent! only | enew")
    if ok then
      write_results({ "PASS " .. test.name })
    else
      local lines = { "FAIL " .. test.name }
      for line in tostring(err):gmatch("[^\n]+") do
        table.insert(lines, "    " .. line)
      end
      write_results(lines)
    end
  end
  write_results({ "END" })

  require("poe.sidecar").stop()
  for _, fake in ipairs(fakes) do
    vim.fn.jobstop(fake.job)
  end
  vim.cmd("qa!")
end

return H
