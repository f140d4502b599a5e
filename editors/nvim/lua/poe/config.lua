-- Options of the Poe plugin: defaults, checks and the merged values in use.

local M = {}

---@alias poe.Keymap table<string, string|false>  mode ("n", "i", …) to left-hand side; false turns one off

---@class poe.ChatOptions
---@field layout "vertical"|"horizontal"|"tab"|"current" where a new chat window opens
---@field size integer|nil width of a vertical split or height of a horizontal one, in cells (nil: half)
---@field system_prompt string|nil system message sent first in every chat

---@class poe.Options
---@field cmd string[] the sidecar command and its arguments
---@field cmd_env table<string, string>|nil extra environment variables for the sidecar
---@field init_options table initializationOptions sent to the sidecar (baseUrl, logLevel, …)
---@field model string|nil default model id; with nil, the first :PoeChat opens the model picker
---@field max_restarts integer restarts after crashes allowed within three minutes
---@field open_url fun(url: string)|nil opens the sign-in page; nil uses the system browser
---@field chat poe.ChatOptions
---@field keymaps table<string, poe.Keymap|false> keys in chat buffers: send, stop, close

---@type poe.Options
M.defaults = {
  cmd = { "poe-sidecar" },
  cmd_env = nil,
  init_options = {},
  model = nil,
  max_restarts = 3,
  open_url = nil,
  chat = {
    layout = "vertical",
    size = nil,
    system_prompt = nil,
  },
  keymaps = {
    send = { n = "<CR>", i = "<C-s>" },
    stop = { n = "<C-c>" },
    close = { n = "q" },
  },
}

local layouts = { vertical = true, horizontal = true, tab = true, current = true }

--- Names of the top-level options, listed apart from the defaults because several
--- default to nil.
M.option_names = { "cmd", "cmd_env", "init_options", "model", "max_restarts", "open_url", "chat", "keymaps" }

--- Names of the options inside chat.
M.chat_option_names = { "layout", "size", "system_prompt" }

---@type poe.Options
local current = vim.deepcopy(M.defaults)

---@param name string
---@param value any
---@param expected string Lua type name
---@param optional boolean|nil
local function check_type(name, value, expected, optional)
  if value == nil and optional then
    return
  end
  if type(value) ~= expected then
    error(("poe: option %s must be a %s, not %s"):format(name, expected, vim.inspect(value)), 0)
  end
end

---@param name string
---@param value any
local function check_keymap(name, value)
  if value == false then
    return
  end
  check_type(name, value, "table")
  for mode, lhs in pairs(value) do
    if type(mode) ~= "string" or (lhs ~= false and type(lhs) ~= "string") then
      error(("poe: option %s must map modes to keys, such as { n = \"<CR>\" }, not %s"):format(name, vim.inspect(value)), 0)
    end
  end
end

---@param opts poe.Options
local function check(opts)
  if type(opts.cmd) == "string" then
    opts.cmd = { opts.cmd }
  end
  check_type("cmd", opts.cmd, "table")
  if type(opts.cmd[1]) ~= "string" or opts.cmd[1] == "" then
    error("poe: option cmd must start with the path or name of poe-sidecar, not " .. vim.inspect(opts.cmd), 0)
  end
  check_type("cmd_env", opts.cmd_env, "table", true)
  check_type("init_options", opts.init_options, "table")
  check_type("model", opts.model, "string", true)
  check_type("max_restarts", opts.max_restarts, "number")
  if opts.max_restarts < 0 then
    error(("poe: option max_restarts must be 0 or more, not %d"):format(opts.max_restarts), 0)
  end
  check_type("open_url", opts.open_url, "function", true)

  check_type("chat", opts.chat, "table")
  for key in pairs(opts.chat) do
    if not vim.tbl_contains(M.chat_option_names, key) then
      error(("poe: unknown option chat.%s; see :help poe-options"):format(key), 0)
    end
  end
  if not layouts[opts.chat.layout] then
    error(
      ("poe: option chat.layout must be \"vertical\", \"horizontal\", \"tab\" or \"current\", not %s"):format(
        vim.inspect(opts.chat.layout)
      ),
      0
    )
  end
  check_type("chat.size", opts.chat.size, "number", true)
  check_type("chat.system_prompt", opts.chat.system_prompt, "string", true)

  check_type("keymaps", opts.keymaps, "table")
  for action, keymap in pairs(opts.keymaps) do
    if M.defaults.keymaps[action] == nil then
      error(("poe: unknown keymap %q: use send, stop or close"):format(action), 0)
    end
    check_keymap("keymaps." .. action, keymap)
  end
end

--- Merges opts over the defaults, checks the result and makes it current.
--- Raises an error that names the first invalid option; unknown top-level options are
--- rejected too, so a misspelt one does not pass unnoticed.
---@param opts table|nil
---@return poe.Options
function M.set(opts)
  opts = opts or {}
  for key in pairs(opts) do
    if not vim.tbl_contains(M.option_names, key) then
      error(("poe: unknown option %q; see :help poe-options"):format(key), 0)
    end
  end

  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- A list replaces the default list instead of merging with it index by index.
  if type(opts.cmd) == "table" then
    merged.cmd = vim.deepcopy(opts.cmd)
  end
  check(merged)
  current = merged
  return current
end

--- Returns the options in use (the defaults until setup() is called).
---@return poe.Options
function M.get()
  return current
end

return M
