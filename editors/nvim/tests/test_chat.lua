-- :PoeModels and :PoeChat against the real sidecar and the fake Poe: picking a model,
-- streaming answers into chat buffers, follow-up messages, several chats at once,
-- typing while an answer streams, and a visual selection sent as context.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local levels = vim.log.levels

local fake = H.start_fake({ "-key", H.KEY, "-chunk-delay", "10ms" })

--- Starts a fresh sidecar on the fake, signed in, with model for new chats.
---@param opts table|nil setup options
local function prepare(opts)
  H.use_fake(fake)
  H.fresh_home()
  H.setup(vim.tbl_deep_extend("force", { model = "GPT-5.4" }, opts or {}))
  require("poe.models").set(nil)
  H.sign_in_with_key()
  H.notes = {}
end

--- Waits until the chat in bufnr has no live stream and count messages.
local function wait_answer(bufnr, count)
  local chat = require("poe.chat").get(bufnr)
  H.truthy(chat, "chat in buffer " .. bufnr)
  H.wait(function()
    return chat.stream == nil and #chat.messages >= count
  end, function()
    return ("the chat in buffer %d to have %d messages; it shows:\n%s\n"):format(bufnr, count, H.buffer_text(chat.bufnr))
  end)
  return chat
end

--- Returns the words "word0 word1 … word<n-1>" that the fake streams for "/long n".
local function long_reply(n)
  local words = {}
  for i = 0, n - 1 do
    table.insert(words, "word" .. i)
  end
  return table.concat(words, " ")
end

--- Types keys as the user would, and waits until Neovim has handled them.
local function type_keys(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "x", false)
end

H.test("models picker shows owner and context", function()
  prepare()
  local shown, prompt
  H.stub(vim.ui, "select", function(items, opts, on_choice)
    shown = vim.tbl_map(opts.format_item, items)
    prompt = opts.prompt
    for _, item in ipairs(items) do
      if item.id == "Claude-Sonnet-4.6" then
        on_choice(item)
      end
    end
  end)

  vim.cmd("PoeModels")
  H.wait_note("New chats use Claude-Sonnet-4.6.", levels.INFO)
  H.eq(prompt, "Poe model for new chats", "prompt")
  H.eq(shown, {
    "Claude-Sonnet-4.6 (Anthropic, 200K context)",
    "GPT-5.4 (OpenAI, 400K context) [current]",
    "Gemini-3-Pro (Google, 1M context)",
    "Grok-4 (xAI, 256K context)",
  }, "entries, without the image-only model")
  H.eq(require("poe").model(), "Claude-Sonnet-4.6", "model for new chats")

  vim.cmd("PoeModels!")
  H.wait(function()
    return shown[1] == "Claude-Sonnet-4.6 (Anthropic, 200K context) [current]"
  end, "the refreshed list to mark the current model")
end)

H.test("models picker cancelled", function()
  prepare()
  H.stub(vim.ui, "select", function(_, _, on_choice)
    on_choice(nil)
  end)
  local chosen = "unset"
  require("poe").pick_model(nil, function(id)
    chosen = id
  end)
  H.wait(function()
    return chosen ~= "unset"
  end, "the picker callback")
  H.eq(chosen, nil, "choice")
  H.eq(require("poe").model(), "GPT-5.4", "model unchanged")
end)

H.test("chat streams answer into buffer", function()
  prepare()
  local windows = #vim.api.nvim_list_wins()
  vim.cmd("PoeChat hello there")
  local bufnr = vim.api.nvim_get_current_buf()
  H.eq(#vim.api.nvim_list_wins(), windows + 1, "windows after :PoeChat")
  H.eq(vim.fn.winlayout()[1], "row", "vertical split")
  H.truthy(vim.api.nvim_buf_get_name(bufnr):match("^poe://chat/%d+$"), "buffer name")
  H.eq(vim.bo[bufnr].filetype, "markdown", "filetype")
  H.eq(vim.bo[bufnr].buftype, "nofile", "buftype")

  wait_answer(bufnr, 2)
  H.eq(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), {
    "# Poe chat: GPT-5.4",
    "",
    "## You",
    "hello there",
    "",
    "## GPT-5.4",
    "Hello from the fake Poe (GPT-5.4). You said: hello there",
    "",
    "## You",
    "",
  }, "buffer lines")
  H.eq(vim.api.nvim_win_get_cursor(0), { 10, 0 }, "cursor on the input line")
end)

