-- Cancelling answers (:PoeStop, the stop key) and the Lua API for other plugins
-- (require("poe").stream), against the real sidecar and the fake Poe.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local levels = vim.log.levels

local fake = H.start_fake({ "-key", H.KEY, "-chunk-delay", "20ms" })

local function prepare()
  H.use_fake(fake)
  H.fresh_home()
  H.setup({ model = "GPT-5.4" })
  H.sign_in_with_key()
  H.notes = {}
end

local function wait_text(bufnr, text)
  H.wait(function()
    return H.buffer_text(bufnr):find(text, 1, true) ~= nil
  end, ("buffer %d to contain %q"):format(bufnr, text))
end

local function wait_idle(bufnr)
  local chat = require("poe.chat").get(bufnr)
  H.wait(function()
    return chat.stream == nil
  end, "the chat's stream to end")
  return chat
end

--- Starts a stream through the Lua API and records what its callbacks receive.
local function record_stream(opts)
  local record = { deltas = {} }
  opts.on_delta = function(text)
    table.insert(record.deltas, text)
  end
  opts.on_done = function(err, result)
    record.calls = (record.calls or 0) + 1
    record.err, record.result = err, result
  end
  record.handle = require("poe").stream(opts)
  record.wait = function()
    H.wait(function()
      return record.calls ~= nil
    end, "on_done")
  end
  return record
end

H.test("PoeStop cancels chat answer", function()
  prepare()
  vim.cmd("PoeChat /long 500")
  local bufnr = vim.api.nvim_get_current_buf()
  wait_text(bufnr, "word3 ")

  vim.cmd("PoeStop")
  local chat = wait_idle(bufnr)
  local text = H.buffer_text(bufnr)
  H.contains(text, "_(stopped)_\n\n## You\n", "stop marker")
  H.eq(text:find("word499", 1, true), nil, "the end of the answer never arrived")
  H.eq(chat.messages[2].role, "assistant", "partial answer kept")
  H.truthy(vim.startswith(chat.messages[2].content, "word0 word1 word2 word3"), "partial answer text")

  vim.api.nvim_buf_set_lines(bufnr, -2, -1, false, { "after stop" })
  H.eq(require("poe.chat").send(bufnr), true, "send after stop")
  wait_idle(bufnr)
  H.contains(H.buffer_text(bufnr), "You said: after stop", "answer after stop")
end)

H.test("stop key in chat buffer", function()
  prepare()
  vim.cmd("PoeChat /long 500")
  local bufnr = vim.api.nvim_get_current_buf()
  wait_text(bufnr, "word3 ")
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<C-c>", true, false, true), "x", false)
  wait_idle(bufnr)
  H.contains(H.buffer_text(bufnr), "_(stopped)_", "stop marker")
end)

H.test("PoeStop elsewhere stops every answer", function()
  prepare()
  vim.cmd("PoeChat /long 500")
  local first = vim.api.nvim_get_current_buf()
  vim.cmd("PoeChat /long 500")
  local second = vim.api.nvim_get_current_buf()
  wait_text(first, "word3 ")
  wait_text(second, "word3 ")

  vim.cmd("new")
  vim.cmd("PoeStop")
  wait_idle(first)
  wait_idle(second)
  H.contains(H.buffer_text(first), "_(stopped)_", "first chat")
  H.contains(H.buffer_text(second), "_(stopped)_", "second chat")
  H.eq(require("poe.streams").count(), 0, "live streams")
end)

H.test("PoeStop in idle chat spares others", function()
  prepare()
  vim.cmd("PoeChat hi")
  local idle = vim.api.nvim_get_current_buf()
  wait_idle(idle)
  vim.cmd("PoeChat /long 500")
  local busy = vim.api.nvim_get_current_buf()
  wait_text(busy, "word3 ")

  vim.cmd("wincmd p")
  H.eq(vim.api.nvim_get_current_buf(), idle, "current buffer")
  H.notes = {}
  vim.cmd("PoeStop")
  H.wait_note("Nothing is streaming in this chat.", levels.INFO)
  H.eq(require("poe").stop(), 0, "stop() in the idle chat")
  H.truthy(require("poe.chat").get(busy).stream, "the other chat still streams")
  wait_text(busy, "word40 ")
  H.eq(H.buffer_text(busy):find("_(stopped)_", 1, true), nil, "other chat not stopped")

  vim.cmd("wincmd p")
  vim.cmd("PoeStop")
  wait_idle(busy)
end)

