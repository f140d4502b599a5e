-- The :Poe* user commands. plugin/poe.lua registers them at startup, and each loads the
-- rest of the plugin only when it runs.

local M = {}

local signin_arguments = { "browser", "apikey", "paste", "cancel" }

---@param opts table the argument of an nvim_create_user_command callback
local function chat(opts)
  local chat_opts = { prompt = opts.args ~= "" and opts.args or nil }
  if opts.range > 0 then
    chat_opts.context = require("poe.chat").selection_context(0, opts.line1, opts.line2)
  end
  require("poe").chat(chat_opts)
end

local function stop()
  if require("poe").stop() > 0 then
    return
  end
  if require("poe.chat").get(0) then
    require("poe.notify").info("Nothing is streaming in this chat.")
    return
  end
  require("poe.notify").info("Nothing is streaming.")
end

--- Defines the commands. Running it again redefines them.
function M.register()
  local create = vim.api.nvim_create_user_command

  create("PoeSignIn", function(opts)
    require("poe").sign_in(opts.args)
  end, {
    nargs = "?",
    complete = function(lead)
      return vim.tbl_filter(function(argument)
        return vim.startswith(argument, lead)
      end, signin_arguments)
    end,
    desc = "Sign in to Poe: browser, apikey, paste (the redirected address) or cancel",
  })
  create("PoeSignOut", function()
    require("poe").sign_out()
  end, { desc = "Delete the stored Poe key" })
  create("PoeStatus", function()
    require("poe").status()
  end, { desc = "Show the Poe sign-in, key expiry, points and model" })
  create("PoeModels", function(opts)
    require("poe").pick_model({ refresh = opts.bang })
  end, { bang = true, desc = "Pick the Poe model for new chats (! fetches the list again)" })
  create("PoeChat", chat, {
    nargs = "*",
    range = true,
    desc = "Open a Poe chat; a range adds those lines as context, an argument is sent at once",
  })
  create("PoeStop", stop, { desc = "Stop Poe's answer in this chat; outside chats, stop every answer" })
end

return M
