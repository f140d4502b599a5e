-- :PoeStatus: how the user is signed in, the key's expiry, the points left and the model.

local api = require("poe.api")
local models = require("poe.models")
local notify = require("poe.notify")

local M = {}

local method_names = { oauth = "the browser", apiKey = "an API key" }

--- Describes a sign-in state in lines for the user.
---@param state poe.AuthState
---@return string[]
function M.describe(state)
  local lines = {}
  if state.problem then
    local message = state.problem.message or "unknown problem"
    local path = state.problem.path
    -- The sidecar's message usually contains the path and the advice to sign in again.
    if path and not message:find(path, 1, true) then
      message = ("The key file %s cannot be read: %s"):format(path, message)
    end
    table.insert(lines, (message:gsub("^%l", string.upper)))
    table.insert(lines, "Run :PoeSignIn.")
    return lines
  end
  if state.expired then
    table.insert(lines, ("Not signed in: the key expired at %s. Run :PoeSignIn."):format(state.expiresAt or "?"))
    return lines
  end
  if not state.signedIn then
    table.insert(lines, "Not signed in. Run :PoeSignIn.")
    return lines
  end

  if state.source == "env" then
    table.insert(lines, "Signed in with the key in POE_API_KEY.")
  else
    table.insert(lines, ("Signed in with %s."):format(method_names[state.method] or tostring(state.method)))
    table.insert(lines, "Key: stored in the key file.")
  end
  table.insert(lines, "Expires: " .. (state.expiresAt or "never"))
  return lines
end

--- How long :PoeStatus waits for the points before it shows the rest without them.
M.BALANCE_WAIT_MS = 2000

---@param balance_err poe.Error|nil
---@param balance {points: integer|nil, email: string|nil}|nil
---@return string[]
local function balance_lines(balance_err, balance)
  local lines = {}
  if balance_err then
    table.insert(lines, "Points: unknown (" .. notify.format_error(balance_err):gsub("\n", " ") .. ")")
  elseif balance.points then
    table.insert(lines, "Points: " .. tostring(balance.points))
  else
    table.insert(lines, "Points: Poe did not report a number.")
  end
  if balance and balance.email then
    table.insert(lines, "Account: " .. balance.email)
  end
  return lines
end

--- Shows how the user is signed in, the key's source and expiry, the points left and the
--- model for new chats. The sign-in state is known at once, but the points come from
--- Poe: when Poe takes longer than BALANCE_WAIT_MS, the rest is shown without them and
--- the points follow in a message of their own.
function M.show()
  api.auth_status(function(err, state)
    if err then
      notify.show_error(err, "Reading the sign-in state failed")
      return
    end
    local lines = M.describe(state)
    table.insert(lines, "Model for new chats: " .. (models.current() or "none yet (:PoeModels picks one)"))
    if not state.signedIn then
      notify.info(table.concat(lines, "\n"))
      return
    end

    local notified = false
    local timer = vim.defer_fn(function()
      if notified then
        return
      end
      notified = true
      table.insert(lines, "Points: Poe has not answered yet; they follow when it does.")
      notify.info(table.concat(lines, "\n"))
    end, M.BALANCE_WAIT_MS)

    api.provider_balance(function(balance_err, balance)
      if notified then
        notify.info(table.concat(balance_lines(balance_err, balance), "\n"))
        return
      end
      notified = true
      if not timer:is_closing() then
        timer:stop()
        timer:close()
      end
      vim.list_extend(lines, balance_lines(balance_err, balance))
      notify.info(table.concat(lines, "\n"))
    end)
  end)
end

return M
