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
    table.insert(lines, ("The key file %s cannot be read: %s"):format(state.problem.path or "?", state.problem.message))
    table.insert(lines, "Run :PoeSignIn to replace it; the damaged file is moved aside.")
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

--- Shows how the user is signed in, the key's source and expiry, the points left and the
--- model for new chats.
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

    api.provider_balance(function(balance_err, balance)
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
      notify.info(table.concat(lines, "\n"))
    end)
  end)
end

return M
