-- Defines the :Poe* commands. The rest of the plugin loads on first use.
if vim.g.loaded_poe then
  return
end
vim.g.loaded_poe = true

if vim.fn.has("nvim-0.7") == 0 then
  vim.api.nvim_echo({ { "poe: Neovim 0.7 or newer is required", "ErrorMsg" } }, true, {})
  return
end

require("poe.commands").register()
