-- Chat buffers. A chat is a markdown buffer: the conversation, then a "## You" heading
-- under which the user writes the next message. An answer streams in above that heading,
-- so the user can type the next message while it arrives. Each chat has its own stream,
-- and several chats can stream at once.

local config = require("poe.config")
local models = require("poe.models")
local notify = require("poe.notify")
local streams = require("poe.streams")

local M = {}

local USER_HEADING = "## You"

local ns = vim.api.nvim_create_namespace("poe_chat")

---@class poe.Chat
---@field bufnr integer
---@field model string
---@field messages poe.Message[] the conversation so far, without the system prompt
---@field input_mark integer extmark on the "## You" heading above the message being written
---@field answer_mark integer|nil extmark at the end of the answer that is streaming
---@field stream poe.StreamHandle|nil the live stream, if any
---@field parts string[]|nil the pieces of the answer that is streaming

---@type table<integer, poe.Chat>
local chats = {}
local count = 0

--- Returns the chat shown in bufnr (0: the current buffer), or nil.
---@param bufnr integer|nil
---@return poe.Chat|nil
function M.get(bufnr)
  if not bufnr or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  return chats[bufnr]
end

--- Runs edit() on a chat buffer without recording it for undo. The plugin's own edits
--- (the answer, its heading and the next "## You" heading) are not the user's, so `u`
--- must not take them out of the buffer, or the buffer would no longer show the
--- conversation that is sent. With 'undolevels' at -1 for the edit, Neovim drops the
--- undo history at that change, so only what the user types after it can be undone.
---@param bufnr integer
---@param edit fun()
local function edit_without_undo(bufnr, edit)
  local saved = vim.api.nvim_buf_get_option(bufnr, "undolevels")
  vim.api.nvim_buf_set_option(bufnr, "undolevels", -1)
  local ok, err = pcall(edit)
  vim.api.nvim_buf_set_option(bufnr, "undolevels", saved)
  if not ok then
    error(err, 0)
  end
end

