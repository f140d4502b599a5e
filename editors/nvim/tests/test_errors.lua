-- Errors reach the user as notifications with the sidecar's hint, and the sidecar is
-- restarted after a crash a bounded number of times. Real sidecar, fake Poe.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local levels = vim.log.levels

local fake = H.start_fake({ "-key", H.KEY, "-chunk-delay", "20ms" })
local expiring_fake = H.start_fake({ "-key-expires-in", "2" })
local limited_fake = H.start_fake({ "-key", H.KEY, "-fault", '{"chatStatus":429,"retryAfter":"7"}' })

local function follow(url)
  vim.fn.jobstart({ "curl", "-sS", "-L", "-o", "/dev/null", url })
end

local function prepare(use, opts)
  H.use_fake(use or fake)
  H.fresh_home()
  H.setup(vim.tbl_extend("force", { model = "GPT-5.4", open_url = follow }, opts or {}))
  H.notes = {}
end

--- Kills the running sidecar with SIGKILL and returns its process id.
local function kill_sidecar()
  local pid = H.sidecar_pid()
  vim.loop.kill(pid, "sigkill")
  return pid
end

--- Waits for a running sidecar other than old_pid to finish its handshake.
local function wait_new_sidecar(old_pid)
  H.wait(function()
    local client = require("poe.sidecar").client()
    return client ~= nil and client.initialized and client.rpc.pid ~= old_pid and require("poe.sidecar").info() ~= nil
  end, "a new sidecar")
end

H.test("expired key reported", function()
  prepare(expiring_fake)
  vim.cmd("PoeSignIn browser")
  local signed_in = H.wait_note("Signed in with the browser", levels.INFO)
  H.contains(signed_in.message, "the key expires 20", "expiry time shown")

  -- The sidecar warns by itself when the two-second key expires.
  H.wait_note("Your Poe API key has expired", levels.WARN)
  H.eq(require("poe").auth_state().expired, true, "auth_state after expiry")

  vim.cmd("PoeChat hello")
  local bufnr = vim.api.nvim_get_current_buf()
  local note = H.wait_note("Chat failed", levels.ERROR)
  H.contains(note.message, "expired", "reason in the message")
  H.contains(note.message, "Run :PoeSignIn to sign in.", "hint from data.action")
  H.wait(function()
    return require("poe.chat").get(bufnr).stream == nil
  end, "the chat to end")
  H.contains(H.buffer_text(bufnr), "> **Error:** ", "error in the chat buffer")

  vim.cmd("PoeStatus")
  H.wait_note("Not signed in: the key expired at", levels.INFO)
end)

H.test("not signed in hint", function()
  prepare()
  vim.cmd("PoeChat hello")
  local note = H.wait_note("Chat failed", levels.ERROR)
  H.contains(note.message, "Run :PoeSignIn to sign in.", "hint")
end)

H.test("rate limit shows retry time", function()
  prepare(limited_fake)
  H.sign_in_with_key()
  vim.cmd("PoeChat hello")
  local note = H.wait_note("Chat failed", levels.ERROR)
  H.contains(note.message, "Poe asks to wait 7 seconds before the next request.", "retry hint")
end)

H.test("sidecar restarts after crash", function()
  prepare()
  H.sign_in_with_key()
  local pid = kill_sidecar()
  H.wait_note("exited unexpectedly", levels.WARN)
  wait_new_sidecar(pid)

  H.notes = {}
  vim.cmd("PoeStatus")
  H.wait_note("Signed in with an API key.", levels.INFO)
end)

H.test("crash ends live stream", function()
  prepare()
  H.sign_in_with_key()
  local done_err
  local deltas = 0
  require("poe").stream({
    prompt = "/long 500",
    on_delta = function()
      deltas = deltas + 1
    end,
    on_done = function(err)
      done_err = err or "no error"
    end,
  })
  H.wait(function()
    return deltas >= 2
  end, "two deltas")
  kill_sidecar()
  H.wait(function()
    return done_err ~= nil
  end, "on_done after the crash")
  H.eq(done_err.data.reason, "sidecar_exited", "reason")
end)

H.test("restarts are bounded", function()
  prepare(nil, { max_restarts = 1 })
  require("poe.sidecar").ensure_started()
  local pid = kill_sidecar()
  wait_new_sidecar(pid)
  kill_sidecar()
  local note = H.wait_note("so it is not restarted automatically", levels.ERROR)
  H.contains(note.message, "exited 2 times within 3 minutes", "count")
  H.contains(note.message, "sidecar.log", "log file named")
  H.eq(require("poe.sidecar").client(), nil, "no sidecar running")

  -- A command still starts it again.
  H.notes = {}
  vim.cmd("PoeStatus")
  H.wait_note("Not signed in. Run :PoeSignIn.", levels.INFO)
end)

H.test("error data formatting", function()
  local format = require("poe.notify").format_error
  local cases = {
    {
      err = { code = 1020, message = "Poe rejected the request.", data = { reason = "bad_request", type = "invalid_request_error", message = "Model 'X' not found" } },
      want = "Poe rejected the request.\nPoe replied: invalid_request_error: Model 'X' not found",
    },
    {
      err = { code = 1001, message = "The key file cannot be read.", data = { reason = "corrupt_credentials", path = "/tmp/auth.json", action = "signIn" } },
      want = "The key file cannot be read.\nFile: /tmp/auth.json\nRun :PoeSignIn to sign in.",
    },
    { err = "plain text", want = "plain text" },
    { err = { message = "no data", data = vim.NIL }, want = "no data" },
  }
  for _, case in ipairs(cases) do
    H.eq(format(case.err), case.want, vim.inspect(case.err))
  end
  H.eq(format({ message = "m" }, "Chat failed"), "Chat failed: m", "context")
end)

H.run()
