-- The poe-sidecar process, run as a language server through Neovim's LSP client.
-- This module finds the binary and starts it on first use. It queues requests until the
-- handshake is done, routes the sidecar's notifications, and restarts it after a crash
-- a bounded number of times.

local compat = require("poe.compat")
local config = require("poe.config")
local notify = require("poe.notify")

local M = {}

--- Protocol version this plugin speaks (docs/protocol.md in the sidecar's repository).
M.PROTOCOL_VERSION = 1

--- Crashes are counted over this window when deciding whether to restart.
local RESTART_WINDOW_SECONDS = 180

--- How long the initialize request may take before queued requests fail.
local HANDSHAKE_TIMEOUT_MS = 10000

-- The module is not on a Go module proxy, so `go install …@latest` fails; it is built
-- from a clone of the repository.
local INSTALL_HINT = "Install it from a clone of the poe-sidecar repository with `go install ./cmd/poe-sidecar`"
  .. " (Go 1.26 or newer), or set cmd in require(\"poe\").setup() to its path."

---@class poe.ServerInfo
---@field version string|nil the sidecar's version, from serverInfo
---@field protocol integer|nil capabilities.experimental.poe.protocolVersion
---@field log_file string|nil the sidecar's log file; nil when it logs to stderr

---@class poe.PendingRequest
---@field method string
---@field params table|nil
---@field finish fun(err: poe.Error|nil, result: any)
---@field client_id integer|nil the client it was sent to; nil while queued
---@field id integer|nil the JSON-RPC request id once sent
---@field done boolean

local state = {
  client_id = nil, ---@type integer|nil
  client = nil, ---@type table|nil
  info = nil, ---@type poe.ServerInfo|nil
  queue = {}, ---@type poe.PendingRequest[] requests waiting for the handshake
  sent = {}, ---@type table<poe.PendingRequest, true> requests waiting for a response
  crashes = {}, ---@type number[] times of unexpected exits, in seconds
  leaving = false, -- Neovim is exiting, so the sidecar's exit is expected
}

---@type table<string, fun(params: table)[]>
local subscribers = {}

---@type poe.AuthState|nil
local auth_state = nil

--- Calls fn(params) for every notification of method from the sidecar.
---@param method string such as "chat/stream" or "auth/didChange"
---@param fn fun(params: table)
function M.on(method, fn)
  subscribers[method] = subscribers[method] or {}
  table.insert(subscribers[method], fn)
end

---@param method string
---@param params table
local function dispatch(method, params)
  for _, fn in ipairs(subscribers[method] or {}) do
    local ok, err = pcall(fn, params)
    if not ok then
      notify.error(("Handling %s failed: %s"):format(method, err))
    end
  end
end

---@param params poe.AuthState
local function set_auth_state(params)
  auth_state = params
  vim.api.nvim_exec_autocmds("User", { pattern = "PoeAuthChanged", modeline = false })
end

-- auth/didChange arrives after every sign-in and sign-out, when the key expires, and
-- when another program changes the key file.
M.on("auth/didChange", set_auth_state)

--- Returns the sign-in state the sidecar last reported (in auth/didChange, or to the
--- auth/status request sent after each start), or nil before that.
---@return poe.AuthState|nil
function M.auth_state()
  return auth_state
end

---@param name string
---@return string[] directories where `go install` puts binaries
local function go_bin_dirs(name)
  local dirs = {}
  if vim.env.GOBIN and vim.env.GOBIN ~= "" then
    table.insert(dirs, vim.env.GOBIN)
  end
  local gopath = vim.env.GOPATH
  if gopath and gopath ~= "" then
    for entry in vim.gsplit(gopath, ":", true) do
      if entry ~= "" then
        table.insert(dirs, entry .. "/bin")
      end
    end
  else
    table.insert(dirs, vim.fn.expand("~/go/bin"))
  end
  return vim.tbl_map(function(dir)
    return dir .. "/" .. name
  end, dirs)
end

--- Resolves the configured command to an executable. A bare name is looked up on PATH
--- and then where `go install` puts binaries ($GOBIN, $GOPATH/bin, ~/go/bin), since
--- that folder is often missing from PATH.
---@return string[]|nil cmd the command with an absolute path first, or nil
---@return string|nil message why it was not found, with how to install it
function M.resolve_cmd()
  local cmd = vim.deepcopy(config.get().cmd)
  local exe = cmd[1]

  if exe:find("/", 1, true) then
    if vim.fn.executable(exe) == 1 then
      cmd[1] = vim.fn.fnamemodify(exe, ":p")
      return cmd
    end
    return nil, ("poe-sidecar was not found at %s, or it is not executable. %s"):format(exe, INSTALL_HINT)
  end

  if vim.fn.executable(exe) == 1 then
    cmd[1] = vim.fn.exepath(exe)
    return cmd
  end
  local tried = go_bin_dirs(exe)
  for _, path in ipairs(tried) do
    if vim.fn.executable(path) == 1 then
      cmd[1] = path
      return cmd
    end
  end
  return nil,
    ("%s was not found on PATH or in %s. %s"):format(exe, table.concat(tried, ", "), INSTALL_HINT)
end

---@param req poe.PendingRequest
---@param client table
local function send(req, client)
  local ok, id = compat.call(client, "request", req.method, req.params, function(err, result)
    req.finish(err, result)
  end)
  if not ok then
    req.finish(notify.local_error("sidecar_stopped", "poe-sidecar has stopped; run the command again to restart it."))
    return
  end
  req.client_id = client.id
  req.id = id
  state.sent[req] = true
end

---@param client table
---@param result table the initialize result
local function on_init(client, result)
  if client.id ~= state.client_id then
    return
  end
  local poe = vim.tbl_get(result, "capabilities", "experimental", "poe") or {}
  state.info = {
    version = vim.tbl_get(result, "serverInfo", "version"),
    protocol = poe.protocolVersion,
    log_file = poe.logFile,
  }
  if state.info.protocol ~= M.PROTOCOL_VERSION then
    notify.warn(
      ("poe-sidecar speaks protocol version %s, but this plugin was written for version %d. Update the plugin or the sidecar."):format(
        tostring(state.info.protocol),
        M.PROTOCOL_VERSION
      )
    )
  end

  local queue = state.queue
  state.queue = {}
  for _, req in ipairs(queue) do
    if not req.done then
      send(req, client)
    end
  end

  M.request("auth/status", nil, function(err, status)
    if not err then
      set_auth_state(status)
    end
  end)
end

---@param count integer
---@return string such as "1 time" or "3 times"
local function times(count)
  return count == 1 and "1 time" or (count .. " times")
end

--- Fails every request waiting for the handshake with err.
---@param err poe.Error
local function fail_queue(err)
  local queue = state.queue
  state.queue = {}
  for _, req in ipairs(queue) do
    req.finish(err)
  end
end

--- Fails the queued requests and stops the client when the handshake of client_id has
--- not finished. Neovim 0.7 leaves a client running when its initialize request fails.
---@param client_id integer
local function check_handshake(client_id)
  if client_id ~= state.client_id or state.info then
    return
  end
  local failed = notify.local_error(
    "handshake_failed",
    ("poe-sidecar did not finish the LSP handshake within %d seconds; see :LspLog."):format(HANDSHAKE_TIMEOUT_MS / 1000)
  )
  fail_queue(failed)
  M.stop()
end

---@return boolean restart whether another automatic restart is allowed now
local function record_crash()
  local now = vim.loop.now() / 1000
  table.insert(state.crashes, now)
  local recent = {}
  for _, time in ipairs(state.crashes) do
    if now - time <= RESTART_WINDOW_SECONDS then
      table.insert(recent, time)
    end
  end
  state.crashes = recent
  return #recent <= config.get().max_restarts
end

--- Handles a sidecar that exited before it finished the handshake, whatever its exit
--- code: a wrong command, an unknown flag or a broken install. Starting it again would
--- fail the same way, so it is not restarted, and the queued requests fail at once.
--- Such a process has not reported its log file yet, and Neovim writes its error output
--- to the LSP log, so the message names that log.
---@param code integer|nil
---@param signal integer|nil
local function on_early_exit(code, signal)
  local _, lsp_log = compat.lsp_log()
  local err = notify.local_error(
    "sidecar_exited",
    ("poe-sidecar exited (exit code %s, signal %s) before the LSP handshake, so it is not restarted automatically. Its error output is in Neovim's LSP log, %s (:LspLog)."):format(
      tostring(code),
      tostring(signal),
      lsp_log
    )
  )
  if #state.queue == 0 then
    notify.show_error(err)
    return
  end
  fail_queue(err)
end

---@param code integer|nil
---@param signal integer|nil
---@param client_id integer
local function on_exit(code, signal, client_id)
  -- Requests sent to this process get no response from Neovim's LSP client after it exits.
  local stopped = notify.local_error(
    "sidecar_exited",
    ("poe-sidecar exited (exit code %s, signal %s) before it answered."):format(tostring(code), tostring(signal))
  )
  for req in pairs(state.sent) do
    if req.client_id == client_id then
      req.finish(stopped)
    end
  end
  if client_id ~= state.client_id then
    return
  end

  local handshake_done = state.info ~= nil
  local log_file = state.info and state.info.log_file
  state.client_id, state.client, state.info = nil, nil, nil
  if state.leaving then
    return
  end
  if not handshake_done then
    on_early_exit(code, signal)
    return
  end
  if code == 0 and (signal or 0) == 0 then
    return
  end

  local where = log_file and (" Its log is " .. log_file .. ".") or ""
  if not record_crash() then
    fail_queue(stopped)
    notify.error(
      ("poe-sidecar exited %s within %d minutes, so it is not restarted automatically.%s The next Poe command starts it again."):format(
        times(#state.crashes),
        RESTART_WINDOW_SECONDS / 60,
        where
      )
    )
    return
  end
  notify.warn(
    ("poe-sidecar exited unexpectedly (exit code %s, signal %s); restarting it.%s"):format(
      tostring(code),
      tostring(signal),
      where
    )
  )
  M.ensure_started()
end

---@param message table window/showMessage or window/logMessage params
local function show_server_message(_, message)
  local text = tostring(message.message)
  if message.type == 1 then
    notify.error(text)
  elseif message.type == 2 then
    notify.warn(text)
  elseif message.type == 3 then
    notify.info(text)
  end
end

---@return table<string, function> LSP handlers of the sidecar's notifications
local function handlers()
  local result = {
    ["window/showMessage"] = show_server_message,
    ["window/logMessage"] = show_server_message,
  }
  for _, method in ipairs({ "chat/stream", "auth/didChange" }) do
    result[method] = function(_, params)
      dispatch(method, params)
    end
  end
  return result
end

--- Starts the sidecar unless it is running. Requests made before the handshake ends
--- wait in a queue.
---@return table|nil client the LSP client, or nil when the sidecar cannot start
---@return string|nil message why it cannot start
function M.ensure_started()
  if state.client and not compat.call(state.client, "is_stopped") then
    return state.client
  end

  local cmd, missing = M.resolve_cmd()
  if not cmd then
    return nil, missing
  end

  local init_options = config.get().init_options
  -- vim.json encodes an empty Lua table as [], which the sidecar rejects.
  if vim.tbl_isempty(init_options) then
    init_options = vim.empty_dict()
  end
  local client_id = compat.start_client({
    name = "poe",
    cmd = cmd,
    cmd_env = config.get().cmd_env,
    root_dir = vim.loop.cwd(),
    init_options = init_options,
    handlers = handlers(),
    on_init = on_init,
    on_exit = function(code, signal, id)
      -- Neovim 0.7 calls on_exit in a libuv callback, where the API cannot be used.
      vim.schedule(function()
        on_exit(code, signal, id)
      end)
    end,
  })
  if not client_id then
    return nil, ("poe-sidecar (%s) could not be started; see :LspLog."):format(cmd[1])
  end
  state.client_id = client_id
  state.client = vim.lsp.get_client_by_id(client_id)
  state.info = nil
  vim.defer_fn(function()
    check_handshake(client_id)
  end, HANDSHAKE_TIMEOUT_MS)
  return state.client
end

---@class poe.Request
---@field cancel fun() stops waiting: sends $/cancelRequest and calls back with a -32800 error

--- Sends a request to the sidecar, starting it when needed. callback runs at most once:
--- with the response, with a local error when the sidecar cannot start or exits first,
--- or with a -32800 error when cancel() is called first. A request that the sidecar
--- never answers waits until one of those happens.
---@param method string
---@param params table|nil
---@param callback fun(err: poe.Error|nil, result: any)
---@return poe.Request
function M.request(method, params, callback)
  ---@type poe.PendingRequest
  local req = { method = method, params = params, done = false }
  req.finish = function(err, result)
    if req.done then
      return
    end
    req.done = true
    state.sent[req] = nil
    callback(err, result)
  end

  local handle = {
    cancel = function()
      if req.done then
        return
      end
      local client = req.client_id and vim.lsp.get_client_by_id(req.client_id)
      if client and req.id then
        compat.call(client, "cancel_request", req.id)
      end
      req.finish({ code = notify.CANCELLED, message = "The request was cancelled." })
    end,
  }

  local client, missing = M.ensure_started()
  if not client then
    vim.schedule(function()
      req.finish(notify.local_error("sidecar_missing", missing))
    end)
    return handle
  end
  if client.initialized and state.info then
    send(req, client)
  else
    table.insert(state.queue, req)
  end
  return handle
end

--- Sends a request and waits for the response, for :checkhealth. Returns a local error
--- with reason "timeout" when no response arrives within timeout_ms.
---@param method string
---@param params table|nil
---@param timeout_ms integer
---@return poe.Error|nil err, any result
function M.request_sync(method, params, timeout_ms)
  local response
  local handle = M.request(method, params, function(err, result)
    response = { err = err, result = result }
  end)
  if not vim.wait(timeout_ms, function()
    return response ~= nil
  end, 20) then
    handle.cancel()
    return notify.local_error("timeout", ("no response to %s within %d ms"):format(method, timeout_ms))
  end
  return response.err, response.result
end

--- Returns what the sidecar reported in its handshake, or nil before the handshake.
---@return poe.ServerInfo|nil
function M.info()
  return state.info
end

--- Returns the running LSP client, or nil.
---@return table|nil
function M.client()
  return state.client
end

--- Stops the sidecar (shutdown, then exit). Requests it was sent fail when it exits.
--- Queued requests, and any request made later, go to a new process.
function M.stop()
  local client = state.client
  if not client then
    return
  end
  -- Forget the client at once: it refuses new requests while it shuts down, so the
  -- next request must start a new process. Its on_exit still fails what it was sent.
  state.client_id, state.client, state.info = nil, nil, nil
  compat.call(client, "stop")
  if #state.queue > 0 then
    M.ensure_started()
  end
end

--- Stops the sidecar and clears the crash history, for new options: the next request
--- starts a process with the whole max_restarts budget.
function M.reset()
  M.stop()
  state.crashes = {}
end

local group = vim.api.nvim_create_augroup("poe_sidecar", { clear = true })
vim.api.nvim_create_autocmd("VimLeavePre", {
  group = group,
  callback = function()
    state.leaving = true
  end,
})

return M
