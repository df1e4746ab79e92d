-- Drives kdlens through Neovim's built-in LSP client (0.7 API), headless.
-- Inputs come from environment variables; results are written as JSON.
local python = os.getenv("KDLENS_PYTHON")
local log_path = os.getenv("KDLENS_LOG")
local root = os.getenv("KDLENS_ROOT")
local out_path = os.getenv("KDLENS_OUT")
local line = tonumber(os.getenv("KDLENS_DEF_LINE"))
local col = tonumber(os.getenv("KDLENS_DEF_COL"))

local result = { diagnostics = {}, definition = nil, error = nil }

local function finish()
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    cmd = { python, "-m", "kdlens", "serve" },
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "ws" } },
    name = "kdlens",
  })
  if not client_id then
    error("the language client did not start")
  end
  vim.cmd("edit " .. vim.fn.fnameescape(log_path))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(bufnr, client_id)

  local got = vim.wait(30000, function()
    local n = 0
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.code == "leaked-allocation" then n = n + 1 end
    end
    return n >= 3
  end, 100)
  if not got then
    error("no leak diagnostics within 30 s")
  end
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.diagnostics, { lnum = d.lnum, col = d.col, code = d.code, message = d.message })
  end

  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = line, character = col },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/definition", params, 20000)
  if responses then
    for _, r in pairs(responses) do
      if r.result and r.result[1] then
        result.definition = r.result[1]
      end
    end
  end
  vim.lsp.stop_client(client_id)
end)
if not ok then
  result.error = tostring(err)
end
finish()
