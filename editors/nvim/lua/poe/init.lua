-- Poe in Neovim through poe-sidecar. This module is the plugin's Lua API: setup(), the
-- functions behind the :Poe* commands, and stream() for other plugins. The commands are
-- defined in plugin/poe.lua, and :help poe documents them all.

local config = require("poe.config")
local models = require("poe.models")

local M = {}

--- Sets the plugin's options (see :help poe-options). Optional: without it the defaults
--- apply. A running sidecar is stopped, so the next command starts it with the new
--- options, and the count of crashes toward max_restarts starts again. Raises an error
--- that names an invalid option.
---@param opts poe.Options|nil
function M.setup(opts)
  config.set(opts)
  require("poe.sidecar").reset()
  -- A plugin manager that adds the folder to 'runtimepath' after startup does not
  -- source plugin/poe.lua, so setup() defines the commands too.
  require("poe.commands").register()
end

---@class poe.ApiStreamOptions
---@field model string|nil defaults to the model for new chats
---@field messages poe.Message[]|nil the conversation; or give prompt
---@field prompt string|nil a single user message, when messages is nil
---@field system string|nil a system message put first
---@field temperature number|nil 0 to 2
---@field max_tokens integer|nil
---@field on_delta fun(text: string)|nil called with each piece of the answer
---@field on_done fun(err: poe.Error|nil, result: poe.StreamResult|nil)|nil called once when the stream ends

--- Streams a chat completion. on_delta gets each piece of text as it arrives and on_done
--- runs once at the end: with the result ({ text, finishReason, usage }), or with an error
--- ({ code, message, data }). Raises an error when no model is given or chosen, or when
--- there is no message.
---@param opts poe.ApiStreamOptions
---@return poe.StreamHandle handle with cancel() and is_done()
function M.stream(opts)
  if type(opts) ~= "table" then
    error("poe.stream: opts must be a table, not " .. type(opts), 2)
  end
  local messages = opts.messages
  if not messages and opts.prompt then
    messages = { { role = "user", content = opts.prompt } }
  end
  if opts.system and messages then
    messages = vim.list_extend({ { role = "system", content = opts.system } }, messages)
  end
  local model = opts.model or models.current()
  if not model then
    error("poe.stream: no model; pass model, set it in setup(), or pick one with :PoeModels", 2)
  end

  return require("poe.streams").start({
    model = model,
    messages = messages,
    temperature = opts.temperature,
    max_tokens = opts.max_tokens,
    on_delta = opts.on_delta,
    on_done = opts.on_done,
  })
end

--- Opens a new chat buffer (:PoeChat). With opts.prompt the message is sent at once.
---@param opts poe.ChatOpenOptions|nil
---@param callback fun(chat: poe.Chat)|nil receives the chat once it is open
function M.chat(opts, callback)
  require("poe.chat").open(opts, callback)
end

--- Signs in (:PoeSignIn): method is "browser", "apikey", "paste", "cancel", or nil to ask.
---@param method string|nil
function M.sign_in(method)
  require("poe.signin").run(method)
end

--- Deletes the stored key (:PoeSignOut).
function M.sign_out()
  require("poe.signin").sign_out()
end

--- Shows the sign-in state, points and model (:PoeStatus).
function M.status()
  require("poe.status").show()
end

--- Returns the sign-in state the sidecar last reported, or nil before the sidecar
--- started. The User PoeAuthChanged autocommand runs whenever it is reported.
---@return poe.AuthState|nil
function M.auth_state()
  return require("poe.sidecar").auth_state()
end

--- Picks the model for new chats from Poe's list (:PoeModels).
---@param opts {refresh: boolean|nil}|nil
---@param on_choice fun(id: string|nil)|nil
function M.pick_model(opts, on_choice)
  models.pick(opts, on_choice)
end

--- Returns the model for new chats, or nil when none is chosen or configured.
---@return string|nil
function M.model()
  return models.current()
end

--- Sets the model for new chats in this session.
---@param id string
function M.set_model(id)
  if type(id) ~= "string" or id == "" then
    error("poe.set_model: id must be a model id such as \"Claude-Sonnet-4.6\"", 2)
  end
  models.set(id)
end

--- Stops the answer of the current chat buffer, or every stream when the current buffer
--- is not a chat (:PoeStop). In a chat where nothing streams it stops nothing, so the
--- answers of other chats go on. Returns how many streams were stopped.
---@return integer
function M.stop()
  local chat = require("poe.chat")
  if chat.get(0) then
    return chat.stop(0) and 1 or 0
  end
  return require("poe.streams").cancel_all()
end

return M