--- Returns the row and column of an extmark, moved inside the buffer. Deleting lines
--- can leave a mark below the last line or past the end of its line.
---@param bufnr integer
---@param mark integer
---@return integer row, integer col 0-based
local function mark_position(bufnr, mark)
  local position = vim.api.nvim_buf_get_extmark_by_id(bufnr, ns, mark, {})
  local last = vim.api.nvim_buf_line_count(bufnr) - 1
  local row = math.min(position[1] or last, last)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local col = position[1] == row and math.min(position[2], #line) or #line
  return row, col
end

--- Returns the row of the "## You" heading above the message being written: the one
--- the input mark is on, else the last "## You" line, else a new heading added at the
--- end of the buffer (after the user deleted it).
---@param chat poe.Chat
---@return integer row 0-based
---@return boolean added whether the heading had to be added
local function input_row(chat)
  local row = mark_position(chat.bufnr, chat.input_mark)
  local lines = vim.api.nvim_buf_get_lines(chat.bufnr, 0, -1, false)
  if lines[row + 1] == USER_HEADING then
    return row, false
  end
  for i = #lines, 1, -1 do
    if lines[i] == USER_HEADING then
      vim.api.nvim_buf_set_extmark(chat.bufnr, ns, i - 1, 0, { id = chat.input_mark })
      return i - 1, false
    end
  end
  local start, heading = #lines, { "", USER_HEADING, "" }
  if #lines == 1 and lines[1] == "" then
    start, heading = 0, { USER_HEADING, "" }
  end
  edit_without_undo(chat.bufnr, function()
    vim.api.nvim_buf_set_lines(chat.bufnr, start, -1, false, heading)
  end)
  row = vim.api.nvim_buf_line_count(chat.bufnr) - 2
  vim.api.nvim_buf_set_extmark(chat.bufnr, ns, row, 0, { id = chat.input_mark })
  return row, true
end

--- Inserts text (which may contain newlines) at the answer mark and moves the mark to
--- the end of it. Does nothing once the buffer is unloaded (:bdelete), which also
--- removes its extmarks.
---@param chat poe.Chat
---@param text string
local function append_answer(chat, text)
  if not chat.answer_mark or not vim.api.nvim_buf_is_loaded(chat.bufnr) then
    return
  end
  local row, col = mark_position(chat.bufnr, chat.answer_mark)
  local lines = vim.split(text, "\n", true)
  edit_without_undo(chat.bufnr, function()
    vim.api.nvim_buf_set_text(chat.bufnr, row, col, row, col, lines)
  end)

  local end_row = row + #lines - 1
  local end_col = #lines == 1 and col + #lines[1] or #lines[#lines]
  vim.api.nvim_buf_set_extmark(chat.bufnr, ns, end_row, end_col, { id = chat.answer_mark })
end

---@param chat poe.Chat
local function move_cursors_to_end(chat)
  local last = vim.api.nvim_buf_line_count(chat.bufnr)
  for _, win in ipairs(vim.fn.win_findbuf(chat.bufnr)) do
    vim.api.nvim_win_set_cursor(win, { last, 0 })
  end
end

---@param chat poe.Chat
---@param err poe.Error|nil
---@param result poe.StreamResult|nil
local function on_done(chat, err, result)
  chat.stream = nil
  -- A failed stream has no result, so the text so far comes from the deltas.
  local partial = (result and result.text) or table.concat(chat.parts or {})
  chat.parts = nil
  -- Notes start a paragraph of their own, so markdown shows them apart from the answer.
  local gap = partial ~= "" and "\n\n" or ""

  if err then
    append_answer(chat, gap .. "> **Error:** " .. notify.format_error(err):gsub("\n", " "))
    notify.show_error(err, "Chat failed")
  elseif result.finishReason == "cancelled" then
    append_answer(chat, gap .. "_(stopped)_")
  elseif result.finishReason == "length" then
    append_answer(chat, "\n\n_(cut off: the answer reached the token limit)_")
  end
  if partial ~= "" then
    table.insert(chat.messages, { role = "assistant", content = partial })
  elseif err and #chat.messages > 0 and chat.messages[#chat.messages].role == "user" then
    -- No answer arrived, so the message is left out of the conversation. Sending it
    -- again then does not put two user messages in a row.
    table.remove(chat.messages)
  end
  chat.answer_mark = nil
end

---@param chat poe.Chat
---@return poe.Message[]
local function request_messages(chat)
  local messages = {}
  local system_prompt = config.get().chat.system_prompt
  if system_prompt and system_prompt ~= "" then
    table.insert(messages, { role = "system", content = system_prompt })
  end
  vim.list_extend(messages, chat.messages)
  return messages
end

--- Sends the message written under the last "## You" heading of the chat in bufnr and
--- streams the answer in above a new "## You" heading.
---@param bufnr integer|nil 0 or nil: the current buffer
---@return boolean sent
function M.send(bufnr)
  local chat = M.get(bufnr)
  if not chat then
    notify.warn("This buffer is not a Poe chat; open one with :PoeChat.")
    return false
  end
  if chat.stream then
    notify.warn("An answer is still streaming in this chat; wait for it or stop it with :PoeStop.")
    return false
  end

  local heading, added = input_row(chat)
  if added then
    move_cursors_to_end(chat)
    notify.warn("The \"" .. USER_HEADING .. "\" heading was missing, so a new one was added at the end; write the message under it.")
    return false
  end
  local lines = vim.api.nvim_buf_get_lines(chat.bufnr, heading + 1, -1, false)
  local text = vim.trim(table.concat(lines, "\n"))
  if text == "" then
    notify.warn("Write a message under the last \"" .. USER_HEADING .. "\" heading first.")
    return false
  end

  -- Drop blank lines after the message, then add the answer's heading, the line the
  -- answer streams into, and the next "## You" heading.
  local last = vim.api.nvim_buf_line_count(chat.bufnr)
  while last > heading + 1 and vim.trim(vim.api.nvim_buf_get_lines(chat.bufnr, last - 1, last, false)[1]) == "" do
    last = last - 1
  end
  edit_without_undo(chat.bufnr, function()
    vim.api.nvim_buf_set_lines(chat.bufnr, last, -1, false, { "", "## " .. chat.model, "", "", USER_HEADING, "" })
  end)
  local answer_row = last + 2
  chat.answer_mark = vim.api.nvim_buf_set_extmark(chat.bufnr, ns, answer_row, 0, {})
  vim.api.nvim_buf_set_extmark(chat.bufnr, ns, answer_row + 2, 0, { id = chat.input_mark })
  move_cursors_to_end(chat)

  table.insert(chat.messages, { role = "user", content = text })
  chat.parts = {}
  chat.stream = streams.start({
    model = chat.model,
    messages = request_messages(chat),
    on_delta = function(delta)
      table.insert(chat.parts, delta)
      append_answer(chat, delta)
    end,
    on_done = function(err, result)
      on_done(chat, err, result)
    end,
  })
  return true
end

--- Stops the answer streaming in the chat in bufnr.
---@param bufnr integer|nil
---@return boolean stopped false when nothing was streaming
function M.stop(bufnr)
  local chat = M.get(bufnr)
  if not chat or not chat.stream then
    return false
  end
  chat.stream.cancel()
  return true
end

---@param chat poe.Chat
local function set_keymaps(chat)
  local actions = {
    send = function()
      M.send(chat.bufnr)
    end,
    stop = function()
      if not M.stop(chat.bufnr) then
        notify.info("Nothing is streaming in this chat.")
      end
    end,
    close = function()
      if not pcall(vim.cmd, "close") then
        notify.info("This is the last window; :bdelete ends the chat.")
      end
    end,
  }
  local descriptions = { send = "Send the message to Poe", stop = "Stop Poe's answer", close = "Close the chat window" }

  for action, keymap in pairs(config.get().keymaps) do
    if keymap then
      for mode, lhs in pairs(keymap) do
        if lhs then
          vim.keymap.set(mode, lhs, actions[action], { buffer = chat.bufnr, desc = descriptions[action] })
        end
      end
    end
  end
end

---@param bufnr integer
local function open_window(bufnr)
  local chat_options = config.get().chat
  local layout = chat_options.layout
  if layout == "current" then
    vim.api.nvim_win_set_buf(0, bufnr)
    return
  end

  local commands = { vertical = "vertical sbuffer ", horizontal = "sbuffer ", tab = "tab sbuffer " }
  vim.cmd(commands[layout] .. bufnr)
  if chat_options.size and layout ~= "tab" then
    local resize = layout == "vertical" and "vertical resize " or "resize "
    vim.cmd(resize .. math.floor(chat_options.size))
  end
end

---@class poe.ChatOpenOptions
---@field prompt string|nil sent at once when given
---@field context string|nil text placed in the message before the prompt
---@field model string|nil defaults to the current model

--- Opens a new chat in a window laid out by the chat.layout option. With a prompt the
--- message is sent at once. Otherwise the cursor waits under "## You".
---@param model string
---@param opts poe.ChatOpenOptions
---@return poe.Chat
local function create(model, opts)
  count = count + 1
  local bufnr = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(bufnr, "poe://chat/" .. count)
  vim.api.nvim_buf_set_option(bufnr, "filetype", "markdown")
  vim.api.nvim_buf_set_option(bufnr, "bufhidden", "hide")

  local message = {}
  if opts.context then
    vim.list_extend(message, vim.split(opts.context, "\n", true))
  end
  if opts.prompt and opts.prompt ~= "" then
    if #message > 0 then
      table.insert(message, "")
    end
    vim.list_extend(message, vim.split(opts.prompt, "\n", true))
  end
  local lines = { "# Poe chat: " .. model, "", USER_HEADING }
  vim.list_extend(lines, #message > 0 and message or { "" })
  edit_without_undo(bufnr, function()
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  end)

  ---@type poe.Chat
  local chat = {
    bufnr = bufnr,
    model = model,
    messages = {},
    input_mark = vim.api.nvim_buf_set_extmark(bufnr, ns, 2, 0, {}),
  }
  chats[bufnr] = chat
  set_keymaps(chat)
  -- :bdelete unloads the buffer, which empties it and removes its extmarks, and
  -- :bwipeout unloads it first, so the chat ends with either.
  vim.api.nvim_create_autocmd("BufUnload", {
    buffer = bufnr,
    once = true,
    callback = function()
      M.stop(bufnr)
      chats[bufnr] = nil
    end,
  })

  open_window(bufnr)
  move_cursors_to_end(chat)
  if opts.prompt and opts.prompt ~= "" then
    M.send(bufnr)
  end
  return chat
end

--- Opens a new chat with the given or current model, asking for a model first when
--- there is none. callback, if given, receives the chat.
---@param opts poe.ChatOpenOptions|nil
---@param callback fun(chat: poe.Chat)|nil
function M.open(opts, callback)
  opts = opts or {}
  local function with(model)
    local chat = create(model, opts)
    if callback then
      callback(chat)
    end
  end
  if opts.model then
    with(opts.model)
    return
  end
  models.with_model(with)
end

--- Formats lines of a buffer as context for a message: where they come from, then the
--- lines in a fenced code block tagged with the buffer's filetype.
---@param bufnr integer
---@param first integer 1-based first line
---@param last integer 1-based last line
---@return string
function M.selection_context(bufnr, first, last)
  local lines = vim.api.nvim_buf_get_lines(bufnr, first - 1, last, false)
  local name = vim.api.nvim_buf_get_name(bufnr)
  name = name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
  local fence = "```"
  -- A longer fence keeps a selection that contains ``` inside the block.
  for _, line in ipairs(lines) do
    local ticks = line:match("^%s*(`+)")
    if ticks and #ticks >= #fence then
      fence = string.rep("`", #ticks + 1)
    end
  end

  local out = { ("From %s, lines %d-%d:"):format(name, first, last), "", fence .. vim.bo[bufnr].filetype }
  vim.list_extend(out, lines)
  table.insert(out, fence)
  return table.concat(out, "\n")
end

return M
