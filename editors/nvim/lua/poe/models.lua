-- The default model for new chats, and :PoeModels, which picks it from Poe's list.

local api = require("poe.api")
local config = require("poe.config")
local notify = require("poe.notify")

local M = {}

---@type string|nil chosen with :PoeModels in this session; wins over the model option
local chosen = nil

--- Returns the model for new chats: the one picked with :PoeModels, else the model
--- option, else nil.
---@return string|nil
function M.current()
  return chosen or config.get().model
end

--- Sets the model for new chats in this session.
---@param id string|nil nil goes back to the model option
function M.set(id)
  chosen = id
end

--- Formats a token count the way model pages do: 200000 as "200K", 1048576 as "1M".
---@param tokens integer
---@return string
function M.format_tokens(tokens)
  if tokens >= 1000000 then
    return (("%.1f"):format(tokens / 1000000):gsub("%.0$", "")) .. "M"
  end
  if tokens >= 1000 then
    return ("%d"):format(math.floor(tokens / 1000 + 0.5)) .. "K"
  end
  return tostring(tokens)
end

--- Formats one entry of the picker: id, owner and context window.
---@param model poe.Model
---@return string
function M.format(model)
  local details = {}
  if model.ownedBy then
    table.insert(details, model.ownedBy)
  end
  if model.contextWindow then
    table.insert(details, M.format_tokens(model.contextWindow) .. " context")
  end
  local text = model.id
  if #details > 0 then
    text = text .. " (" .. table.concat(details, ", ") .. ")"
  end
  if model.id == M.current() then
    text = text .. " [current]"
  end
  return text
end

--- Reports whether a chat can stream text from model. A model without
--- outputModalities is kept, because the field is optional.
---@param model poe.Model
---@return boolean
local function writes_text(model)
  local outputs = model.outputModalities
  if type(outputs) ~= "table" then
    return true
  end
  return vim.tbl_contains(outputs, "text")
end

--- Asks for a model with vim.ui.select, sets it for new chats and calls on_choice(id),
--- or on_choice(nil) when the list fails or the user cancels.
---@param opts {refresh: boolean|nil}|nil refresh fetches the list again instead of the sidecar's cached copy
---@param on_choice fun(id: string|nil)|nil
function M.pick(opts, on_choice)
  on_choice = on_choice or function() end
  api.provider_models({ refresh = opts and opts.refresh }, function(err, result)
    if err then
      notify.show_error(err, "Listing Poe's models failed")
      on_choice(nil)
      return
    end

    local models = vim.tbl_filter(writes_text, result.models or {})
    if #models == 0 then
      notify.warn("Poe listed no models that write text.")
      on_choice(nil)
      return
    end
    vim.ui.select(models, { prompt = "Poe model for new chats", format_item = M.format, kind = "poe.model" }, function(model)
      if not model then
        on_choice(nil)
        return
      end
      M.set(model.id)
      notify.info("New chats use " .. model.id .. ".")
      on_choice(model.id)
    end)
  end)
end

--- Calls fn(model) with the current model, asking with the picker first when there is
--- none.
---@param fn fun(model: string)
function M.with_model(fn)
  local model = M.current()
  if model then
    fn(model)
    return
  end
  M.pick(nil, function(id)
    if id then
      fn(id)
    end
  end)
end

return M