H.test("bdelete ends streaming chat", function()
  prepare()
  vim.cmd("PoeChat /long 400")
  local bufnr = vim.api.nvim_get_current_buf()
  wait_text(bufnr, "word3 ")
  vim.cmd("bdelete")
  H.eq(vim.api.nvim_buf_is_loaded(bufnr), false, "buffer unloaded")
  H.eq(require("poe.chat").get(bufnr), nil, "chat forgotten")
  H.wait(function()
    return require("poe.streams").count() == 0
  end, "the stream to stop", 3000)
  -- Notifications arrive in order, so every delta sent before the stop was handled
  -- by the time the stream ended; none may have raised an error.
  H.eq(H.notes_with("", levels.ERROR), {}, "error notifications")
end)

H.test("PoeStop with nothing streaming", function()
  prepare()
  vim.cmd("PoeStop")
  H.wait_note("Nothing is streaming.", levels.INFO)
end)

H.test("stream API delivers deltas", function()
  prepare()
  local record = record_stream({ prompt = "api call", model = "Grok-4" })
  H.truthy(record.handle.id, "stream id")
  record.wait()

  H.eq(record.err, nil, "error")
  local want = "Hello from the fake Poe (Grok-4). You said: api call"
  H.eq(table.concat(record.deltas), want, "deltas")
  H.truthy(#record.deltas > 1, "more than one delta")
  H.eq(record.result.text, want, "result text")
  H.eq(record.result.finishReason, "stop", "finish reason")
  H.truthy(record.result.usage and record.result.usage.totalTokens, "usage")
  H.eq(record.handle.is_done(), true, "is_done")
  H.eq(record.calls, 1, "on_done calls")
  H.eq(#H.notes, 0, "no notifications")
end)

H.test("stream API uses default model", function()
  prepare()
  local record = record_stream({ messages = { { role = "user", content = "x" } }, system = "Be brief." })
  record.wait()
  H.contains(record.result.text, "(GPT-5.4)", "model")
end)

H.test("stream API cancel", function()
  prepare()
  local record = record_stream({ prompt = "/long 500" })
  H.wait(function()
    return #record.deltas >= 3
  end, "three deltas")
  record.handle.cancel()
  record.wait()

  H.eq(record.err, nil, "error")
  H.eq(record.result.finishReason, "cancelled", "finish reason")
  H.eq(record.result.text, table.concat(record.deltas), "text so far")
  H.eq(record.result.text:find("word499", 1, true), nil, "the end never arrived")
end)

H.test("stream API cancel before handshake", function()
  prepare()
  require("poe.sidecar").stop()
  local record = record_stream({ prompt = "/long 500" })
  record.handle.cancel()
  record.wait()
  H.eq(record.err, nil, "error")
  H.eq(record.result.finishReason, "cancelled", "finish reason")
  H.eq(record.calls, 1, "on_done calls")
end)

H.test("stream API reports Poe error", function()
  prepare()
  local record = record_stream({ prompt = "hi", model = "No-Such-Bot" })
  record.wait()
  H.eq(record.result, nil, "result")
  H.eq(record.err.code, 1020, "code")
  H.eq(record.err.data.reason, "bad_request", "reason")
  H.eq(record.err.data.status, 404, "status")
  H.eq(#H.notes, 0, "no notifications")
end)

H.test("stream API rejects invalid options", function()
  prepare()
  local ok, err = pcall(require("poe").stream, { model = "GPT-5.4" })
  H.eq(ok, false, "without messages")
  H.contains(err, "messages must be a non-empty list", "error without messages")

  H.setup({ model = nil })
  require("poe.models").set(nil)
  ok, err = pcall(require("poe").stream, { prompt = "hi" })
  H.eq(ok, false, "without a model")
  H.contains(err, "no model", "error without a model")
end)

H.run()