H.test("follow-up sent with send key", function()
  prepare()
  vim.cmd("PoeChat first question")
  local bufnr = vim.api.nvim_get_current_buf()
  wait_answer(bufnr, 2)

  vim.api.nvim_buf_set_lines(bufnr, -2, -1, false, { "second", "question" })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
  local chat = wait_answer(bufnr, 4)

  H.eq(vim.tbl_map(function(message)
    return message.role
  end, chat.messages), { "user", "assistant", "user", "assistant" }, "roles")
  H.eq(chat.messages[3].content, "second\nquestion", "second message")
  H.eq(chat.messages[4].content, "Hello from the fake Poe (GPT-5.4). You said: second\nquestion", "second answer")
  local text = H.buffer_text(bufnr)
  H.contains(text, "## You\nsecond\nquestion\n\n## GPT-5.4\nHello from the fake Poe (GPT-5.4). You said: second\nquestion\n\n## You\n", "buffer")
end)

H.test("system prompt sent first", function()
  prepare({ chat = { system_prompt = "Answer briefly." } })
  local sent
  local api = require("poe.api")
  local real_send = api.chat_send
  H.stub(api, "chat_send", function(params, callback)
    sent = params
    return real_send(params, callback)
  end)
  vim.cmd("PoeChat hi")
  wait_answer(vim.api.nvim_get_current_buf(), 2)
  H.eq(sent.messages, {
    { role = "system", content = "Answer briefly." },
    { role = "user", content = "hi" },
  }, "messages sent")
end)

