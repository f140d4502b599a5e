-- Errors reach the user as notifications with the sidecar's hint, and the sidecar is
-- restarted after a crash a bounded number of times. Real sidecar, fake Poe.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local levels = vim.log.levels

local fake = H.start_fake({ "-key", H.KEY, "-chunk-delay", "20ms" })
local expiring_fake = H.start_fake({ "-key-expires-in", "2" })
local limited_fake = H.start_fake({ "-key", H.KEY, "-fault", '{"chatStatus":429,"retryAfter":"7"}' })
local failing_fake = H.start_fake({ "-key", H.KEY, "-fault", '{"stream":"midstream_error_data"}' })

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
  H.contains(note.message, "7 seconds", "retry hint")
  H.eq(H.count(note.message, "7 seconds"), 1, "times the wait is given in " .. note.message)
  H.eq(H.count(note.message, "Rate limit exceeded."), 1, "times Poe's words appear in " .. note.message)
end)

H.test("chat error keeps partial answer", function()
  prepare(failing_fake)
  H.sign_in_with_key()
  vim.cmd("PoeChat /long 20")
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait_note("Chat failed", levels.ERROR)
  local chat = require("poe.chat").get(bufnr)
  H.wait(function()
    return chat.stream == nil
  end, "the chat to end")

  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local error_row
  for i, line in ipairs(lines) do
    if line:find("**Error:**", 1, true) then
      error_row = i
    end
  end
  H.truthy(error_row, "error line in:\n" .. H.buffer_text(bufnr))
  H.truthy(vim.startswith(lines[error_row], "> **Error:** "), "quote at the start of " .. lines[error_row])
  H.eq(lines[error_row - 1], "", "blank line before the error")
  H.truthy(vim.startswith(lines[error_row - 2], "word0 word1"), "partial answer above: " .. lines[error_row - 2])

  H.eq(#chat.messages, 2, "messages")
  H.eq(chat.messages[2].role, "assistant", "partial answer recorded")
  H.eq(chat.messages[2].content, lines[error_row - 2], "recorded text")
end)

H.test("failed message left out", function()
  prepare()
  vim.cmd("PoeChat hello")
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait_note("Chat failed", levels.ERROR)
  local chat = require("poe.chat").get(bufnr)
  H.wait(function()
    return chat.stream == nil
  end, "the chat to end")
  H.eq(chat.messages, {}, "conversation after a request that got no answer")

  H.sign_in_with_key()
  local sent
  local api = require("poe.api")
  local real_send = api.chat_send
  H.stub(api, "chat_send", function(params, callback)
    sent = params
    return real_send(params, callback)
  end)
  vim.api.nvim_buf_set_lines(bufnr, -2, -1, false, { "hello again" })
  H.eq(require("poe.chat").send(bufnr), true, "send again")
  H.wait(function()
    return chat.stream == nil and #chat.messages == 2
  end, "the answer")
  H.eq(sent.messages, { { role = "user", content = "hello again" } }, "messages sent")
end)

H.test("status names damaged file once", function()
  local path = "/tmp/poe/auth.json"
  local lines = require("poe.status").describe({
    signedIn = false,
    expired = false,
    problem = {
      reason = "corrupt_credentials",
      path = path,
      message = ('credential file "%s" is unusable; sign in to Poe again to replace it'):format(path),
    },
  })
  local text = table.concat(lines, "\n")
  H.eq(H.count(text, path), 1, "times the path appears in " .. text)
  H.eq(H.count(text, "replace it"), 1, "times the advice appears in " .. text)
  H.contains(text, ":PoeSignIn", "command")
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

H.test("one crash counted as 1 time", function()
  prepare(nil, { max_restarts = 0 })
  require("poe.sidecar").ensure_started()
  kill_sidecar()
  local note = H.wait_note("so it is not restarted automatically", levels.ERROR)
  H.contains(note.message, "exited 1 time within 3 minutes", "count")
end)

H.test("exit before handshake fails requests", function()
  prepare(nil, { cmd = { "true" } })
  vim.cmd("PoeStatus")
  vim.cmd("PoeModels")
  local status = H.wait_note("Reading the sign-in state failed", levels.ERROR, 5000)
  local models = H.wait_note("Listing Poe's models failed", levels.ERROR, 5000)
  for _, note in ipairs({ status, models }) do
    H.contains(note.message, "exited (exit code 0, signal 0) before the LSP handshake", "cause")
    H.contains(note.message, vim.lsp.get_log_path(), "LSP log named")
  end
  H.eq(require("poe.sidecar").client(), nil, "no sidecar running")
  H.eq(H.find_note("restarting"), nil, "no restart")

  -- Without a request waiting, the exit is reported by itself.
  H.notes = {}
  require("poe.sidecar").ensure_started()
  local note = H.wait_note("before the LSP handshake", levels.ERROR, 5000)
  H.contains(note.message, "not restarted automatically", "no restart")
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
    {
      err = {
        code = 1006,
        message = "Poe rate-limited the chat request (HTTP 429): Slow down.; wait 17 seconds and try again.",
        data = { reason = "rate_limited", type = "rate_limit_error", message = "Slow down.", retryAfter = 17 },
      },
      want = "Poe rate-limited the chat request (HTTP 429): Slow down.; wait 17 seconds and try again.",
    },
    {
      err = { code = 1006, message = "Poe rate-limited the chat request.", data = { reason = "rate_limited", retryAfter = 1 } },
      want = "Poe rate-limited the chat request.\nPoe asks to wait 1 second before the next request.",
    },
    {
      err = {
        code = 1001,
        message = 'credential file "/tmp/auth.json" is unusable; sign in to Poe again to replace it',
        data = { reason = "corrupt_credentials", path = "/tmp/auth.json", action = "signIn" },
      },
      want = 'credential file "/tmp/auth.json" is unusable; sign in to Poe again to replace it\nRun :PoeSignIn to sign in.',
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
