-- Chat streams: starts chat/send and routes each chat/stream notification to its stream
-- by streamId. A stream ends once, at whichever comes first of the final notification,
-- the chat/send response and a sidecar exit.

local api = require("poe.api")
local notify = require("poe.notify")
local sidecar = require("poe.sidecar")

local M = {}

---@class poe.StreamResult
---@field text string the whole answer (the text so far when cancelled)
---@field finishReason string "stop", "length", "cancelled", …
---@field usage {promptTokens: integer, completionTokens: integer, totalTokens: integer}|nil

---@class poe.StreamOptions
---@field model string
---@field messages poe.Message[]
---@field temperature number|nil 0 to 2
---@field max_tokens integer|nil
---@field on_delta fun(text: string)|nil called with each piece of the answer
---@field on_done fun(err: poe.Error|nil, result: poe.StreamResult|nil)|nil called once at the end

---@class poe.Stream
---@field id string the streamId
---@field parts string[]
---@field next_seq integer
---@field done boolean
---@field request poe.Request|nil
---@field opts poe.StreamOptions

---@class poe.StreamHandle
---@field id string
---@field cancel fun() stops the stream; on_done then gets finishReason "cancelled"
---@field is_done fun(): boolean

---@type table<string, poe.Stream>
local live = {}
local counter = 0

---@param stream poe.Stream
---@param err poe.Error|nil
---@param result poe.StreamResult|nil
local function finish(stream, err, result)
  if stream.done then
    return
  end
  stream.done = true
  live[stream.id] = nil
  if stream.opts.on_done then
    local ok, callback_err = pcall(stream.opts.on_done, err, result)
    if not ok then
      notify.error("A chat stream's on_done callback failed: " .. tostring(callback_err))
    end
  end
end

---@param stream poe.Stream
---@param finish_reason string
---@param usage table|nil
local function succeed(stream, finish_reason, usage)
  finish(stream, nil, { text = table.concat(stream.parts), finishReason = finish_reason, usage = usage })
end

---@param event table chat/stream params
local function on_event(event)
  local stream = live[event.streamId]
  if not stream or stream.done then
    return
  end
  if event.seq ~= stream.next_seq then
    notify.warn(
      ("Stream %s skipped from notification %d to %s; the answer may miss text."):format(
        stream.id,
        stream.next_seq,
        tostring(event.seq)
      )
    )
  end
  stream.next_seq = (tonumber(event.seq) or stream.next_seq) + 1

  if event.delta and event.delta ~= "" then
    table.insert(stream.parts, event.delta)
    if stream.opts.on_delta then
      local ok, err = pcall(stream.opts.on_delta, event.delta)
      if not ok then
        notify.error("A chat stream's on_delta callback failed: " .. tostring(err))
      end
    end
  end
  if event.done then
    if event.error then
      finish(stream, event.error)
    else
      succeed(stream, event.finishReason or "stop", event.usage)
    end
  end
end

sidecar.on("chat/stream", on_event)

---@param opts poe.StreamOptions
local function check(opts)
  if type(opts) ~= "table" then
    error("poe: stream options must be a table", 2)
  end
  if type(opts.model) ~= "string" or opts.model == "" then
    error("poe: stream option model must be a model id such as \"Claude-Sonnet-4.6\"", 3)
  end
  if type(opts.messages) ~= "table" or #opts.messages == 0 then
    error("poe: stream option messages must be a non-empty list of { role = …, content = … }", 3)
  end
end

--- Starts a chat stream. Raises an error for invalid options. Every other failure goes
--- to on_done(err), which runs once, when the stream ends.
---@param opts poe.StreamOptions
---@return poe.StreamHandle
function M.start(opts)
  check(opts)
  counter = counter + 1
  ---@type poe.Stream
  local stream = {
    id = ("nvim-%d-%d"):format(vim.fn.getpid(), counter),
    parts = {},
    next_seq = 0,
    done = false,
    opts = opts,
  }
  live[stream.id] = stream

  stream.request = api.chat_send({
    streamId = stream.id,
    model = opts.model,
    messages = opts.messages,
    temperature = opts.temperature,
    maxTokens = opts.max_tokens,
  }, function(err, result)
    -- The final chat/stream notification comes before this response, so this call
    -- only ends a stream that never started, or one whose sidecar went away.
    if err and err.code == notify.CANCELLED then
      succeed(stream, "cancelled")
    elseif err then
      finish(stream, err)
    else
      finish(stream, nil, result)
    end
  end)

  return {
    id = stream.id,
    cancel = function()
      M.cancel(stream.id)
    end,
    is_done = function()
      return stream.done
    end,
  }
end

--- Cancels a live stream: it ends with finishReason "cancelled" and the text so far.
---@param id string
---@return boolean cancelled false when no such stream is live
function M.cancel(id)
  local stream = live[id]
  if not stream then
    return false
  end
  api.chat_cancel({ streamId = id }, function(err, result)
    -- The stream may have ended between the request and the response; then nothing is
    -- left to cancel.
    if err or not (result and result.cancelled) then
      if stream.request then
        stream.request.cancel()
      end
    end
  end)
  return true
end

--- Cancels every live stream and returns how many there were.
---@return integer
function M.cancel_all()
  local count = 0
  for id in pairs(live) do
    if M.cancel(id) then
      count = count + 1
    end
  end
  return count
end

--- Returns the number of live streams.
---@return integer
function M.count()
  return vim.tbl_count(live)
end

return M