H.test("empty message not sent", function()
  prepare()
  vim.cmd("PoeChat")
  local bufnr = vim.api.nvim_get_current_buf()
  H.eq(require("poe.chat").send(bufnr), false, "send result")
  H.wait_note("Write a message under the last \"## You\" heading first.", levels.WARN)
  H.eq(#require("poe.chat").get(bufnr).messages, 0, "messages")
end)

H.test("several chats stream at once", function()
  prepare()
  vim.cmd("PoeChat /long 40")
  local first = vim.api.nvim_get_current_buf()
  vim.cmd("PoeChat /long 30")
  local second = vim.api.nvim_get_current_buf()
  H.truthy(first ~= second, "two buffers")

  local chat = require("poe.chat")
  H.wait(function()
    local a, b = chat.get(first), chat.get(second)
    return a.stream ~= nil
      and b.stream ~= nil
      and H.buffer_text(first):find("word1", 1, true) ~= nil
      and H.buffer_text(second):find("word1", 1, true) ~= nil
  end, "both chats to stream at the same time")
  H.eq(require("poe.streams").count(), 2, "live streams")

  wait_answer(first, 2)
  wait_answer(second, 2)
  H.contains(H.buffer_text(first), "## GPT-5.4\n" .. long_reply(40) .. "\n\n## You\n", "first chat")
  H.contains(H.buffer_text(second), "## GPT-5.4\n" .. long_reply(30) .. "\n\n## You\n", "second chat")
end)

H.test("typing while answer streams", function()
  prepare()
  vim.cmd("PoeChat /long 60")
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait(function()
    return H.buffer_text(bufnr):find("word3 ", 1, true) ~= nil
  end, "the answer to start")

  type_keys("GAnext<Esc>")
  H.wait(function()
    return H.buffer_text(bufnr):find("word20 ", 1, true) ~= nil
  end, "more of the answer")
  type_keys("GA question<Esc>")
  H.truthy(require("poe.chat").get(bufnr).stream, "still streaming after typing")

  wait_answer(bufnr, 2)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  H.eq(lines[#lines], "next question", "typed line")
  H.eq(lines[#lines - 1], "## You", "heading above the typed line")
  H.eq(lines[#lines - 3], long_reply(60), "answer")
end)

H.test("buffer emptied mid-stream", function()
  prepare()
  vim.cmd("PoeChat /long 80")
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait(function()
    return H.buffer_text(bufnr):find("word3 ", 1, true) ~= nil
  end, "the answer to start")
  type_keys("ggdG")
  local chat = wait_answer(bufnr, 2)
  H.eq(H.notes_with("", levels.ERROR), {}, "error notifications")
  H.contains(H.buffer_text(bufnr), "word79", "the rest of the answer")

  -- The "## You" heading went with the rest, so sending adds a new one.
  type_keys("Gofollow up<Esc>")
  H.eq(require("poe.chat").send(bufnr), false, "send without a heading")
  H.wait_note("heading was missing, so a new one was added at the end", levels.WARN)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  H.eq({ lines[#lines - 1], lines[#lines] }, { "## You", "" }, "new heading at the end")

  vim.api.nvim_buf_set_lines(bufnr, -2, -1, false, { "follow up" })
  H.eq(require("poe.chat").send(bufnr), true, "send under the new heading")
  wait_answer(bufnr, 4)
  H.eq(chat.messages[3].content, "follow up", "message")
  H.contains(H.buffer_text(bufnr), "## You\nfollow up\n\n## GPT-5.4\nHello from the fake Poe (GPT-5.4). You said: follow up\n\n## You\n", "buffer")
end)

H.test("undo leaves streamed answer", function()
  prepare()
  vim.cmd("PoeChat /long 60")
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait(function()
    return H.buffer_text(bufnr):find("word5 ", 1, true) ~= nil
  end, "the answer to start")
  type_keys("u")
  H.wait(function()
    return H.buffer_text(bufnr):find("word15 ", 1, true) ~= nil
  end, "more of the answer")
  type_keys("uu")
  wait_answer(bufnr, 2)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  H.eq(lines[#lines - 3], long_reply(60), "answer after undo during the stream")

  type_keys("GAtyped<Esc>")
  type_keys("u")
  lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  H.eq(lines[#lines], "", "typed text undone")
  type_keys("uuu")
  H.eq(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), lines, "nothing more to undo")
  H.eq(lines[#lines - 3], long_reply(60), "answer")
  H.eq(lines[1], "# Poe chat: GPT-5.4", "title")
end)

H.test("selection sent as context", function()
  prepare()
  vim.cmd("enew")
  vim.bo.filetype = "lua"
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { "local x = 1", "return x", "-- not selected" })
  vim.cmd("1,2PoeChat explain this")
  local bufnr = vim.api.nvim_get_current_buf()
  local chat = wait_answer(bufnr, 2)

  local want = "From [No Name], lines 1-2:\n\n```lua\nlocal x = 1\nreturn x\n```\n\nexplain this"
  H.eq(chat.messages[1].content, want, "message")
  H.contains(H.buffer_text(bufnr), "You said: " .. want, "answer echoes the context")
end)

H.test("selection without prompt waits", function()
  prepare()
  vim.cmd("enew")
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { "```", "fenced", "```" })
  vim.cmd("1,3PoeChat")
  local bufnr = vim.api.nvim_get_current_buf()
  local chat = require("poe.chat").get(bufnr)
  H.eq(chat.stream, nil, "no stream")
  H.eq(vim.api.nvim_buf_get_lines(bufnr, 2, -1, false), {
    "## You",
    "From [No Name], lines 1-3:",
    "",
    "````",
    "```",
    "fenced",
    "```",
    "````",
  }, "context in the input area, in a longer fence")
end)

H.test("first chat asks for model", function()
  prepare()
  H.setup({ model = nil })
  H.stub(vim.ui, "select", function(items, _, on_choice)
    for _, item in ipairs(items) do
      if item.id == "Grok-4" then
        on_choice(item)
      end
    end
  end)
  H.eq(require("poe.chat").get(0), nil, "chat before :PoeChat")
  vim.cmd("PoeChat hi")
  H.wait(function()
    return require("poe.chat").get(0) ~= nil
  end, "the chat to open after the model is picked")
  local chat = wait_answer(0, 2)
  H.eq(chat.model, "Grok-4", "chat model")
  H.contains(H.buffer_text(0), "Hello from the fake Poe (Grok-4). You said: hi", "answer")
end)

H.test("chat layouts", function()
  local cases = {
    { layout = "horizontal", check = function()
      H.eq(vim.fn.winlayout()[1], "col", "horizontal split")
      H.eq(vim.api.nvim_win_get_height(0), 7, "height")
    end, size = 7 },
    { layout = "tab", check = function()
      H.eq(vim.fn.tabpagenr("$"), 2, "tab pages")
    end },
    { layout = "current", check = function()
      H.eq(#vim.api.nvim_list_wins(), 1, "windows")
    end },
  }
  for _, case in ipairs(cases) do
    prepare({ chat = { layout = case.layout, size = case.size } })
    vim.cmd("silent! tabonly")
    vim.cmd("PoeChat")
    H.truthy(require("poe.chat").get(0), case.layout .. " chat is current")
    case.check()
    vim.cmd("silent! tabonly")
  end
end)

H.run()
